"""One point, evaluated without Dask: the same totals as ``compare`` and the machine's
program, and a failing point recorded without stopping the others."""

import math

import pytest

from systolic import compare
from systolic.config import Dataflow
from systolic.energy import area_mm2, horowitz45, machine_area_mm2
from systolic.sweep.point import FIELDS, evaluate, evaluate_chunk
from systolic.tpu import TPU, MatrixOp, TPUConfig
from systolic.workloads import Gemm, mlp_gemms

PARAMS = {
    "key": "k", "workload": "mlp:20,12,5", "batch": 4, "seed": 1, "machine": None, "rows": 4,
    "cols": 8, "dataflow": "ws", "weight_load": "double_buffered", "accumulator_rows": 3,
    "dtype": "fp32", "energy": "horowitz45", "values": True,
}  # fmt: skip


@pytest.mark.parametrize("values", [True, False])
def test_an_array_point_sums_what_compare_reports(values):
    layers, table = mlp_gemms([20, 12, 5], 4), horowitz45()
    result = evaluate({**PARAMS, "values": values}, layers, table)
    assert list(result) == list(FIELDS) and result["status"] == "ok"
    records = compare.compare(layers, [(4, 8)], [Dataflow.WS], weight_load="double_buffered",
                              accumulator_rows=3, seed=1, values=values, energy=table)  # fmt: skip
    for name in ("total_cycles", "macs", "act_read_bytes", "weight_read_bytes",
                 "acc_write_bytes", "acc_read_bytes", "energy_pj", "idle_energy_pj"):  # fmt: skip
        assert result[name] == pytest.approx(sum(r[name] for r in records)), name
    assert result["utilization"] == result["macs"] / (32 * result["total_cycles"])
    assert result["area_mm2"] == area_mm2(table, 4, 8, "fp32", 3 * 8 * 4)["area_mm2"]
    if values:
        assert result["max_abs_error"] == max(r["max_abs_error"] for r in records)
        assert result["exact"] is all(r["exact"] for r in records)
    else:
        assert result["max_abs_error"] is None and result["exact"] is None


def test_unlimited_accumulators_are_sized_for_the_longest_stream():
    layers = [Gemm("a", 30, 4, 4), Gemm("b", 7, 4, 50)]
    ws = evaluate({**PARAMS, "accumulator_rows": None, "values": False}, layers, horowitz45())
    is_ = evaluate({**PARAMS, "accumulator_rows": None, "values": False, "dataflow": "is"},
                   layers, horowitz45())  # fmt: skip
    assert ws["sram_mm2"] == area_mm2(horowitz45(), 4, 8, "fp32", 30 * 8 * 4)["sram_mm2"]
    assert is_["sram_mm2"] == area_mm2(horowitz45(), 4, 8, "fp32", 50 * 8 * 4)["sram_mm2"]


def test_a_machine_point_runs_the_workload_as_one_program():
    layers, table = mlp_gemms([20, 12, 5], 4), horowitz45()
    point = {**PARAMS, "machine": "teaching", "rows": 16, "cols": 16, "accumulator_rows": 256}
    result = evaluate(point, layers, table)
    report, _ = TPU(TPUConfig.teaching()).run([MatrixOp(g.m, g.k, g.n) for g in layers])
    assert result["total_cycles"] == report.total_cycles and result["macs"] == report.macs
    assert result["stall_cycles"] == report.total_cycles - report.compute_cycles - (
        report.weight_load_cycles + report.fill_drain_cycles
    )
    assert result["area_mm2"] == machine_area_mm2(TPUConfig.teaching(), table)["area_mm2"]
    assert result["max_abs_error"] < 1e-4 and result["scalesim_cycles"] is None


@pytest.mark.parametrize("values", [True, False])
def test_a_training_machine_point_runs_the_workload_as_one_pass(values):
    from systolic.machine.config import tpu_v5e
    from systolic.machine.program import run_layers

    layers, table = mlp_gemms([20, 12, 5], 4), horowitz45()
    point = {**PARAMS, "machine": "tpu_v5e", "rows": 128, "cols": 128, "dtype": "bf16",
             "accumulator_rows": 512, "values": values}  # fmt: skip
    result = evaluate(point, layers, table)
    run = run_layers(tpu_v5e(), [(g.m, g.k, g.n, 1, g.m * g.k) for g in layers], table)
    assert result["total_cycles"] == run["total_cycles"] and result["macs"] == run["macs"]
    assert result["pe_count"] == 4 * 128 * 128
    assert result["energy_pj"] == pytest.approx(run["energy_j"] * 1e12)
    assert result["area_mm2"] is None and result["stall_cycles"] is None  # array-only fields
    assert (result["max_abs_error"] is None) is not values


def test_a_failing_point_is_recorded_and_the_next_one_runs():
    huge = [Gemm("huge", 100_000, 100_000, 100_000)]
    context = {"layers": {("mlp:20,12,5", 4): mlp_gemms([20, 12, 5], 4), ("huge", None): huge},
               "tables": {"horowitz45": horowitz45()}}  # fmt: skip
    points = [{**PARAMS, "key": "1", "workload": "huge", "batch": None}, {**PARAMS, "key": "2"}]
    bad, good = evaluate_chunk(points, context)
    assert bad["status"] == "failed" and bad["key"] == "1" and bad["rows"] == 4
    assert bad["error"].startswith("ValueError: layer 'huge' on ws: a would hold")
    assert "\n" not in bad["error"] and "total_cycles" not in bad
    assert good["status"] == "ok" and math.isfinite(good["energy_pj"])
