"""Sweep specs: expansion into points (skipped ones counted), keys, and one-line errors that
name the key and its line."""

import pytest

from systolic.sweep.spec import MAX_POINTS, digest, expand, key_line, load_spec
from tests.systolic.sweep.conftest import write_spec

#: the spec of the command's documentation, exactly as written there
EXAMPLE = """\
[workloads]
mlp = ["784,30,10"]           # layer sizes; batch from `batch`
files = []                    # workload files or bundled network names
[space]
array = ["8x8", "16x16", "32x32"]
dataflow = ["ws", "os", "is"]
weight_load = ["serial", "double_buffered"]
batch = [10]
"""


def points_of(tmp_path, text, files=None, values=False, version="1"):
    return expand(load_spec(write_spec(tmp_path, text, files)), values, version)


def test_example_expands_to_the_cross_product_less_what_os_refuses(tmp_path):
    expansion = points_of(tmp_path, EXAMPLE)
    assert len(expansion.points) == 3 * 5 and len(expansion.skipped) == 3
    assert {(p["dataflow"], p["weight_load"]) for p, _ in expansion.skipped} == {
        ("os", "double_buffered")
    }
    assert all("no stationary tile to double-buffer" in reason for _, reason in expansion.skipped)
    first = expansion.points[0]
    assert first["workload"] == "mlp:784,30,10" and first["batch"] == 10
    assert (first["rows"], first["cols"], first["energy"]) == (8, 8, "horowitz45")
    assert (first["dtype"], first["machine"], first["accumulator_rows"]) == ("fp32", None, None)


def test_ranges_lists_of_ranges_and_every_axis(tmp_path):
    text = """
[workloads]
mlp = [[12, 6, 3]]
files = ["lenet5", "fc.csv"]
[space]
array = [{from = 8, to = 128, step = "x2"}, "4x16"]
dataflow = ["ws", "os"]
accumulator_rows = ["unlimited", {from = 64, to = 192, step = 64}]
dtype = ["fp32", "int8"]
batch = {from = 1, to = 2}
seed = 3
energy = ["horowitz45", "tpu_v1_28nm"]
"""
    expansion = points_of(tmp_path, text, {"fc.csv": "name,m,k,n\nfc,4,5,6\n"})
    arrays = [(p["rows"], p["cols"]) for p in expansion.points]
    assert list(dict.fromkeys(arrays)) == [(8, 8), (16, 16), (32, 32), (64, 64), (128, 128),
                                           (4, 16)]  # fmt: skip
    # per workload and batch: 6 arrays x (ws: 4 accumulator sizes, os: 1 of 4) x 2 dtypes x
    # 2 tables; the MLP and lenet5 at batches 1 and 2, the CSV file at its own sizes
    per_run = 6 * (4 + 1) * 2 * 2
    assert len(expansion.points) == per_run * (2 + 2 + 1)
    assert len(expansion.skipped) == 6 * 3 * 2 * 2 * 5
    assert {p["batch"] for p in expansion.points if p["workload"] == "fc.csv"} == {None}
    assert {p["seed"] for p in expansion.points} == {3}
    assert {p["accumulator_rows"] for p in expansion.points} == {None, 64, 128, 192}


def test_explicit_points_and_machines(tmp_path):
    text = """
[workloads]
mlp = ["20,10,5"]
[[points]]
array = "16x8"
dataflow = "is"
weight_load = "double_buffered"
[[points]]
machine = "teaching"
mlp = "30,10"
batch = 4
[[points]]
machine = "tpu_v1"
dtype = "fp64"
[[points]]
array = "16x8"
dataflow = "is"
weight_load = "double_buffered"
[[points]]
array = 8
"""
    expansion = points_of(tmp_path, text)
    assert len(expansion.points) == 3  # the first point listed twice runs once
    array, machine, plain = expansion.points
    assert (plain["rows"], plain["dataflow"], plain["weight_load"]) == (8, "ws", "serial")
    assert (array["rows"], array["cols"], array["dataflow"]) == (16, 8, "is")
    assert (array["workload"], array["batch"]) == ("mlp:20,10,5", 10)
    assert machine["machine"] == "teaching" and machine["workload"] == "mlp:30,10"
    assert (machine["rows"], machine["dtype"], machine["batch"]) == (16, "fp32", 4)
    assert machine["weight_load"] == "double_buffered"
    ((skipped, reason),) = expansion.skipped  # a 256x256 fp64 tile overflows the FIFO
    assert skipped["machine"] == "tpu_v1" and "does not fit the weight FIFO" in reason


