"""What a run may allocate and how long it may take, told before it starts: the memory
estimate against the measured peak, a long run's estimate and progress, the time refusal."""

import tracemalloc

import numpy as np
import pytest

import systolic
from systolic import limits
from systolic.api import run_bytes
from systolic.array import PROGRESS_CYCLES
from systolic.cli import gemm as gemm_cli
from systolic.cli import main
from systolic.config import ArrayConfig

# shapes that stress each table: folds (a long k or n on one PE), many chunks, a large
# result, large operands, the golden engine's per-fold feeds, each dataflow
STRESS = [
    (1, 2**18, 1, ArrayConfig(1, 1), "fast"),
    (1, 1, 2**18, ArrayConfig(1, 1), "fast"),
    (2**15, 1, 1, ArrayConfig(1, 1, accumulator_rows=4), "fast"),
    (1024, 64, 1024, ArrayConfig(16, 16), "fast"),
    (512, 512, 256, ArrayConfig(32, 32, dtype="bf16"), "fast"),
    (256, 64, 512, ArrayConfig(8, 8, dataflow="os"), "fast"),
    (256, 64, 512, ArrayConfig(8, 8, dataflow="is", weight_load="segmented"), "fast"),
    (1, 4096, 1, ArrayConfig(1, 1), "golden"),
    (40, 40, 40, ArrayConfig(4, 4, weight_load="double_buffered"), "golden"),
]


@pytest.mark.parametrize("m, k, n, config, engine", STRESS)
def test_the_memory_estimate_bounds_the_measured_peak(m, k, n, config, engine):
    a, b = np.ones((m, k)), np.ones((k, n))
    systolic.matmul(a[:1, :1], b[:1, :1], config, engine=engine)  # compiled before measuring
    tracemalloc.start()
    try:
        systolic.matmul(a, b, config, engine=engine)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = run_bytes(m, k, n, config, engine)
    assert peak <= estimate  # from above, as the refusal needs
    assert estimate <= 4 * peak + 2**20  # and not so loose that it refuses what would fit


def test_a_gemm_of_millions_of_folds_is_refused_when_its_fold_table_would_not_fit(
    monkeypatch, capsys
):
    # 2^26 folds of one MAC: the fold table alone is 3 GiB
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", "2G")
    assert main(["gemm", "1", str(2**26), "1", "--rows", "1", "--cols", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "more than the memory limit of 2.0 GiB" in err


def test_the_golden_engine_reports_its_setup_and_its_cycles():
    calls = []
    a, b = np.ones((30, 8)), np.ones((8, 6))
    config = ArrayConfig(2, 2, weight_load="double_buffered")
    _, report = systolic.matmul(a, b, config, engine="golden", progress=calls.append)
    setup = [c for c in calls if c == 0]
    assert len(setup) == report.folds  # one call per fold prepared, before any cycle
    assert calls[: len(setup)] == setup
    stepped = sum(calls)
    assert stepped == report.total_cycles // PROGRESS_CYCLES * PROGRESS_CYCLES


def test_a_long_run_says_its_estimate_and_shows_progress_before_it_starts(monkeypatch, capsys):
    monkeypatch.setattr(gemm_cli, "NOTE_SECONDS", 0.0)  # every run counts as long here
    assert main(["gemm", "40", "16", "8", "--rows", "4", "--cols", "4", "--engine", "golden"]) == 0
    err = capsys.readouterr().err
    assert "on the golden engine: about" in err and "max_seconds=3600" in err
    assert "simulating" in err and "cycle" in err  # the progress bar, in cycles


def test_the_time_refusal_names_the_default_and_how_to_raise_it():
    with pytest.raises(ValueError) as error:
        limits.check_time(7200.0, limits.DEFAULT_MAX_SECONDS, "the run")
    message = str(error.value)
    assert "max_seconds=3600 (the default)" in message and "--max-seconds S" in message
    assert "ArrayConfig(max_seconds=S)" in message and "\n" not in message
