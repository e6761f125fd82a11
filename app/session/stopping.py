"""The stop sequence of a streaming session: flush what is unsent, send ``stop``, await the summary.

Event-loop thread only. The flush sends everything held at the pace the backend demonstrates (flow
control's credit, ``app.core.server_view``; never a fixed multiple), so the last of the meeting is not
dropped by the server either. It may take what the backlog needs at the backend's measured drain rate
(``flush_seconds``), at most ``SessionConfig.flush_timeout``; what is not sent by then is given up,
counted, located and said so, and ``stop`` is still sent: the backend summarises what it got. A send in
progress is never cancelled: a socket that does not drain is closed instead. Once a source's last frame
is sent the flush sends its stop padding (``app.core.stop_pad``: 0.52 s of silence, at the same pace),
so the recognizer's end-of-stream rule can only discard silence; not when the flush gives up, and never
on a connection that is down (the sender only writes to an open one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.core.framing import Frame
from app.core.losses import LossCause
from app.core.messages import FRAME_SECONDS
from app.core.server_view import ServerView
from app.core.session_state import ConnectionState, StopOutcome
from app.errors import ConnectionFailedError
from app.session.config import SessionConfig
from app.session.intake import Intake, unsent_note
from app.session.model import SessionModel
from app.session.pipeline import Sender
from app.session.waits import first, within
from app.transport.connection import LiveConnection

SENDER_GRACE_SECONDS = 5.0  # after giving up the flush: time for a write in progress to finish
FLUSH_GRACE_SECONDS = 3.0  # the tails still in the devices, a chunk being processed, a slow first write
MIN_FLUSH_RATE = 0.25  # x real time: a drain measured slower than this is not trusted to size the flush
FLUSH_CEILING = 4.0  # x real time: while no drain was measured yet


def flush_seconds(intake: Intake, view: ServerView[Frame]) -> float:
    """How long the flush may take: each source's held audio at the backend's measured drain rate for
    it (at least ``MIN_FLUSH_RATE``; ``FLUSH_CEILING`` while none was measured), plus
    ``FLUSH_GRACE_SECONDS``. The rate is the slowest of the last few chunks, not the median of a
    longer stretch: a source held back while the backend slowed down has few slow chunks among many
    fast ones, and a budget at the fast rate gave up on half of its audio. The sources go side by
    side: the slowest one decides."""
    needed = 0.0
    for pipe in intake.pipes:
        drain = view.drain_rate(pipe.source.value, slowest=True)
        rate = FLUSH_CEILING if drain is None else min(FLUSH_CEILING, max(MIN_FLUSH_RATE, drain))
        needed = max(needed, len(pipe.hold) * FRAME_SECONDS / rate)
    return needed + FLUSH_GRACE_SECONDS


async def finish(conn: LiveConnection, sender_task: asyncio.Task[bool], *, config: SessionConfig,
                 intake: Intake, sender: Sender, model: SessionModel, view: ServerView[Frame],
                 clock: Callable[[], float]) -> tuple[StopOutcome, str]:
    """Flush what is held, send ``stop``, wait for the summary; the outcome and the message."""
    model.set_state(ConnectionState.STOPPING, "Sending the last audio")
    await intake.stop()
    for source, frames in intake.route(clock()):  # the tails
        model.losses.frames(source.value, frames, LossCause.CLIENT_SHED)
    intake.settle()
    sender.flushing = True
    sender.wake()
    budget = min(config.flush_timeout, flush_seconds(intake, view))
    note, stuck = "", False
    if not await within(sender_task, budget):
        given_up = intake.abandon()
        for source, frames in given_up.items():
            model.losses.frames(source.value, frames, LossCause.CLIENT_SHED)
        if any(given_up.values()):  # else only stop padding was left: nothing of the meeting lost
            note = unsent_note(given_up)
            model.warn(note)
        sender.drop_padding()
        sender.wake()  # it returns once its write in progress is done
        if stuck := not await within(sender_task, SENDER_GRACE_SECONDS):
            await conn.close()  # the socket does not drain: close instead of cancelling a send midway
    if not await sender_task or not conn.is_open:
        await conn.close()
        why = ("The backend stopped taking audio while the last of it was sent" if stuck
               else "The connection was lost while sending the last audio")
        return StopOutcome.NO_SUMMARY, f"{note} {why}: no summary.".lstrip()
    model.set_state(ConnectionState.STOPPING, "Waiting for the final summary")
    try:
        await conn.send_stop()
    except ConnectionFailedError as exc:
        return StopOutcome.NO_SUMMARY, f"{note} {exc} No summary.".lstrip()
    await first(model.summary_arrived.wait(), conn.ended, timeout=config.summary_timeout)
    lost = conn.ended.result() if conn.ended.done() else None  # before our own close below
    await conn.close()
    if model.summary is not None:
        return StopOutcome.SUMMARY, note
    if lost is not None:
        return StopOutcome.NO_SUMMARY, f"{note} No final summary: {lost} (transcript kept)".lstrip()
    waited = f"No final summary within {config.summary_timeout:g} s; the transcript so far is kept."
    return StopOutcome.NO_SUMMARY, f"{note} {waited}".lstrip()
