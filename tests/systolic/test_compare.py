"""Dataflow comparison: records, tables, files."""

import csv

import pytest

from systolic.compare import FIELDS, compare, format_tables, parse_dataflows, parse_sizes, write_csv
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
        config = ArrayConfig(r["rows"], r["cols"], dataflow=r["dataflow"])
        cycles = MODULES[config.dataflow].closed_form_cycles(r["m"], r["k"], r["n"], config)
        assert r["total_cycles"] == cycles["total_cycles"]
        assert r["macs"] == r["m"] * r["k"] * r["n"]
        assert r["max_abs_error"] < 1e-5


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
