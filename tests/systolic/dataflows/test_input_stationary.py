"""Input-stationary dataflow: the weight-stationary array with A held in the PEs."""

import numpy as np

import systolic
from systolic.config import ArrayConfig
from systolic.dataflows import input_stationary as is_
from tests.reference import prepared


def test_pes_hold_elements_of_a_and_b_streams():
    a, b = prepared(
        [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[1.0, 0.0, 2.0, 1.0], [0.0, 1.0, 1.0, 3.0]]
    )
    run = is_.simulate_golden(a, b, ArrayConfig(2, 3, dataflow="is"))
    assert np.array_equal(run.result, a @ b)
    # PE(i, j) holds A[j, i]: k on rows, m on columns
    assert run.array.weight.tolist() == a.T.tolist()
    # one fold streaming n = 4 rows of B.T: 2*2 + 3 + 4 - 2 cycles
    assert run.report.total_cycles == 9 and run.report.folds == 1


def test_traffic_is_named_after_the_gemm_operands():
    # A (3 x 2) is read once as the stationary tile; B (2 x 4) streams once per m-tile (2)
    _, report = systolic.matmul(np.ones((3, 2)), np.ones((2, 4)), ArrayConfig(2, 2, dataflow="is"))
    assert report.act_read_bytes == 3 * 2 * 4
    assert report.weight_read_bytes == 2 * 4 * 2 * 4
    assert report.acc_write_bytes == report.acc_read_bytes == 3 * 4 * 4


def test_accumulator_capacity_chunks_the_streamed_n():
    rng = np.random.default_rng(4)
    a, b = prepared(rng.integers(-3, 4, (3, 5)), rng.integers(-3, 4, (5, 10)))
    config = ArrayConfig(2, 2, dataflow="is", accumulator_rows=4)
    c, report = systolic.matmul(a, b, config)
    assert np.array_equal(c, a @ b)
    assert report.folds == 3 * 3 * 2  # n in chunks of 4, 4, 2; 3 k-tiles; 2 m-tiles
    assert report.act_read_bytes == 3 * 3 * 5 * 4  # the A tiles, once per chunk


def test_limits_name_the_users_shape():
    a, b = prepared(np.ones((2, 3)), np.ones((3, 50)))
    config = ArrayConfig(1, 1, dataflow="is", max_cycles=10)
    try:
        is_.simulate_fast(a, b, config)
    except systolic.SimulationLimitError as error:
        assert str(error).startswith("(2, 3) @ (3, 50)")
    else:
        raise AssertionError("the limit was not enforced")
