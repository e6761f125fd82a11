"""The stop sequence of a streaming session: flush what is unsent, send ``stop``, await the summary.

Event-loop thread only. The flush may take what the backlog needs at the backend's observed drain rate
(``Intake.flush_seconds``), at most ``SessionConfig.flush_timeout``; what is not sent by then is given
up, counted and said so, and ``stop`` is still sent: the backend summarises what it got. A send in
progress is never cancelled: a socket that does not drain is closed instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.core.session_state import ConnectionState, StopOutcome
from app.errors import ConnectionFailedError
from app.session.config import SessionConfig
from app.session.intake import Intake, unsent_note
from app.session.model import SessionModel
from app.session.pipeline import Sender
from app.session.waits import first, within
from app.transport.connection import LiveConnection

SENDER_GRACE_SECONDS = 5.0  # after giving up the flush: time for a write in progress to finish


async def finish(conn: LiveConnection, sender_task: asyncio.Task[bool], *, config: SessionConfig,
                 intake: Intake, sender: Sender, model: SessionModel,
                 clock: Callable[[], float]) -> tuple[StopOutcome, str]:
    """Flush what is unsent (throttling's hold included), send ``stop``, wait for the summary; the
    outcome and the message for the user."""
    model.set_state(ConnectionState.STOPPING, "Sending the last audio")
    await intake.stop()
    sender.flushing = True
    intake.route(clock(), flushing=True)  # the tails and all held audio, into the send path
    sender.wake()
    budget = min(config.flush_timeout, intake.flush_seconds(config.pipe.catchup_rate))
    note, stuck = "", False
    if not await within(sender_task, budget):
        note = unsent_note(intake.abandon())
        model.warn(note)
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
