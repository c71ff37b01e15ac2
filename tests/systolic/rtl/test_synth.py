"""Synthesis of the RTL with Yosys: cells, flip-flops and NAND2 equivalents."""

import pytest

from systolic.rtl import RTLConfig, RTLError
from systolic.rtl.synth import TRANSISTORS, synthesize


@pytest.fixture(scope="module")
def small():
    return synthesize(RTLConfig(1, 2, "ws", "double_buffered", accumulator_rows=2))


def test_counts_add_up(small):
    assert set(small["cells"]) <= set(TRANSISTORS)
    nand2 = sum(TRANSISTORS[cell] * count for cell, count in small["cells"].items()) / 4
    assert small["nand2_equivalents"] == nand2
    assert small["flip_flops"] == small["cells"]["$_DFF_P_"]


def test_flip_flops_cover_the_registers_by_hand(small):
    # 1x2 array, int8 operands, int32 sums, accumulator 2 deep:
    # each PE: act, weight, shadow (8 bits each) + psum (32) + 5 valid/switch bits = 61
    # accumulators: 2 columns x 2 entries x 32 bits, plus a 32-bit result register and a
    # valid bit per column; the rest is control (sizes, cursors, counters, skew, tags)
    pe_bits, acc_bits = 2 * 61, 2 * 2 * 32 + 2 * 33
    assert small["flip_flops"] > pe_bits + acc_bits
    assert small["flip_flops"] < pe_bits + acc_bits + 400  # the controller is small


def test_output_stationary_synthesizes_smaller_per_pe():
    ws = synthesize(RTLConfig(2, 2, "ws", "serial", accumulator_rows=2))
    os_ = synthesize(RTLConfig(2, 2, "os"))
    assert os_["nand2_per_pe"] < ws["nand2_per_pe"]  # no shadow weights, no accumulators


def test_broken_verilog_is_reported(rtl_copy):
    folder = rtl_copy("pe.v", "endmodule", "")
    with pytest.raises(RTLError, match="Yosys failed"):
        synthesize(RTLConfig(1, 1), folder)


def test_too_large_is_refused_before_running():
    with pytest.raises(ValueError, match="synthesis takes at most 256"):
        synthesize(RTLConfig(32, 32))


def test_synthesized_area_beside_the_tables_estimate(small):
    from systolic import energy

    table = energy.horowitz45()
    area = energy.synthesized_area_mm2(small, table)
    assert area["synth_area_mm2"] == small["nand2_equivalents"] * 0.798 / 1e6
    assert area["table_array_mm2"] == pytest.approx(2 * (282 + 137) / 1e6)
    # registers, multiplexers, accumulators and control come on top of the MAC units
    assert area["synth_over_table"] > 1
