"""Headless mode: stream without a window and print the session as JSON lines.

Owns: ``cli`` (the command line: options and their validation), ``run`` (the run: sources, embedded
backend, session, signals, exit status), ``events`` (session events as JSON lines), ``__main__``
(``python -m app.headless``).

May import: ``app.core``, ``app.errors``, ``app.session``, ``app.capture`` and ``app.backend`` (the
embedded backend). Never Qt or ``app.ui``: ``app.main`` dispatches here before anything loads Qt.
"""

from app.headless.run import main

__all__ = ["main"]
