"""The documented relation between our cycle counts and SCALE-Sim's, on hand-computed cases."""

import pytest

import systolic
from systolic.config import ArrayConfig
from systolic.dataflows import MODULES
from systolic.scalesim import scalesim_cycles

# (dataflow, m, k, n, rows, cols, SCALE-Sim's figure by hand, ours by hand)
HAND = [
    # WS: F = ceil(50/8) * ceil(40/8) = 35 folds of 2*8 + 8 + 100 - 2 = 122 cycles
    ("ws", 100, 50, 40, 8, 8, 35 * 122 - 1, 35 * 122),
    # IS: F = ceil(50/8) * ceil(100/8) = 91 folds of 2*8 + 8 + 40 - 2 = 62 cycles
    ("is", 100, 50, 40, 8, 8, 91 * 62 - 1, 91 * 62),
    # OS: F = ceil(100/8) * ceil(40/8) = 65 folds of 8 + 8 + 50 - 2 = 64 cycles, plus 8 to drain
    ("os", 100, 50, 40, 8, 8, 65 * 64 - 1, 65 * 72),
    # non-square: WS F = ceil(7/4) * ceil(5/2) = 6 folds of 2*4 + 2 + 3 - 2 = 11
    ("ws", 3, 7, 5, 4, 2, 6 * 11 - 1, 6 * 11),
    # IS F = ceil(7/4) * ceil(3/2) = 4 folds of 2*4 + 2 + 5 - 2 = 13
    ("is", 3, 7, 5, 4, 2, 4 * 13 - 1, 4 * 13),
    # OS F = ceil(3/4) * ceil(5/2) = 3 folds of 4 + 2 + 7 - 2 = 11, plus 4 to drain
    ("os", 3, 7, 5, 4, 2, 3 * 11 - 1, 3 * 15),
]


@pytest.mark.parametrize("dataflow, m, k, n, rows, cols, theirs, ours", HAND)
def test_relation_to_scalesim_on_hand_computed_cases(dataflow, m, k, n, rows, cols, theirs, ours):
    config = ArrayConfig(rows, cols, dataflow=dataflow)
    assert scalesim_cycles(m, k, n, config) == theirs
    assert MODULES[config.dataflow].closed_form_cycles(m, k, n, config)["total_cycles"] == ours
    _, report = systolic.matmul([[1.0] * k] * m, [[1.0] * n] * k, config, engine="golden")
    assert report.total_cycles == ours
    drain = 0 if dataflow != "os" else rows * report.folds
    assert ours == theirs + 1 + drain
