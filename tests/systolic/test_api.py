"""Public API: matmul and the SystolicMatmul callable."""

import numpy as np
import pytest

import systolic
from systolic import ArrayConfig, SystolicMatmul
from systolic.api import estimate, matmul


def test_matmul_engines_agree():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((9, 7)), rng.standard_normal((7, 6))
    config = ArrayConfig(3, 4, weight_load="double_buffered")
    fast, fast_report = systolic.matmul(a, b, config)
    golden, golden_report = systolic.matmul(a, b, config, engine="golden")
    assert np.array_equal(fast, golden) and fast_report == golden_report
    assert fast.dtype == np.float32
    assert 0 < fast_report.max_abs_error < 1e-5 and fast_report.exact is False


def test_fp64_format_is_exact_to_float64_rounding():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3))
    c, report = systolic.matmul(a, b, ArrayConfig(4, 4, dtype="fp64"))
    assert c.dtype == np.float64 and report.max_abs_error < 1e-14
    assert report.weight_read_bytes == 4 * 3 * 8


def test_compare_false_leaves_the_error_fields_empty():
    _, report = systolic.matmul(np.ones((2, 2)), np.ones((2, 2)), compare=False)
    assert report.exact is None and report.max_abs_error is None


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown engine 'rtl'; valid: fast, golden"):
        systolic.matmul(np.ones((1, 1)), np.ones((1, 1)), engine="rtl")
    with pytest.raises(ValueError, match="unknown engine"):
        SystolicMatmul(engine="rtl")


def test_systolic_matmul_behaves_like_np_matmul_and_keeps_tagged_reports():
    mm = SystolicMatmul(ArrayConfig(4, 4))
    a, b = np.arange(12.0).reshape(3, 4), np.arange(8.0).reshape(4, 2)
    with mm.tagged("forward"):
        c = mm(a, b)
    d = mm(b.T, a.T, tag="backward")
    mm(a, b)
    assert np.array_equal(c, a @ b) and np.array_equal(d, b.T @ a.T)
    assert [call.tag for call in mm.calls] == ["forward", "backward", None]
    assert mm.calls[1].shape == (2, 4, 3)
    assert mm.total("forward").macs == 24 and mm.total().macs == 24 + 24 + 24
    assert list(mm.by_tag()) == ["forward", "backward", None]
    assert mm.by_tag()["backward"].exact is True
    mm.reset()
    assert mm.calls == [] and mm.total() is None


def test_systolic_matmul_passes_bad_input_errors_through():
    mm = SystolicMatmul()
    with pytest.raises(ValueError, match="inner dimensions differ"):
        mm(np.ones((2, 3)), np.ones((2, 3)))
    assert mm.calls == []


@pytest.mark.parametrize("config", ["ws", {"rows": 4}, 8])
def test_a_config_that_is_not_an_arrayconfig_is_named(config):
    with pytest.raises(ValueError, match=r"config must be an ArrayConfig, got .* \(e\.g\. "):
        systolic.matmul(np.ones((2, 2)), np.ones((2, 2)), config)
    with pytest.raises(ValueError, match="config must be an ArrayConfig"):
        systolic.SystolicMatmul(config)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_trace_keeps_every_cycle_and_equals_matmul(dataflow):
    rng = np.random.default_rng(0)
    a, b = rng.integers(-4, 5, (5, 3)).astype(float), rng.integers(-4, 5, (3, 6)).astype(float)
    config = ArrayConfig(2, 3, dataflow=dataflow)
    run = systolic.trace(a, b, config)
    values, report = systolic.matmul(a, b, config)
    np.testing.assert_array_equal(run.result, values)
    assert run.report == report and report.exact
    assert len(run.array.history) == len(run.array.snapshots) == report.total_cycles
    names = set(run.array.snapshots[0])
    assert names == set(run.array.REGISTERS) and len(names) >= 6
    useful = sum(int(mask.sum()) for mask in run.array.history)
    assert useful == report.macs == 5 * 3 * 6


def test_trace_refuses_what_would_not_fit(monkeypatch):
    # the run itself needs about 2 MiB; its recorded registers, about 45 MiB
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", "10M")
    with pytest.raises(ValueError, match=r"tracing \(200, 50\) @ \(50, 50\) would need"):
        systolic.trace(np.ones((200, 50)), np.ones((50, 50)), ArrayConfig(4, 4))


def test_the_machine_is_reachable_from_the_package():
    assert systolic.TPU and systolic.TPUConfig.tpu_v1() and systolic.roofline.runs


@pytest.mark.parametrize(
    "dataflow, weight_load",
    [("ws", "serial"), ("ws", "double_buffered"), ("is", "serial"), ("is", "double_buffered"),
     ("os", "serial")],
)  # fmt: skip
def test_estimate_equals_the_counts_of_a_run(dataflow, weight_load):
    rng = np.random.default_rng(1)
    for m, k, n in [(1, 1, 1), (7, 5, 3), (20, 9, 13), (3, 17, 2)]:
        config = ArrayConfig(3, 4, dataflow=dataflow, weight_load=weight_load,
                             accumulator_rows=None if dataflow == "os" else 6)  # fmt: skip
        _, report = systolic.matmul(rng.standard_normal((m, k)), rng.standard_normal((k, n)),
                                    config, compare=False)  # fmt: skip
        assert systolic.api.estimate(m, k, n, config) == report


