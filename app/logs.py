"""Logging for both front ends: a rotating file in the per-user log directory, optionally stderr, and
the redaction that keeps the access token out of every log line.

Where the files go (``platformdirs.user_log_dir("EchoPanel Companion")``): on Linux
``~/.local/state/EchoPanel Companion/log/``, on Windows ``%LOCALAPPDATA%\\EchoPanel Companion\\Logs\\``,
on macOS ``~/Library/Logs/EchoPanel Companion/``. The window writes ``echopanel-companion.log``,
headless mode ``headless.log`` (two processes never share a rotating file); each rotates at 1 MB and
keeps 3 older files.

Redaction: ``Redactor`` is a ``logging.Filter`` put on every handler of the root logger, so it sees
every record that reaches a log, whichever logger (ours, websockets', the embedded backend's) made it;
a filter on a logger would miss its children. It rewrites the formatted message, the traceback text
and the stack text: the values of ``Authorization`` (``Bearer ...``) and ``x-echopanel-token``
headers in any spelling (websockets logs every header line at DEBUG), and every secret the caller
registered with ``Redactor.add`` (the token itself, wherever it appears). Secrets shorter than
``MIN_SECRET_CHARS`` are not searched for (a one-letter token would blank every log line); the header
patterns still hide them. Filters run on whichever thread logs; the secrets are an immutable tuple
replaced whole, so no lock is needed.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "EchoPanel Companion"
GUI_LOG_NAME = "echopanel-companion.log"
HEADLESS_LOG_NAME = "headless.log"
LOG_BYTES = 1_000_000
LOG_BACKUPS = 3
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MIN_SECRET_CHARS = 4
REDACTED = "[redacted]"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

log = logging.getLogger("app")

# A header name, the separator a log line or a repr puts after it ("name: ", "'name', '", "name="),
# then the value up to a quote, comma, bracket or line end. "Bearer " stays visible; its value does not.
_HEADER_VALUE = re.compile(
    r"(?i)(\b(?:authorization|x-echopanel-token)['\"]?\s*[:=,]\s*['\"]?(?:(?:bearer|basic)\s+)?)[^\s'\",)\]}]+"
)
_BEARER = re.compile(r"(?i)(\bbearer\s+)(?!\[redacted\])[^\s'\",)\]}]+")


class Redactor(logging.Filter):
    """Rewrites records so that no registered secret and no auth header value reaches a handler."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()
        self._formatter = logging.Formatter()

    def add(self, secret: str) -> str:
        """Hide ``secret`` from now on; returns it, so ``token = redactor.add(read_token())`` reads well."""
        secret = secret.strip()
        if len(secret) >= MIN_SECRET_CHARS and secret not in self._secrets:
            # longest first: a secret that contains another is replaced whole
            self._secrets = tuple(sorted((*self._secrets, secret), key=len, reverse=True))
        return secret

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _HEADER_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
        return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


@dataclass(frozen=True, slots=True)
class LogSetup:
    path: Path | None  # the log file, None if it could not be opened
    redactor: Redactor


def default_log_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def setup_logging(level: str, file_name: str, *, path: Path | None = None, stderr: bool = True) -> LogSetup:
    """Configure the root logger: ``level``, a rotating file (``path``, or ``file_name`` in the user log
    directory), stderr if asked, and one ``Redactor`` on every root handler. A log file that cannot be
    opened is no reason to fail: the problem is logged (to stderr, if any) and ``path`` is None."""
    root = logging.getLogger()
    root.setLevel(level)
    fmt = logging.Formatter(FORMAT)
    redactor = Redactor()
    if stderr:
        _add(root, logging.StreamHandler(), fmt)
    target = path if path is not None else default_log_dir() / file_name
    opened: Path | None = target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            target, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
        _add(root, handler, fmt)
    except OSError as exc:
        opened = None
        if not stderr:
            _add(root, logging.NullHandler(), fmt)
        log.warning("cannot write the log file %s (%s); logging to stderr only", target, exc)
    for existing in root.handlers:  # every handler, also any added before us
        if redactor not in existing.filters:
            existing.addFilter(redactor)
    return LogSetup(opened, redactor)


def _add(root: logging.Logger, handler: logging.Handler, fmt: logging.Formatter) -> None:
    handler.setFormatter(fmt)
    root.addHandler(handler)
