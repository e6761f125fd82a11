"""The loss vocabulary: spans merge per source and cause, totals per source and cause."""

from __future__ import annotations

from app.core.losses import LossCause, LossLedger, LossSpan


def test_adjacent_spans_of_one_source_and_cause_merge_and_others_do_not() -> None:
    ledger = LossLedger()
    ledger.add(LossSpan("mic", 10.0, 11.0, LossCause.SERVER_DROP))
    merged = ledger.add(LossSpan("mic", 11.1, 12.0, LossCause.SERVER_DROP, True, 0.4))
    assert merged == LossSpan("mic", 10.0, 12.0, LossCause.SERVER_DROP, True, 0.4)
    ledger.add(LossSpan("system", 11.0, 11.5, LossCause.SERVER_DROP))  # other source
    ledger.add(LossSpan("mic", 11.0, 11.5, LossCause.CLIENT_SHED))  # other cause
    ledger.add(LossSpan("mic", 13.0, 14.0, LossCause.SERVER_DROP))  # not adjacent
    assert len(ledger.spans) == 4


def test_totals_by_source_and_cause() -> None:
    ledger = LossLedger()
    ledger.add(LossSpan("mic", 1.0, 3.0, LossCause.SERVER_DROP))
    ledger.add(LossSpan("mic", 5.0, 5.5, LossCause.IN_TRANSIT))
    ledger.add(LossSpan("system", 2.0, 2.2, LossCause.CLIENT_SHED))
    totals = ledger.by_source(["mic", "system"])
    assert totals["mic"].server_dropped_seconds == 2.0 and totals["mic"].lost_in_transit_seconds == 0.5
    assert totals["mic"].total_seconds == 2.5 and len(totals["mic"].spans) == 2
    assert totals["system"].client_shed_seconds == 0.2 and totals["system"].server_dropped_seconds == 0.0
    assert LossCause.SERVER_DROP.reason == "backend overloaded"
