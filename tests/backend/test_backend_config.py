"""BackendConfig validation and the overload schedule."""

from __future__ import annotations

import time

import pytest

from app.backend import BackendConfig, parse_schedule
from app.backend.config import rtf_at
from app.errors import ConfigError


def test_parse_schedule_sorts_by_time() -> None:
    assert parse_schedule("0.5@75, 1.6@30") == ((30.0, 1.6), (75.0, 0.5))
    assert parse_schedule("") == ()


@pytest.mark.parametrize("bad", ["1.6", "fast@30", "1.6@-1", "-1@3", "1.6@30@40", "nan@3"])
def test_parse_schedule_names_the_bad_entry(bad: str) -> None:
    with pytest.raises(ConfigError, match="RTF@SECONDS"):
        parse_schedule(f"0.5@1,{bad}")


def test_rtf_follows_the_schedule() -> None:
    schedule = parse_schedule("1.6@30,0.5@75")
    assert [rtf_at(0.3, schedule, t) for t in (0, 29.9, 30, 74, 75, 1000)] == [0.3, 0.3, 1.6, 1.6, 0.5, 0.5]


def test_pocketsphinx_gets_no_floor_outside_the_schedule() -> None:
    cfg = BackendConfig(recognizer="pocketsphinx", rtf=0.3, schedule=((10.0, 1.5),))
    assert cfg.min_rtf_at(5) == 0.0 and cfg.min_rtf_at(10) == 1.5
    sim = BackendConfig(recognizer="simulated", rtf=0.3, schedule=((10.0, 1.5),))
    assert sim.min_rtf_at(5) == 0.3


def test_a_schedule_epoch_counts_from_that_wall_clock_instant_not_the_session_start() -> None:
    """A backend restarted in the middle of an episode continues it (the overload benchmark's kill)."""
    per_session = BackendConfig(recognizer="simulated", rtf=0.5, schedule=parse_schedule("1.6@30,0.5@75"))
    assert per_session.schedule_seconds(2.0) == 2.0
    restarted = BackendConfig(recognizer="simulated", rtf=0.5, schedule=parse_schedule("1.6@30,0.5@75"),
                              schedule_epoch=time.time() - 40.0)
    seconds = restarted.schedule_seconds(2.0)  # two seconds into its own session, 40 s into the schedule
    assert 40.0 <= seconds < 45.0 and restarted.min_rtf_at(seconds) == 1.6
    with pytest.raises(ConfigError, match="epoch"):
        BackendConfig(schedule_epoch=float("nan"))


def test_defaults_match_the_contract() -> None:
    cfg = BackendConfig()
    assert (cfg.host, cfg.port, cfg.queue_bytes_max, cfg.max_sessions) == ("127.0.0.1", 8000, 64_000, 10)
    assert (cfg.entities_interval, cfg.cards_interval, cfg.capacity_wait_seconds) == (12.0, 40.0, 5.0)


@pytest.mark.parametrize(
    "field, value",
    [("recognizer", "whisper"), ("port", 70000), ("rtf", -1.0), ("queue_seconds", 0.0), ("max_sessions", 0),
     ("metrics_interval", 0.0)],
)
def test_invalid_values_raise_config_error(field: str, value: object) -> None:
    with pytest.raises(ConfigError):
        BackendConfig(**{field: value})  # type: ignore[arg-type]
