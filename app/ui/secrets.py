"""The backend access token: kept in the OS keyring, never in QSettings, a file or a log line.

Where no usable keyring backend exists (``keyring.backends.fail``, the ``null`` backend, or a
chainer with nothing to chain), or the keyring fails when used (a ``KeyringError``, or anything
else its backend raises: the Linux bundle's Secret Service backend needs OpenSSL's libcrypto, and
D-Bus can fail in many ways), the token lives in memory for this run only, and ``describe()`` says
so and why, so the settings dialog can tell the user instead of failing or silently losing it at exit.

Threads: a keyring read can be a D-Bus round trip, so the app reads it off the UI thread (at each
Start in an executor, and once in the background at start-up); the first successful read is kept in
memory, later ``get()`` calls do not touch the keyring. A lock keeps the two threads consistent.
Finding the keyring backend is also left to that first use: ``import keyring`` and its backend
discovery (entry points, SecretStorage) take ~0.1-0.2 s, which the window's start-up does not wait for.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from typing import Any

log = logging.getLogger(__name__)

SERVICE = "EchoPanel Companion"
USERNAME = "backend-token"


def keyring_usable(backend: Any) -> bool:
    """True if ``backend`` would actually persist a secret."""
    module = type(backend).__module__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return False
    if module.startswith("keyring.backends.chainer"):
        return bool(getattr(backend, "backends", ()))
    priority = getattr(backend, "priority", 1)
    return not (isinstance(priority, int | float) and priority <= 0)


class TokenStore:
    """``get()``/``set()`` the token. Pass ``backend`` to use a specific keyring backend (tests)."""

    def __init__(self, backend: Any = None) -> None:
        self._given = backend
        self._backend: Any = None  # found at first use (``_find_backend``)
        self._persistent = False
        self._memory = ""
        self._loaded = False  # the keyring was read: ``_memory`` holds its value
        self._problem: str | None = None
        self._lock = threading.RLock()  # RLock: the methods that hold it find the backend too

    def _find_backend(self) -> None:
        """Once, on first use (in the app, the background read at start-up): keyring's backend."""
        with self._lock:
            if self._backend is not None:
                return
            if self._given is not None:
                backend = self._given
            else:
                import keyring

                backend = keyring.get_keyring()
            self._persistent = keyring_usable(backend)
            # Why there is no keyring is asked only when someone reads it (the settings dialog): the
            # question imports SecretStorage, and with it cryptography, ~11 MB for the rest of the run.
            self._problem = "" if self._persistent or self._given is not None else None
            self._backend = backend

    @property
    def persistent(self) -> bool:
        self._find_backend()
        return self._persistent

    def describe(self) -> str:
        self._find_backend()
        if self._persistent:
            return f"Saved in the system keyring ({type(self._backend).__name__})."
        if self._problem is None:
            self._problem = _why_no_keyring()
        reason = self._problem or "No system keyring is available on this computer"
        return f"{reason}: the token is kept for this run only and must be entered again next time."

    def get(self) -> str:
        """The token; reads the keyring once (blocking: call it off the UI thread), never raises."""
        with self._lock:
            self._find_backend()
            if not self._persistent or self._loaded:
                return self._memory
            try:
                value = self._backend.get_password(SERVICE, USERNAME)
            except Exception as exc:  # KeyringError, or whatever the backend fails with: never fatal
                self._fall_back("The system keyring could not be read", exc)
                return self._memory
            self._memory, self._loaded = value or "", True
            return self._memory

    def set(self, token: str) -> None:
        """Keep ``token`` (stripped; "" deletes it); never raises: a keyring failure keeps it in memory."""
        token = token.strip()
        with self._lock:
            self._find_backend()
            self._memory, self._loaded = token, True
            if not self._persistent:
                return
            try:
                if token:
                    self._backend.set_password(SERVICE, USERNAME, token)
                else:
                    self._delete()
            except Exception as exc:  # KeyringError, or whatever the backend fails with: never fatal
                self._fall_back("The system keyring could not store the token", exc)

    def _delete(self) -> None:
        import keyring.errors

        with contextlib.suppress(keyring.errors.PasswordDeleteError):  # nothing stored: already deleted
            self._backend.delete_password(SERVICE, USERNAME)

    def _fall_back(self, problem: str, exc: BaseException) -> None:
        # The exception's text, never the token (it is not in the keyring's exceptions; the log's
        # redaction would hide it anyway).
        why = f"{problem} ({type(exc).__name__}: {exc})" if str(exc) else f"{problem} ({type(exc).__name__})"
        log.warning("%s; keeping the token in memory for this run only", why)
        self._problem = why
        self._persistent = False


def _why_no_keyring() -> str:
    """Why keyring found no usable backend, where we can tell: on Linux, SecretStorage (the Secret
    Service backend) failing to import, e.g. the bundle's AES stand-in finding no libcrypto."""
    if not sys.platform.startswith("linux"):
        return ""
    try:
        import secretstorage  # noqa: F401
    except ImportError as exc:
        return f"The system keyring cannot be used by this build ({exc})"
    except Exception as exc:  # a broken install: say what, rather than nothing
        return f"The system keyring cannot be used ({type(exc).__name__}: {exc})"
    return ""