def test_totals_without_comparison_equal_the_sum_of_every_call():
    rng = np.random.default_rng(5)
    config = ArrayConfig(4, 4)
    counted = SystolicMatmul(config, compare=False)
    shapes = [(3, 5, 2), (7, 4, 6), (3, 5, 2), (3, 5, 2), (7, 4, 6)]
    expected = {}
    for i, (m, k, n) in enumerate(shapes):
        a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
        tag = "odd" if i % 2 else "even"
        with counted.tagged(tag):
            counted(a, b)
        report = matmul(a, b, config, compare=False)[1]
        expected[tag] = report if tag not in expected else expected[tag] + report
    assert list(counted.by_tag()) == ["even", "odd"]
    for tag, report in expected.items():
        total = counted.total(tag)
        assert total == report
        assert np.array_equal(total.pe_active_cycles, report.pe_active_cycles)
    assert counted.total() == expected["even"] + expected["odd"]
    counted.reset()
    assert counted.total() is None and counted.by_tag() == {}


def test_a_report_repeated_is_the_sum_of_its_copies():
    report = estimate(5, 6, 7, ArrayConfig(2, 3))
    assert report.repeated(3) == report + report + report
    with pytest.raises(ValueError, match="count must be a positive integer, got 0"):
        report.repeated(0)


@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("dtype, fmt", [(np.float64, "fp32"), (np.float32, "fp32"),
                                        (np.float32, "bf16")])  # fmt: skip
def test_the_short_path_for_repeated_small_gemms_equals_the_general_one(layout, dtype, fmt):
    from systolic.dataflows import weight_stationary as ws
    from systolic.numerics import FORMATS, prepare_operands

    rng = np.random.default_rng(6)
    config = ArrayConfig(4, 5, weight_load="double_buffered", dtype=fmt)
    # checked through the product (smaller than the operands), and through the operands; one
    # whose tiles run skewed (from rounded copies)
    for m, k, n in [(3, 7, 9), (11, 4, 2), (1, 13, 6), (20, 2, 20), (200, 3, 2)]:
        a = np.asarray(rng.standard_normal((m, k)) * 1e3, dtype=dtype, order=layout)
        b = np.asarray(rng.standard_normal((k, n)), dtype=dtype, order=layout)
        general = ws.simulate_fast(*prepare_operands(a, b, FORMATS[fmt], 2**28), config)
        quick = ws.run_small_float(a, b, config)  # the first call above made the Report known
        assert quick is not None
        assert np.array_equal(quick[0].view(np.int32), general[0].view(np.int32))
        assert quick[1] == general[1]
        c, report = systolic.matmul(a, b, config, compare=False)
        assert np.array_equal(c.view(np.int32), general[0].view(np.int32))
    # what it does not take goes the general way, which words the errors
    bad = np.ones((3, 7))
    bad[1, 2] = np.nan
    assert ws.run_small_float(bad, np.ones((7, 9)), config) is None
    assert ws.run_small_float(np.ones((20, 2)), np.full((2, 20), np.inf), config) is None
    # finite operands whose products overflow: the infinities are the result, not an error
    huge = np.full((3, 7), 1e30, dtype=dtype)
    general = ws.simulate_fast(
        *prepare_operands(huge, np.full((7, 9), 1e30, dtype=dtype), FORMATS[fmt], 2**28), config
    )
    quick = ws.run_small_float(huge, np.full((7, 9), 1e30, dtype=dtype), config)
    assert np.isinf(general[0]).all() and np.array_equal(quick[0], general[0])
    with pytest.raises(ValueError, match="operand a holds 1 non-finite value"):
        systolic.matmul(bad, np.ones((7, 9)), config, compare=False)
    with pytest.raises(ValueError, match=f"overflow {fmt} when rounded"):
        systolic.matmul(np.full((3, 7), 1e39), np.ones((7, 9)), config, compare=False)
    assert ws.run_small_float(np.ones((3, 7), int), np.ones((7, 9)), config) is None
    assert ws.run_small_float(np.ones((2, 2)), np.ones((2, 2)), config) is None  # not yet run


@pytest.mark.parametrize("fmt", ["fp32", "bf16"])
def test_a_repeated_shape_runs_by_its_plan_with_the_general_values_and_checks(fmt, monkeypatch):
    # a SystolicMatmul runs a shape's later calls by the plan of its first: the same values
    # and Reports as the general path, and the same refusals
    rng = np.random.default_rng(8)
    config = ArrayConfig(4, 16, dtype=fmt)
    mm = SystolicMatmul(config, compare=False)
    # short tiles, in blocks of sums, and tiles that run skewed
    for m, k, n in [(3, 7, 9), (300, 11, 16), (200, 3, 2)]:
        for _ in range(3):  # the first call plans, the next ones run by the plan
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = np.asfortranarray(rng.standard_normal((k, n)).astype(np.float32))
            c = mm(a, b, tag="t")
            expected, report = systolic.matmul(a, b, config, compare=False, engine="golden")
            assert np.array_equal(c.view(np.int32), expected.view(np.int32))
            assert mm.calls[-1].report == report
    assert len(mm._plans) == 3
    bad = np.ones((3, 7), np.float32)
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match="operand a holds 1 non-finite value"):
        mm(bad, np.ones((7, 9), np.float32))
    # a limit set after the plan was made is checked again
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", "1K")
    with pytest.raises(ValueError, match="more than the memory limit of 1.0 KiB"):
        mm(np.ones((3, 7), np.float32), np.ones((7, 9), np.float32))
