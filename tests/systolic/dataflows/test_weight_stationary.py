"""Weight-stationary engines: a @ b, then closed form, then golden model, then numba kernel."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from systolic.accumulator import Accumulator
from systolic.array import SimulationLimitError, WeightStationaryArray
from systolic.config import ArrayConfig, WeightLoad
from systolic.dataflows import weight_stationary as ws
from systolic.schedule import fold_table, plan_folds
from tests.reference import ordered_reference, prepared


@pytest.mark.parametrize("mode", list(WeightLoad))
@pytest.mark.parametrize("shape", [(3, 2, 7, 5), (19, 11, 45, 25), (16, 8, 16, 8)])
def test_fast_engine_equals_golden_across_stream_blocks(mode, shape):
    # long streams cross the kernel's blocks of STREAM_BLOCK output rows, which random shapes
    # do not; 19 x 11 PEs run two groups of PE rows and columns and what is left of each
    # (the k-fold of 45 - 19 - 19 = 7 rows, the n-tile of 3 columns), 16 x 8 whole groups only
    rows, cols, k, n = shape
    rng = np.random.default_rng(11)
    m = 2 * ws.STREAM_BLOCK + 37
    a, b = prepared(rng.standard_normal((m, k)), rng.standard_normal((k, n)))
    config = ArrayConfig(rows, cols, weight_load=mode, accumulator_rows=ws.STREAM_BLOCK + 5)
    golden = ws.simulate_golden(a, b, config)
    fast, report = ws.simulate_fast(a, b, config)
    assert np.array_equal(fast, golden.result) and report == golden.report
    assert np.array_equal(report.pe_active_cycles, golden.report.pe_active_cycles)
    assert np.array_equal(fast, ordered_reference(a, b, rows))


@given(data=st.data())
def test_closed_form_equals_the_controller_timeline_at_larger_sizes(data):
    # up to 40 tiles per dimension and 20 chunks, so the per-fold timeline stays quick
    rows, cols = data.draw(st.integers(1, 64)), data.draw(st.integers(1, 64))
    m = data.draw(st.integers(1, 600))
    k, n = data.draw(st.integers(1, 40 * rows)), data.draw(st.integers(1, 40 * cols))
    capacity = data.draw(st.none() | st.integers(-(-m // 20), 700))
    mode = data.draw(st.sampled_from(list(WeightLoad)))
    config = ArrayConfig(rows=rows, cols=cols, weight_load=mode, accumulator_rows=capacity,
                         segment_rows=data.draw(st.integers(1, 16)))  # fmt: skip
    table = fold_table(m, k, n, *ws.tiles(m, config))
    lengths = (table[:, 1] - table[:, 0]).tolist()
    timeline = ws.fold_timeline(lengths, rows, cols, mode, chain_rows=config.chain_rows)
    last = timeline[-1].stream + lengths[-1] + rows + cols - 2  # last result leaves
    cycles = ws.closed_form_cycles(m, k, n, config)
    assert cycles["total_cycles"] == last
    assert cycles["compute_cycles"] == sum(lengths)
    if mode is WeightLoad.SERIAL:
        assert cycles["total_cycles"] == sum(2 * rows + cols + t - 2 for t in lengths)


@given(data=st.data())
def test_gemms_back_to_back_equal_the_controller_timeline_of_their_folds(data):
    # `times` GEMMs of one shape in one fold stream (a batch of attention heads on an MXU)
    rows, cols = data.draw(st.integers(1, 16)), data.draw(st.integers(1, 16))
    m, k, n = (data.draw(st.integers(1, 60)) for _ in range(3))
    times = data.draw(st.integers(1, 6))
    mode = data.draw(st.sampled_from(list(WeightLoad)))
    config = ArrayConfig(rows, cols, weight_load=mode, segment_rows=data.draw(st.integers(1, 8)),
                         accumulator_rows=data.draw(st.none() | st.integers(1, 40)))  # fmt: skip
    table = fold_table(m, k, n, *ws.tiles(m, config))
    lengths = (table[:, 1] - table[:, 0]).tolist() * times
    timeline = ws.fold_timeline(lengths, rows, cols, mode, chain_rows=config.chain_rows)
    cycles = ws.closed_form_cycles(m, k, n, config, times)
    assert cycles["total_cycles"] == timeline[-1].stream + lengths[-1] + rows + cols - 2
    assert cycles["compute_cycles"] == sum(lengths)
    if times == 1:
        assert cycles == ws.closed_form_cycles(m, k, n, config)


def counts(report):
    return {
        f.name: getattr(report, f.name)
        for f in dataclasses.fields(report)
        if f.name.endswith(("_cycles", "_bytes")) and f.name != "pe_active_cycles"
    }


def test_one_by_one_by_hand():
    # cycle 0 shifts w in, cycle 1 streams a: the product leaves the south edge in cycle 1
    golden = ws.simulate_golden(*prepared([[3.0]], [[4.0]]), ArrayConfig(rows=1, cols=1))
    assert golden.result[0, 0] == 12 and golden.report.total_cycles == 2
    assert counts(golden.report) == {
        "total_cycles": 2,
        "weight_load_cycles": 1,
        "compute_cycles": 1,
        "fill_drain_cycles": 0,
        "weight_read_bytes": 4,
        "act_read_bytes": 4,
        "acc_write_bytes": 4,
        "acc_read_bytes": 4,
        "weight_stall_cycles": 0,  # the bare array is fed as fast as it asks
        "input_stall_cycles": 0,
        "non_matrix_cycles": 0,
        "raw_stall_cycles": 0,
        "ub_write_bytes": 0,
        "dram_read_bytes": 0,
        "lowered_act_bytes": 0,  # no convolution lowered
        "ifmap_bytes": 0,
        "host_read_bytes": 0,
    }
    # a enters the one PE, w shifts into it, the sum is written there: one write each
    report = golden.report
    writes = (report.operand_register_writes, report.psum_register_writes,
              report.weight_register_writes)  # fmt: skip
    assert writes == (1, 1, 1)


def test_one_by_one_two_folds_serial_and_double_buffered_by_hand():
    a, b = prepared(np.arange(6.0).reshape(3, 2), [[1.0], [2.0]])
    serial = ws.simulate_golden(a, b, ArrayConfig(1, 1, weight_load="serial")).report
    # each fold: 1 load + 3 stream cycles; no fill or drain in a 1x1 array
    assert (serial.total_cycles, serial.weight_load_cycles, serial.compute_cycles) == (8, 2, 6)
    double = ws.simulate_golden(a, b, ArrayConfig(1, 1, weight_load="double_buffered")).report
    # tile 1 shifts into the shadow in cycle 1 while fold 0 streams in cycles 1-3
    assert (double.total_cycles, double.weight_load_cycles, double.compute_cycles) == (7, 1, 6)


def test_two_by_two_by_hand():
    a, b = prepared(np.ones((2, 4)), np.ones((4, 2)))
    serial = ws.simulate_golden(a, b, ArrayConfig(2, 2)).report
    # per fold: 2 shift cycles, 2 stream cycles, 2 drain cycles (last result at t + r - 1 + j)
    assert counts(serial) == {
        "total_cycles": 12,
        "weight_load_cycles": 4,
        "compute_cycles": 4,
        "fill_drain_cycles": 4,
        "weight_read_bytes": 32,
        "act_read_bytes": 32,
        "acc_write_bytes": 32,
        "acc_read_bytes": 16,
        "weight_stall_cycles": 0,
        "input_stall_cycles": 0,
        "non_matrix_cycles": 0,
        "raw_stall_cycles": 0,
        "ub_write_bytes": 0,
        "dram_read_bytes": 0,
        "lowered_act_bytes": 0,  # no convolution lowered
        "ifmap_bytes": 0,
        "host_read_bytes": 0,
    }
    # per fold: 2 rows x 2 real k-rows of activations, each through 2 PEs (8); 2 rows of
    # results x 2 columns, each sum through 2 PEs (8); per column, row 0's weight written
    # once and row 1's twice on its way down (3 x 2 columns = 6)
    writes = (serial.operand_register_writes, serial.psum_register_writes,
              serial.weight_register_writes)  # fmt: skip
    assert writes == (2 * 8, 2 * 8, 2 * 6)
    double = ws.simulate_golden(a, b, ArrayConfig(2, 2, weight_load="double_buffered"))
    # loads 0-1, stream 2-3, tile 1 shifts in 4-5 (last PE switched in cycle 4), stream 6-7,
    # drain 8-9
    assert (double.report.total_cycles, double.report.weight_load_cycles) == (10, 4)
    assert double.report.fill_drain_cycles == 2
    assert double.result.tolist() == [[4, 4], [4, 4]]


def test_double_buffering_hides_the_load_when_m_is_long_enough():
    rows, cols, m = 4, 3, 2 * 4 + 3 - 2
    config = ArrayConfig(rows, cols, weight_load="double_buffered")
    cycles = ws.closed_form_cycles(m, 3 * rows, cols, config)
    assert cycles["weight_load_cycles"] == rows  # only the first tile's shift is exposed
    assert cycles["fill_drain_cycles"] == rows + cols - 2


def run_with(a, b, config, timeline):
    folds = plan_folds(*a.shape, b.shape[1], *ws.tiles(a.shape[0], config))
    array = WeightStationaryArray(config.rows, config.cols, segment_rows=config.chain_rows)
    accumulator = Accumulator(a.shape[0], config.cols, np.float32)
    return ws.execute(a, b, folds, timeline, array, accumulator, config=config)[0]


def test_segmented_load_of_a_gemv_by_hand():
    # (1, 8) @ (8, 3) on 4x3 in chains of 2 rows: 2 folds (k-tiles) of one streamed row each
    rng = np.random.default_rng(5)
    a, b = prepared(rng.standard_normal((1, 8)), rng.standard_normal((8, 3)))
    config = ArrayConfig(4, 3, weight_load="segmented", segment_rows=2)
    golden = ws.simulate_golden(a, b, config)
    assert np.array_equal(golden.result, ordered_reference(a, b, 4))
    # cycles 0-1: the top-left chain shifts tile 0 in; 2: fold 0 streams; 3: PE(1, 0), the
    # bottom of the top-left chain, switches, and tile 1 shifts into that chain in 3-4; 5:
    # fold 1 streams (2 * 2 - 1 = 3 cycles after fold 0); 6-10: its row drains through
    # r + c - 2 = 5 PEs
    report = golden.report
    assert (report.total_cycles, report.weight_load_cycles, report.compute_cycles,
            report.fill_drain_cycles) == (11, 4, 2, 5)  # fmt: skip
    # per column and tile, each chain's top row written once, its second row twice: 2 x 3
    assert report.weight_register_writes == 2 * 3 * (2 * 3)
    # one chain per column, shifting all columns at once, waits 2r + c - 2 = 9 cycles
    double = ws.simulate_golden(a, b, dataclasses.replace(config, weight_load="double_buffered"))
    assert double.report.total_cycles == 4 + 1 + 9 + 5
    assert double.report.weight_register_writes == 2 * 3 * (1 + 2 + 3 + 4)


def test_segmented_load_takes_2s_minus_1_cycles_per_fold_of_a_gemv():
    # a decode step's GEMV on a 128x128 MXU: (1, 1024) @ (1024, 1024), 64 folds of one row
    config = ArrayConfig(128, 128, weight_load="segmented", segment_rows=8)
    cycles = ws.closed_form_cycles(1, 1024, 1024, config)
    assert cycles["total_cycles"] == 8 + 63 * 15 + 1 + 128 + 128 - 2
    double = ws.closed_form_cycles(1, 1024, 1024, dataclasses.replace(
        config, weight_load="double_buffered"))  # fmt: skip
    assert double["total_cycles"] == 128 + 63 * (2 * 128 + 128 - 2) + 1 + 128 + 128 - 2
    # long streams hide every load but the first, as with one chain per column
    long = ws.closed_form_cycles(4096, 1024, 1024, config)
    assert long["weight_load_cycles"] == 8 and long["fill_drain_cycles"] == 128 + 128 - 2


@pytest.mark.parametrize(
    "mode, rows, cols, chain, m",
    [("double_buffered", 3, 2, 8, 2), ("double_buffered", 2, 3, 8, 9),
     ("double_buffered", 4, 4, 8, 1), ("segmented", 4, 3, 2, 1), ("segmented", 5, 2, 2, 2),
     ("segmented", 6, 4, 3, 7)],
)  # fmt: skip
def test_double_buffered_timeline_is_as_early_as_the_hardware_allows(mode, rows, cols, chain, m):
    rng = np.random.default_rng(7)  # distinct float weights: a wrong one cannot go unnoticed
    a, b = prepared(rng.standard_normal((m, 2 * rows)), rng.standard_normal((2 * rows, cols)))
    config = ArrayConfig(rows, cols, weight_load=mode, segment_rows=chain)
    timeline = ws.fold_timeline([m, m], rows, cols, config.weight_load,
                                chain_rows=config.chain_rows)  # fmt: skip
    expected = run_with(a, b, config, timeline)
    assert np.array_equal(expected, ordered_reference(a, b, rows))
    first, second = timeline
    # shifting tile 1 a cycle earlier overwrites a shadow weight before its PE took it
    early_load = [first, ws.FoldTiming(second.load - 1, second.stream)]
    assert not np.array_equal(run_with(a, b, config, early_load), expected)
    early_stream = [first, ws.FoldTiming(second.load, second.stream - 1)]
    if second.stream == second.load + config.chain_rows:
        # streaming a cycle before the tile is fully in switches in a half-shifted weight
        assert not np.array_equal(run_with(a, b, config, early_stream), expected)
    else:
        # streaming before the previous fold's last row entered drives a row twice
        with pytest.raises(ValueError, match="feed the same row"):
            run_with(a, b, config, early_stream)


def test_two_tiles_shifting_at_once_is_refused():
    a, b = prepared(np.ones((2, 4)), np.ones((4, 2)))
    clash = [ws.FoldTiming(0, 2), ws.FoldTiming(1, 4)]
    with pytest.raises(ValueError, match="two tiles shift"):
        run_with(a, b, ArrayConfig(2, 2), clash)


def test_accumulator_capacity_splits_m_and_reloads_the_weights():
    rng = np.random.default_rng(3)
    a, b = prepared(rng.integers(-4, 5, (10, 5)), rng.integers(-4, 5, (5, 3)))
    config = ArrayConfig(2, 2, accumulator_rows=4)
    c, report = ws.simulate_fast(a, b, config)
    assert np.array_equal(c, a @ b)
    assert report.folds == 3 * 3 * 2  # chunks of 4, 4, 2 rows
    assert report.weight_read_bytes == 3 * 5 * 3 * 4  # all weights, once per chunk
    assert report.total_cycles == sum(2 * 2 + 2 + t - 2 for t in [4] * 6 + [4] * 6 + [2] * 6)


def test_progress_reports_every_fold():
    a, b = prepared(np.ones((3, 40)), np.ones((40, 50)))
    seen = []
    ws.simulate_fast(a, b, ArrayConfig(4, 4), progress=seen.append)
    assert sum(seen) == 10 * 13 and len(seen) > 1


def test_runs_beyond_max_cycles_are_refused_before_they_start():
    a, b = prepared(np.ones((100, 10)), np.ones((10, 10)))
    config = ArrayConfig(2, 2, max_cycles=1000)  # 25 folds of 2*2 + 2 + 100 - 2 cycles
    for engine in (ws.simulate_fast, ws.simulate_golden):
        with pytest.raises(SimulationLimitError, match="would take 2,600 cycles"):
            engine(a, b, config)


NO_JIT_RUN = """
import json, sys
import numpy as np
from systolic.config import ArrayConfig
from systolic.dataflows.weight_stationary import simulate_fast
a, b = (np.array(x, dtype=np.float32) for x in json.load(sys.stdin))
c, report = simulate_fast(a, b, ArrayConfig(4, 3, weight_load="double_buffered"))
print(json.dumps([c.tolist(), report.pe_active_cycles.tolist(), report.to_dict()]))
"""


def test_kernel_body_without_jit_equals_the_compiled_kernel():
    # NUMBA_DISABLE_JIT runs the kernels' Python bodies: they must compute what the compiled do
    rng = np.random.default_rng(5)
    a, b = prepared(rng.standard_normal((7, 9)), rng.standard_normal((9, 5)))
    config = ArrayConfig(4, 3, weight_load="double_buffered")
    expected, report = ws.simulate_fast(a, b, config)
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    run = subprocess.run(
        [sys.executable, "-c", NO_JIT_RUN],
        input=json.dumps([a.tolist(), b.tolist()]),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    c, active, fields = json.loads(run.stdout)
    assert np.array_equal(np.array(c, np.float32), expected)
    assert np.array_equal(active, report.pe_active_cycles)
    assert fields == report.to_dict()


@pytest.mark.parametrize("m, n", [(3, 11), (11, 3), (7, 7)])
def test_short_and_long_streams_take_both_kernel_paths_with_golden_results(m, n):
    # a stream shorter than the row of PEs runs a plain-layout loop, a longer one the skewed one
    rng = np.random.default_rng(m * n)
    a, b = prepared(rng.standard_normal((m, 9)), rng.standard_normal((9, n)))
    config = ArrayConfig(4, 12)
    golden = ws.simulate_golden(a, b, config)
    fast, report = ws.simulate_fast(a, b, config)
    assert np.array_equal(fast, golden.result) and report == golden.report
    assert np.array_equal(report.pe_active_cycles, golden.report.pe_active_cycles)


def test_register_writes_of_a_short_last_k_tile_by_hand():
    # (1, 3) @ (3, 1) on 2x2: k-tiles of 2 rows and 1 row, one real column of 2
    report = ws.simulate_golden(*prepared(np.ones((1, 3)), np.ones((3, 1))), ArrayConfig(2, 2))
    # activations: 2 + 1 real elements, each through both columns
    assert report.report.operand_register_writes == 3 * 2
    # one sum per fold in the real column, through both PE rows; padding column: none
    assert report.report.psum_register_writes == 2 * 2
    # tile 0: weights for rows 0 and 1 written 1 + 2 times; tile 1: row 0's once
    assert report.report.weight_register_writes == 3 + 1
    assert ws.traffic_bytes(1, 3, 1, ArrayConfig(2, 2))["weight_register_writes"] == 4


@pytest.mark.parametrize("rows, m, k, n", [(5, 300, 11, 16), (5, 9, 13, 3), (5, 80, 8, 2),
                                           (12, 20, 23, 16)])  # fmt: skip
def test_short_tiles_in_blocks_and_part_groups_equal_golden(rows, m, k, n):
    # a short stream longer than a block of sums (BLOCK_SUMS), PE rows in part-filled groups
    # (GROUP), and tiles past SHORT_RATIO on the skewed path, beside the plain ones
    rng = np.random.default_rng(m + k + n)
    a, b = prepared(rng.standard_normal((m, k)), rng.standard_normal((k, n)))
    config = ArrayConfig(rows, 16)  # 12 rows: whole groups of PE rows and a part-filled one
    assert m > ws.BLOCK_SUMS // 16 or k % ws.GROUP or m >= ws.SHORT_RATIO * n
    golden = ws.simulate_golden(a, b, config)
    fast, report = ws.simulate_fast(a, b, config)
    assert np.array_equal(fast.view(np.int32), golden.result.view(np.int32))
    assert report == golden.report
    assert np.array_equal(report.pe_active_cycles, golden.report.pe_active_cycles)
    assert np.array_equal(fast, ordered_reference(a, b, rows))
