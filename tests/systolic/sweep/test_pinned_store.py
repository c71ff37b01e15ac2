"""A sweep's store, resume and keys, and its Pareto fronts and best points, pinned without
Dask: the points run in this process (the ``inline`` fixture), so each test can say exactly
which points a rerun computes."""

import csv
import dataclasses

from systolic.sweep import results
from systolic.sweep import run as sweep_run
from systolic.sweep import spec as spec_module
from systolic.sweep.pareto import best, front
from systolic.sweep.point import FIELDS
from systolic.sweep.run import format_summary, run_sweep
from systolic.sweep.spec import expand, load_spec
from systolic.sweep.store import POINTS, Store, package_version
from tests.systolic import test_energy
from tests.systolic.sweep.conftest import csv_rows, write_spec

#: one MLP at batch 2 on two arrays, WS and OS, both loading modes: 6 points, and the two of
#: OS with double buffering refused (nothing stationary to double-buffer)
SPEC = """\
[workloads]
mlp = ["6,4,3"]
[space]
array = ["2x2", "4x4"]
dataflow = ["ws", "os"]
weight_load = ["serial", "double_buffered"]
batch = [2]
"""


def sweep(spec, out):
    return run_sweep(spec, out, values=False, progress=False)


def counts(summary):
    return tuple(summary[name] for name in ("points", "computed", "reused", "skipped", "failed"))


def test_a_sweep_killed_before_its_last_point_was_stored_computes_that_point_alone(
    tmp_path, inline
):
    spec = load_spec(write_spec(tmp_path, SPEC))
    keys = [point["key"] for point in expand(spec, False, package_version()).points]
    assert len(keys) == 6
    out = tmp_path / "out"
    assert counts(sweep(spec, out)) == (8, 6, 0, 2, 0)
    assert inline["computed"] == keys
    reference = csv_rows(out)
    # killed while appending the last point: its line half written
    lines = (out / POINTS).read_bytes().splitlines(keepends=True)
    assert len(lines) == 6
    (out / POINTS).write_bytes(b"".join(lines[:-1]) + lines[-1][:20])
    inline["computed"].clear()
    assert counts(sweep(spec, out)) == (8, 1, 5, 2, 0)
    assert inline["computed"] == keys[-1:]
    assert csv_rows(out) == reference
    assert (out / POINTS).read_bytes().count(b"\n") == 6  # the half line cut off
    # nothing missing: no cluster is asked for
    inline["computed"].clear()
    assert counts(sweep(spec, out)) == (8, 0, 6, 2, 0) and inline["connects"] == 2
    assert inline["computed"] == []


def test_a_failed_point_is_computed_again_and_its_record_replaced(tmp_path, inline):
    spec = load_spec(write_spec(tmp_path, SPEC))
    out = tmp_path / "out"
    sweep(spec, out)
    first = Store.open(out).records
    key = next(iter(first))
    store = Store(out)
    store.begin()
    store.append([{**first[key], "status": "failed", "error": "ValueError: lost"}])
    store.close()
    inline["computed"].clear()
    summary = sweep(spec, out)
    assert counts(summary) == (8, 1, 5, 2, 0) and summary["errors"] == {}
    assert inline["computed"] == [key]
    assert Store.open(out).records[key]["status"] == "ok"


#: points.csv's columns, in order: key, how it ended, parameters, results
CSV_HEADER = [
    "key", "status", "error", "workload", "batch", "seed", "machine", "rows", "cols",
    "dataflow", "weight_load", "accumulator_rows", "dtype", "energy", "values", "layers",
    "total_cycles", "compute_cycles", "weight_load_cycles", "fill_drain_cycles",
    "stall_cycles", "macs", "pe_count", "folds", "utilization", "mapping_efficiency",
    "act_read_bytes", "weight_read_bytes", "acc_write_bytes", "acc_read_bytes",
    "dram_read_bytes", "energy_pj", "mac_energy_pj", "register_energy_pj", "idle_energy_pj",
    "acc_energy_pj", "ub_energy_pj", "fifo_energy_pj", "dram_energy_pj", "host_energy_pj",
    "pj_per_mac", "area_mm2", "array_mm2", "sram_mm2", "max_abs_error", "max_rel_error",
    "exact", "scalesim_cycles", "seconds",
]  # fmt: skip


