"""The machine around the array: weight stalls, FIFO depth, unified buffer, presets."""

import dataclasses
import math

import numpy as np
import pytest

from systolic.dataflows import weight_stationary as ws
from systolic.memory import WeightPath
from systolic.report import BREAKDOWN
from systolic.tpu import (
    TPU,
    MatrixOp,
    MemoryConfig,
    TPUConfig,
    VectorOp,
    achieved_ops_per_s,
    ops_per_weight_byte,
    table3,
)

A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
B = np.array([[1.0], [2.0]])


def one_pe(bandwidth, fifo_tiles):
    memory = MemoryConfig(dram_bytes_per_cycle=bandwidth, weight_fifo_bytes=4 * fifo_tiles)
    return TPUConfig(rows=1, cols=1, memory=memory)


def test_slow_dram_stalls_by_hand():
    # two folds of one 4-byte weight each, 1 byte/cycle: tile 0 arrives at cycle 4, shifts in
    # cycle 4, streams 5-7; the one-tile FIFO frees at 5, so tile 1 crosses DRAM in 5-8,
    # shifts in 9 and streams 10-12: 13 cycles, 5 of them waiting for DRAM
    c, report = TPU(one_pe(1.0, 1)).matmul(A, B)
    assert c.tolist() == (A @ B).tolist()
    cycles = {name: getattr(report, name) for name in ("total_cycles", *BREAKDOWN)}
    assert cycles == {
        "total_cycles": 13, "compute_cycles": 6, "weight_load_cycles": 2,
        "weight_stall_cycles": 5, "fill_drain_cycles": 0, "non_matrix_cycles": 0,
        "raw_stall_cycles": 0,
        "input_stall_cycles": 0,
    }  # fmt: skip
    assert report.dram_read_bytes == 8


def test_a_deeper_fifo_prefetches_the_next_tile():
    # with room for two tiles, tile 1 crosses DRAM in 4-7 while tile 0 still waits to shift
    _, report = TPU(one_pe(1.0, 2)).matmul(A, B)
    assert (report.total_cycles, report.weight_stall_cycles) == (12, 4)


@pytest.mark.parametrize("depth", [1, 4])
def test_unlimited_bandwidth_gives_the_bare_arrays_cycles(depth):
    rng = np.random.default_rng(0)
    memory = MemoryConfig(dram_bytes_per_cycle=math.inf, weight_fifo_bytes=depth * 8 * 8 * 4)
    config = TPUConfig(rows=8, cols=8, memory=memory)
    a, b = rng.standard_normal((50, 30)), rng.standard_normal((30, 20))
    c, report = TPU(config).matmul(a, b)
    bare_c, bare = ws.simulate_fast(*(x.astype(np.float32) for x in (a, b)), config.array)
    assert np.array_equal(c, bare_c) and report.weight_stall_cycles == 0
    assert {n: getattr(report, n) for n in BREAKDOWN} == {n: getattr(bare, n) for n in BREAKDOWN}


@pytest.mark.parametrize("bandwidth", [0.5, 3.0, 64.0])
@pytest.mark.parametrize("m", [1, 17, 300])
def test_breakdown_sums_to_the_total_and_stalls_shrink_with_bandwidth(bandwidth, m):
    rng = np.random.default_rng(m)
    config = TPUConfig.teaching()
    config = dataclasses.replace(
        config, memory=dataclasses.replace(config.memory, dram_bytes_per_cycle=bandwidth)
    )
    a, b = rng.standard_normal((m, 40)), rng.standard_normal((40, 24))
    _, report = TPU(config).matmul(a, b)
    assert sum(getattr(report, name) for name in BREAKDOWN) == report.total_cycles
    assert report.compute_cycles == m * 3 * 2  # 3 k-tiles x 2 n-tiles, each streaming m rows
    faster = dataclasses.replace(
        config, memory=dataclasses.replace(config.memory, dram_bytes_per_cycle=2 * bandwidth)
    )
    _, quicker = TPU(faster).matmul(a, b)
    assert quicker.weight_stall_cycles <= report.weight_stall_cycles
    assert quicker.total_cycles <= report.total_cycles


