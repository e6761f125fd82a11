"""Who is writing a meeting right now: an exclusive lock on a small file, held by the process that
records the meeting and released by the operating system when that process ends, however it ends
(a crash, ``kill -9``, a power cut). A meeting still marked "recording" whose lock can be taken has
lost its writer: ``app.history.service`` recovers it at the next start.

POSIX: ``flock`` (per open file, so even the same process cannot take a lock it already holds through
another descriptor). Windows: ``msvcrt.locking`` on the first byte. The same ``FileLock`` keeps the
desktop app to a single instance per data folder (``app.ui.single_instance``).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import IO

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class FileLock:
    """A non-blocking exclusive lock on ``path`` (created if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; ``False`` if another holder (process or descriptor) has it."""
        if self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+b")  # noqa: SIM115 - held open for as long as the lock is held
        if not _try_lock(handle):
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self, remove: bool = False) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            _unlock(handle)
        handle.close()
        if remove:
            with contextlib.suppress(OSError):
                self.path.unlink()


def lock_path(locks_dir: Path, uid: str) -> Path:
    return locks_dir / f"{uid}.lock"


def is_alive(locks_dir: Path, uid: str) -> bool:
    """Whether some process still holds the lock of meeting ``uid`` (its writer is alive)."""
    path = lock_path(locks_dir, uid)
    if not path.exists():
        return False
    probe = FileLock(path)
    if probe.acquire():
        probe.release(remove=True)
        return False
    return True
