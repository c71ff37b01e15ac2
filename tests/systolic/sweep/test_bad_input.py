"""``systolic sweep`` fed bad input: one line on stderr, exit status 2, nothing written, and
never a hang (an unreachable scheduler gives up after its timeout)."""

import json
import os
import subprocess
import sys
import time

import pytest

from systolic.cli import main
from systolic.sweep.spec import SPEC_FORMAT
from tests.systolic.sweep.conftest import write_spec

SPEC = '[workloads]\nmlp = ["20,12,5"]\n[space]\narray = ["4x4"]\n'


def status(argv):
    """Exit status of the command line, whether argparse exits or main returns."""
    try:
        return main([str(part) for part in argv])
    except SystemExit as exit_info:
        return exit_info.code


def one_line_error(capsys, argv, message):
    assert status(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err, err
    assert captured.out == ""


def test_a_malformed_spec_names_the_key_and_line(tmp_path, capsys):
    spec = write_spec(tmp_path, SPEC + 'dataflows = ["ws"]\n')
    message = f"{spec}, line 5: space.dataflows: unknown key; valid: array, dataflow"
    one_line_error(capsys, ["sweep", spec, "--out", tmp_path / "out"], message)
    assert not (tmp_path / "out").exists()


def test_a_missing_spec(tmp_path, capsys):
    one_line_error(capsys, ["sweep", tmp_path / "none.toml", "--out", tmp_path / "out"],
                   "none.toml: cannot read")  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_one_line_within_its_timeout(tmp_path):
    spec = write_spec(tmp_path, SPEC)
    argv = [sys.executable, "-m", "systolic", "sweep", str(spec), "--out", str(tmp_path / "out"),
            "--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", "2"]  # fmt: skip
    start = time.monotonic()
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert time.monotonic() - start < 30
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip() == (
        "systolic: error: cannot reach the Dask scheduler at tcp://127.0.0.1:1 within 2 s "
        "(Timed out trying to connect to tcp://127.0.0.1:1 after 2 s)"
    )
    assert not (tmp_path / "out").exists()


def test_a_malformed_scheduler_address(tmp_path, capsys):
    spec = write_spec(tmp_path, SPEC)
    one_line_error(capsys, ["sweep", spec, "--out", tmp_path / "out", "--scheduler", "udp://x:1"],
                   "--scheduler udp://x:1: unknown address scheme 'udp'")  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_results_of_another_spec_version_are_refused(tmp_path, capsys):
    spec = write_spec(tmp_path, SPEC)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sweep.json").write_text(json.dumps({"format": SPEC_FORMAT + 1}))
    (out / "points.jsonl").write_text('{"key": "a", "status": "ok"}\n')
    message = f"{out} holds results of spec format {SPEC_FORMAT + 1}, this is format {SPEC_FORMAT}"
    one_line_error(capsys, ["sweep", spec, "--out", out, "--no-values"], message)
    assert sorted(p.name for p in out.iterdir()) == ["points.jsonl", "sweep.json"]


def test_an_output_folder_below_a_file(tmp_path, capsys):
    spec = write_spec(tmp_path, SPEC)
    (tmp_path / "file").write_text("")
    one_line_error(capsys, ["sweep", spec, "--out", tmp_path / "file" / "out"],
                   "--out " + str(tmp_path / "file" / "out") + " cannot be made")  # fmt: skip


def test_an_output_folder_without_write_permission(tmp_path, capsys, monkeypatch):
    # os.access stands in for the permission bits, which root would pass anyway
    import systolic.cli.common as common

    spec = write_spec(tmp_path, SPEC)
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        common.os, "access", lambda path, mode: path != locked and real_access(path, mode)
    )
    one_line_error(capsys, ["sweep", spec, "--out", locked / "out"], "no permission in")
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
         "--workers sizes the local cluster; with --scheduler the scheduler's workers"),
        (["--workers", "0"], "--workers: expected a positive integer, got 0"),
        (["--chunk", "x"], "--chunk: expected a positive integer, got 'x'"),
        (["--connect-timeout", "0"], "--connect-timeout: expected a finite number > 0"),
    ],
)  # fmt: skip
def test_bad_options(tmp_path, capsys, argv, message):
    spec = write_spec(tmp_path, SPEC)
    one_line_error(capsys, ["sweep", spec, "--out", tmp_path / "out", *argv], message)
    assert not (tmp_path / "out").exists()
