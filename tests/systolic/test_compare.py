"""Dataflow comparison: records, tables, files."""

import csv

import numpy as np
import pytest

from systolic.compare import (
    FIELDS,
    compare,
    format_tables,
    parse_dataflows,
    parse_sizes,
    totals,
    write_csv,
)
from systolic.config import ArrayConfig, Dataflow
from systolic.dataflows import MODULES
from systolic.workloads import Gemm

GEMMS = [Gemm("fc1", 6, 5, 4), Gemm("fc2", 3, 4, 7)]


def test_one_record_per_layer_dataflow_and_size_with_checked_values():
    records = compare(GEMMS, [(2, 2), (4, 3)], seed=1)
    assert len(records) == 2 * 3 * 2
    assert [(r["rows"], r["cols"], r["dataflow"], r["layer"]) for r in records[:3]] == [
        (2, 2, "ws", "fc1"), (2, 2, "ws", "fc2"), (2, 2, "os", "fc1")
    ]  # fmt: skip
    for r in records:
        assert list(r) == list(FIELDS)
        # the cycles against the golden model, stepped cycle by cycle (not the closed form
        # the fast engine itself reports)
        config = ArrayConfig(r["rows"], r["cols"], dataflow=r["dataflow"])
        golden = MODULES[config.dataflow].simulate_golden(
            np.ones((r["m"], r["k"]), np.float32), np.ones((r["k"], r["n"]), np.float32), config
        )
        assert r["total_cycles"] == golden.report.total_cycles == golden.array.cycle
        assert r["macs"] == r["m"] * r["k"] * r["n"]
        assert r["max_abs_error"] < 1e-5


def test_the_total_row_sums_and_recomputes_the_ratios_by_hand():
    records = [
        {"layer": "a", "dataflow": "ws", "rows": 2, "cols": 2, "total_cycles": 10,
         "compute_cycles": 4, "macs": 20, "act_read_bytes": 1, "weight_read_bytes": 2,
         "acc_write_bytes": 3, "acc_read_bytes": 4, "scalesim_cycles": 9, "max_abs_error": 0.5},
        {"layer": "b", "dataflow": "ws", "rows": 2, "cols": 2, "total_cycles": 30,
         "compute_cycles": 6, "macs": 4, "act_read_bytes": 1, "weight_read_bytes": 2,
         "acc_write_bytes": 3, "acc_read_bytes": 4, "scalesim_cycles": 29, "max_abs_error": 0.25},
    ]  # fmt: skip
    (total,) = totals(records)
    assert total["total_cycles"] == 40 and total["macs"] == 24 and total["scalesim_cycles"] == 38
    assert total["utilization"] == 24 / (4 * 40)  # not the mean of 0.5 and 1/30
    assert total["mapping_efficiency"] == 24 / (4 * 10)
    assert total["max_abs_error"] == 0.5


def test_the_seed_picks_the_operands(tmp_path):
    from systolic.cli import main

    def run(seed, name):
        out = tmp_path / name
        argv = ["compare", "--mlp", "6,4,3", "--batch", "5", "--sizes", "2x2", "--seed", seed,
                "--out", str(out)]  # fmt: skip
        assert main(argv) == 0
        with open(out / "compare.csv") as handle:
            return [row["max_abs_error"] for row in csv.DictReader(handle)]

    first, again, other = run("1", "a"), run("1", "b"), run("2", "c")
    assert first == again and first != other


def test_same_operands_for_every_dataflow():
    records = compare(GEMMS[:1], [(3, 3)], [Dataflow.WS, Dataflow.IS], seed=2)
    ws, is_ = records
    # same data, same k-fold grouping by rows: WS and IS add in the same order
    assert ws["max_abs_error"] == is_["max_abs_error"]


def test_table_and_csv(tmp_path):
    records = compare(GEMMS, [(2, 2)], [Dataflow.OS])
    text = format_tables(records)
    assert text.splitlines()[0] == "dataflow os"
    assert "total" in text and "SCALE-Sim" in text
    write_csv(records, tmp_path / "out" / "compare.csv")
    with open(tmp_path / "out" / "compare.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["layer"] for row in rows] == ["fc1", "fc2"]
    assert int(rows[0]["total_cycles"]) == records[0]["total_cycles"]
    assert list(tmp_path.joinpath("out").iterdir()) == [tmp_path / "out" / "compare.csv"]


def test_sizes_and_dataflows_parse():
    assert parse_sizes("8x8, 32X16") == [(8, 8), (32, 16)]
    assert parse_dataflows("ws,OS, is") == [Dataflow.WS, Dataflow.OS, Dataflow.IS]


@pytest.mark.parametrize("text", ["8", "8x", "0x8", "8x8x8", "axb", ""])
def test_bad_sizes_are_refused(text):
    with pytest.raises(ValueError, match="bad array size .*ROWSxCOLS"):
        parse_sizes(text)


def test_unknown_dataflow_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown dataflow 'rs'; valid: ws, os, is"):
        parse_dataflows("ws,rs")


def test_the_csv_and_the_png_name_the_same_run(tmp_path):
    from PIL import Image

    from systolic.cli import main

    argv = ["compare", "--mlp", "6,4,3", "--sizes", "2x2", "--out", str(tmp_path)]
    assert main(argv) == 0
    with open(tmp_path / "compare.csv") as handle:
        runs = {row["run"] for row in csv.DictReader(handle)}
    (run,) = runs
    with Image.open(tmp_path / "compare.png") as image:
        assert image.text["Description"] == f"systolic compare run {run}"
    assert main([*argv, "--seed", "3"]) == 0
    with open(tmp_path / "compare.csv") as handle:
        assert {row["run"] for row in csv.DictReader(handle)} != runs


def test_no_values_gives_the_same_counts_without_computing(monkeypatch):
    from systolic.workloads import ConvLayer

    layers = [*GEMMS, ConvLayer("conv", 7, 6, 3, 3, 2, 4, 2, 1, batch=2, pad_h=1),
              ConvLayer("dw_DP", 6, 6, 3, 3, 3, 2, 1, 1, depthwise=True)]  # fmt: skip
    computed = compare(layers, [(3, 4)], seed=1)
    import systolic.compare as module

    monkeypatch.setattr(module, "matmul", lambda *a, **k: pytest.fail("computed"))
    monkeypatch.setattr(module, "conv2d", lambda *a, **k: pytest.fail("computed"))
    estimated = compare(layers, [(3, 4)], values=False)
    errors = ("max_abs_error", "max_rel_error", "exact")
    for full, fast in zip(computed, estimated, strict=True):
        assert {k: v for k, v in full.items() if k not in errors} == {
            k: v for k, v in fast.items() if k not in errors
        }
        assert fast["max_abs_error"] is None
    assert "-" in format_tables(estimated)
