"""Snapshot -> plain view values, pure (no Qt): what each widget shows for a ``SessionSnapshot``.

Kept apart from the controller so the mapping is tested without a session or a window.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from app.core.backpressure import BackpressureConfig
from app.core.export import ExportDocument
from app.core.level import Level, SourceLoad
from app.core.messages import FRAME_SECONDS, Source
from app.core.session_state import ConnectionState, SessionSnapshot, TranscriptSegment
from app.history.titles import title_from_summary
from app.ui.models import ConnectionView, SourceView

RUNNING_STATES = frozenset(
    {
        ConnectionState.CHECKING,
        ConnectionState.CONNECTING,
        ConnectionState.STREAMING,
        ConnectionState.RECONNECTING,
        ConnectionState.STOPPING,
    }
)


_THRESHOLDS = BackpressureConfig()
BUFFERING_FILL = _THRESHOLDS.buffering_above  # 0.85: the fill bar turns amber here...
OVERLOADED_FILL = _THRESHOLDS.overloaded_above  # 0.95: ...and red here
CLEAR_FILL = _THRESHOLDS.clear_below  # 0.70: the level clears below this
STATUS_TEXT_LIMIT = 160  # a server message is one line; longer text is cut (the log has it whole)


def fill_zone(fill_ratio: float) -> Level:
    """The colour zone of a queue fill: green < 0.85 <= amber < 0.95 <= red."""
    if fill_ratio >= OVERLOADED_FILL:
        return Level.OVERLOADED
    return Level.BUFFERING if fill_ratio >= BUFFERING_FILL else Level.NORMAL


def source_views(
    snap: SessionSnapshot, selected: frozenset[str] = frozenset(), now: float | None = None
) -> tuple[SourceView, ...]:
    """One view per known source (system first, then mic). ``selected``: the sources the user chose,
    shown as active before the first metrics arrive. ``now``: the current time on the session's clock
    (``SourceLoad.updated_at``'s), used to say how old stale numbers are; whole seconds, so a stale
    view changes at most once a second."""
    if not is_running(snap):  # after Stop the last numbers are no news: no bars
        return tuple(SourceView(s.value, s.value in selected) for s in (Source.SYSTEM, Source.MIC))
    loads: dict[str, SourceLoad] = {load.source: load for load in snap.level.sources}
    views = []
    for source in (Source.SYSTEM, Source.MIC):
        name = source.value
        load = loads.get(name)
        counters = snap.sources.get(source)
        active = name in selected or counters is not None or load is not None
        # what the client lost: throttle shedding plus backlog-bound drops
        client_dropped = counters.lost_frames * FRAME_SECONDS if counters is not None else 0.0
        if load is None or load.updated_at <= 0:
            views.append(SourceView(name, active, None, None, 0.0, 0.0, client_dropped))
            continue
        age = None if load.fresh or now is None else float(max(0, int(now - load.updated_at)))
        views.append(
            SourceView(
                name,
                active,
                load.fill_ratio,
                load.backlog_seconds,
                load.dropped_recent_seconds,
                load.dropped_total_seconds,
                client_dropped,
                fresh=load.fresh,
                age_seconds=age,
            )
        )
    return tuple(views)


def chart_values(snap: SessionSnapshot) -> dict[str, float | None]:
    """Fill ratio per source for the chart; ``None`` where the source has no fresh metrics; nothing
    once the session ended (its last numbers are no news)."""
    if not is_running(snap):
        return {}
    return {
        load.source: (load.fill_ratio if load.fresh and load.updated_at > 0 else None)
        for load in snap.level.sources
    }


def is_running(snap: SessionSnapshot) -> bool:
    return snap.state in RUNNING_STATES


LOAD_STATES = frozenset({"buffering", "overloaded", "backpressure"})


def server_status_line(snap: SessionSnapshot) -> str:
    """The server's last ``status`` while a session runs (diagnostics), every state with its message
    (CONTRACT section 6): "Server said: overloaded — Source system queue 97 % full". Unknown states are
    shown verbatim; "" when no session runs or the server has sent no status yet, and "" for a load
    warning the metrics have since cleared (the server never says "recovered": its last word would
    otherwise stay beside a green light). A message that only repeats its state is not repeated."""
    status = snap.last_status
    if status is None or not is_running(snap):
        return ""
    state = _one_line(status.state) or "(no state)"
    if state in LOAD_STATES and snap.level.level.severity == 0:
        return ""
    message = _one_line(status.message)
    if message.strip(" .").lower() == state.lower():
        message = ""
    return f"Server said: {state} — {message}" if message else f"Server said: {state}"


def input_levels(
    snap: SessionSnapshot, selected: frozenset[str] = frozenset()
) -> tuple[tuple[str, float | None], ...]:
    """Each source's input level (dBFS, whole dB so the meters change only when it shows), system
    first; ``None`` when the source is not capturing (no session, or not chosen)."""
    running = is_running(snap)
    levels = []
    for source in (Source.SYSTEM, Source.MIC):
        dbfs = snap.input_dbfs.get(source.value) if running else None
        chosen = source.value in selected or source.value in snap.input_dbfs
        levels.append((source.value, float(round(dbfs)) if dbfs is not None and chosen else None))
    return tuple(levels)


def _one_line(text: str) -> str:
    """Server text for a one-line label: whitespace runs collapsed, cut at ``STATUS_TEXT_LIMIT``."""
    flat = re.sub(r"\s+", " ", text if isinstance(text, str) else str(text)).strip()
    return flat if len(flat) <= STATUS_TEXT_LIMIT else flat[: STATUS_TEXT_LIMIT - 1] + "…"


def connection_view(snap: SessionSnapshot, backend: str, running: bool) -> ConnectionView:
    """Elapsed time rounded to whole seconds, so the view changes at most once a second. What
    throttling is doing is shown only while ``running`` (the last note is no news after Stop). The
    detail is left out where the status light already says it (a failure's message, "Waiting for
    the final summary"), so no line repeats another."""
    detail = snap.detail
    status = snap.status
    said = f"{status.headline} {status.detail} {snap.error or ''}".lower()
    if snap.state is ConnectionState.FAILED or (detail and detail.strip(" .").lower() in said):
        detail = ""
    return ConnectionView(
        state=snap.state.value,
        detail=detail,
        running=running,
        backend=backend,
        elapsed_seconds=float(int(snap.elapsed_seconds)),
        reconnects=snap.reconnects,
        throttle_note=snap.throttle_note if running else "",
    )


def split_transcript(
    transcript: Sequence[TranscriptSegment],
) -> tuple[tuple[TranscriptSegment, ...], tuple[TranscriptSegment, ...]]:
    """(finals, partials) of a snapshot's transcript, which lists the finals first and then the live
    partials (``SessionSnapshot.transcript``): cut at the last final, at C speed, instead of asking
    every line of a long meeting whether it is final twice a second."""
    segments = tuple(transcript)
    cut = len(segments)
    while cut and not segments[cut - 1].is_final:
        cut -= 1
    return segments[:cut], segments[cut:]


def export_document(snap: SessionSnapshot, started_at: datetime | None = None, backend: str = "",
                    sources: tuple[str, ...] = ()) -> ExportDocument | None:
    """The export/summary document for ``snap`` (the meeting that started at ``started_at``); ``None``
    before any session produced anything."""
    if not snap.session_id and not snap.transcript and snap.summary_markdown is None:
        return None
    return ExportDocument(
        session_id=snap.session_id,
        segments=split_transcript(snap.transcript)[0],
        cards=snap.cards,
        entities=snap.entities,
        summary_markdown=snap.summary_markdown,
        started_at=started_at,
        duration_seconds=snap.elapsed_seconds,
        title=title_from_summary(snap.summary_markdown),
        sources=sources,
        backend=backend,
        losses=snap.losses,
        status="recording" if is_running(snap) else "complete",
    )
