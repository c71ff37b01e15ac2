"""Energy and area tables applied to a Report's counts."""

import json
import math

import numpy as np
import pytest

from systolic import energy
from systolic.api import estimate
from systolic.config import ArrayConfig
from systolic.networks import tpu_v1_apps
from systolic.report import Report
from systolic.tpu import TPU, TPUConfig

ROUND = energy.EnergyTable(
    name="round",
    mac_pj={"int8": 1.0, "fp16": 2.0, "bf16": 2.0, "fp32": 4.0, "fp64": 8.0},
    mac_um2={"int8": 10.0, "fp16": 20.0, "bf16": 20.0, "fp32": 40.0, "fp64": 80.0},
    idle_pj_per_pe_cycle=0.5,
    ub_pj_per_byte=2.0,
    acc_pj_per_byte=3.0,
    fifo_pj_per_byte=5.0,
    dram_pj_per_byte=100.0,
    register_pj_per_byte=0.25,
    host_pj_per_byte=50.0,
    sram_um2_per_byte=1.0,
    nand2_um2=0.5,
)


def test_a_hand_counted_run_priced_by_hand():
    # 2x2 array, 10 cycles, 8 MACs; 12 B of activations read, 4 B written back, 32 B
    # accumulated, 16 B read out, 16 B of weights shifted in, 64 B from DRAM
    report = Report(rows=2, cols=2, total_cycles=10, weight_load_cycles=2, compute_cycles=4,
                    fill_drain_cycles=4, macs=8, folds=1, weight_read_bytes=16,
                    act_read_bytes=12, acc_write_bytes=32, acc_read_bytes=16,
                    dram_read_bytes=64, ub_write_bytes=4, operand_register_writes=6,
                    psum_register_writes=5, weight_register_writes=3,
                    host_read_bytes=2)  # fmt: skip
    out = energy.price(report, ROUND, "fp32", clock_mhz=100.0)
    assert out["mac_energy_pj"] == 8 * 4.0
    assert out["idle_energy_pj"] == 4 * 10 * 0.5
    assert out["ub_energy_pj"] == (12 + 4) * 2.0
    assert out["acc_energy_pj"] == (32 + 16) * 3.0
    assert out["fifo_energy_pj"] == (64 + 16) * 5.0
    assert out["dram_energy_pj"] == 64 * 100.0
    # fp32: (6 + 3) operand writes of 4 bytes, 5 partial sums of 4 bytes
    assert out["register_energy_pj"] == (9 * 4 + 5 * 4) * 0.25
    assert out["host_energy_pj"] == 2 * 50.0
    parts = [v for k, v in out.items() if k.endswith("_energy_pj")]
    assert out["energy_pj"] == sum(parts) == 32 + 20 + 32 + 144 + 400 + 6400 + 14 + 100
    assert out["pj_per_mac"] == out["energy_pj"] / 8
    assert out["seconds"] == pytest.approx(10 / 100e6)
    assert out["power_w"] == pytest.approx(7142e-12 / 1e-7)
    assert out["tops_per_w"] == pytest.approx(16 / 7142e-12 / 1e12)


def test_with_no_work_only_the_idle_term_remains():
    idle = Report(rows=4, cols=4, total_cycles=7, weight_load_cycles=0, compute_cycles=0,
                  fill_drain_cycles=7, macs=0, folds=0)  # fmt: skip
    out = energy.price(idle, energy.horowitz45(), "int8")
    assert (
        out["energy_pj"]
        == out["idle_energy_pj"]
        == pytest.approx(16 * 7 * energy.horowitz45().idle_pj_per_pe_cycle)
    )
    assert out["pj_per_mac"] == math.inf


@pytest.mark.parametrize("preset", list(energy.PRESETS))
def test_sanity_ratios_of_the_presets(preset):
    table = energy.PRESETS[preset]()
    int8, fp32, bf16 = (table.mac_pj[f] for f in ("int8", "fp32", "bf16"))
    assert 100 <= table.dram_pj_per_byte / int8 <= 5000
    assert 10 <= fp32 / int8 <= 30
    assert int8 < bf16 < fp32
    assert table.mac_pj["fp64"] > fp32


def test_components_sum_on_a_real_run_under_every_preset():
    report = estimate(300, 200, 100, ArrayConfig(16, 16, weight_load="double_buffered"))
    for name in energy.PRESETS:
        out = energy.price(report, energy.table(name), "bf16", clock_mhz=700)
        parts = sum(v for k, v in out.items() if k.endswith("_energy_pj"))
        assert parts == pytest.approx(out["energy_pj"]) and out["power_w"] > 0


def test_tpu_v1_running_cnn0_lands_near_its_measured_busy_power():
    # the TPU v1 draws 40 W busy (Jouppi et al. 2017, Table 2); CNN0 keeps its array busiest.
    # The idle term is the measured 28 W idle power, so this checks the rest within 2x
    report, _ = TPU(TPUConfig.tpu_v1()).run(tpu_v1_apps.cnn0())
    out = energy.price(report, energy.tpu_v1_28nm(), "int8", clock_mhz=700)
    assert 20 <= out["power_w"] <= 80
    assert out["idle_energy_pj"] / out["seconds"] * 1e-12 == pytest.approx(28.0)


