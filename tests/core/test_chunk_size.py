"""The recognizer's chunk size inferred from queue reports (``app.core.chunk_size``)."""

from __future__ import annotations

from app.core.chunk_size import infer_chunk_frames


def newest_at(sent: list[tuple[float, int]]):  # type: ignore[no-untyped-def]
    def newest(t: float) -> int:
        return max((p for at, p in sent if at <= t), default=0)
    return newest


def test_chunk_ends_spread_over_many_chunks_reveal_a_larger_chunk() -> None:
    # 4 s chunks (200 frames), each report finds the queue partly full: ends at 200, 400, 600, 800, 1000
    sent = [(float(k), 200 * k + 30) for k in range(1, 6)]
    metrics = [(float(k), 31) for k in range(1, 6)]
    assert infer_chunk_frames(metrics, newest_at(sent), 100, 100, 6) == 200


def test_one_chunk_end_reported_again_and_again_is_not_evidence_of_a_larger_chunk() -> None:
    # A slow recognizer (RTF 4: 8 s per 2 s chunk) and a client holding back at the credit: every report
    # finds the same 90 frames queued behind the same chunk end (frame 800), which an 8 s chunk would fit
    # too. One end, however often it is reported, says nothing about the size.
    sent = [(17.0, 889)]
    metrics = [(18.0 + k, 90) for k in range(8)]
    assert infer_chunk_frames(metrics, newest_at(sent), 100, 100, 6) == 100
    # ...and with earlier, distinct ends that fit the 2 s chunk only, still 2 s
    earlier = [(2.5, 130), (4.5, 230)]
    reports = [(2.5, 30), (4.5, 30), *metrics]
    assert infer_chunk_frames(reports, newest_at([*earlier, *sent]), 100, 100, 6) == 100
