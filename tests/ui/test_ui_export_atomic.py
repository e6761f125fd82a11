"""A GUI export that fails midway (disk full, a size limit) leaves the previous file whole: the
exporter (app.ui.exporting) writes a temporary file and renames it. The failure is a real one: the
kernel's file size limit (RLIMIT_FSIZE), which fails a write with EFBIG as a full disk fails it with
ENOSPC; it applies to the whole process, so the export runs in its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXPORT = r"""
import resource, signal, sys
from pathlib import Path
from app.core.export import ExportDocument
from app.core.session_state import TranscriptSegment
from app.fileio import write_atomic
from app.ui.exporting import render

lines = tuple(TranscriptSegment("mic", f"line {n} of a long meeting", n, n + 0.5, True) for n in range(2000))
doc = ExportDocument("abc12345-x", lines)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
try:
    write_atomic(Path(sys.argv[1]), render(doc, "md").encode("utf-8"))
except OSError as exc:
    print("export failed:", exc.strerror)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_failed_export_never_leaves_a_truncated_file(tmp_path: Path) -> None:
    target = tmp_path / "meeting.md"
    target.write_text("# the export from yesterday\n", encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", EXPORT, str(target)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "export failed: File too large", done.stdout + done.stderr[-2000:]
    assert target.read_text(encoding="utf-8") == "# the export from yesterday\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meeting.md"]  # no temporary file left