def test_keys_are_stable_and_follow_the_whole_configuration(tmp_path):
    assert digest({"b": [1, 2.5, None], "a": "x"}) == digest({"a": "x", "b": [1, 2.5, None]})
    assert digest({"a": 1}) == "015abd7f5cc57a2dd94b7590f04ad808"  # canonical JSON, pinned
    keys = [p["key"] for p in points_of(tmp_path, EXAMPLE).points]
    assert len(set(keys)) == len(keys)
    assert keys == [p["key"] for p in points_of(tmp_path, EXAMPLE).points]
    assert set(keys).isdisjoint(p["key"] for p in points_of(tmp_path, EXAMPLE, values=True).points)
    assert set(keys).isdisjoint(p["key"] for p in points_of(tmp_path, EXAMPLE, version="2").points)
    # a workload file's sizes are part of its points' keys, not only its name
    files = [{"w.csv": "name,m,k,n\nfc,4,5,6\n"}, {"w.csv": "name,m,k,n\nfc,4,5,7\n"}]
    text = '[workloads]\nfiles = ["w.csv"]\n[space]\narray = [4]\n'
    first, second = (points_of(tmp_path, text, f).points[0]["key"] for f in files)
    assert first != second


def test_more_points_than_the_limit_are_refused(tmp_path):
    text = '[workloads]\nmlp = ["4,3"]\n[space]\narray = {from = 1, to = 10000}\n'
    text += "seed = {from = 0, to = 99}\n"
    with pytest.raises(ValueError, match=f"expands to 3,000,000 points, more than {MAX_POINTS:,}"):
        points_of(tmp_path, text)


def test_key_line_finds_keys_tables_and_dotted_keys():
    text = '[workloads]\nmlp = ["4,3"]\n\n[space]\n"array" = [4]\n[[points]]\narray = 4\n'
    text += "[[points]]\n  dtype = 'fp32'\n"
    assert key_line(text, "space", "array") == 5
    assert key_line(text, "workloads", "mlp") == 2
    assert (
        key_line(text, "points", "dtype", 1) == 9 and key_line(text, "points", "dtype", 0) is None
    )
    assert key_line(text, "", "space") == 4
    assert key_line("space.batch = [1]\n", "space", "batch") == 1
    assert key_line("mlp = [\n  [784, 30],\n]\nx = 1\n", "", "x") == 4  # not a header


