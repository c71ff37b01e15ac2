"""The systolic command: output, JSON, and one-line errors."""

import json
import subprocess
import sys

import pytest

from systolic.cli import main


def run_json(capsys, *argv):
    assert main(["gemm", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_gemm_cycles_equal_the_serial_closed_form(capsys):
    record = run_json(capsys, "1000", "784", "30", "--rows", "32", "--cols", "32")
    folds = 25 * 1  # ceil(784 / 32) k-tiles, one n-tile
    assert record["folds"] == folds
    assert record["total_cycles"] == folds * (2 * 32 + 32 + 1000 - 2)
    assert record["within_error_bound"] is True and record["macs"] == 1000 * 784 * 30


def test_gemm_integer_operands_are_exact_and_reproducible(capsys):
    argv = "20 9 7 --rows 4 --cols 3 --operands int --weight-load double_buffered --seed 3"
    first, again = (run_json(capsys, *argv.split()) for _ in range(2))
    assert first["exact"] is True and first["weight_load"] == "double_buffered"
    drop = ("wall_s", "numpy_s", "warmup_s")
    assert {k: v for k, v in first.items() if k not in drop} == {
        k: v for k, v in again.items() if k not in drop
    }


def test_gemm_table_names_the_workload_and_the_check(capsys):
    assert main(["gemm", "6", "5", "4", "--rows", "2", "--cols", "2", "--engine", "golden"]) == 0
    out = capsys.readouterr().out
    assert "GEMM (6, 5) @ (5, 4), fp32, serial weight loading, golden engine" in out
    assert "total cycles" in out and "within the fp32 rounding-error bound" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["gemm", "0", "3", "3"], "argument M: expected a positive integer, got 0"),
        (["gemm", "2", "x", "3"], "argument K: expected a positive integer, got 'x'"),
        (["gemm", "--rows", "-1"], "argument --rows: expected a positive integer, got -1"),
        (["gemm", "--weight-load", "lazy"], "argument --weight-load: invalid choice: 'lazy'"),
        (
            ["gemm", "4", "4", "4", "--max-cycles", "10"],
            "on 32x32 would take 98 cycles, more than max_cycles=10",
        ),
        (["gemm", "100000", "100000", "1"], "a would hold 10,000,000,000 elements"),
        (["bogus"], "invalid choice: 'bogus'"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(argv, message):
    run = subprocess.run([sys.executable, "-m", "systolic", *argv], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stdout == "" and len(run.stderr.splitlines()) == 1
    assert message in run.stderr and "Traceback" not in run.stderr