def test_int8_register_writes_on_a_2x2_run_by_hand():
    # (2, 4) @ (4, 2) on 2x2, int8: 16 operand and 12 weight writes of 1 byte, 16 partial
    # sums of 4 bytes (tests/systolic/dataflows: test_two_by_two_by_hand)
    report = estimate(2, 4, 2, ArrayConfig(2, 2, dtype="int8"))
    assert energy.register_bytes(report, "int8") == 16 + 12 + 16 * 4
    out = energy.price(report, ROUND, "int8")
    assert out["register_energy_pj"] == (16 + 12 + 64) * 0.25


def test_28nm_scales_on_chip_energy_but_not_dram():
    h45, t28 = energy.horowitz45(), energy.tpu_v1_28nm()
    assert t28.mac_pj["int8"] == pytest.approx(0.51 * h45.mac_pj["int8"])
    assert t28.ub_pj_per_byte == pytest.approx(0.51 * h45.ub_pj_per_byte)
    assert t28.dram_pj_per_byte == h45.dram_pj_per_byte


def test_area_by_hand():
    out = energy.area_mm2(ROUND, 4, 8, "int8", sram_bytes=1000)
    assert out == {"array_mm2": 32 * 10 / 1e6, "sram_mm2": 1000 / 1e6,
                   "area_mm2": 320 / 1e6 + 1000 / 1e6}  # fmt: skip
    # 65,536 int8 MACs (multiply 282 + add 137 um2 at 45 nm)
    tpu = energy.area_mm2(energy.horowitz45(), 256, 256, "int8")
    assert tpu["array_mm2"] == pytest.approx(65_536 * (282 + 137) / 1e6)


TOML = """
idle_pj_per_pe_cycle = 0.5
ub_pj_per_byte = 2.0
acc_pj_per_byte = 3.0
fifo_pj_per_byte = 5.0
dram_pj_per_byte = 100.0
register_pj_per_byte = 0.25
host_pj_per_byte = 50.0
sram_um2_per_byte = 1.0
nand2_um2 = 0.5
[mac_pj]
int8 = 1.0
fp16 = 2.0
bf16 = 2.0
fp32 = 4.0
fp64 = 8.0
[mac_um2]
int8 = 10.0
fp16 = 20.0
bf16 = 20.0
fp32 = 40.0
fp64 = 80.0
"""


