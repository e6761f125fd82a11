"""The meeting history: every session is a meeting, kept in an SQLite database in the per-user data
folder (``app.datadir``), so that nothing is lost when a new meeting starts, the app quits, crashes
or the power goes.

Owns: ``schema`` (the file, its version and migrations, full-text search), ``records`` (the values
it holds), ``store`` (writes) and ``queries`` (reads), ``codec`` (JSON columns), ``titles``,
``writer`` (the one writing thread: bounded hand-off, commits at least every 2 s), ``recorder``
(a session's events and snapshots -> writes), ``audio`` (the optional local recording),
``ownership`` (the lock that tells a live meeting from an interrupted one), ``service`` (``History``:
open, recover, begin, delete, retention, close).

May import: ``app.core`` and the standard library only. No Qt, no asyncio: the front ends (``app.ui``,
``app.headless``) call it from their event loop and run its blocking parts in executors.
"""

from app.history.records import MeetingInfo, MeetingRow, MeetingState, Origin, StoredMeeting
from app.history.schema import HistoryError
from app.history.service import History, HistoryReader

__all__ = ["History", "HistoryError", "HistoryReader", "MeetingInfo", "MeetingRow", "MeetingState", "Origin",
           "StoredMeeting"]
