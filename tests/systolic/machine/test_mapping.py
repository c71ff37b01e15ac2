"""One mapping of a GEMM over the MXUs: blocks cover the result once, their values are the
whole GEMM's, their cycles the array's, and the slowest block is the GEMM's time."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from systolic import api
from systolic.config import ArrayConfig
from systolic.dataflows import weight_stationary as ws
from systolic.machine.config import MachineConfig, tpu_v5e
from systolic.machine.mapping import batch_timing, gemm_mapping, split_evenly


def small_machine(cores=1, mxus=4, side=4, dtype="fp32"):
    return MachineConfig(
        "small", cores=cores, mxus=mxus, mxu_rows=side, mxu_cols=side, clock_mhz=1000.0,
        vmem_bytes=2**20, vmem_bytes_per_cycle=4096, hbm_bytes=2**30, hbm_bytes_per_second=1e9,
        dtype=dtype, accumulator_rows=8,
    )  # fmt: skip


@given(st.integers(1, 40), st.integers(1, 9))
def test_split_evenly_covers_the_range_in_near_equal_parts(total, parts):
    bounds = split_evenly(total, parts)
    assert bounds[0][0] == 0 and bounds[-1][1] == total
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1 and len(bounds) == min(parts, total)


@given(st.integers(1, 30), st.integers(1, 12), st.integers(1, 30), st.integers(1, 3),
       st.integers(1, 4))  # fmt: skip
def test_blocks_tile_the_result_exactly_once(m, k, n, cores, mxus):
    config = small_machine(cores, mxus)
    mapping = gemm_mapping(m, k, n, config)
    covered = np.zeros((m, n), dtype=int)
    for block in mapping.blocks:
        covered[block.m0 : block.m1, block.n0 : block.n1] += 1
    assert (covered == 1).all()
    assert len(mapping.blocks) <= config.mxu_count
    assert mapping.report.macs == m * k * n


@given(st.integers(1, 20), st.integers(1, 12), st.integers(1, 20), st.integers(1, 4))
def test_each_block_on_its_own_mxu_gives_the_whole_gemms_values_bit_for_bit(m, k, n, mxus):
    config = small_machine(mxus=mxus, dtype="bf16")
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    whole, _ = api.matmul(a, b, config.mxu, compare=False)
    for block in gemm_mapping(m, k, n, config).blocks:
        part, _ = api.matmul(a[block.m0 : block.m1], b[:, block.n0 : block.n1], config.mxu,
                             compare=False)  # fmt: skip
        assert np.array_equal(part, whole[block.m0 : block.m1, block.n0 : block.n1])


@pytest.mark.parametrize("shape", [(7, 9, 5), (12, 5, 13), (3, 17, 2)])
def test_one_mxu_takes_the_golden_models_cycles(shape):
    config = small_machine(mxus=1)
    m, k, n = shape
    rng = np.random.default_rng(0)
    _, golden = api.matmul(rng.normal(size=(m, k)), rng.normal(size=(k, n)), config.mxu,
                           engine="golden")  # fmt: skip
    mapping = gemm_mapping(m, k, n, config)
    assert mapping.cycles == golden.total_cycles
    assert mapping.report.folds == golden.folds


def test_the_slowest_block_is_the_gemms_time_and_each_block_is_the_arrays():
    config = small_machine(mxus=4)
    mapping = gemm_mapping(10, 8, 6, config)  # 2 n-tiles: each cut in two by rows (5 + 5)
    shapes = [(b.m1 - b.m0, b.n1 - b.n0) for b in mapping.blocks]
    assert shapes == [(5, 4), (5, 4), (5, 2), (5, 2)]
    array = ArrayConfig(4, 4, weight_load="segmented", accumulator_rows=8)
    assert config.mxu == array
    cycles = [api.estimate(rows, 8, cols, array).total_cycles for rows, cols in shapes]
    assert mapping.cycles == max(cycles)
    assert mapping.report.total_cycles == sum(cycles)
    # 3 n-tiles over 2 MXUs: one takes two tiles (twice the folds), and is the GEMM's time
    uneven = gemm_mapping(6, 8, 9, small_machine(mxus=2))
    assert [(b.n0, b.n1) for b in uneven.blocks] == [(0, 8), (8, 9)]
    slow, fast = (api.estimate(6, 8, w, array).total_cycles for w in (8, 1))
    assert slow > fast and uneven.cycles == slow


def test_wide_gemms_share_n_tiles_and_never_split_k():
    mapping = gemm_mapping(1, 4096, 4096, tpu_v5e())  # 32 n-tiles over 4 MXUs: 8 each
    assert [(b.n1 - b.n0) for b in mapping.blocks] == [1024] * 4
    assert all((b.m0, b.m1) == (0, 1) for b in mapping.blocks)
    assert gemm_mapping(1, 4096, 4096, tpu_v5e()) is mapping  # computed once


def test_a_batch_of_gemms_runs_back_to_back_on_the_mxus():
    config = small_machine(mxus=4)
    one = api.estimate(3, 8, 5, config.mxu)
    # 10 heads over 4 MXUs: the busiest runs 3 of them in one stream of 3 x 4 folds
    cycles, report = batch_timing(3, 8, 5, 10, config)
    assert cycles == ws.closed_form_cycles(3, 8, 5, config.mxu, 3)["total_cycles"]
    assert cycles < 3 * one.total_cycles  # the drains and first loads overlap the next GEMM
    assert report.macs == 10 * 3 * 8 * 5 and report.folds == 10 * one.folds
    # fewer GEMMs than MXUs: each GEMM's blocks, repeated on their MXUs
    few, _ = batch_timing(8, 8, 8, 2, config)
    blocks = gemm_mapping(8, 8, 8, config).blocks
    assert few == max(ws.closed_form_cycles(b.m1 - b.m0, 8, b.n1 - b.n0, config.mxu, 2)
                      ["total_cycles"] for b in blocks)  # fmt: skip
