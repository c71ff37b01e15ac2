"""Energy and area: a training machine's MXUs priced in their format, the accumulators of a
non-square array, a synthesized design's area, and every number of both presets against the
figures their docstrings cite, worked out by hand."""

import dataclasses

import pytest

from systolic import energy
from systolic.report import Report
from systolic.tpu import MemoryConfig, TPUConfig
from tests.systolic import test_energy

#: test_energy's table of round numbers, every one different so that a wrong field shows,
#: with the training machines' units priced too
ROUND = dataclasses.replace(
    test_energy.ROUND,
    vpu_pj_per_op={"add": 1.0, "divide": 2.0, "transcendental": 3.0},
    vmem_pj_per_byte=1.5,
    hbm_pj_per_byte=40.0,
)


@pytest.mark.parametrize("dtype, mxu_pj", [("int8", 3 * 1.0 + 4.0), ("fp32", 3 * 4.0 + 4.0)])
def test_a_machines_mxus_are_priced_in_its_format(dtype, mxu_pj):
    # 1x2 MXU, 4 cycles, 3 MACs: 3 MACs in the format + 2 PEs x 4 cycles x 0.5 pJ idle
    mxu = Report(rows=1, cols=2, total_cycles=4, weight_load_cycles=1, compute_cycles=2,
                 fill_drain_cycles=1, macs=3, folds=1)  # fmt: skip
    counts = {"mxu_report": mxu, "vpu_element_ops": {"add": 10, "divide": 0, "transcendental": 1},
              "vmem_bytes": 4, "hbm_bytes": 2}  # fmt: skip
    out = energy.price_machine(counts, ROUND, dtype)
    assert out["mxu_energy_j"] == pytest.approx(mxu_pj * 1e-12)
    assert out["vpu_energy_j"] == pytest.approx((10 * 1.0 + 1 * 3.0) * 1e-12)
    assert out["vmem_energy_j"] == pytest.approx(4 * 1.5 * 1e-12)
    assert out["hbm_energy_j"] == pytest.approx(2 * 40.0 * 1e-12)
    assert out["energy_j"] == pytest.approx((mxu_pj + 13 + 6 + 80) * 1e-12)


def test_the_accumulators_of_a_non_square_machine_hold_a_row_of_cols_sums():
    # 2 rows x 8 cols, fp32: 10 accumulator rows of 8 four-byte sums = 320 B; a weight tile
    # is 16 weights of 4 B, the FIFO holds four
    memory = MemoryConfig(unified_buffer_bytes=1000, accumulator_rows=10,
                          weight_fifo_bytes=4 * 16 * 4)  # fmt: skip
    area = energy.machine_area_mm2(TPUConfig(rows=2, cols=8, memory=memory), ROUND)
    assert area["array_mm2"] == pytest.approx(16 * 40.0 / 1e6)
    assert area["acc_mm2"] == pytest.approx(10 * 8 * 4 / 1e6)
    assert (area["ub_mm2"], area["fifo_mm2"]) == pytest.approx((1000 / 1e6, 256 / 1e6))
    assert area["area_mm2"] == pytest.approx((640 + 320 + 1000 + 256) / 1e6)


def test_a_synthesized_designs_area_beside_the_tables_by_hand():
    # 1,000 NAND2 of 0.5 um2 = 500 um2; the table: 2 x 3 int8 MACs of 10 um2 = 60 um2
    out = energy.synthesized_area_mm2({"nand2_equivalents": 1000, "rows": 2, "cols": 3}, ROUND)
    assert out["synth_area_mm2"] == pytest.approx(500 / 1e6)
    assert out["table_array_mm2"] == pytest.approx(60 / 1e6)
    assert out["synth_over_table"] == pytest.approx(500 / 60)


# Horowitz, ISSCC 2014, 45 nm (pJ, um2): int8 multiply 0.2 / 282, int32 add 0.1 / 137, fp16
# multiply 1.1 / 1640, fp32 add 0.9 / 4184, fp32 multiply 3.7 / 7700; bf16 and fp64
# multipliers scaled from fp32's by the square of the mantissa (8 and 53 bits of 24), fp64
# adds twice fp32's
H45 = {
    "mac_pj": {"int8": 0.2 + 0.1, "fp16": 1.1 + 0.9, "bf16": 3.7 * (8 / 24) ** 2 + 0.9,
               "fp32": 3.7 + 0.9, "fp64": 3.7 * (53 / 24) ** 2 + 2 * 0.9},
    "mac_um2": {"int8": 282 + 137, "fp16": 1640 + 4184, "bf16": 7700 * (8 / 24) ** 2 + 4184,
                "fp32": 7700 + 4184, "fp64": 7700 * (53 / 24) ** 2 + 2 * 4184},
    # the TPU v1's 28 W idle over 65,536 PEs at 700 MHz, scaled back from 28 nm by 0.51
    "idle_pj_per_pe_cycle": 28 / (65_536 * 700e6) * 1e12 / 0.51,
    "ub_pj_per_byte": 100 / 8,  # 1 MB SRAM: 100 pJ per 64 bits
    "acc_pj_per_byte": 20 / 8,  # 32 KB SRAM: 20 pJ per 64 bits
    "fifo_pj_per_byte": 100 / 8,
    "dram_pj_per_byte": 2600 / 8,  # 2.6 nJ per 64 bits
    "register_pj_per_byte": 0.03,  # an 8-bit add
    "host_pj_per_byte": 2600 / 8,
    "sram_um2_per_byte": 8 * 0.6,
    "nand2_um2": 0.798,
    "vpu_pj_per_op": {"add": 0.9, "divide": 4 * 4.6, "transcendental": 4 * 4.6},
    "vmem_pj_per_byte": 100 / 8,
    "hbm_pj_per_byte": 6.0 * 8,  # HBM2E, 6 pJ per bit
}  # fmt: skip
#: what the 28 nm table scales: on-chip energies by 0.51, areas by (28/45)^2; DRAM, the
#: host's memory and HBM are off chip; idle is the TPU v1's own
ON_CHIP = ("mac_pj", "ub_pj_per_byte", "acc_pj_per_byte", "fifo_pj_per_byte",
           "register_pj_per_byte", "vpu_pj_per_op", "vmem_pj_per_byte")  # fmt: skip
AREAS = ("mac_um2", "sram_um2_per_byte", "nand2_um2")


def _scaled(value, factor):
    if isinstance(value, dict):
        return {key: v * factor for key, v in value.items()}
    return value * factor


def _tpu_v1_28nm():
    out = dict(H45)
    out.update({name: _scaled(H45[name], 0.51) for name in ON_CHIP})
    out.update({name: _scaled(H45[name], (28 / 45) ** 2) for name in AREAS})
    out["idle_pj_per_pe_cycle"] = 28 / (65_536 * 700e6) * 1e12
    return out


@pytest.mark.parametrize("preset, expected", [("horowitz45", H45), ("tpu_v1_28nm", _tpu_v1_28nm())])
def test_every_number_of_the_presets_from_its_source(preset, expected):
    table = energy.table(preset)
    fields = {f.name for f in dataclasses.fields(table)} - {"name"}
    assert fields == set(expected)
    for name, value in expected.items():
        assert getattr(table, name) == pytest.approx(value), name
