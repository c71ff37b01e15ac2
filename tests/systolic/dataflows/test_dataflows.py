"""Every dataflow: a @ b, then the closed form, then the golden model, then the numba kernel."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from systolic.config import Dataflow
from systolic.dataflows import MODULES
from tests.reference import ordered_reference, prepared
from tests.strategies import workloads

DATAFLOWS = [flow.value for flow in Dataflow]


def fold_group(config, k):
    """How many products of an output each fold adds (see ordered_reference)."""
    return k if config.dataflow is Dataflow.OS else config.rows


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@given(data=st.data())
def test_fast_engine_equals_golden_model_and_closed_form(dataflow, data):
    config, a, b = data.draw(workloads(dataflow))
    a, b = prepared(a, b, config)
    engines = MODULES[config.dataflow]
    golden = engines.simulate_golden(a, b, config)
    fast, report = engines.simulate_fast(a, b, config)
    assert np.array_equal(fast, golden.result)  # bit for bit (no -0.0 or NaN can occur)
    assert report == golden.report  # every cycle, MAC and byte count
    assert np.array_equal(report.pe_active_cycles, golden.report.pe_active_cycles)
    (m, k), n = a.shape, b.shape[1]
    cycles = engines.closed_form_cycles(m, k, n, config)
    assert {name: getattr(golden.report, name) for name in cycles} == cycles
    assert np.array_equal(golden.result, ordered_reference(a, b, fold_group(config, k)))
    assert golden.report.macs == m * k * n


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@given(data=st.data())
def test_integer_valued_operands_give_exactly_a_at_b(dataflow, data):
    config, a, b = data.draw(workloads(dataflow))
    a, b = np.round(a), np.round(b)
    c, _ = MODULES[config.dataflow].simulate_fast(*prepared(a, b, config), config)
    assert np.array_equal(c, a @ b)


@pytest.mark.parametrize("dtype", ["bf16", "fp16", "int8"])
@pytest.mark.parametrize("dataflow", DATAFLOWS)
@given(data=st.data())
def test_other_formats_run_the_same_engines_on_rounded_operands(dtype, dataflow, data):
    config, a, b = data.draw(workloads(dataflow))
    config = dataclasses.replace(config, dtype=dtype)
    a, b = prepared(a, b, config)  # rounded to the format, held in float32 (int32 for int8)
    engines = MODULES[config.dataflow]
    golden = engines.simulate_golden(a, b, config)
    fast, report = engines.simulate_fast(a, b, config)
    assert np.array_equal(fast, golden.result) and report == golden.report
    assert np.array_equal(golden.result, ordered_reference(a, b, fold_group(config, a.shape[1])))
    assert report.acc_read_bytes == a.shape[0] * b.shape[1] * 4  # 32-bit sums in every format
    if config.dtype == "int8":  # small integers: exact
        assert np.array_equal(fast, a.astype(np.int64) @ b.astype(np.int64))
