"""The vectorised golden grid equals a grid of single PEs, cycle by cycle."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from systolic.array import SimulationLimitError, WeightStationaryArray
from systolic.pe import ProcessingElement


class PEGrid:
    """The array built literally from ProcessingElement objects, wired as the diagram says."""

    def __init__(self, rows, cols):
        self.pes = [[ProcessingElement(np.float32) for _ in range(cols)] for _ in range(rows)]

    def step(self, west_act, west_valid, west_switch, north_weight, north_valid, load):
        rows, cols = len(self.pes), len(self.pes[0])
        old = [
            [
                (pe.act, pe.valid, pe.switch, pe.psum, pe.psum_valid, pe.shadow, pe.shadow_valid)
                for pe in row
            ]
            for row in self.pes
        ]
        for i in range(rows):
            for j in range(cols):
                west = (west_act[i], west_valid[i], west_switch[i]) if j == 0 else old[i][j - 1][:3]
                if i == 0:
                    psum, psum_valid = 0.0, False
                    weight, weight_valid = north_weight[j], north_valid[j]
                else:
                    psum, psum_valid = old[i - 1][j][3:5]
                    weight, weight_valid = old[i - 1][j][5:7]
                self.pes[i][j].step(
                    west[0],
                    psum,
                    weight,
                    valid=bool(west[1]),
                    switch=bool(west[2]),
                    psum_valid=bool(psum_valid),
                    load=load,
                    weight_valid=bool(weight_valid),
                )

    def registers(self, name):
        return np.array([[getattr(pe, name) for pe in row] for row in self.pes])


@given(
    rows=st.integers(1, 4),
    cols=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
    cycles=st.integers(1, 12),
)
def test_vectorised_array_equals_a_grid_of_processing_elements(rows, cols, seed, cycles):
    rng = np.random.default_rng(seed)
    array, grid = WeightStationaryArray(rows, cols), PEGrid(rows, cols)
    for _ in range(cycles):
        inputs = (
            rng.integers(-5, 6, rows).astype(np.float32),
            rng.random(rows) < 0.7,
            rng.random(rows) < 0.3,
            rng.integers(-5, 6, cols).astype(np.float32),
            rng.random(cols) < 0.7,
            bool(rng.random() < 0.5),
        )
        array.step(*inputs)
        grid.step(*inputs)
        for name in (
            "act",
            "psum",
            "weight",
            "shadow",
            "valid",
            "switch",
            "psum_valid",
            "weight_valid",
            "shadow_valid",
        ):
            assert np.array_equal(getattr(array, name), grid.registers(name)), name
        assert np.array_equal(array.pe_active_cycles, grid.registers("useful_macs"))


def test_two_by_two_streams_one_product_by_hand():
    # weights [[1, 2], [3, 4]] shift in bottom row first, then A = [[5, 6]] streams skewed
    array = WeightStationaryArray(2, 2, record=True)
    ones, none = np.ones(2, bool), np.zeros(2, bool)
    zeros = np.zeros(2, np.float32)
    array.step(zeros, none, none, np.array([3.0, 4.0]), ones, True)
    array.step(zeros, none, none, np.array([1.0, 2.0]), ones, True)
    # cycle 2: row 0 gets a00 = 5 with the switch flag; row 1 nothing yet
    array.step(
        np.array([5.0, 0.0]), np.array([True, False]), np.array([True, False]), zeros, none, False
    )
    # cycle 3: row 1 gets a01 = 6 with its switch flag; column 0 emits 5*1 + 6*3 = 23
    south, valid = array.step(
        np.array([0.0, 6.0]), np.array([False, True]), np.array([False, True]), zeros, none, False
    )
    assert south[0] == 23 and valid.tolist() == [True, False]
    # cycle 4: column 1 emits 5*2 + 6*4 = 34
    south, valid = array.step(zeros, none, none, zeros, none, False)
    assert south[1] == 34 and valid.tolist() == [False, True]
    assert array.pe_active_cycles.tolist() == [[1, 1], [1, 1]]
    assert array.trace().splitlines() == ["0 ..|..", "1 ..|..", "2 #.|..", "3 .#|#.", "4 ..|.#"]


def test_step_refuses_to_run_past_max_cycles():
    array = WeightStationaryArray(1, 1, max_cycles=3)
    args = (
        np.zeros(1),
        np.zeros(1, bool),
        np.zeros(1, bool),
        np.zeros(1),
        np.zeros(1, bool),
        False,
    )
    for _ in range(3):
        array.step(*args)
    with pytest.raises(SimulationLimitError, match="max_cycles=3"):
        array.step(*args)


def test_rejects_an_empty_grid():
    with pytest.raises(ValueError, match="0x3"):
        WeightStationaryArray(0, 3)
