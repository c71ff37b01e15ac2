"""Sweeps whose points stay columns from expansion to the result files: keys, blocks of the
spec's space, bulk tasks stored in ``columns/``, resumed, and the same files and summary as
points evaluated one at a time. The points run in this process (``inline``)."""

import csv
import io
import math

import numpy as np
import pytest

from systolic.sweep import block, results
from systolic.sweep.point import FIELDS, evaluate
from systolic.sweep.run import run_sweep
from systolic.sweep.spec import expand, load_spec
from systolic.sweep.store import COLUMNS, POINTS, Bulk, Store, all_records, package_version
from systolic.sweep.vectorized import Configs
from tests.systolic.sweep.conftest import write_spec

#: every dataflow, load, two accumulator depths and formats on four arrays at two batches (an
#: MLP), a workload whose one layer every array refuses, a machine, and listed points: one
#: the space holds already, one new
SPEC = """\
[workloads]
mlp = ["9,6,4"]
files = ["huge.csv"]
[space]
array = ["1x1", "3x5", "8x8", "16x4"]
dataflow = ["ws", "os", "is"]
weight_load = ["serial", "double_buffered", "segmented"]
accumulator_rows = ["unlimited", 3]
dtype = ["int8", "fp32"]
batch = [2, 5]
machine = ["teaching"]
[[points]]
mlp = "9,6,4"
array = "8x8"
dataflow = "is"
weight_load = "segmented"
accumulator_rows = 3
dtype = "fp32"
batch = 5
[[points]]
mlp = "9,6,4"
array = "7x2"
batch = 2
"""
FILES = {"huge.csv": "name,m,k,n\nhuge,100000,100000,100000\n"}


def untimed_csv(path) -> list[dict]:
    """The rows of a ``points.csv`` without the time each point took."""
    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


def reference_csv(expansion) -> list[dict]:
    """``points.csv``'s rows as the points give them one at a time (``point.evaluate``)."""
    records = []
    for point in expansion.points:
        layers = expansion.context["layers"][point["workload"], point["batch"]]
        try:
            records.append(evaluate(point, layers, expansion.context["tables"][point["energy"]]))
        except ValueError:
            records.append(None)  # failed: compared by status below
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(record for record in records if record is not None)
    text.seek(0)
    return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(text)]


def untimed(summary: dict) -> dict:
    timing = ("seconds", "compute_seconds", "evaluate_seconds", "points_per_second", "chunk",
              "out", "files")  # fmt: skip
    return {k: v for k, v in summary.items() if k not in timing}


@pytest.fixture
def spec(tmp_path):
    return load_spec(write_spec(tmp_path, SPEC, FILES))


def test_keys_mix_every_field_and_one_point_keys_as_in_a_block():
    configs = Configs(*(np.array([value], dtype=np.int64) for value in (4, 8, 0, 0, 1, 8, 3)))
    high, low = block.array_keys("0123456789abcdef" * 2, configs)
    (key,) = block.hex_keys(high, low).tolist()
    assert key == "1c48efd788aed58bfa7073899ae3ffc5"  # the hash, pinned
    others = set()
    for name in block.KEY_FIELDS:
        changed = Configs(**{f: getattr(configs, f) + (f == name) for f in block.KEY_FIELDS})
        others.add(block.hex_keys(*block.array_keys("0123456789abcdef" * 2, changed))[0])
    assert len(others) == len(block.KEY_FIELDS) and key not in others
    other_run = block.hex_keys(*block.array_keys("f123456789abcdef" * 2, configs))[0]
    assert other_run != key


def test_the_space_expands_to_blocks_and_a_listed_point_of_the_space_runs_once(spec):
    expansion = expand(spec, False, package_version())
    blocks = [part for part in expansion.parts if isinstance(part, block.Block)]
    # per run (the MLP at 2 batches, the file at its own) one block, and the new listed point's
    assert len(blocks) == 4 and len(blocks[-1]) == 1
    points = expansion.points
    keys = [point["key"] for point in points]
    assert len(keys) == len(set(keys)) == len(expansion)
    # 4 arrays x (ws, is: 3 loads x 2 depths; os: 1) x 2 formats per run, the machine in each format
    assert len(expansion) == 3 * (4 * 13 * 2 + 2) + 1
    assert len(expansion.skipped) == 3 * 4 * 5 * 2  # OS with accumulators or another load
    listed = {"workload": "mlp:9,6,4", "rows": 8, "cols": 8, "dataflow": "is", "batch": 5,
              "weight_load": "segmented", "accumulator_rows": 3, "dtype": "fp32"}  # fmt: skip
    same = [p for p in points if all(p[name] == value for name, value in listed.items())]
    assert len(same) == 1