def test_points_csv_has_its_columns_in_order_and_every_skipped_point(tmp_path, inline):
    spec = load_spec(write_spec(tmp_path, SPEC))
    out = tmp_path / "out"
    sweep(spec, out)
    with open(out / "points.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == CSV_HEADER
        rows = list(reader)
    assert [row["status"] for row in rows] == ["ok"] * 6 + ["skipped"] * 2
    skipped = [(row["rows"], row["dataflow"], row["weight_load"], row["key"]) for row in rows[6:]]
    assert skipped == [("2", "os", "double_buffered", ""), ("4", "os", "double_buffered", "")]
    assert all("double-buffer" in row["error"] for row in rows[6:])


def test_points_appended_are_in_the_store_at_once(tmp_path):
    store = Store(tmp_path)
    store.begin()
    try:
        store.append([{"key": "a", "status": "ok"}, {"key": "b", "status": "ok"}])
        assert sorted(store.records) == ["a", "b"]
    finally:
        store.close()


ENERGY = test_energy.TOML  # an energy table file of round numbers


def keys_of(folder, text, files=None):
    spec = load_spec(write_spec(folder, text, files))
    return [point["key"] for point in expand(spec, False, "1").points]


def test_keys_follow_the_contents_of_an_energy_table_file(tmp_path):
    text = SPEC + 'energy = ["mine.toml"]\n'
    first = keys_of(tmp_path, text, {"mine.toml": ENERGY})
    assert keys_of(tmp_path, text, {"mine.toml": ENERGY}) == first
    # the same file edited: its points are others, not the results of the old prices
    dearer = ENERGY.replace("dram_pj_per_byte = 100.0", "dram_pj_per_byte = 200.0")
    again = keys_of(tmp_path, text, {"mine.toml": dearer})
    assert len(again) == 6 and set(again).isdisjoint(first)


def test_keys_follow_a_machines_settings_beyond_its_parameters(tmp_path, monkeypatch):
    text = '[workloads]\nmlp = ["6,4,3"]\n[space]\nmachine = ["teaching"]\nbatch = [2]\n'
    (first,) = keys_of(tmp_path / "a", text)
    real = spec_module.machine_config

    def slower(name, dtype):  # the same array and accumulators, another clock
        config = real(name, dtype)
        return dataclasses.replace(config, clock_mhz=config.clock_mhz / 2)

    monkeypatch.setattr(spec_module, "machine_config", slower)
    (second,) = keys_of(tmp_path / "b", text)
    assert second != first


def test_a_dominated_points_twin_stays_off_the_front():
    # (3, 6) is beaten by (2, 5), and so is its twin
    records = [{"c": 2, "e": 5}, {"c": 3, "e": 6}, {"c": 3, "e": 6}, {"c": 4, "e": 1}]
    assert front(records, "c", "e") == [0, 3]


def test_of_two_points_with_the_same_x_the_worse_one_listed_first_is_beaten():
    assert front([{"c": 5, "e": 4}, {"c": 5, "e": 3}], "c", "e") == [1]
    assert front([{"c": 5, "e": 4}, {"c": 6, "e": 3}, {"c": 5, "e": 2}], "c", "e") == [2]


def test_best_breaks_ties_in_area_by_cycles_and_in_energy_by_cycles():
    def point(name, cycles, energy, area):
        return {"name": name, "workload": "w", "batch": 1, "status": "ok",
                "total_cycles": cycles, "energy_pj": energy, "area_mm2": area}  # fmt: skip

    # a and b tie in area, c and d in energy: the faster one wins each tie
    records = [point("a", 20, 9.0, 1.0), point("b", 30, 2.0, 1.0), point("c", 40, 1.0, 5.0),
               point("d", 35, 1.0, 6.0)]  # fmt: skip
    chosen = {entry["by"]: entry["name"] for entry in best(records)}
    assert chosen == {"cycles": "a", "energy": "d", "area": "a"}


def test_the_summarys_fronts_list_keys_in_order_of_cycles():
    def point(key, cycles, energy, area, status="ok"):
        return {"key": key, "workload": "w", "batch": 2, "status": status,
                "total_cycles": cycles, "energy_pj": energy, "area_mm2": area}  # fmt: skip

    records = [point("slow", 30, 10.0, 3.0), point("fast", 10, 30.0, 1.0),
               point("mid", 20, 20.0, 2.0), point("beaten", 40, 40.0, 4.0),
               point("lost", 1, 1.0, 1.0, status="failed")]  # fmt: skip
    rows = [results.Rows(records=[{**dict.fromkeys(FIELDS), **record} for record in records])]
    groups = results.groups(rows)
    made = [sweep_run.summarize(columns, "w") for columns in groups.values()]
    assert sweep_run._fronts(groups, made) == [
        {"workload": "w", "batch": 2, "energy_pj": ["fast", "mid", "slow"], "area_mm2": ["fast"]}
    ]


def test_the_summary_as_text_by_hand():
    entry = {"workload": "mlp:6,4,3", "batch": 2, "machine": None, "rows": 4, "cols": 8,
             "dataflow": "ws", "weight_load": "serial", "accumulator_rows": None,
             "dtype": "fp32", "total_cycles": 12345, "utilization": 0.5, "energy_pj": 2.5e6,
             "area_mm2": 0.125, "max_abs_error": None}  # fmt: skip
    summary = {
        "points": 3, "computed": 2, "reused": 1, "skipped": 0, "failed": 0, "seconds": 1.5,
        "points_per_second": None, "workers": 0, "errors": {},
        "best": [{"by": by, **entry} for by in ("cycles", "energy", "area")],
        "pareto": [{"workload": "mlp:6,4,3", "batch": 2, "energy_pj": ["a", "b", "c"],
                    "area_mm2": ["a"]}],
    }  # fmt: skip
    lines = format_summary(summary).splitlines()
    assert lines[0] == "sweep: 3 points: 2 computed, 1 reused, 0 skipped, 0 failed (1.5 s)"
    assert lines[2] == "mlp:6,4,3, batch 2"
    assert lines[4] == (
        "  fastest       4x8               ws   serial                  - fp32          12,345"
        "   50.00      2.5000    0.1250           -"
    )
    assert lines[-1] == "  Pareto fronts: 3 points of cycles and energy, 1 of cycles and area"
