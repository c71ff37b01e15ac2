"""Report: every count summed and repeated, the breakdown check, the derived slots in the dict
and the integer overflow count, pinned by hand-counted cases (the names listed here by hand,
not taken from the module)."""

import numpy as np
import pytest

from systolic.report import Report

#: the seven parts of total_cycles
PARTS = (
    "weight_load_cycles", "compute_cycles", "fill_drain_cycles", "weight_stall_cycles",
    "input_stall_cycles", "raw_stall_cycles", "non_matrix_cycles",
)  # fmt: skip
#: the counts other than cycles
OTHERS = (
    "macs", "folds", "weight_read_bytes", "act_read_bytes", "acc_write_bytes",
    "acc_read_bytes", "dram_read_bytes", "ub_write_bytes", "lowered_act_bytes", "ifmap_bytes",
    "operand_register_writes", "psum_register_writes", "weight_register_writes",
    "host_read_bytes",
)  # fmt: skip


def counted(scale: int, **changes) -> Report:
    """A 2x3 Report whose counts all differ: the parts 1..7 cycles (28 in all), the other
    counts 100, 101, ..., each times ``scale``."""
    values = {name: (i + 1) * scale for i, name in enumerate(PARTS)}
    values.update({name: (100 + i) * scale for i, name in enumerate(OTHERS)})
    return Report(rows=2, cols=3, total_cycles=28 * scale, **values, **changes)


def test_adding_sums_every_count_and_the_dict_has_each_one():
    total = counted(1) + counted(10)
    assert total.total_cycles == 28 + 280
    for i, name in enumerate(PARTS):
        assert getattr(total, name) == 11 * (i + 1), name
    for i, name in enumerate(OTHERS):
        assert getattr(total, name) == 11 * (100 + i), name
    record = total.to_dict()
    assert record["host_read_bytes"] == 11 * 113 and record["ifmap_bytes"] == 11 * 109
    assert record["non_matrix_cycles"] == 11 * 7 and record["total_cycles"] == 308


def test_repeated_multiplies_every_count_and_the_overflows_but_not_the_errors():
    one = counted(1, max_abs_error=0.5, max_rel_error=0.25, exact=False, overflow_count=2,
                  pe_active_cycles=np.arange(6).reshape(2, 3))  # fmt: skip
    three = one.repeated(3)
    assert three.total_cycles == 84 and three.non_matrix_cycles == 21
    for i, name in enumerate(OTHERS):
        assert getattr(three, name) == 3 * (100 + i), name
    assert three.overflow_count == 6
    assert (three.max_abs_error, three.max_rel_error, three.exact) == (0.5, 0.25, False)
    assert three.pe_active_cycles.tolist() == [[0, 3, 6], [9, 12, 15]]
    assert three == one + one + one
    assert one.repeated(1) == one
    with pytest.raises(ValueError, match="count must be a positive integer, got 0"):
        one.repeated(0)


@pytest.mark.parametrize("part", PARTS)
def test_each_of_the_seven_parts_counts_toward_total_cycles(part):
    base = dict(rows=1, cols=1, weight_load_cycles=0, compute_cycles=0, fill_drain_cycles=0,
                macs=0, folds=0)  # fmt: skip
    assert getattr(Report(**{**base, part: 5}, total_cycles=5), part) == 5
    with pytest.raises(ValueError, match="breakdown sums to 5, not total_cycles=4"):
        Report(**{**base, part: 5}, total_cycles=4)


def test_the_dict_tells_idle_from_unused_slots():
    # 2x2 PEs, 6 cycles of which 3 compute, 6 MACs: 24 - 6 idle PE-cycles, 12 - 6 unused
    report = Report(rows=2, cols=2, total_cycles=6, weight_load_cycles=2, compute_cycles=3,
                    fill_drain_cycles=1, macs=6, folds=1)  # fmt: skip
    record = report.to_dict()
    assert (record["idle_pe_slots"], record["unused_pe_slots"]) == (18, 6)
    assert (record["utilization"], record["mapping_efficiency"]) == (0.25, 0.5)
    assert (record["pe_count"], record["rows"], record["cols"]) == (4, 2, 2)


def test_an_integer_result_counts_the_elements_that_wrapped():
    report = Report(rows=1, cols=1, total_cycles=2, weight_load_cycles=1, compute_cycles=1,
                    fill_drain_cycles=0, macs=3, folds=1)  # fmt: skip
    # the middle sum wrapped: 254 became -2 in the int8 format's arithmetic
    wrapped = report.with_comparison(np.array([[7, -2, 5]], dtype=np.int32),
                                     np.array([[7.0, 254.0, 5.0]]))  # fmt: skip
    assert wrapped.overflow_count == 1 and wrapped.exact is False
    assert wrapped.max_abs_error == 256.0
    fine = report.with_comparison(np.array([[7, 5]], dtype=np.int32), np.array([[7.0, 5.0]]))
    assert fine.overflow_count == 0 and fine.exact is True
    floats = report.with_comparison(np.array([[7.0, -2.0]]), np.array([[7.0, 254.0]]))
    assert floats.overflow_count is None
