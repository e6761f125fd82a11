"""Headless runs are meetings too: the history glue for ``app.headless.run`` (``--no-history`` opts out).

Event-loop thread; opening and closing the history database block, so they run in an executor.
A history that cannot be opened never fails the run: it is logged and the run goes on unrecorded.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

from app.datadir import data_dir
from app.history import History, HistoryError, MeetingInfo, Origin
from app.history.live import LiveMeeting, Recordable

log = logging.getLogger("app.headless")


async def open_history(args: argparse.Namespace) -> History | None:
    if args.no_history:
        return None
    folder = data_dir()
    try:
        history = await asyncio.get_running_loop().run_in_executor(None, History.open, folder)
    except (HistoryError, OSError) as exc:
        log.warning("the meeting history in %s is not available, this run is not kept: %s", folder, exc)
        return None
    for meeting in history.recovered:
        log.warning("recovered meeting %d, interrupted when its app stopped", meeting.id)
    return history


def begin_meeting(history: History | None, session: Recordable, args: argparse.Namespace, backend: str,
                  sources: tuple[str, ...]) -> LiveMeeting | None:
    """Start the meeting of ``session`` (call right before it starts)."""
    if history is None:
        return None
    meeting = LiveMeeting(history, MeetingInfo(time.time(), Origin.HEADLESS, backend, sources),
                          record_audio=args.record_audio)
    meeting.attach(session)
    return meeting


async def close_history(history: History | None) -> None:
    if history is not None:
        await asyncio.get_running_loop().run_in_executor(None, history.close)
