"""Output-stationary dataflow: hand-counted cycles, the drain, and the array's registers."""

import numpy as np
import pytest

from systolic.config import ArrayConfig
from systolic.dataflows import output_stationary as os_
from tests.reference import prepared

OS = dict(dataflow="os")


def test_two_by_two_by_hand():
    # k = 3 streamed; last MAC in PE(1, 1) at cycle 3 - 1 + 1 + 1 = 4; column 0 drains in
    # cycles 4-5, column 1 in cycles 5-6: 7 cycles = 3 compute + 4 fill/drain
    a, b = prepared(np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2))
    run = os_.simulate_golden(a, b, ArrayConfig(2, 2, **OS), record=True)
    assert np.array_equal(run.result, a @ b)
    report = run.report
    assert (report.total_cycles, report.compute_cycles, report.fill_drain_cycles) == (7, 3, 4)
    assert report.weight_load_cycles == 0
    assert report.pe_active_cycles.tolist() == [[3, 3], [3, 3]]
    assert (report.act_read_bytes, report.weight_read_bytes) == (24, 24)
    assert (report.acc_write_bytes, report.acc_read_bytes) == (16, 16)
    # 3 elements of A into each of 2 rows, each through 2 PEs; the same for B's columns
    assert report.operand_register_writes == 2 * 3 * 2 + 2 * 3 * 2
    # 12 useful MACs write their PE's sum; draining, row 0's sum passes row 1 in each column
    assert report.psum_register_writes == 12 + 2 * 1
    assert report.weight_register_writes == 0 and report.idle_pe_slots == 4 * 7 - 12
    busy = ["".join("#" if x else "." for x in row.ravel()) for row in run.array.history]
    assert busy == ["#...", "###.", "####", ".###", "...#", "....", "...."]


def test_padding_rows_and_columns_cost_cycles_but_not_macs():
    a, b = prepared(np.ones((3, 4)), np.ones((4, 1)))
    run = os_.simulate_golden(a, b, ArrayConfig(2, 2, **OS))
    # two folds (rows 0-1, row 2), each 4 + 2*2 + 2 - 2 = 8 cycles
    assert run.report.total_cycles == 16 and run.report.folds == 2
    assert run.report.macs == 12 and run.report.pe_active_cycles.tolist() == [[8, 0], [4, 0]]
    assert run.report.acc_write_bytes == 3 * 4  # only real sums leave as valid
    # fold 0: 4 A elements into each of 2 rows, 4 B elements into 1 real column, 2 PEs each;
    # fold 1: one row of A. Sums: 12 MACs, and row 0's sum passes row 1 in fold 0
    assert run.report.operand_register_writes == (2 * 4 + 4) * 2 + (4 + 4) * 2
    assert run.report.psum_register_writes == 12 + 1 + 1
    assert run.result.tolist() == [[4.0]] * 3


def test_drain_shifts_sums_out_bottom_row_first_and_clears_the_array():
    array = os_.OutputStationaryArray(3, 1)
    array.acc[:, 0] = [1.0, 2.0, 3.0]
    array.acc_valid[:] = True
    none, drain = np.zeros(3, bool), np.ones(1, bool)
    out = [array.step(np.zeros(3), none, np.zeros(1), np.zeros(1, bool), drain) for _ in range(3)]
    assert [(float(s[0]), bool(v[0])) for s, v in out] == [(3, True), (2, True), (1, True)]
    assert not array.acc.any() and not array.acc_valid.any()


def test_a_draining_column_does_no_mac():
    array = os_.OutputStationaryArray(1, 2)
    one = np.ones(1, bool)
    array.step(np.ones(1), one, np.ones(2), np.ones(2, bool), np.array([False, True]))
    assert array.acc.tolist() == [[1.0, 0.0]]
    assert array.pe_active_cycles.tolist() == [[1, 0]]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"weight_load": "double_buffered"}, "no stationary tile to double-buffer"),
        ({"accumulator_rows": 8}, "keeps its sums in the PEs; accumulator_rows must be None"),
    ],
)
def test_settings_that_do_not_apply_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ArrayConfig(4, 4, dataflow="os", **kwargs)
