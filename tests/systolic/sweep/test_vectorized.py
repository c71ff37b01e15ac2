"""Closed forms over many points at once: the per-point path's numbers, field by field, over
every dataflow, weight load, accumulator depth, format, GEMM and conv workloads; a
hand-counted case; records written in bulk, read back whole, and a resumed chunk's points
stored once."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from systolic.api import estimate
from systolic.config import ArrayConfig, Dataflow, WeightLoad
from systolic.energy import horowitz45, tpu_v1_28nm
from systolic.numerics import FORMATS
from systolic.sweep import vectorized
from systolic.sweep.point import PARAMS, Columns, evaluate, evaluate_chunk
from systolic.sweep.store import POINTS, Store, json_lines, read_points
from systolic.workloads import ConvLayer, Gemm

TABLES = {"horowitz45": horowitz45(), "tpu_v1_28nm": tpu_v1_28nm()}


@st.composite
def layer(draw):
    """A small GEMM, or a small convolution (strided, padded, depthwise or not)."""
    if draw(st.booleans()):
        m, k, n = (draw(st.integers(1, 70)) for _ in range(3))
        return Gemm("g", m, k, n)
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pad_h, pad_w = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    return ConvLayer(
        "c", draw(st.integers(kh, 9)), draw(st.integers(kw, 9)), kh, kw,
        draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 2)),
        draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.booleans()), pad_h, pad_w,
    )  # fmt: skip


@st.composite
def point(draw, key):
    """A valid bare-array point without values (output-stationary: serial, no accumulators)."""
    flow = draw(st.sampled_from([flow.value for flow in Dataflow]))
    stationary = flow != "os"
    loads = [load.value for load in WeightLoad] if stationary else ["serial"]
    accumulator = st.one_of(st.none(), st.integers(1, 80)) if stationary else st.none()
    return {
        "key": str(key), "workload": "w", "batch": None, "seed": 0, "machine": None,
        "rows": draw(st.integers(1, 40)), "cols": draw(st.integers(1, 40)), "dataflow": flow,
        "weight_load": draw(st.sampled_from(loads)), "accumulator_rows": draw(accumulator),
        "dtype": draw(st.sampled_from(list(FORMATS))),
        "energy": draw(st.sampled_from(list(TABLES))), "values": False,
    }  # fmt: skip


def untimed(record: dict) -> dict:
    return {name: value for name, value in record.items() if name != "seconds"}


@given(
    st.lists(layer(), min_size=1, max_size=3),
    st.lists(st.integers(0, 10**6), min_size=1, max_size=12, unique=True),
    st.data(),
)
def test_a_chunk_gives_what_each_point_gives_field_by_field(layers, keys, data):  # fmt: skip
    points = [data.draw(point(key)) for key in keys]
    context = {"layers": {("w", None): layers}, "tables": TABLES}
    records = evaluate_chunk(points, context)
    assert isinstance(records, Columns) and len(records) == len(points)
    expected = {p["key"]: evaluate(p, layers, TABLES[p["energy"]]) for p in points}
    for record in records:
        want = expected[record["key"]]
        assert list(record) == list(want)
        for name, value in untimed(want).items():
            # the same numbers, bit for bit, and the same types (ints stay ints)
            assert record[name] == value and type(record[name]) is type(value), name


@given(st.lists(layer(), min_size=1, max_size=3), st.integers(1, 30), st.integers(1, 30),
       st.sampled_from(list(WeightLoad)), st.sampled_from([Dataflow.WS, Dataflow.IS]),
       st.one_of(st.none(), st.integers(1, 40)), st.integers(1, 12))  # fmt: skip
def test_any_segment_rows_give_the_closed_forms_of_the_config(
    layers, rows, cols, load, flow, accumulator, segment_rows
):
    config = ArrayConfig(rows, cols, dataflow=flow, weight_load=load,
                         accumulator_rows=accumulator, segment_rows=segment_rows)  # fmt: skip
    configs = vectorized.Configs(
        *(np.array([value], dtype=np.int64) for value in (
            rows, cols, accumulator or vectorized.UNLIMITED, vectorized.DATAFLOWS.index(flow),
            vectorized.WEIGHT_LOADS.index(load), segment_rows, vectorized.DTYPES.index("fp32")))
    )  # fmt: skip
    out = vectorized.workload_results(configs, layers, horowitz45())
    reports = []
    for each in layers:
        if isinstance(each, ConvLayer):
            m, k, n = each.shape.gemm
            reports += [estimate(m, k, n, config)] * each.shape.groups
        else:
            reports.append(estimate(each.m, each.k, each.n, config))
    total = sum(reports)
    for name in (
        "total_cycles",
        "weight_load_cycles",
        "compute_cycles",
        "fill_drain_cycles",
        "folds",
        "macs",
        "act_read_bytes",
        "weight_read_bytes",
        "acc_write_bytes",
    ):
        assert out[name][0] == getattr(total, name), name  # fmt: skip


def test_a_hand_counted_case():
    # (4, 3) @ (3, 2) on a 2x2 WS array, serial: k in 2 tiles of rows, n in one of cols, so
    # 2 folds of 2r + c + m - 2 = 8 cycles: 2 loading, 4 streaming, 2 filling and draining
    fp32 = vectorized.DTYPES.index("fp32")
    configs = vectorized.Configs(*(np.array([v]) for v in (2, 2, 0, 0, 0, 8, fp32)))
    out = vectorized.workload_results(configs, [Gemm("g", 4, 3, 2)], horowitz45())
    assert out["total_cycles"][0] == 16 and out["weight_load_cycles"][0] == 4
    assert out["compute_cycles"][0] == 8 and out["fill_drain_cycles"][0] == 4
    assert out["folds"][0] == 2 and out["macs"][0] == 24
    assert out["utilization"][0] == 24 / (4 * 16) and out["mapping_efficiency"][0] == 24 / 32
    # fp32: 4 bytes an operand and a sum; the 3 x 2 weights once, A once per n-tile, each
    # output once per k-tile into the accumulators and once out
    assert (out["weight_read_bytes"][0], out["act_read_bytes"][0]) == (24, 48)
    assert (out["acc_write_bytes"][0], out["acc_read_bytes"][0]) == (64, 32)
    assert out["scalesim_cycles"][0] == 15 and out["sram_mm2"][0] == 4 * 2 * 4 * 4.8 / 1e6
    assert not out["refused"][0]


def test_refused_points_are_evaluated_one_at_a_time_and_fail_as_before():
    huge = [Gemm("huge", 100_000, 100_000, 100_000)]
    base = {"workload": "w", "batch": None, "seed": 0, "machine": None, "rows": 4, "cols": 4,
            "dataflow": "ws", "weight_load": "serial", "accumulator_rows": None,
            "dtype": "fp32", "energy": "horowitz45", "values": False}  # fmt: skip
    context = {"layers": {("w", None): huge, ("v", None): [Gemm("g", 3, 3, 3)]},
               "tables": TABLES}  # fmt: skip
    points = [{**base, "key": "huge"}, {**base, "key": "ok", "workload": "v"},
              {**base, "key": "machine", "workload": "v", "machine": "teaching", "rows": 16,
               "cols": 16, "weight_load": "double_buffered", "accumulator_rows": 256}]  # fmt: skip
    records = {record["key"]: record for record in evaluate_chunk(points, context)}
    assert records["huge"]["status"] == "failed" and "max_elements" in records["huge"]["error"]
    for key, workload in (("ok", "v"), ("machine", "v")):
        want = evaluate(next(p for p in points if p["key"] == key),
                        context["layers"][workload, None], TABLES["horowitz45"])  # fmt: skip
        assert untimed(records[key]) == untimed(want)


def test_a_chunk_is_written_in_one_piece_and_a_resumed_one_stores_each_point_once(tmp_path):
    layers = [Gemm("a", 10, 784, 30), ConvLayer("c", 8, 8, 3, 3, 2, 4)]
    points = [{"key": f"{rows}-{flow}", "workload": "w", "batch": None, "seed": 0,
               "machine": None, "rows": rows, "cols": 5, "dataflow": flow,
               "weight_load": "serial", "accumulator_rows": None, "dtype": "int8",
               "energy": "horowitz45", "values": False}
              for rows in range(1, 41) for flow in ("ws", "os", "is")]  # fmt: skip
    context = {"layers": {("w", None): layers}, "tables": TABLES}
    first, rest = points[:50], points[50:]
    store = Store.open(tmp_path)
    store.begin()
    store.append(evaluate_chunk(first, context))
    store.close()
    # a sweep killed while appending its next chunk leaves some of its lines and part of one
    text = json_lines(evaluate_chunk(rest, context))
    with open(tmp_path / POINTS, "a") as handle:
        handle.write(text[: len(text) // 3 + 7])
    store = Store.open(tmp_path)
    store.begin()  # cuts the partial line off
    missing = [p for p in points if store.records.get(p["key"], {}).get("status") != "ok"]
    assert 0 < len(missing) < len(rest) and set(map(str, missing)) <= set(map(str, rest))
    store.append(evaluate_chunk(missing, context))
    store.close()
    lines = (tmp_path / POINTS).read_text().splitlines()
    keys = [json.loads(line)["key"] for line in lines]
    assert sorted(keys) == sorted(p["key"] for p in points)  # each point once
    records, _ = read_points(tmp_path / POINTS)
    for p in points[::7]:
        assert untimed(records[p["key"]]) == untimed(evaluate(p, layers, TABLES["horowitz45"]))
    assert all(records[p["key"]][name] == p[name] for p in points for name in PARAMS)


@pytest.mark.parametrize("load", ["serial", "double_buffered"])
def test_counts_past_2_to_the_53_keep_python_s_ratios(load):
    # 2**24 PEs for about 8e8 cycles: utilization as Python divides the ints, not as their
    # float64 values would
    layers = [Gemm("big", 2**16, 2**12, 2**12)]
    base = {"key": "k", "workload": "w", "batch": None, "seed": 0, "machine": None,
            "rows": 2**12, "cols": 2**12, "dataflow": "ws", "weight_load": load,
            "accumulator_rows": 1, "dtype": "fp64", "energy": "horowitz45",
            "values": False}  # fmt: skip
    (record,) = evaluate_chunk([base], {"layers": {("w", None): layers}, "tables": TABLES})
    assert record["pe_count"] * record["total_cycles"] > 2**53
    assert untimed(record) == untimed(evaluate(base, layers, TABLES["horowitz45"]))
