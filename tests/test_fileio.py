"""Whole-file writes: a failure mid-write (here a real one: the kernel's file size limit, which fails a
write with EFBIG as a full disk fails it with ENOSPC) leaves the old file as it was and no temporary
file behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.fileio import write_text_atomic

ROOT = Path(__file__).resolve().parents[1]

# RLIMIT_FSIZE applies to the whole process, so the write that must fail runs in its own.
FAILING_WRITE = r"""
import resource, signal, sys
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
sys.path.insert(0, sys.argv[2])
from app.fileio import write_text_atomic
try:
    write_text_atomic(Path(sys.argv[1]), "new line\n" * 10_000)
except OSError as exc:
    print("failed:", exc.strerror)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_write_that_fails_midway_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "export.md"
    target.write_text("the previous export\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", FAILING_WRITE, str(target), str(ROOT)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.stdout.strip() == "failed: File too large", done.stdout + done.stderr
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.md"]


def test_an_unencodable_text_fails_before_any_file_is_touched(tmp_path: Path) -> None:
    target = tmp_path / "export.md"
    target.write_text("kept", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "lone \ud800 surrogate")
    assert target.read_text(encoding="utf-8") == "kept" and len(list(tmp_path.iterdir())) == 1


def test_a_new_file_gets_the_umask_permissions_and_a_replaced_one_keeps_its_own(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.json"
    write_text_atomic(fresh, "{}\n")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    fresh.chmod(0o640)
    write_text_atomic(fresh, "[]\n")
    assert fresh.read_text() == "[]\n" and stat.S_IMODE(fresh.stat().st_mode) == 0o640
