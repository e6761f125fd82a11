"""What one check found (the first-run check's rows, Settings' "Test connection"): a state, what was
found and what to do. Plain values, so the dialogs that show them need not import the checks
themselves (``app.session.preflight``: capture, transport, numpy) before anything is checked.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CheckState(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"  # works, but something needs attention (silence, model loading, capacity)
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CheckResult:
    state: CheckState
    summary: str  # what was found
    fix: str = ""  # what to do about it ("" when OK)