def test_a_user_table_from_toml(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(TOML)
    table = energy.table(str(path))
    assert table.mac_pj == ROUND.mac_pj and table.dram_pj_per_byte == 100.0
    report = estimate(5, 6, 7, ArrayConfig(2, 2))
    assert energy.price(report, table, "int8") == energy.price(report, ROUND, "int8")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: "joules = 3\n" + t, "unknown key 'joules'"),
        (lambda t: t.replace("ub_pj_per_byte = 2.0\n", ""), "missing key 'ub_pj_per_byte'"),
        (lambda t: t.replace("dram_pj_per_byte = 100.0", "dram_pj_per_byte = -1.0"),
         "dram_pj_per_byte must be a finite number >= 0, got -1.0"),
        (lambda t: t.replace("acc_pj_per_byte = 3.0", "acc_pj_per_byte = nan"),
         "acc_pj_per_byte must be a finite number >= 0, got nan"),
        (lambda t: t.replace("fp64 = 8.0", "fp64 = 8.0\nint4 = 0.1", 1),
         "mac_pj.int4: unknown format"),
        (lambda t: t.replace("bf16 = 2.0\n", "", 1), "mac_pj lacks the format 'bf16'"),
        (lambda t: t.replace("int8 = 10.0", "int8 = 'ten'"), "mac_um2.int8 must be a finite"),
        (lambda t: t + "[[", "not TOML"),
    ],
)  # fmt: skip
def test_bad_user_tables_name_the_file_and_key(tmp_path, change, message):
    path = tmp_path / "bad.toml"
    path.write_text(change(TOML))
    with pytest.raises(ValueError, match=message) as info:
        energy.table(str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_unknown_presets_and_formats_are_refused():
    with pytest.raises(ValueError, match="unknown energy table 'h45'; presets: horowitz45, "
                                         "tpu_v1_28nm, or a .toml"):  # fmt: skip
        energy.table("h45")
    with pytest.raises(ValueError, match="cannot read"):
        energy.table("/no/such/file.toml")
    report = estimate(2, 2, 2, ArrayConfig(2, 2))
    with pytest.raises(ValueError, match="unknown dtype 'int4'"):
        energy.price(report, ROUND, "int4")
    assert np.isfinite(energy.price(report, ROUND, "fp64")["energy_pj"])


def run_json(capsys, *argv):
    from systolic.cli import main

    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_gemm_compare_and_roofline_priced_on_the_command_line(tmp_path, capsys):
    record = run_json(capsys, "gemm", "20", "30", "10", "--rows", "8", "--cols", "8",
                      "--dtype", "int8", "--energy", "horowitz45", "--json")  # fmt: skip
    report = estimate(20, 30, 10, ArrayConfig(8, 8, dtype="int8"))
    expected = energy.price(report, energy.horowitz45(), "int8")
    assert record["energy_table"] == "horowitz45"
    assert {k: record[k] for k in expected} == pytest.approx(expected)
    records = run_json(capsys, "compare", "--mlp", "12,5,3", "--sizes", "4x4", "--energy",
                       "tpu_v1_28nm", "--no-values", "--out", str(tmp_path), "--json")  # fmt: skip
    for r in records:
        parts = sum(r[name] for name in energy.ENERGY_COMPONENTS)
        assert parts == pytest.approx(r["energy_pj"]) and r["energy_pj"] > 0
    header = (tmp_path / "compare.csv").read_text().splitlines()[0].split(",")
    assert "energy_pj" in header and "dram_energy_pj" in header
    roof = run_json(capsys, "roofline", "--preset", "teaching", "--energy", "horowitz45",
                    "--out", str(tmp_path), "--json")  # fmt: skip
    assert all(r["power_w"] > 0 and r["tops_per_w"] > 0 for r in roof["runs"])


def test_the_energy_of_compare_totals_adds_the_layers():
    from systolic import compare
    from systolic.workloads import mlp_gemms

    records = compare.compare(mlp_gemms([12, 5, 3], 4), [(4, 4)], values=False,
                              energy=energy.horowitz45())  # fmt: skip
    for total in compare.totals(records):
        group = [r for r in records if r["dataflow"] == total["dataflow"]]
        assert total["energy_pj"] == pytest.approx(sum(r["energy_pj"] for r in group))
        assert total["pj_per_mac"] == pytest.approx(total["energy_pj"] / total["macs"])


def test_machine_area_by_hand():
    from systolic.tpu import MemoryConfig

    memory = MemoryConfig(unified_buffer_bytes=1000, accumulator_rows=10,
                          weight_fifo_bytes=4 * 16 * 4)  # fmt: skip
    config = TPUConfig(rows=4, cols=4, memory=memory)  # fp32: 4-byte sums
    area = energy.machine_area_mm2(config, ROUND)
    assert area["array_mm2"] == 16 * 40.0 / 1e6
    assert (area["ub_mm2"], area["acc_mm2"], area["fifo_mm2"]) == (
        1000 / 1e6, 10 * 4 * 4 / 1e6, 256 / 1e6,
    )  # fmt: skip
    assert area["area_mm2"] == pytest.approx(sum(v for k, v in area.items() if k != "area_mm2"))
    record = tpu_v1_apps.run(["CNN0"], prices=energy.tpu_v1_28nm())[0]
    assert (
        record["area_mm2"]
        == energy.machine_area_mm2(TPUConfig.tpu_v1(), energy.tpu_v1_28nm())["area_mm2"]
    )


def test_a_table_file_may_price_the_training_machines(tmp_path):
    from systolic.energy import horowitz45, load_table, price_machine

    base = horowitz45()
    lines = [f"{key} = {getattr(base, key)}" for key in (
        "idle_pj_per_pe_cycle", "ub_pj_per_byte", "acc_pj_per_byte", "fifo_pj_per_byte",
        "dram_pj_per_byte", "register_pj_per_byte", "host_pj_per_byte", "sram_um2_per_byte",
        "nand2_um2")]  # fmt: skip
    tables = "".join(
        f"[{name}]\n" + "".join(f"{fmt} = {value}\n" for fmt, value in getattr(base, name).items())
        for name in ("mac_pj", "mac_um2")
    )
    plain = tmp_path / "plain.toml"
    plain.write_text("\n".join(lines) + "\n" + tables)
    assert not load_table(plain).prices_machines
    with pytest.raises(ValueError, match="plain.toml cannot price a training machine: it lacks "
                       "vpu_pj_per_op, vmem_pj_per_byte, hbm_pj_per_byte"):  # fmt: skip
        price_machine({}, load_table(plain), "bf16")
    machine = tmp_path / "machine.toml"
    machine.write_text(
        "\n".join(lines)
        + "\nvmem_pj_per_byte = 1.5\nhbm_pj_per_byte = 40\n"
        + tables
        + "[vpu_pj_per_op]\nadd = 1\ndivide = 2\ntranscendental = 3\n"
    )
    table = load_table(machine)
    assert table.prices_machines and table.vpu_pj_per_op["divide"] == 2
    counts = {"mxu_report": None, "vpu_element_ops": {"add": 10, "divide": 1,
              "transcendental": 2}, "vmem_bytes": 100, "hbm_bytes": 1000}  # fmt: skip
    priced = price_machine(counts, table, "bf16")
    assert priced["energy_j"] == pytest.approx((10 + 2 + 6 + 150 + 40_000) * 1e-12)
    bad = tmp_path / "bad.toml"
    bad.write_text(machine.read_text().replace("transcendental = 3", "sqrt = 3"))
    with pytest.raises(ValueError, match="vpu_pj_per_op must be a table of the op classes"):
        load_table(bad)
