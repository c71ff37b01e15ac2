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


def _conv_topology(tmp_path, rows):
    header = (
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
        "Num Filter, Strides,\n"
    )
    path = tmp_path / "conv.csv"
    path.write_text(header + "".join(row + "\n" for row in rows))
    return path


def test_conv_layers_by_hand_against_scalesim(tmp_path):
    from systolic.compare import compare
    from systolic.config import Dataflow
    from systolic.workloads import load_workload

    layers = load_workload(_conv_topology(tmp_path, [
        "even, 5, 5, 3, 3, 2, 4, 1,",     # out 3x3 both ways: M 9, K 18, N 4
        "odd, 6, 6, 3, 3, 1, 2, 2,",      # SCALE-Sim: ceil((6-3+2)/2) = 3; ours 2
        "blk_DP, 5, 5, 3, 3, 3, 1, 1,",   # depthwise: 3 GEMMs of M 9, K 9, N 1
    ]))  # fmt: skip
    records = compare(layers, [(4, 4)], [Dataflow.WS, Dataflow.OS])
    by = {(r["layer"], r["dataflow"]): r for r in records}
    # WS on 4x4, SCALE-Sim: F * (2*4 + 4 + M - 2) - 1 per GEMM
    even = by["even", "ws"]
    assert even["scalesim_cycles"] == 5 * 1 * (10 + 9) - 1 == 94  # ceil(18/4) * ceil(4/4)
    assert even["total_cycles"] == 95  # one more, as for GEMMs
    odd = by["odd", "ws"]
    assert odd["scalesim_cycles"] == 3 * 1 * (10 + 9) - 1  # M = 3 * 3 = 9 on SCALE-Sim
    assert (odd["m"], odd["total_cycles"]) == (4, 3 * 1 * (10 + 4))  # ours: M = 2 * 2 = 4
    dp = by["blk_DP", "ws"]
    assert dp["scalesim_cycles"] == 3 * (3 * 1 * (10 + 9) - 1) == 168
    assert dp["total_cycles"] == 171 == dp["scalesim_cycles"] + 3  # one more per GEMM
    # OS on 4x4, SCALE-Sim: F * (4 + 4 + K - 2) - 1; ours adds 1 and the drain, 4 per fold
    os_even = by["even", "os"]
    assert os_even["scalesim_cycles"] == 3 * 1 * (6 + 18) - 1  # ceil(9/4) * ceil(4/4) folds
    assert os_even["total_cycles"] == os_even["scalesim_cycles"] + 1 + 3 * 4
    for record in records:
        assert record["max_abs_error"] < 1e-4  # every convolution's values were checked


def test_the_conv_column_equals_scalesim_3_0_0_as_run(tmp_path):
    # "Total Cycles" of COMPUTE_REPORT.csv from scalesim 3.0.0 (the package, run on this
    # topology on a 4x4 array per dataflow; bench/README.md says how); the DP layer is the sum
    # of SCALE-Sim's three one-channel layers
    from systolic.scalesim import scalesim_conv_cycles
    from systolic.workloads import load_workload

    layers = load_workload(_conv_topology(tmp_path, [
        "even, 5, 5, 3, 3, 2, 4, 1,",
        "odd, 6, 6, 3, 3, 1, 2, 2,",
        "blk_DP, 5, 5, 3, 3, 3, 1, 1,",
        "wide, 9, 7, 2, 3, 5, 6, 2,",
    ]))  # fmt: skip
    measured = {
        "ws": [94, 56, 3 * 56, 399],
        "os": [71, 44, 3 * 44, 287],
        "is": [209, 107, 3 * 98, 511],
    }
    for dataflow, figures in measured.items():
        config = ArrayConfig(4, 4, dataflow=dataflow)
        assert [scalesim_conv_cycles(layer, config) for layer in layers] == figures