@pytest.mark.parametrize(
    "text, message",
    [
        ('[workloads]\nmlp = ["4,3"]\n[space]\narray = [4]\narrays = [8]\n',
         "sweep.toml, line 5: space.arrays: unknown key; valid: array, dataflow"),
        ('[workloads]\nmlp = ["4,3"]\n[space]\narray = [4]\ndataflow = []\n',
         "sweep.toml, line 5: space.dataflow: empty list; give at least one value"),
        ('[workloads]\nmlp = ["4,3"]\n\n[space]\narray = {from = 64, to = 8, step = "x2"}\n',
         "sweep.toml, line 5: space.array: empty range from 64 to 8"),
        ('[workloads]\nmlp = ["4,3"]\n[space]\narray = [4]\nbatch = ["10"]\n',
         "sweep.toml, line 5: space.batch: expected a positive integer, got '10'"),
        ('[workloads]\nmlp = ["4,3"]\n[space]\narray = ["4y4"]\n',
         "sweep.toml, line 4: space.array: expected an array size like \"32x32\" or 32, got '4y4'"),
        ('[workloads]\nmlp = ["4,3"]\n[space]\narray = [4]\ndataflow = ["ws", "xs"]\n',
         "line 5: space.dataflow: unknown dataflow 'xs'; valid: ws, os, is"),
        ('[workloads]\nmlp = ["4,3"]\n[space]\narray = [4]\ndataflow = {from = 1, to = 2}\n',
         "line 5: space.dataflow: ranges apply to array, accumulator_rows, batch, seed only"),
        ('[workloads]\nmlp = ["4,3"]\n[space]\narray = {from = 4, to = 8, by = 2}\n',
         "line 4: space.array: unknown range key 'by'; valid: from, to, step"),
        ('[workloads]\nmlp = ["4,3"]\n[space]\narray = {from = 4, to = 8, step = "x1"}\n',
         "line 4: space.array: step must be a positive integer or \"xN\" with N >= 2"),
        ('[workloads]\nmlp = ["4,3"]\n[space]\narray = [4]\nmachine = ["tpu_v9"]\n',
         "line 5: space.machine: unknown machine 'tpu_v9'; valid: tpu_v1, teaching, tpu_v2, "
         "tpu_v3, tpu_v4, tpu_v5e, tpu_v5p, tpu_v6e"),
        ('[workloads]\nmlp = ["4,3"]\n[space]\narray = [4]\nenergy = "e.toml"\n',
         "line 5: space.energy: "),
        ('[workloads]\nmlp = ["4;3"]\n[space]\narray = [4]\n',
         "line 2: workloads.mlp: expected layer sizes like \"784,30,10\", got '4;3'"),
        ('[workloads]\nfiles = ["nosuchnet"]\n[space]\narray = [4]\n',
         "line 2: workloads.files: nosuchnet: no such file, and not a bundled"),
        ('[workloads]\nmlp = ["4,3"]\nnetworks = ["lenet5"]\n[space]\narray = [4]\n',
         "line 3: workloads.networks: unknown key; valid: mlp, files"),
        ('format = 2\n[workloads]\nmlp = ["4,3"]\n[space]\narray = [4]\n',
         "line 1: format: this is spec format 1, got 2"),
        ('[workload]\nmlp = ["4,3"]\n', "line 1: workload: unknown key; valid: format, workloads"),
        ('[workloads]\nmlp = ["4,3"]\n[space]\ndataflow = ["ws"]\n',
         "line 3: space: give array (bare arrays), machine (presets) or both"),
        ('[workloads]\nmlp = ["4,3"]\n', "sweep.toml: no points: give a [space] or [[points]]"),
        ('[space]\narray = [4]\n', "workloads: no workload: give mlp or files"),
        ('[workloads]\nmlp = ["4,3"]\n[[points]]\narray = 4\n[[points]]\narray = [4, 8]\n',
         "line 6: points[1].array: a point takes one value; lists and ranges belong in [space]"),
        ('[workloads]\nmlp = ["4,3"]\n[[points]]\narray = 4\nmachine = "teaching"\n',
         "line 5: points[0].machine: a point is an array or a machine, not both"),
        ('[workloads]\nmlp = ["4,3"]\n[[points]]\ndtype = "fp32"\n',
         "points[0].array: missing: give array or machine"),
        ('[workloads]\nmlp = ["4,3"\n', "sweep.toml: not TOML: "),
        ('[workloads]\nmlp = ["4,3"]\n[[points]]\narray = 4\n[[points]]\nfile = "x.csv"\n'
         'array = 4\n', "line 6: points[1].file: {tmp}/x.csv: no such file"),
        ('space = [4]\n', "line 1: space: expected a table [space]"),
    ],
)  # fmt: skip
def test_a_bad_spec_is_one_line_naming_the_key_and_its_line(tmp_path, text, message):
    with pytest.raises(ValueError) as error:
        load_spec(write_spec(tmp_path, text))
    message = message.replace("{tmp}", str(tmp_path))
    assert message in str(error.value) and "\n" not in str(error.value)
    assert str(error.value).startswith(str(tmp_path / "sweep.toml"))


def test_the_training_machines_are_machines_of_the_space(tmp_path):
    text = """
[workloads]
mlp = ["20,10,5"]
[space]
machine = ["tpu_v5e", "tpu_v6e", "tpu_v2"]
dtype = ["bf16", "int8"]
"""
    expansion = points_of(tmp_path, text)
    shapes = {(p["machine"], p["dtype"]): (p["rows"], p["cols"]) for p in expansion.points}
    assert shapes == {("tpu_v5e", "bf16"): (128, 128), ("tpu_v5e", "int8"): (128, 128),
                      ("tpu_v6e", "bf16"): (256, 256), ("tpu_v6e", "int8"): (256, 256),
                      ("tpu_v2", "bf16"): (128, 128)}  # fmt: skip
    ((skipped, reason),) = expansion.skipped  # the v2's MXUs have no int8
    assert skipped["machine"] == "tpu_v2" and "no int8 mode" in reason
