"""What crosses from one connection to the next, and what each tick learns about the server's side.

Event-loop thread only, no I/O. When a connection ends without its summary (the backend crashed,
restarted, stalled into a keepalive timeout), the frames it may not have consumed go back in front of
their holds and are sent again on the next connection with their capture times (``hand_over``): the
server's queue, the chunk it was transcribing and what was in flight are not lost, and what it had
already transcribed is not sent twice. What cannot be sent again is lost in transit and said so.
The server's drops before that point are final. When the session ends, whatever the last connection
did not consume is booked the same way (``close_books``). While it runs, ``follow`` keeps the losses,
the level and the throttling mode up to date with what the connection's view has learnt.
"""

from __future__ import annotations

from app.core.framing import Frame
from app.core.losses import LossCause
from app.core.server_view import ServerView
from app.core.stop_pad import real_frames
from app.core.throttle import ThrottlePolicy
from app.session.intake import Intake
from app.session.losses import LossBook
from app.session.model import SessionModel


def hand_over(view: ServerView[Frame], intake: Intake, losses: LossBook) -> int:
    """The connection behind ``view`` ended: book its final drops, put what it may not have consumed
    back in the holds, book what cannot be sent again. Returns the frames that will be sent again."""
    final = {}
    resent = 0
    for pipe in intake.pipes:
        source = pipe.source.value
        mirror = view.mirror(source)
        final[source] = view.dropped(source, before=mirror.consumed())
        losses.frames(source, real_frames(view.unprotected(source)), LossCause.IN_TRANSIT)
        again = real_frames(view.unconsumed(source))  # stop padding is never sent again
        gone = intake.restore(pipe.source, again)
        losses.frames(source, gone, LossCause.IN_TRANSIT)
        resent += len(again) - len(gone)
    losses.final_server_drops(final)
    return resent


def close_books(view: ServerView[Frame] | None, intake: Intake, losses: LossBook, *, complete: bool) -> None:
    """The session ended on ``view``'s connection. ``complete``: the final summary came, so the server
    consumed everything sent (what it dropped is final) except a last remainder too short for its
    end-of-stream rule: the real frames in it are lost (none when the stop padding went out; by the
    lane model, so approximate where that is); else what it had not consumed is lost."""
    if view is None:
        return
    final = {}
    for pipe in intake.pipes:
        source = pipe.source.value
        if complete:
            final[source] = view.dropped(source)
            tail, exact = view.stop_tail(source)  # what the end-of-stream rule discarded, if any
            losses.frames(source, real_frames(tail), LossCause.STOP_TAIL, approximate=not exact)
            continue
        consumed = view.mirror(source).consumed()
        final[source] = view.dropped(source, before=consumed)
        unconsumed = view.unprotected(source) + view.unconsumed(source)
        losses.frames(source, real_frames(unconsumed), LossCause.IN_TRANSIT)  # padding is no loss
    losses.final_server_drops(final)


def follow(now: float, view: ServerView[Frame] | None, intake: Intake, model: SessionModel,
           policy: ThrottlePolicy) -> None:
    """Now and then while a session runs: audio the devices lost, the current connection's server drops
    as the mirror now sees them (located in the loss book, counted per source in the level model),
    then the level and the throttling mode that follow from them."""
    losses = model.losses
    for source, seconds, newest in intake.capture_losses():
        losses.capture_lost(source.value, seconds, newest)
    if view is not None:
        for name in view.sources():
            # live: only drops the server's count confirms (a gap the model infers first may be a phantom)
            losses.live_server_drops(name, view.dropped(name, counted=True))
            model.backpressure.attribute(name, view.dropped_frames(name, counted=True))
    model.refresh_level()
    model.refresh_status(intake.waiting_seconds(), intake.hold_share(), intake.input_dbfs())
    policy.update(now, intake.waiting_seconds(), intake.hold_share(), model.report.level,
                  shared=view is not None and view.shared_recognizer())
    model.note_throttle(intake.throttle_state(policy, view))