def test_small_batches_are_memory_bound_and_large_ones_approach_peak():
    config = TPUConfig.tpu_v1("fp32")
    rng = np.random.default_rng(1)
    b = rng.standard_normal((256, 256))
    small = TPU(config).matmul(rng.standard_normal((8, 256)), b, inputs_in_buffer=True)[1]
    large = TPU(config).matmul(rng.standard_normal((8192, 256)), b, inputs_in_buffer=True)[1]
    assert ops_per_weight_byte(small) == 2 * 8 * 256 * 256 / (256 * 256 * 4)
    assert achieved_ops_per_s(small, config) < 0.01 * config.peak_ops_per_s
    assert small.weight_stall_cycles > 10 * small.compute_cycles
    assert achieved_ops_per_s(large, config) > 0.5 * config.peak_ops_per_s


def test_activations_that_do_not_fit_the_unified_buffer_are_refused():
    config = TPUConfig.teaching()  # 1 MiB unified buffer
    with pytest.raises(ValueError, match=r"needs 1,064,960 bytes .* unified buffer's 1,048,576"):
        TPU(config).matmul(np.ones((1024, 256)), np.ones((256, 4)))
    TPU(config).matmul(np.ones((1000, 256)), np.ones((256, 4)))  # fits: 1,040,000 bytes


def test_tpu_v1_preset_figures():
    config = TPUConfig.tpu_v1()
    assert config.dtype == "int8" and config.array.dtype == "int8"  # as the TPU v1
    assert (config.rows, config.cols, config.clock_mhz) == (256, 256, 700.0)
    assert config.peak_ops_per_s == 2 * 256 * 256 * 700e6  # 91.75 TOPS, the paper's 92
    assert config.memory.unified_buffer_bytes == 24 * 2**20
    assert config.memory.accumulator_rows == 4096
    assert config.memory.weight_fifo_bytes == 4 * 64 * 2**10
    assert config.memory.dram_bytes_per_cycle == pytest.approx(34e9 / 700e6)
    assert config.memory.host_bytes_per_cycle == pytest.approx(14e9 / 700e6)
    assert config.tile_bytes == 64 * 2**10 and config.fifo_tiles == 4  # four 64 KiB tiles
    assert TPUConfig.tpu_v1("fp32").fifo_tiles == 1  # fp32 tiles are four times larger


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dram_bytes_per_cycle": 0}, "dram_bytes_per_cycle must be > 0, got 0"),
        ({"dram_bytes_per_cycle": -3.0}, "dram_bytes_per_cycle must be > 0, got -3.0"),
        ({"unified_buffer_bytes": 0}, "unified_buffer_bytes must be a positive integer"),
        ({"accumulator_rows": -1}, "accumulator_rows must be a positive integer, got -1"),
        ({"weight_fifo_bytes": 0}, "weight_fifo_bytes must be a positive integer, got 0"),
    ],
)
def test_bad_memory_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MemoryConfig(**kwargs)


def test_a_tile_larger_than_the_fifo_is_refused():
    with pytest.raises(ValueError, match="weight tile of 1,024 bytes does not fit the weight "
                                         "FIFO of 1,000 bytes"):  # fmt: skip
        TPUConfig(rows=16, cols=16, memory=MemoryConfig(weight_fifo_bytes=1000))


def test_bad_machine_settings_are_refused():
    with pytest.raises(ValueError, match="rows must be a positive integer, got 0"):
        TPUConfig(rows=0)
    with pytest.raises(ValueError, match="clock_mhz must be > 0"):
        TPUConfig(clock_mhz=0)
    with pytest.raises(ValueError, match="weights of 8,000,000 bytes do not fit"):
        small = MemoryConfig(weight_memory_bytes=1000)
        TPU(TPUConfig(memory=small)).matmul(np.ones((1, 2000)), np.ones((2000, 1000)))


def test_weight_path_refuses_a_zero_bandwidth_or_depth():
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        WeightPath([4], 0.0, 1, 1)
    with pytest.raises(ValueError, match="at least one tile"):
        WeightPath([4], 1.0, 0, 1)


