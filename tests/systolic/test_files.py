"""Whole-file writes: temporary file, fsync, rename; modes kept; killed writes swept."""

import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from systolic.files import STALE_S, atomic_open, atomic_path


def test_a_killed_writes_leftover_is_swept_by_the_next_write(tmp_path):
    target = tmp_path / "out.csv"
    stale = tmp_path / ".out.csv.abc123.tmp"
    fresh = tmp_path / ".out.csv.def456.tmp"  # a write running beside this one
    other = tmp_path / ".other.csv.abc123.tmp"
    for path in (stale, fresh, other):
        path.write_text("half")
    old = time.time() - STALE_S - 5
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    with atomic_open(target) as handle:
        handle.write("whole\n")
    assert target.read_text() == "whole\n"
    assert not stale.exists() and fresh.exists() and other.exists()


def test_atomic_path_keeps_the_mode_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "a.gif"
    target.write_bytes(b"old")
    target.chmod(0o600)
    with atomic_path(target) as temporary:
        temporary.write_bytes(b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError
    assert target.read_bytes() == b"new" and sorted(tmp_path.iterdir()) == [target]


def test_sigterm_mid_write_leaves_no_temporary_file(tmp_path):
    # a command that is writing when it is told to stop removes its half-written file
    script = (
        "import sys, time\n"
        "from systolic.files import atomic_open\n"
        "from systolic.cli import _on_sigterm\n"
        "_on_sigterm()\n"
        f"with atomic_open({str(tmp_path / 'x.txt')!r}) as handle:\n"
        "    handle.write('half'); print('writing', flush=True); time.sleep(30)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        assert len(list(tmp_path.iterdir())) == 1  # the temporary file exists
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=20) == 143
    finally:
        child.kill()
    assert list(tmp_path.iterdir()) == []


def test_a_large_file_is_sent_on_to_the_disk_a_part_at_a_time(tmp_path, monkeypatch):
    from systolic import files

    monkeypatch.setattr(files, "WRITEBACK_BYTES", 10)
    started = []
    advise = os.posix_fadvise
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, offset, length, advice: (
        started.append((offset, length, advice)), advise(fd, offset, length, advice)))  # fmt: skip
    path = tmp_path / "big.csv"

    def write(handle):
        out = files.EarlyWriteback(handle)
        for part in (b"a" * 4, b"b" * 7, b"c" * 3, b"d" * 12, b"e"):
            assert out.write(part) == len(part)

    files.atomic_write(path, write, binary=True)
    assert path.read_bytes() == b"a" * 4 + b"b" * 7 + b"c" * 3 + b"d" * 12 + b"e"
    # each range once, in order, as soon as 10 bytes or more wait; the rest at the sync
    assert started == [(0, 11, os.POSIX_FADV_DONTNEED), (11, 15, os.POSIX_FADV_DONTNEED)]
