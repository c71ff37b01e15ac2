"""The accumulator buffer."""

import numpy as np
import pytest

from systolic.accumulator import Accumulator


def test_adds_successive_k_folds_and_clears_for_the_next_tile():
    acc = Accumulator(capacity=3, cols=2, dtype=np.float32)
    acc.add(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    acc.add(np.array([[10.0, 20.0], [30.0, 40.0]], np.float32))
    assert acc.read(2, 2).tolist() == [[11, 22], [33, 44]]
    acc.clear()
    assert acc.read(3, 2).tolist() == [[0, 0]] * 3


def test_adds_in_the_accumulator_type():
    acc = Accumulator(capacity=1, cols=1, dtype=np.float32)
    acc.add(np.array([[1.0]], np.float32))
    acc.add(np.array([[2.0**-30]], np.float32))
    assert acc.read(1, 1)[0, 0] == 1.0  # float32 drops the tiny addend


def test_refuses_a_tile_larger_than_the_buffer():
    acc = Accumulator(capacity=2, cols=2, dtype=np.float32)
    with pytest.raises(ValueError, match=r"\(3, 2\).*2 x 2"):
        acc.add(np.zeros((3, 2), np.float32))