def test_forward_pass_values_and_one_timeline():
    rng = np.random.default_rng(3)
    config = TPUConfig.teaching()  # 16 columns
    w1, b1 = rng.standard_normal((40, 20)), rng.standard_normal(20)
    w2, b2 = rng.standard_normal((20, 10)), rng.standard_normal(10)
    x = rng.standard_normal((30, 40))
    machine = TPU(config)
    out, total, (first, second) = machine.forward(x, [(w1, b1), (w2, b2)], np.tanh)
    # the same as the two matmuls, bias and tanh in float32, step by step
    z1, r1 = machine.matmul(x, w1)
    a1 = np.tanh((z1 + b1.astype(np.float32)).astype(np.float32))
    z2, r2 = machine.matmul(a1, w2)
    assert np.array_equal(out, np.tanh((z2 + b2.astype(np.float32)).astype(np.float32)))
    assert (first.macs, second.macs) == (r1.macs, r2.macs)
    # the cycles are those of the program run on one timeline
    timed, (t1, t2) = machine.run([MatrixOp(30, 40, 20), MatrixOp(30, 20, 10)])
    assert total.total_cycles == timed.total_cycles == first.total_cycles + second.total_cycles
    assert (first.total_cycles, second.total_cycles) == (t1.total_cycles, t2.total_cycles)
    # layer 2 waited for layer 1's 30 rows of 20 outputs (2 accumulator rows each, 16
    # columns); the last layer's 30 rows of 10 outputs (1 row each) end the run
    assert first.raw_stall_cycles == 0 and second.raw_stall_cycles > 0
    assert (first.non_matrix_cycles, second.non_matrix_cycles) == (0, 30)
    assert (first.ub_write_bytes, second.ub_write_bytes) == (30 * 20 * 4, 30 * 10 * 4)
    assert sum(getattr(total, name) for name in BREAKDOWN) == total.total_cycles


def one_pe_program(bandwidth, fifo_tiles, latency):
    memory = MemoryConfig(dram_bytes_per_cycle=bandwidth, weight_fifo_bytes=4 * fifo_tiles)
    return TPU(TPUConfig(rows=1, cols=1, memory=memory, activation_latency_cycles=latency))


def cycles_of(report):
    return {name: getattr(report, name) for name in ("total_cycles", *BREAKDOWN)}


def test_raw_stall_by_hand():
    # one PE, weights at once, latency 2. Layer 0: shift 0, stream 1-3, results drained at 4,
    # activation unit 4-6 (3 rows), outputs readable at 9. Layer 1's tile shifts at 1 but its
    # rows wait 4-8 for them (RAW), stream 9-11; activation 12-14, readable at 17: the end
    machine = one_pe_program(math.inf, 4, latency=2)
    total, (first, second) = machine.run([MatrixOp(3, 1, 1), MatrixOp(3, 1, 1)], True)
    assert cycles_of(total) == {
        "total_cycles": 17, "compute_cycles": 6, "weight_load_cycles": 1,
        "weight_stall_cycles": 0, "raw_stall_cycles": 5, "input_stall_cycles": 0,
        "non_matrix_cycles": 5, "fill_drain_cycles": 0,
    }  # fmt: skip
    # layer 0's window ends as its last row enters (cycle 4); layer 1 has the rest
    assert (first.total_cycles, first.compute_cycles, first.weight_load_cycles) == (4, 3, 1)
    assert (second.total_cycles, second.raw_stall_cycles, second.non_matrix_cycles) == (13, 5, 5)
    assert total.ub_write_bytes == 2 * 3 * 4


@pytest.mark.parametrize("depth, expected", [(2, 15), (1, 17)])
def test_the_fifo_prefetches_the_next_layers_tiles_by_hand(depth, expected):
    # one PE, 4-byte tiles at 1 byte/cycle, no latency; layer 0 (1, 1) @ (1, 1), layer 1
    # (1, 2) @ (2, 1) in two folds. Tile 0 crosses DRAM 0-3, shifts 4, streams 5; the unit
    # turns its result at 6, readable at 7. Layer 1's tiles follow in DRAM from cycle 4:
    # - two slots: tile 1 in 4-7 (during layer 0), tile 2 in 8-11; fold 1 shifts 8, streams 9
    #   (its inputs ready since 7); fold 2 shifts 12, streams 13; unit 14: 15 cycles;
    # - one slot: tile 1 waits for tile 0 to shift (5-8), tile 2 for tile 1 (10-13); fold 1
    #   shifts 9, streams 10; fold 2 shifts 14, streams 15; unit 16: 17 cycles
    machine = one_pe_program(1.0, depth, latency=0)
    total, _ = machine.run([MatrixOp(1, 1, 1), MatrixOp(1, 2, 1)], True)
    assert total.total_cycles == expected
    assert total.raw_stall_cycles == 0 and total.dram_read_bytes == 12
    assert total.compute_cycles == 3 and total.non_matrix_cycles == 1


