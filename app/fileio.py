"""Files that are either wholly written or not there at all (exports, the instance file).

``write_atomic`` writes to a temporary file in the destination's folder (so the same file system),
flushes it to disk, then renames it over the destination (``os.replace``, atomic): a reader sees the
old file or the new one, never half of one. If anything fails (disk full, a file size limit, a killed
process), the temporary file is removed, the destination is untouched, and the error is raised for
the caller to show. The new file gets the permissions a plain ``open`` would give it (the umask), or
the old file's when it replaces one. ``write_text_atomic`` encodes first, so an unencodable character
fails before any file exists.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically. Raises ``OSError`` (the destination untouched)."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileNotFoundError):  # a new file keeps the umask's permissions
            os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_folder(path.parent)


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8") -> None:
    """``write_atomic`` for text; raises ``UnicodeError`` before touching anything if it cannot encode."""
    write_atomic(path, text.encode(encoding))


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory handles to fsync."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
