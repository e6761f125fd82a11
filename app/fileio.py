"""Writing a whole file so that a failure never leaves a truncated one (GUI exports).

``write_text_atomic`` writes to a temporary file next to the target (same directory, so the same
file system), flushes it to disk, then renames it over the target: a reader sees the old file or the
new one, never half of one. If anything fails (disk full, a file size limit, an unencodable
character), the temporary file is removed, the target is untouched, and the error is raised for the
caller to show. The new file gets the permissions a plain ``open`` would give it (the umask), or the
old file's when it replaces one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` all at once; raises ``OSError`` (or ``UnicodeError``) on failure."""
    data = text.encode(encoding)  # an unencodable text fails here, before any file exists
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
