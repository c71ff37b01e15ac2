"""The command line's outputs, pinned by hand-counted runs: gemm's JSON and its energy lines,
compare's CSV (its columns in order, a row by hand), its tables and totals per array size,
and the mode of a file written whole."""

import contextlib
import csv
import io
import json
import os
import stat

import pytest

from systolic.cli import main
from systolic.compare import format_tables, totals
from systolic.files import atomic_open

#: an energy table of round numbers, a million times the test_energy one so that a 1x1 run
#: shows in uJ
TABLE = """\
idle_pj_per_pe_cycle = 0.5e6
ub_pj_per_byte = 2e6
acc_pj_per_byte = 3e6
fifo_pj_per_byte = 5e6
dram_pj_per_byte = 100e6
register_pj_per_byte = 0.25e6
host_pj_per_byte = 50e6
sram_um2_per_byte = 1.0
nand2_um2 = 0.5
[mac_pj]
int8 = 1e6
fp16 = 2e6
bf16 = 2e6
fp32 = 4e6
fp64 = 8e6
[mac_um2]
int8 = 10.0
fp16 = 20.0
bf16 = 20.0
fp32 = 40.0
fp64 = 80.0
"""


def run(*argv) -> str:
    """Run the command line in this process; its standard output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(list(argv)) == 0
    return out.getvalue()


def test_gemm_json_of_a_hand_counted_run():
    # (5, 4) @ (4, 3) on 2x2, serial: 2 k-tiles x 2 n-tiles = 4 folds of 2 shift, 5 stream
    # and 2 drain cycles; A (80 B) read once per n-tile, 12 weights, 15 sums per k-fold
    record = json.loads(run("gemm", "5", "4", "3", "--rows", "2", "--cols", "2", "--operands",
                            "int", "--json"))  # fmt: skip
    assert (record["m"], record["k"], record["n"]) == (5, 4, 3)
    assert (record["rows"], record["cols"], record["pe_count"], record["folds"]) == (2, 2, 4, 4)
    cycles = ("total_cycles", "weight_load_cycles", "compute_cycles", "fill_drain_cycles")
    assert [record[name] for name in cycles] == [36, 8, 20, 8]
    assert record["macs"] == 60
    assert record["utilization"] == 60 / (4 * 36) and record["mapping_efficiency"] == 60 / 80
    traffic = ("act_read_bytes", "weight_read_bytes", "acc_write_bytes", "acc_read_bytes")
    assert [record[name] for name in traffic] == [2 * 80, 48, 2 * 60, 60]
    assert (record["dataflow"], record["weight_load"], record["dtype"], record["engine"]) == (
        "ws", "serial", "fp32", "fast",
    )  # fmt: skip
    assert record["exact"] is True and record["within_error_bound"] is True


def test_gemm_energy_lines_of_a_1x1_int8_run_by_hand(tmp_path):
    # 1x1, int8, serial: 1 shift + 1 stream cycle, 1 MAC. mac 1; registers: an operand and a
    # weight of 1 B, a partial sum of 4 B, 6 B x 0.25 = 1.5; idle 1 PE x 2 cycles x 0.5 = 1;
    # accumulators 4 B written + 4 read, x 3 = 24; unified buffer 1 B read x 2 = 2; weight
    # FIFO 1 B read x 5 = 5; 34.5 uJ in all
    path = tmp_path / "round.toml"
    path.write_text(TABLE)
    text = run("gemm", "1", "1", "1", "--rows", "1", "--cols", "1", "--dtype", "int8",
               "--operands", "int", "--energy", str(path))  # fmt: skip
    lines = text.splitlines()
    start = lines.index(f"energy ({path})    34.500 uJ, 34500000.00 pJ per MAC")
    assert lines[start + 1 : start + 9] == [
        "  mac                         1.000 uJ  (  2.9 %)",
        "  register                    1.500 uJ  (  4.3 %)",
        "  idle                        1.000 uJ  (  2.9 %)",
        "  acc                        24.000 uJ  ( 69.6 %)",
        "  ub                          2.000 uJ  (  5.8 %)",
        "  fifo                        5.000 uJ  ( 14.5 %)",
        "  dram                        0.000 uJ  (  0.0 %)",
        "  host                        0.000 uJ  (  0.0 %)",
    ]


#: compare.csv's columns, in order: the record, its price, the run
CSV_HEADER = [
    "layer", "dataflow", "rows", "cols", "m", "k", "n", "total_cycles", "weight_load_cycles",
    "compute_cycles", "fill_drain_cycles", "macs", "pe_count", "folds", "utilization",
    "mapping_efficiency", "act_read_bytes", "weight_read_bytes", "acc_write_bytes",
    "acc_read_bytes", "max_abs_error", "max_rel_error", "exact", "scalesim_cycles",
    "energy_pj", "mac_energy_pj", "register_energy_pj", "idle_energy_pj", "acc_energy_pj",
    "ub_energy_pj", "fifo_energy_pj", "dram_energy_pj", "host_energy_pj", "pj_per_mac", "run",
]  # fmt: skip


def test_compare_csv_columns_in_order_and_a_row_by_hand(tmp_path):
    table = tmp_path / "round.toml"
    table.write_text(TABLE)
    out = tmp_path / "out"
    records = json.loads(run("compare", "--mlp", "4,3", "--batch", "2", "--sizes", "2x2",
                             "--dataflows", "ws", "--no-values", "--energy", str(table),
                             "--out", str(out), "--json"))  # fmt: skip
    with open(out / "compare.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == CSV_HEADER
        rows = list(reader)
    assert [row["layer"] for row in rows] == ["layer1.forward", "layer1.gradient"]
    assert len({row["run"] for row in rows}) == 1 and len(records) == 2
    forward = rows[0]
    # (2, 4) @ (4, 3) on 2x2, fp32: 4 folds of 6 cycles; 24 MACs; A (32 B) read per n-tile,
    # 12 weights, 6 sums per k-fold, 6 read out
    assert [forward[name] for name in ("m", "k", "n", "total_cycles", "macs", "folds")] == [
        "2", "4", "3", "24", "24", "4",
    ]  # fmt: skip
    traffic = ("act_read_bytes", "weight_read_bytes", "acc_write_bytes", "acc_read_bytes")
    assert [int(forward[name]) for name in traffic] == [64, 48, 48, 24]
    assert forward["max_abs_error"] == forward["exact"] == ""  # nothing computed
    # mac 24 x 4; registers: 32 operand, 18 weight and 24 partial-sum writes of 4 B, x 0.25;
    # idle 4 PEs x 24 cycles x 0.5; accumulators (48 + 24) x 3; unified buffer 64 x 2;
    # weight FIFO 48 x 5 (all x 1e6)
    parts = {"mac": 96, "register": 74, "idle": 48, "acc": 216, "ub": 128, "fifo": 240,
             "dram": 0, "host": 0}  # fmt: skip
    for name, value in parts.items():
        assert float(forward[f"{name}_energy_pj"]) == pytest.approx(value * 1e6), name
    assert float(forward["energy_pj"]) == pytest.approx(802e6)
    assert float(forward["pj_per_mac"]) == pytest.approx(802e6 / 24)
    assert records[0]["energy_pj"] == pytest.approx(802e6)


def _record(layer, rows, cols, cycles, compute, macs, traffic, error, scalesim):
    act, weight, acc = traffic
    return {"layer": layer, "dataflow": "ws", "rows": rows, "cols": cols, "total_cycles": cycles,
            "compute_cycles": compute, "macs": macs,
            "utilization": macs / (rows * cols * cycles),
            "mapping_efficiency": macs / (rows * cols * compute), "act_read_bytes": act,
            "weight_read_bytes": weight, "acc_write_bytes": acc, "acc_read_bytes": 1,
            "max_abs_error": error, "scalesim_cycles": scalesim}  # fmt: skip


RECORDS = [
    _record("fc1", 4, 8, 1000, 500, 8000, (1111, 2222, 3333), 0.5, 999),
    _record("fc2", 4, 8, 3000, 1000, 16000, (100, 200, 300), 0.25, 2999),
    _record("fc1", 4, 4, 2000, 1000, 8000, (5, 6, 7), None, 1999),
]


def test_totals_are_kept_apart_per_array_size():
    wide, square = totals(RECORDS)
    assert (wide["rows"], wide["cols"], square["rows"], square["cols"]) == (4, 8, 4, 4)
    assert (wide["total_cycles"], wide["macs"], wide["act_read_bytes"]) == (4000, 24000, 1211)
    assert wide["utilization"] == 24000 / (32 * 4000) and wide["max_abs_error"] == 0.5
    assert (square["total_cycles"], square["macs"], square["acc_write_bytes"]) == (2000, 8000, 7)
    assert square["max_abs_error"] is None and square["scalesim_cycles"] == 1999


def test_totals_of_priced_records_sum_every_part_of_the_energy():
    parts = ("mac", "register", "idle", "acc", "ub", "fifo", "dram", "host")
    priced = []
    for scale, record in zip((1, 10), RECORDS[:2], strict=True):  # both on 4x8
        price = {f"{name}_energy_pj": scale * (i + 1) for i, name in enumerate(parts)}
        priced.append({**record, **price, "energy_pj": scale * 36})
    (total,) = totals(priced)
    for i, name in enumerate(parts):
        assert total[f"{name}_energy_pj"] == 11 * (i + 1), name
    assert total["energy_pj"] == 11 * 36 and total["pj_per_mac"] == 11 * 36 / 24000


def test_the_table_by_hand():
    expected = """\
dataflow ws
    array layer                    cycles  util %  map %     A read B     B read B     acc wr B max abs err    SCALE-Sim
   4x8    fc1                       1,000   25.00   50.0        1,111        2,222        3,333    5.00e-01          999
   4x8    fc2                       3,000   16.67   50.0          100          200          300    2.50e-01        2,999
   4x8    total                     4,000   18.75   50.0        1,211        2,422        3,633    5.00e-01        3,998
   4x4    fc1                       2,000   25.00   50.0            5            6            7           -        1,999
   4x4    total                     2,000   25.00   50.0            5            6            7           -        1,999"""  # noqa: E501
    assert format_tables(RECORDS) == expected


def test_a_new_file_is_readable_by_all_whatever_the_umask(tmp_path):
    previous = os.umask(0o077)
    try:
        with atomic_open(tmp_path / "new.csv") as handle:
            handle.write("a\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o644
