"""The backend access token: kept in the OS keyring, never in QSettings, a file or a log line.

Where no usable keyring backend exists (``keyring.backends.fail``, the ``null`` backend, or a
chainer with nothing to chain) the token lives in memory for this run only, and ``describe()``
says so, so the settings dialog can tell the user instead of silently losing it at exit.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import keyring
import keyring.errors

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
        self._backend = backend if backend is not None else keyring.get_keyring()
        self._persistent = keyring_usable(self._backend)
        self._memory = ""
        self._problem = ""

    @property
    def persistent(self) -> bool:
        return self._persistent

    def describe(self) -> str:
        if self._persistent:
            return f"Saved in the system keyring ({type(self._backend).__name__})."
        reason = self._problem or "No system keyring is available on this computer"
        return f"{reason}: the token is kept for this session only and must be entered again next time."

    def get(self) -> str:
        if not self._persistent:
            return self._memory
        try:
            value = self._backend.get_password(SERVICE, USERNAME)
        except keyring.errors.KeyringError as exc:
            self._fall_back(f"The system keyring could not be read ({type(exc).__name__})")
            return self._memory
        return value or ""

    def set(self, token: str) -> None:
        token = token.strip()
        self._memory = token
        if not self._persistent:
            return
        try:
            if token:
                self._backend.set_password(SERVICE, USERNAME, token)
            else:
                self._delete()
        except keyring.errors.KeyringError as exc:
            self._fall_back(f"The system keyring refused the token ({type(exc).__name__})")

    def _delete(self) -> None:
        with contextlib.suppress(keyring.errors.PasswordDeleteError):  # nothing stored: already deleted
            self._backend.delete_password(SERVICE, USERNAME)

    def _fall_back(self, problem: str) -> None:
        # Never log the token itself; the exception type is enough to diagnose.
        log.warning("%s; keeping the token in memory for this session", problem)
        self._problem = problem
        self._persistent = False
