"""Runs are refused before anything is allocated or run: memory, time, sizes (systolic.limits,
systolic.api.check_run)."""

import math

import numpy as np
import pytest

from systolic import ArrayConfig, limits, matmul
from systolic.api import check_run, run_bytes


def test_memory_limit_comes_from_the_environment_or_the_machine(monkeypatch):
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", "3G")
    assert limits.memory_limit_bytes() == 3 * 2**30
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", "1500")
    assert limits.memory_limit_bytes() == 1500
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", "lots")
    with pytest.raises(ValueError, match="SYSTOLIC_MAX_MEMORY='lots' is not a size"):
        limits.memory_limit_bytes()
    monkeypatch.delenv("SYSTOLIC_MAX_MEMORY")
    import os

    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert limits.memory_limit_bytes() == physical // 2


def test_a_run_over_the_memory_limit_is_refused_with_the_need(monkeypatch):
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", "1M")
    a, b = np.ones((300, 300)), np.ones((300, 300))
    need = run_bytes(300, 300, 300, ArrayConfig(8, 8))
    assert need > 2**20
    with pytest.raises(ValueError, match=r"\(300, 300\) @ \(300, 300\) on 8x8 \(fast engine\) "
                       r"would need .* MiB, more than the memory limit of 1\.0 MiB"):  # fmt: skip
        matmul(a, b, ArrayConfig(8, 8))
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", str(need))
    matmul(a, b, ArrayConfig(8, 8))  # exactly enough


def test_run_bytes_counts_the_result_and_grows_with_it():
    config = ArrayConfig(4, 4)
    small, large = run_bytes(10, 10, 10, config), run_bytes(10, 10, 10_000, config)
    assert large - small >= 4 * 10 * (10_000 - 10)  # at least the float32 result
    assert run_bytes(50, 20, 20, config, "golden") > run_bytes(50, 20, 20, config, "fast")


def test_a_fold_table_of_gigabytes_is_refused(monkeypatch):
    # inside max_cycles and max_elements: a million-element GEMM on a 1x1 array with a
    # one-row accumulator has 10^9 folds (2 * 10^9 cycles), whose table alone takes 48 GB
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", "1G")
    config = ArrayConfig(1, 1, accumulator_rows=1)
    assert check_run(100, 100, 100, config)["total_cycles"] == 2 * 100**3
    with pytest.raises(ValueError, match=r"would need 4\d\.\d GiB"):
        check_run(1000, 1000, 1000, config)


def test_an_absurdly_long_golden_run_is_refused_with_the_estimate(monkeypatch):
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", "1T")
    config = ArrayConfig(4, 4)
    cycles = check_run(10_000, 400, 400, config, "fast")["total_cycles"]
    assert limits.golden_seconds(cycles, 16) > config.max_seconds
    expected = (r"golden engine\) would take about \d+ (min|h), more than max_seconds=3600 "
                r"\(the default\); to run it anyway raise the limit")  # fmt: skip
    with pytest.raises(ValueError, match=expected):
        check_run(10_000, 400, 400, config, "golden")
    check_run(10_000, 400, 400, ArrayConfig(4, 4, max_seconds=math.inf), "golden")


def test_the_fast_engine_is_bounded_by_its_macs():
    config = ArrayConfig(128, 128, max_seconds=10)
    with pytest.raises(ValueError, match=r"fast engine\) would take about"):
        check_run(16_384, 16_384, 1_000, config)
    check_run(1_000, 1_000, 1_000, config)


@pytest.mark.parametrize("engine", ["fast", "golden"])
def test_matmul_checks_before_it_rounds_the_operands(monkeypatch, engine):
    import systolic.api as api

    monkeypatch.setattr(api, "prepare_operands", lambda *a: pytest.fail("operands touched"))
    with pytest.raises(ValueError, match="more than max_cycles"):
        matmul(np.ones((1000, 10)), np.ones((10, 10)), ArrayConfig(2, 2, max_cycles=100),
               engine=engine)  # fmt: skip