def test_a_long_raw_wait_hides_the_next_layers_weights_by_hand():
    # as above with latency 10: layer 0's outputs are readable at 17; both of layer 1's tiles
    # are in by 12, so the wait 9-16 is RAW, fold 2 shifts 17 and streams 18, unit 19, +10
    machine = one_pe_program(1.0, 2, latency=10)
    total, _ = machine.run([MatrixOp(1, 1, 1), MatrixOp(1, 2, 1)], True)
    assert cycles_of(total) == {
        "total_cycles": 30, "compute_cycles": 3, "weight_load_cycles": 2,
        "weight_stall_cycles": 6, "raw_stall_cycles": 8, "input_stall_cycles": 0,
        "non_matrix_cycles": 11, "fill_drain_cycles": 0,
    }  # fmt: skip


def test_vector_ops_run_on_the_activation_unit_by_hand():
    # one PE: layer 0 drains at 4 (as in the RAW case), activation 4-6; a vector op of 6
    # values in 2 passes takes 12 cycles, 7-18; the next layer streams at 19 + latency 0
    machine = one_pe_program(math.inf, 4, latency=0)
    program = [MatrixOp(3, 1, 1), VectorOp(6, passes=2), MatrixOp(3, 1, 1)]
    total, _ = machine.run(program, True)
    assert total.raw_stall_cycles == 19 - 4 and total.total_cycles == 19 + 3 + 3
    lanes = TPU(dataclasses.replace(machine.config, activation_lanes=4))
    # 4 lanes: 1 cycle per row of 3 results, ceil(6 / 4) = 2 cycles per pass
    assert lanes.run(program, True)[0].raw_stall_cycles == 3 + 4


@pytest.mark.parametrize("seed", range(6))
def test_program_categories_sum_to_the_total(seed):
    rng = np.random.default_rng(seed)
    memory = MemoryConfig(
        dram_bytes_per_cycle=float(rng.choice([0.5, 4.0, 64.0])), accumulator_rows=8,
        weight_fifo_bytes=int(rng.integers(1, 4)) * 4 * 4 * 4, host_bytes_per_cycle=8.0,
    )  # fmt: skip
    config = TPUConfig(rows=4, cols=4, memory=memory,
                       activation_latency_cycles=int(rng.integers(0, 20)))  # fmt: skip
    program = []
    for _ in range(int(rng.integers(1, 5))):
        m, k, n = (int(v) for v in rng.integers(1, 20, 3))
        program.append(MatrixOp(m, k, n, count=int(rng.integers(1, 3))))
        if rng.random() < 0.5:
            program.append(VectorOp(int(rng.integers(1, 50)), int(rng.integers(1, 4))))
    total, layers = TPU(config).run(program)
    assert sum(getattr(total, name) for name in BREAKDOWN) == total.total_cycles
    assert sum(r.total_cycles for r in layers) == total.total_cycles
    for name in BREAKDOWN:
        assert sum(getattr(r, name) for r in layers) == getattr(total, name)
    assert total.compute_cycles == sum(
        op.count * op.m * math.ceil(op.k / 4) * math.ceil(op.n / 4)
        for op in program if isinstance(op, MatrixOp)
    )  # fmt: skip
    shares = table3(total)
    parts = ("array_active_pct", "weight_stall_pct", "weight_shift_pct", "non_matrix_pct")
    assert sum(shares[p] for p in parts) == pytest.approx(100)
    assert shares["useful_macs_pct"] + shares["unused_macs_pct"] == pytest.approx(
        shares["array_active_pct"]
    )


def test_one_gemm_with_infinite_bandwidth_and_no_dependencies_is_the_bare_array():
    rng = np.random.default_rng(4)
    memory = MemoryConfig(dram_bytes_per_cycle=math.inf, accumulator_rows=16)
    config = TPUConfig(rows=8, cols=8, memory=memory, activation_latency_cycles=5)
    bare = ws.closed_form_cycles(40, 20, 12, config.array)
    total, _ = TPU(config).run([MatrixOp(40, 20, 12)], inputs_in_buffer=True)
    # the array's cycles, then the activation unit's pass and its latency; it turns each
    # 16-row chunk of results while the next computes, so only the last chunk's 8 rows (2
    # accumulator rows each, 12 > 8 columns) remain after the array has drained
    after = 8 * 2 + 5
    assert total.non_matrix_cycles == after
    assert {n: getattr(total, n) for n in bare if n != "total_cycles"} == {
        n: v for n, v in bare.items() if n != "total_cycles"
    }
    assert total.total_cycles == bare["total_cycles"] + after
    _, report = TPU(config).matmul(rng.standard_normal((40, 20)), rng.standard_normal((20, 12)))
    assert cycles_of(report) == {**dict.fromkeys(BREAKDOWN, 0), **bare}


