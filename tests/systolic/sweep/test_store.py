"""The results folder: records read back, a truncated last line tolerated and cut off, the
last record per key winning, other spec formats and a second writer refused."""

import json

import pytest

from systolic.sweep.spec import SPEC_FORMAT
from systolic.sweep.store import META, POINTS, Store, package_version, read_points


def record(key, status="ok", **fields):
    return {"key": key, "status": status, **fields}


def test_points_are_appended_synced_and_read_back(tmp_path):
    store = Store.open(tmp_path / "out")
    assert store.records == {} and not (tmp_path / "out").exists()  # opening writes nothing
    store.begin()
    store.append([record("a", total_cycles=5), record("b", status="failed", error="E: x")])
    store.append([record("b", total_cycles=7)])  # a failed point computed again
    store.close()
    meta = json.loads((tmp_path / "out" / META).read_text())
    assert meta == {"format": SPEC_FORMAT, "package_version": package_version()}
    again = Store.open(tmp_path / "out")
    assert again.records == {"a": record("a", total_cycles=5), "b": record("b", total_cycles=7)}


def test_a_truncated_last_line_is_skipped_then_cut_off(tmp_path):
    out = tmp_path / "out"
    store = Store.open(out)
    store.begin()
    store.append([record("a"), record("b")])
    store.close()
    points = out / POINTS
    whole = points.read_bytes()
    points.write_bytes(whole + b'{"key": "c", "stat')  # a write killed half way
    records, length = read_points(points)
    assert sorted(records) == ["a", "b"] and length == len(whole)
    store = Store.open(out)
    assert sorted(store.records) == ["a", "b"]
    store.begin()
    store.append([record("d")])
    store.close()
    assert [json.loads(line)["key"] for line in points.read_text().splitlines()] == ["a", "b", "d"]


def test_a_bad_whole_line_names_the_file_and_line(tmp_path):
    (tmp_path / META).write_text(json.dumps({"format": SPEC_FORMAT}))
    (tmp_path / POINTS).write_text('{"key": "a"}\nnot json\n{"key": "b"}\n')
    with pytest.raises(ValueError, match=r"points.jsonl, line 2: not a sweep point's record"):
        Store.open(tmp_path)


def test_results_of_another_spec_format_are_refused(tmp_path):
    (tmp_path / META).write_text(json.dumps({"format": SPEC_FORMAT + 1}))
    message = f"holds results of spec format {SPEC_FORMAT + 1}, this is format {SPEC_FORMAT}"
    with pytest.raises(ValueError, match=message):
        Store.open(tmp_path)
    (tmp_path / META).write_text("{")
    with pytest.raises(ValueError, match="sweep.json: not a sweep's metadata"):
        Store.open(tmp_path)


def test_points_without_metadata_are_not_a_sweeps(tmp_path):
    (tmp_path / POINTS).write_text('{"key": "a"}\n')
    with pytest.raises(ValueError, match="holds points.jsonl but no sweep.json"):
        Store.open(tmp_path)


def test_one_sweep_writes_a_folder_at_a_time(tmp_path):
    first, second = Store.open(tmp_path), Store.open(tmp_path)
    first.begin()
    try:
        with pytest.raises(ValueError, match="is being written by another sweep"):
            second.begin()
    finally:
        first.close()
    second.begin()
    second.close()
