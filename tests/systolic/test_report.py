"""Report: the meaning of every number, pinned by hand-counted cases."""

import json

import numpy as np
import pytest

import systolic
from systolic.config import ArrayConfig
from systolic.report import Report


def hand_report(**changes):
    fields = dict(
        rows=2,
        cols=2,
        total_cycles=6,
        weight_load_cycles=2,
        compute_cycles=2,
        fill_drain_cycles=2,
        macs=8,
        folds=1,
    )
    return Report(**{**fields, **changes})


def test_two_by_two_one_fold_by_hand():
    # (2, 2) @ (2, 2) on 2x2, serial: 2 shift + 2 stream + 2 drain cycles; 8 MACs on 4 PEs
    c, report = systolic.matmul([[1, 2], [3, 4]], [[5, 6], [7, 8]], ArrayConfig(2, 2))
    assert c.tolist() == [[19, 22], [43, 50]]
    assert report == hand_report(
        weight_read_bytes=16,
        act_read_bytes=16,
        acc_write_bytes=16,
        acc_read_bytes=16,
        # 4 activations, each through 2 PEs; 4 partial sums, each through 2 PEs; per column
        # the weight for row 0 is written once, the one for row 1 twice
        operand_register_writes=8,
        psum_register_writes=8,
        weight_register_writes=2 * 3,
        max_abs_error=0.0,
        max_rel_error=0.0,
        exact=True,
    )
    assert report.pe_count == 4 and report.idle_pe_slots == 4 * 6 - 8
    assert report.utilization == pytest.approx(8 / (4 * 6))
    assert report.mapping_efficiency == 1.0
    assert report.pe_active_cycles.tolist() == [[2, 2], [2, 2]]


def test_padding_lowers_mapping_efficiency_but_not_macs():
    # k = 1, n = 1 on a 2x2 array: one PE of four holds a real weight
    _, report = systolic.matmul([[2.0], [3.0], [4.0]], [[5.0]], ArrayConfig(2, 2))
    assert report.macs == 3 and report.total_cycles == 2 * 2 + 2 + 3 - 2
    assert report.mapping_efficiency == 0.25
    assert report.pe_active_cycles.tolist() == [[3, 0], [0, 0]]
    assert (report.weight_read_bytes, report.act_read_bytes) == (4, 12)
    # 3 activations through both columns; 3 sums in the real column through both rows; the
    # one real weight written once. Padding moves nothing real
    writes = (report.operand_register_writes, report.psum_register_writes,
              report.weight_register_writes)  # fmt: skip
    assert writes == (6, 6, 1)


def test_breakdown_must_add_up():
    with pytest.raises(ValueError, match="breakdown sums to 5, not total_cycles=6"):
        hand_report(fill_drain_cycles=1)


def test_reports_add_and_sum():
    one = hand_report(
        max_abs_error=0.5, max_rel_error=0.1, exact=False, pe_active_cycles=np.ones((2, 2), int)
    )
    two = hand_report(
        max_abs_error=0.0, max_rel_error=0.0, exact=True, pe_active_cycles=np.ones((2, 2), int)
    )
    total = sum([one, two])
    assert total.total_cycles == 12 and total.macs == 16 and total.folds == 2
    assert total.max_abs_error == 0.5 and total.exact is False
    assert total.pe_active_cycles.tolist() == [[2, 2], [2, 2]]
    assert (one + hand_report()).exact is None  # one side never compared


def test_reports_of_different_arrays_do_not_add():
    with pytest.raises(ValueError, match="2x2 and a 4x2"):
        hand_report() + hand_report(rows=4)


def test_comparison_definitions():
    report = hand_report().with_comparison(
        np.array([[1.5, 0.0, 1e-9]]), np.array([[1.0, 0.0, 0.0]])
    )
    assert report.max_abs_error == 0.5
    assert report.max_rel_error == np.inf  # a non-zero result where the reference is zero
    assert report.exact is False
    report = hand_report().with_comparison(np.array([[1.5, 0.0]]), np.array([[1.0, 0.0]]))
    assert report.max_rel_error == 0.5


def test_to_dict_has_the_stable_names_and_is_json():
    record = json.loads(
        json.dumps(hand_report(exact=True, max_abs_error=0.0, max_rel_error=0.0).to_dict())
    )
    for name in (
        "total_cycles",
        "macs",
        "pe_count",
        "utilization",
        "mapping_efficiency",
        "folds",
        "max_abs_error",
        "max_rel_error",
        "exact",
    ):
        assert name in record
    assert (
        sum(v for k, v in record.items() if k.endswith("_cycles") and k != "total_cycles")
        == record["total_cycles"]
    )


def test_table_shows_units_and_shares():
    text = hand_report(exact=True, max_abs_error=0.0, max_rel_error=0.0).table()
    assert "2 x 2 PEs" in text and "33.33 %" in text and "exact" in text
    assert "  weight load                     2  ( 33.3 %)" in text.splitlines()


def _full_hand_report():
    return hand_report(
        weight_read_bytes=16, act_read_bytes=12, acc_write_bytes=32, acc_read_bytes=16,
        dram_read_bytes=64, exact=False, max_abs_error=0.25, max_rel_error=0.125,
    )  # fmt: skip


def test_the_whole_table_by_hand():
    # utilization 8 MACs / (4 PEs * 6 cycles) = 33.33 %; mapping 8 / (4 * 2 compute) = 100 %
    expected = """\
array                2 x 2 PEs
total cycles                      6
  weight load                     2  ( 33.3 %)
  compute                         2  ( 33.3 %)
  fill drain                      2  ( 33.3 %)
  weight stall                    0  (  0.0 %)
  input stall                     0  (  0.0 %)
  raw stall                       0  (  0.0 %)
  non matrix                      0  (  0.0 %)
folds                             1
MACs                              8
utilization                  33.33 %
mapping efficiency          100.00 %
weights read                     16 B
activations read                 12 B
accumulator writes               32 B
accumulator reads                16 B
weights from DRAM                64 B
vs NumPy             not exact: max abs error 0.25, max rel error 0.125"""
    assert _full_hand_report().table() == expected


def test_to_dict_values_by_hand():
    record = _full_hand_report().to_dict()
    assert record["pe_count"] == 4 and record["unused_pe_slots"] == 4 * 2 - 8
    assert record["utilization"] == 8 / 24 and record["mapping_efficiency"] == 1.0
    assert record["dram_read_bytes"] == 64 and record["acc_write_bytes"] == 32
    assert (record["exact"], record["max_abs_error"], record["max_rel_error"]) == (
        False, 0.25, 0.125,
    )  # fmt: skip
    assert record["overflow_count"] is None


def test_overflow_counts_add_only_when_both_sides_counted():
    counted = hand_report(exact=False, max_abs_error=1.0, max_rel_error=1.0, overflow_count=2)
    other = hand_report(exact=True, max_abs_error=0.0, max_rel_error=0.0, overflow_count=3)
    assert (counted + other).overflow_count == 5
    assert (
        counted + hand_report(exact=True, max_abs_error=0.0, max_rel_error=0.0)
    ).overflow_count is None
