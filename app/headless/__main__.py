"""``python -m app.headless ARGS...``: the same as ``python -m app --headless ARGS...``."""

import sys

from app.headless.run import main

sys.exit(main(sys.argv[1:]))