def test_bad_programs_are_refused():
    machine = TPU(TPUConfig.teaching())
    with pytest.raises(ValueError, match="at least one matrix op"):
        machine.run([])
    with pytest.raises(ValueError, match="at least one matrix op"):
        machine.run([VectorOp(10)])
    with pytest.raises(ValueError, match="MatrixOp and VectorOp"):
        machine.run([(3, 4, 5)])
    with pytest.raises(ValueError, match="unified buffer"):
        machine.run([MatrixOp(4000, 256, 256)])
    with pytest.raises(ValueError, match="m must be a positive integer, got 0"):
        MatrixOp(0, 1, 1)
    with pytest.raises(ValueError, match="passes must be a positive integer"):
        VectorOp(10, passes=0)
    with pytest.raises(ValueError, match="activation_latency_cycles must be an integer >= 0"):
        TPUConfig(activation_latency_cycles=-1)
    with pytest.raises(ValueError, match="activation_lanes must be a positive integer"):
        TPUConfig(activation_lanes=0)


def test_a_slow_host_stalls_the_first_stream_by_hand():
    # as in the DRAM case, plus the 24 bytes of A at 1 byte/cycle: fold 0's tile is in at
    # cycle 5 but its rows only at 24; fold 1's tile (in at 9) waits for the array, not memory
    memory = MemoryConfig(dram_bytes_per_cycle=1.0, weight_fifo_bytes=4, host_bytes_per_cycle=1.0)
    machine = TPU(TPUConfig(rows=1, cols=1, memory=memory))
    _, report = machine.matmul(A, B)
    cycles = {name: getattr(report, name) for name in ("total_cycles", *BREAKDOWN)}
    assert cycles == {
        "total_cycles": 30, "compute_cycles": 6, "weight_load_cycles": 1,
        "weight_stall_cycles": 4, "input_stall_cycles": 19, "fill_drain_cycles": 0,
        "non_matrix_cycles": 0, "raw_stall_cycles": 0,
    }  # fmt: skip
    # with the activations already in the unified buffer only the DRAM wait remains
    assert machine.matmul(A, B, inputs_in_buffer=True)[1].total_cycles == 13


def test_host_bandwidth_must_be_positive():
    with pytest.raises(ValueError, match="host_bytes_per_cycle must be > 0, got 0"):
        MemoryConfig(host_bytes_per_cycle=0)


def test_fifo_depth_one_against_four_by_hand():
    # five 4-byte tiles at 2 bytes/cycle (2 cycles each) on one PE, streams of 1 row: the
    # array wants a new tile every 2 cycles (shift 1 + stream 1); with one slot each tile waits
    # for the previous one to shift in before crossing DRAM, with four they queue up ahead
    a, b = np.ones((1, 5)), np.ones((5, 1))
    depth_one = TPU(one_pe(2.0, 1)).matmul(a, b)[1]
    depth_four = TPU(one_pe(2.0, 4)).matmul(a, b)[1]
    # depth 1: tile f arrives at 3f + 2 (transfer 2 after the previous shift at 3(f-1) + 2)
    assert depth_one.total_cycles == 3 * 4 + 2 + 1 + 1
    # depth 4: tiles arrive every 2 cycles from cycle 2; the array takes one per 2 cycles
    assert depth_four.total_cycles == 2 * 4 + 2 + 1 + 1
    assert depth_one.weight_stall_cycles > depth_four.weight_stall_cycles


def test_unused_pe_slots_split_the_compute_time():
    rng = np.random.default_rng(2)
    config = TPUConfig.teaching()
    _, report = TPU(config).matmul(rng.standard_normal((20, 20)), rng.standard_normal((20, 10)))
    # 2 k-tiles (16 + 4 rows) x 1 n-tile (10 of 16 columns), 20 rows each
    assert report.compute_cycles == 2 * 20
    assert report.unused_pe_slots == 256 * 40 - 20 * 20 * 10
    assert report.to_dict()["unused_pe_slots"] == report.unused_pe_slots


