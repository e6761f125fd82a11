"""Keep client tokens out of the reference backend's logs, at every level, debug included.

``RedactSecrets`` is a ``logging.Filter`` that rewrites a record before any handler sees it: the values
of ``Authorization`` and ``x-echopanel-token`` headers, anything after ``Bearer``, ``token=`` query
parameters, and the configured token itself wherever it appears (also in a formatted traceback)
become ``[redacted]``. The websockets library logs every request header at debug level, so its
logger needs it as much as ours.

Filters on a logger apply only to records created on that logger (not to its children's), so
``install`` puts the filter on every ``app.backend`` logger that exists (the modules create theirs
at import) and on the websockets logger the server uses; ``uninstall`` takes it off again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
_HEADER = re.compile(r"(?i)\b(authorization|x-echopanel-token)(['\"]?\s*[:=,]\s*['\"]?)([^\r\n'\"]*)")
_BEARER = re.compile(r"(?i)\b(bearer)(\s+)([^\s'\",]+)")
_QUERY = re.compile(r"(?i)([?&;]token=)([^&\s'\"]*)")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with header values, bearer credentials, ``token=`` parameters and ``secrets`` hidden."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _QUERY.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Rewrites each record's message (and traceback text) through ``redact``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken format: log it as it is, minus any secret
            message = f"{record.msg} {record.args}"
        clean = redact(message, self._secrets)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._secrets)
        return True


def backend_loggers(extra: Iterable[str] = ()) -> list[logging.Logger]:
    """Every existing ``app.backend`` logger, plus the named ones."""
    names = {n for n in logging.root.manager.loggerDict if n == "app.backend" or n.startswith("app.backend.")}
    return [logging.getLogger(n) for n in sorted(names | set(extra))]


def install(flt: logging.Filter, extra: Iterable[str] = ()) -> list[logging.Logger]:
    loggers = backend_loggers(extra)
    for logger in loggers:
        logger.addFilter(flt)
    return loggers


def uninstall(flt: logging.Filter, loggers: Iterable[logging.Logger]) -> None:
    for logger in loggers:
        logger.removeFilter(flt)