def test_bulk_tasks_write_what_each_point_gives(spec, tmp_path, inline, monkeypatch):
    """Stored as columns (every bulk task) or as lines (none), the sweep writes the same
    ``points.csv`` and summary, which are what each point gives on its own."""
    monkeypatch.setattr(block, "BULK", 1)
    bulk = run_sweep(spec, tmp_path / "bulk", values=False, progress=False)
    files = sorted((tmp_path / "bulk" / COLUMNS).glob("*.npz"))
    assert len(files) == 3  # a task per block, less the one whose points all fail
    monkeypatch.setattr(block, "BULK", 10**9)
    lines = run_sweep(spec, tmp_path / "lines", values=False, progress=False)
    assert not (tmp_path / "lines" / COLUMNS).exists()
    assert untimed(bulk) == untimed(lines)
    assert bulk["failed"] >= 4 * 13 * 2 and bulk["errors"]  # the huge layer's points
    assert untimed_csv(tmp_path / "bulk" / "points.csv") == untimed_csv(
        tmp_path / "lines" / "points.csv"
    )
    reference = reference_csv(expand(spec, False, package_version()))
    ok = [row for row in untimed_csv(tmp_path / "bulk" / "points.csv") if row["status"] == "ok"]
    assert ok == reference
    # every finished point stored once: the columns hold all the bare-array ones
    opened = Store.open(tmp_path / "bulk")
    stored = sum(len(b) for b in opened.bulk)
    assert stored == sum(row["machine"] == "" for row in ok)  # the machine's in points.jsonl
    assert len(all_records(opened)) == bulk["computed"] + bulk["failed"]


def test_a_sweep_killed_after_its_first_bulk_task_computes_only_the_rest(
    spec, tmp_path, inline, monkeypatch
):
    monkeypatch.setattr(block, "BULK", 1)
    append, stored = Store.append, []

    def append_then_die(self, records):
        append(self, records)
        stored.append(len(records))
        if len(stored) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(Store, "append", append_then_die)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, out, values=False, chunk=40, progress=False)
    assert len(list((out / COLUMNS).glob("*.npz"))) == 2
    monkeypatch.setattr(Store, "append", append)
    first = inline["computed"][:]
    inline["computed"].clear()
    summary = run_sweep(spec, out, values=False, chunk=40, progress=False)
    assert (
        summary["reused"] == 80
        and summary["computed"] + summary["failed"]
        == len(expand(spec, False, package_version())) - 80
    )
    assert set(first[:80]).isdisjoint(inline["computed"])
    keys = [record["key"] for record in all_records(Store.open(out)).values()]
    assert len(keys) == len(set(keys)) == summary["computed"] + summary["failed"] + 80
    monkeypatch.setattr(block, "BULK", 10**9)
    whole = run_sweep(spec, tmp_path / "whole", values=False, progress=False)
    assert untimed_csv(out / "points.csv") == untimed_csv(tmp_path / "whole" / "points.csv")
    assert {k: v for k, v in untimed(summary).items() if k not in ("computed", "reused")} == {
        k: v for k, v in untimed(whole).items() if k not in ("computed", "reused")
    }


def test_a_columns_file_reads_back_whole_and_a_damaged_one_is_refused(spec, tmp_path, inline,
                                                                       monkeypatch):  # fmt: skip
    monkeypatch.setattr(block, "BULK", 1)
    out = tmp_path / "out"
    run_sweep(spec, out, values=False, progress=False)
    first = sorted((out / COLUMNS).glob("*.npz"))[0]
    bulk = Bulk.read(first)
    assert all(record["status"] == "ok" for record in bulk.records())
    assert bulk.records() == [all_records(Store.open(out))[r["key"]] for r in bulk.records()]
    # a killed write's temporary file is not read
    (out / COLUMNS / ".00000099.npz.x.tmp.npz").write_bytes(b"partial")
    assert len(Store.open(out).bulk) == len(list((out / COLUMNS).glob("[0-9]*.npz")))
    first.write_bytes(first.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"00000000\.npz: not a sweep's columns file$"):
        Store.open(out)
    assert (out / POINTS).exists()


def test_stored_points_are_found_by_both_lanes_of_their_key():
    def bulk(high, low):
        return Bulk(np.array(high, dtype=np.uint64), np.array(low, dtype=np.uint64), {}, {}, {})

    index = results.BulkIndex([bulk([5, 3], [1, 2]), bulk([5], [9])])
    found = index.find(np.array([5, 5, 5, 3, 4, 7], dtype=np.uint64),
                       np.array([1, 9, 2, 2, 1, 1], dtype=np.uint64))  # fmt: skip
    # the same high lane with another low lane is another point
    assert found.tolist() == [0, 2, -1, 1, -1, -1]
    assert results.BulkIndex([]).find(np.zeros(2, np.uint64), np.zeros(2, np.uint64)).tolist() == [
        -1,
        -1,
    ]


def test_a_result_of_one_value_in_every_file_is_one_view_and_zeros_of_two_signs_stay_apart():
    def bulk(count, results):
        lanes = np.arange(count, dtype=np.uint64)
        return Bulk(lanes, lanes, {}, {}, results)

    index = results.BulkIndex([
        bulk(3, {"stall_cycles": 0.0, "energy_pj": 0.0, "max_abs_error": None}),
        bulk(2, {"stall_cycles": 0.0, "energy_pj": -0.0, "max_abs_error": None}),
    ])  # fmt: skip
    same = index.column("stall_cycles")
    assert same.tolist() == [0.0] * 5 and same.strides == (0,)
    assert index.column("max_abs_error").tolist() == [None] * 5
    signs = [math.copysign(1, value) for value in index.column("energy_pj").tolist()]
    assert signs == [1, 1, 1, -1, -1]
    # a run of stored rows in order is read as a slice of the columns, others by index
    gathered = results._Gathered(index, np.array([1, 2, 3]))
    assert gathered.rows == slice(1, 4)
    assert [math.copysign(1, v) for v in gathered["energy_pj"].tolist()] == [1, 1, -1]
    shuffled = results._Gathered(index, np.array([4, 0]))
    assert [math.copysign(1, v) for v in shuffled["energy_pj"].tolist()] == [-1, 1]
