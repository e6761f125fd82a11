"""One desktop app per data folder: a second launch hands its wish to the first (raise the window, or
start a meeting with ``--start``) and exits, instead of opening a second window and tray icon that
would share the meeting history.

How: the first instance holds an exclusive lock on ``instance.lock`` (released by the OS however the
process ends, so a crash never blocks the next launch) and listens on a loopback TCP port, written
with a random secret to ``instance.json`` (owner-only permissions). A later launch that cannot take
the lock reads the file and sends ``<secret> <command>``; the first answers ``ok``. Plain sockets and
asyncio, no QtNetwork: it works the same on Linux, Windows and macOS and before Qt is loaded.

Threads: ``acquire``/``notify`` block briefly (start-up, before any window); ``serve`` runs on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path

from app.fileio import write_atomic
from app.history.ownership import FileLock

log = logging.getLogger(__name__)

LOCK_NAME = "instance.lock"
INFO_NAME = "instance.json"
COMMANDS = ("raise", "start")
NOTIFY_SECONDS = 5.0


class SingleInstance:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = FileLock(folder / LOCK_NAME)
        self._server: asyncio.Server | None = None

    def acquire(self) -> bool:
        """Become the instance for this folder; ``False`` if another process already is."""
        return self._lock.acquire()

    def notify(self, command: str, timeout: float = NOTIFY_SECONDS) -> bool:
        """Ask the running instance to ``command`` ("raise" or "start"); ``True`` once it answered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                info = json.loads((self.folder / INFO_NAME).read_text(encoding="utf-8"))
                with socket.create_connection(("127.0.0.1", int(info["port"])), timeout=2.0) as sock:
                    sock.sendall(f"{info['secret']} {command}\n".encode())
                    if sock.recv(16).startswith(b"ok"):
                        return True
            except (OSError, ValueError, KeyError, TypeError):
                pass  # the first instance is still starting (no file or server yet): try again
            time.sleep(0.2)
        return False

    async def serve(self, on_command: Callable[[str], None]) -> None:
        """Listen for later launches (call on the running loop, once the window exists)."""
        secret = secrets.token_hex(16)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                line = (await asyncio.wait_for(reader.readline(), 5.0)).decode(errors="replace").split()
                if len(line) == 2 and hmac.compare_digest(line[0], secret) and line[1] in COMMANDS:
                    writer.write(b"ok\n")
                    await writer.drain()
                    on_command(line[1])
            except (OSError, TimeoutError):
                pass
            finally:
                writer.close()

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        data = json.dumps({"port": port, "secret": secret}).encode()
        await asyncio.get_running_loop().run_in_executor(None, write_atomic, self.folder / INFO_NAME, data)
        log.info("single instance: listening for later launches on 127.0.0.1:%d", port)

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        with contextlib.suppress(OSError):
            (self.folder / INFO_NAME).unlink()
        self._lock.release()
