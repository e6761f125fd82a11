"""The log setup both front ends share: rotating file, levels, and the redaction of secrets."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.logs import REDACTED, Redactor, setup_logging

TOKEN = "s3cr3t-token-value"


@pytest.fixture
def clean_root() -> Iterator[logging.Logger]:
    """The root logger as the app finds it at start (pytest's own capture handlers set aside)."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers = []
    yield root
    for handler in root.handlers:
        handler.close()
    root.handlers, root.level = saved, level


@pytest.mark.parametrize("line", [
    f"> Authorization: Bearer {TOKEN}",
    f"< authorization: bearer {TOKEN}",
    f"> x-echopanel-token: {TOKEN}",
    f"headers=[('Authorization', 'Bearer {TOKEN}'), ('x-echopanel-token', '{TOKEN}')]",
    f"{{'X-EchoPanel-Token': '{TOKEN}'}}",
    f"Authorization=Basic {TOKEN}",
])
def test_header_values_are_redacted_without_knowing_the_token(line: str) -> None:
    clean = Redactor().redact(line)
    assert TOKEN not in clean and REDACTED in clean


def test_a_registered_secret_is_redacted_wherever_it_appears() -> None:
    redactor = Redactor()
    assert redactor.add(f"  {TOKEN}\n") == TOKEN
    assert redactor.redact(f"url?x={TOKEN}&y") == f"url?x={REDACTED}&y"
    redactor.add("ab")  # too short to search for: it would blank every line
    assert redactor.redact("about a cab") == "about a cab"


def test_every_root_handler_redacts_message_args_traceback_and_library_loggers(
    clean_root: logging.Logger, tmp_path: Path
) -> None:
    path = tmp_path / "x.log"
    setup = setup_logging("DEBUG", "unused.log", path=path, stderr=False)
    assert setup.path == path
    setup.redactor.add(TOKEN)
    logging.getLogger("websockets.client").debug("> %s: %s", "Authorization", f"Bearer {TOKEN}")
    logging.getLogger("app.x").info("token is %r", TOKEN)
    try:
        raise ValueError(f"bad header value {TOKEN}")
    except ValueError:
        logging.getLogger("some.library").exception("failed")
    text = path.read_text(encoding="utf-8")
    assert TOKEN not in text
    assert "> Authorization: Bearer [redacted]" in text and "ValueError: bad header value [redacted]" in text


def test_the_log_file_rotates(clean_root: logging.Logger, tmp_path: Path) -> None:
    path = tmp_path / "r.log"
    setup_logging("INFO", "unused.log", path=path, stderr=False)
    for _ in range(3000):
        logging.getLogger("app").info("x" * 1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.log", "r.log.1", "r.log.2", "r.log.3"]
    assert all(p.stat().st_size <= 1_001_000 for p in tmp_path.iterdir())
