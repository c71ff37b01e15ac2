"""The timeline: ops start when their inputs are ready and their unit is free."""

import pytest

from systolic.machine.timeline import Op, schedule


def test_a_dependency_chain_forbids_overlap():
    ops = [Op("dma", 10, (), "forward"), Op("mxu", 7, (0,), "forward"),
           Op("vpu", 3, (1,), "forward"), Op("dma", 4, (2,), "forward")]  # fmt: skip
    placed = schedule(ops)
    assert placed.starts == (0, 10, 17, 20)
    assert placed.total_cycles == sum(op.cycles for op in ops) == 24


def test_independent_units_overlap():
    ops = [Op("dma", 10, (), "forward"), Op("mxu", 7, (), "forward"), Op("vpu", 3, (), "forward")]
    placed = schedule(ops)
    assert placed.total_cycles == 10 < sum(placed.unit_cycles.values()) == 20


def test_one_unit_runs_one_op_at_a_time_and_a_later_op_fills_a_gap():
    ops = [
        Op("mxu", 10, (), "forward"),
        Op("dma", 5, (0,), "forward"),  # waits for the MXU: the DMA is idle for 10 cycles
        Op("dma", 4, (), "forward"),  # issued later, ready at once: fills the gap
        Op("dma", 8, (), "forward"),  # too long for what is left of the gap: after the store
    ]
    placed = schedule(ops)
    assert placed.starts == (0, 10, 0, 15)
    assert placed.total_cycles == 23


def test_phase_cycles_partition_the_step_by_phase_order():
    ops = [Op("mxu", 10, (), "forward"), Op("vpu", 6, (), "update"),
           Op("dma", 5, (0,), "backward")]  # fmt: skip
    placed = schedule(ops)
    # cycles 0-9: forward runs (update too, but forward comes first); 10-14: backward
    assert placed.phase_cycles == {"forward": 10, "backward": 5, "update": 0}
    assert sum(placed.phase_cycles.values()) == placed.total_cycles == 15
    assert placed.phase_unit_cycles["update"] == {"mxu": 0, "vpu": 6, "dma": 0}
    assert placed.bottleneck == "mxu"


def test_a_latency_delays_the_ops_that_read_the_outputs_not_the_unit():
    # two GEMMs on the MXU, 6 cycles of drain each: the second follows the first at once,
    # the VPU waits for the first's sums, and the step ends when the second's have drained
    ops = [Op("mxu", 10, (), "forward", "a", 6), Op("mxu", 4, (), "forward", "b", 6),
           Op("vpu", 3, (0,), "forward", "act")]  # fmt: skip
    placed = schedule(ops)
    assert placed.starts == (0, 10, 16) and placed.ends == (10, 14, 19)
    assert placed.total_cycles == 20  # b's sums are ready at 14 + 6
    assert placed.unit_cycles == {"mxu": 14, "vpu": 3, "dma": 0}
    assert placed.phase_cycles == {"forward": 20}


@pytest.mark.parametrize(
    "op, message",
    [
        (Op("tpu", 1, (), "forward"), "unknown unit 'tpu'"),
        (Op("mxu", 1, (), "lunch"), "unknown phase 'lunch'"),
        (Op("mxu", -1, (), "forward"), "negative cycles"),
        (Op("mxu", 1, (), "forward", "x", -2), "latency -2"),
        (Op("mxu", 1, (3,), "forward"), "not all earlier"),
    ],
)
def test_bad_ops_are_refused(op, message):
    with pytest.raises(ValueError, match=message):
        schedule([Op("dma", 1, (), "forward"), op])


def test_an_empty_step_takes_no_cycles():
    assert schedule([]).total_cycles == 0
