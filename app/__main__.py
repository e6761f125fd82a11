"""``python -m app``: see ``app.main.run``."""

import sys

from app.main import run

sys.exit(run())
