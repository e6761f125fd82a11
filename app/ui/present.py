"""Snapshot -> plain view values, pure (no Qt): what each widget shows for a ``SessionSnapshot``.

Kept apart from the controller so the mapping is tested without a session or a window.
"""

from __future__ import annotations

from app.core.backpressure import SourceLoad
from app.core.export import ExportDocument
from app.core.messages import FRAME_SECONDS, Source
from app.core.session_state import ConnectionState, SessionSnapshot
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


def source_views(snap: SessionSnapshot, selected: frozenset[str] = frozenset()) -> tuple[SourceView, ...]:
    """One view per known source (system first, then mic). ``selected``: the sources the user chose,
    shown as active before the first metrics arrive."""
    loads: dict[str, SourceLoad] = {load.source: load for load in snap.level.sources}
    views = []
    for source in (Source.SYSTEM, Source.MIC):
        name = source.value
        load = loads.get(name)
        counters = snap.sources.get(source)
        active = name in selected or counters is not None or load is not None
        client_dropped = counters.dropped_frames * FRAME_SECONDS if counters is not None else 0.0
        if load is None or load.updated_at <= 0:
            views.append(SourceView(name, active, None, None, 0.0, 0.0, client_dropped))
            continue
        views.append(
            SourceView(
                name,
                active,
                load.fill_ratio,
                load.backlog_seconds,
                load.dropped_recent_seconds,
                load.dropped_total_seconds,
                client_dropped,
            )
        )
    return tuple(views)


def chart_values(snap: SessionSnapshot) -> dict[str, float | None]:
    """Fill ratio per source for the chart; ``None`` where the source has no fresh metrics."""
    return {
        load.source: (load.fill_ratio if load.fresh and load.updated_at > 0 else None)
        for load in snap.level.sources
    }


def is_running(snap: SessionSnapshot) -> bool:
    return snap.state in RUNNING_STATES


def connection_view(snap: SessionSnapshot, backend: str, running: bool) -> ConnectionView:
    """Elapsed time rounded to whole seconds, so the view changes at most once a second."""
    detail = snap.detail
    if snap.state is ConnectionState.FAILED and snap.error and not detail:
        detail = snap.error
    return ConnectionView(
        state=snap.state.value,
        detail=detail,
        running=running,
        backend=backend,
        elapsed_seconds=float(int(snap.elapsed_seconds)),
        reconnects=snap.reconnects,
        throttle_note=snap.throttle_note,
    )


def export_document(snap: SessionSnapshot, started_at: str = "") -> ExportDocument | None:
    """The export/summary document for ``snap``; ``None`` before any session produced anything."""
    if not snap.session_id and not snap.transcript and snap.summary_markdown is None:
        return None
    return ExportDocument(
        session_id=snap.session_id,
        segments=tuple(s for s in snap.transcript if s.is_final),
        cards=snap.cards,
        entities=snap.entities,
        summary_markdown=snap.summary_markdown,
        started_at=started_at,
    )
