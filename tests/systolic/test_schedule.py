"""Fold plans and skew/de-skew."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import systolic
from systolic.config import ArrayConfig
from systolic.schedule import deskew, fold_counts, fold_table, pad_tile, plan_folds, skew

dims = st.integers(1, 40)
sides = st.integers(1, 16)


@given(m=dims, k=dims, n=dims, rows=sides, cols=sides, capacity=st.none() | st.integers(1, 50))
def test_folds_tile_the_gemm_exactly_once(m, k, n, rows, cols, capacity):
    tile_m = m if capacity is None else capacity
    folds = plan_folds(m, k, n, tile_m, rows, cols)
    chunks = 1 if capacity is None else math.ceil(m / capacity)
    assert len(folds) == chunks * math.ceil(k / rows) * math.ceil(n / cols)
    assert len(folds) == fold_counts(m, k, n, tile_m, rows, cols).folds
    covered = np.zeros((m, k, n), dtype=int)
    for fold in folds:
        assert fold.k1 - fold.k0 <= rows and fold.n1 - fold.n0 <= cols
        assert fold.stream_rows <= (capacity or m)
        covered[fold.m0 : fold.m1, fold.k0 : fold.k1, fold.n0 : fold.n1] += 1
    assert (covered == 1).all()


def test_k_folds_of_an_output_tile_run_back_to_back_first_to_last():
    folds = plan_folds(5, 5, 3, 3, 2, 2)
    assert [(f.m0, f.n0, f.k0) for f in folds[:4]] == [(0, 0, 0), (0, 0, 2), (0, 0, 4), (0, 2, 0)]
    assert [(f.first, f.last) for f in folds[:3]] == [(True, False), (False, False), (False, True)]
    assert [f.stream_rows for f in folds] == [3] * 6 + [2] * 6
    assert fold_table(5, 5, 3, 3, 2, 2)[1].tolist() == [0, 3, 2, 4, 0, 2]


def test_skew_by_hand():
    tile = np.array([[1, 2, 3], [4, 5, 6]])
    assert skew(tile).tolist() == [[1, 0, 0], [4, 2, 0], [0, 5, 3], [0, 0, 6]]


@given(length=st.integers(1, 20), width=st.integers(1, 20), seed=st.integers(0, 1000))
def test_deskew_undoes_skew(length, width, seed):
    tile = np.random.default_rng(seed).standard_normal((length, width))
    assert np.array_equal(deskew(skew(tile), length), tile)


def test_pad_tile_zero_fills_bottom_and_right():
    assert pad_tile(np.ones((1, 2)), (2, 3)).tolist() == [[1, 1, 0], [0, 0, 0]]


def test_thread_count_serial_below_the_threshold_and_capped_above(monkeypatch):
    from systolic import schedule

    monkeypatch.delenv("SYSTOLIC_THREADS", raising=False)
    assert schedule.thread_count(schedule.SERIAL_MACS - 1, 100) == 1
    assert schedule.thread_count(schedule.SERIAL_MACS, 1) == 1  # one tile: nothing to share
    assert schedule.thread_count(schedule.SERIAL_MACS, 100, threads=3) == 3
    assert schedule.thread_count(schedule.SERIAL_MACS, 2, threads=3) == 2
    monkeypatch.setenv("SYSTOLIC_THREADS", "5")
    assert schedule.thread_count(schedule.SERIAL_MACS, 100) == 5
    assert schedule.thread_count(schedule.SERIAL_MACS, 100, threads=1) == 1  # config wins
    monkeypatch.setenv("SYSTOLIC_THREADS", "zero")
    with pytest.raises(ValueError, match="SYSTOLIC_THREADS must be a positive integer, got 'zero'"):
        schedule.thread_count(schedule.SERIAL_MACS, 100)
    with pytest.raises(ValueError, match="SYSTOLIC_THREADS"):  # refused for a small GEMM too
        schedule.thread_count(1, 1)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_a_small_gemm_starts_no_thread(monkeypatch, dataflow):
    from systolic.dataflows import output_stationary, weight_stationary

    def refuse(*args):
        raise AssertionError("the parallel kernel ran")

    monkeypatch.setattr(weight_stationary, "_ws_kernel", refuse)
    monkeypatch.setattr(output_stationary, "_os_kernel", refuse)
    monkeypatch.setattr(weight_stationary, "_transpose", refuse)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((784, 10)), rng.standard_normal((10, 30))  # a gradient's GEMM
    c, _ = systolic.matmul(a, b, ArrayConfig(32, 32, dataflow=dataflow, threads=2))
    assert np.allclose(c, a @ b, atol=1e-4)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("mode", ["serial", "double_buffered"])
def test_the_parallel_path_equals_the_golden_model(monkeypatch, dataflow, mode):
    from systolic import schedule
    from systolic.dataflows import MODULES

    if dataflow == "os" and mode != "serial":
        return
    monkeypatch.setattr(schedule, "SERIAL_MACS", 0)  # every GEMM on threads
    rng = np.random.default_rng(3)
    config = ArrayConfig(3, 4, dataflow=dataflow, weight_load=mode, threads=3, dtype="fp32")
    a = rng.standard_normal((23, 10)).astype(np.float32)
    b = rng.standard_normal((10, 17)).astype(np.float32)
    engines = MODULES[config.dataflow]
    golden = engines.simulate_golden(a, b, config)
    fast, report = engines.simulate_fast(a, b, config)
    assert np.array_equal(fast, golden.result) and report == golden.report
    assert np.array_equal(report.pe_active_cycles, golden.report.pe_active_cycles)