def test_the_int8_roofline_runs_and_sizes_its_batches_as_the_machine_counts_bytes():
    from systolic import roofline

    config = TPUConfig.tpu_v1()
    layers = roofline.default_layers(config)
    (k, n), batches = layers["fc256x256"]
    # a row: 256 int8 activations in, 256 int32 results out; the largest batch just fits
    assert batches[-1] == 24 * 2**20 // (256 * 1 + 256 * 4)
    TPU(config).matmul(np.ones((batches[-1], k), np.int8), np.ones((k, n), np.int8))
    with pytest.raises(ValueError, match="unified buffer"):
        TPU(config).matmul(np.ones((batches[-1] + 1, k), np.int8), np.ones((k, n), np.int8))
    records = roofline.runs(config, {"fc256x256": ((256, 256), [1, 4096])})
    small, large = records
    assert small["ops_per_weight_byte"] == 2 * 256 * 256 / (256 * 256)  # 1-byte weights
    assert large["tops"] > 0.5 * large["peak_tops"]


def test_ridge_point_and_bandwidth_by_hand():
    from systolic import roofline

    config = TPUConfig.tpu_v1()
    assert roofline.bandwidth_bytes_per_s(config) == pytest.approx(34e9)
    # 91.75 TOPS over 34 GB/s
    assert roofline.ridge_ops_per_byte(config) == pytest.approx(2 * 256 * 256 * 700e6 / 34e9)


@pytest.mark.parametrize("whole, read", [(False, (16 + 8 + 4 + 2) * 4), (True, 4 * 16 * 4)])
def test_edge_tiles_by_hand_with_and_without_whole_tile_reads(whole, read):
    # (8, 6) @ (6, 5) on 4x4: k-tiles of 4 and 2 rows, n-tiles of 4 and 1 columns, so the
    # folds hold 4x4, 2x4, 4x1 and 2x1 real weights; whole tiles are 16 weights each
    memory = MemoryConfig(unified_buffer_bytes=2**20, accumulator_rows=64,
                          weight_fifo_bytes=4 * 64, dram_bytes_per_cycle=2.0,
                          whole_tile_reads=whole)  # fmt: skip
    config = TPUConfig(rows=4, cols=4, memory=memory)
    _, report = TPU(config).matmul(np.ones((8, 6)), np.ones((6, 5)), inputs_in_buffer=True)
    assert report.dram_read_bytes == read


def test_whole_tile_reads_cost_time_when_bandwidth_binds():
    def run(whole):
        memory = MemoryConfig(unified_buffer_bytes=2**20, accumulator_rows=64,
                              weight_fifo_bytes=4 * 64, dram_bytes_per_cycle=0.5,
                              whole_tile_reads=whole)  # fmt: skip
        config = TPUConfig(rows=4, cols=4, memory=memory)
        return TPU(config).matmul(np.ones((8, 5)), np.ones((5, 5)), inputs_in_buffer=True)[1]

    partial, whole = run(False), run(True)
    assert whole.weight_stall_cycles > partial.weight_stall_cycles
    assert whole.total_cycles > partial.total_cycles
    assert TPUConfig.tpu_v1().memory.whole_tile_reads


def test_whole_tile_reads_must_be_a_bool():
    with pytest.raises(ValueError, match="whole_tile_reads must be True or False"):
        MemoryConfig(whole_tile_reads="yes")


def test_host_bytes_are_the_first_layers_inputs():
    machine = TPU(TPUConfig.teaching())  # fp32, 4-byte operands
    a, b = np.ones((30, 40)), np.ones((40, 20))
    assert machine.matmul(a, b)[1].host_read_bytes == 30 * 40 * 4
    assert machine.matmul(a, b, inputs_in_buffer=True)[1].host_read_bytes == 0
    total, (first, second) = machine.run([MatrixOp(30, 40, 20, input_values=500),
                                          MatrixOp(30, 20, 10)])  # fmt: skip
    assert (total.host_read_bytes, first.host_read_bytes, second.host_read_bytes) == (
        500 * 4,
        500 * 4,
        0,
    )
    assert machine.run([VectorOp(64), MatrixOp(8, 8, 8)])[0].host_read_bytes == 64 * 4


def test_the_layers_dram_bytes_add_up_to_the_programs():
    memory = MemoryConfig(dram_bytes_per_cycle=4.0, weight_fifo_bytes=2 * 4 * 4 * 4)
    machine = TPU(TPUConfig(rows=4, cols=4, memory=memory))
    total, layers = machine.run([MatrixOp(5, 6, 7), VectorOp(9), MatrixOp(5, 7, 3, count=2)])
    # fp32 partial tiles: 6 x 7 weights, then twice 7 x 3
    assert [r.dram_read_bytes for r in layers] == [6 * 7 * 4, 2 * 7 * 3 * 4]
    assert total.dram_read_bytes == sum(r.dram_read_bytes for r in layers)
