"""Accumulator buffer below the array: adds the partial sums of successive k-folds.

::

        array south edge (cols partial sums per cycle)
          |   |   |   |
          v   v   v   v
        +---------------+
        | capacity rows |   entry[t, j] += psum of output row t, column j
        |   x cols      |   (zero before the first k-fold of an output tile)
        +---------------+
          |   |   |   |
          v   v   v   v   finished tile, after the last k-fold

A GEMM with more rows than the capacity is split into chunks (see ``schedule.plan_folds``), and
the weights are loaded again for every chunk.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def accumulate(entries, tile):
    """Add ``tile`` (shape ``(T, w)``) into the top-left ``T x w`` entries, in place.

    The one addition of partial sums across k-folds; the golden model and the fast kernels both
    call it, so they add in the same order and round the same way.
    """
    length, width = tile.shape
    for t in range(length):
        for j in range(width):
            entries[t, j] += tile[t, j]


class Accumulator:
    """Golden model of the accumulator buffer of one output tile.

    Parameters
    ----------
    capacity : int
        Rows of entries (each ``cols`` wide).
    cols : int
        Width, equal to the array's columns.
    dtype : numpy.dtype
        Type of the entries (the format's accumulator type).
    """

    def __init__(self, capacity: int, cols: int, dtype: np.dtype):
        self.entries = np.zeros((capacity, cols), dtype=dtype)

    def clear(self) -> None:
        """Zero every entry (start of a new output tile)."""
        self.entries[:] = 0

    def add(self, tile: np.ndarray) -> None:
        """Add the partial sums of one k-fold, shape ``(T, w)`` with ``T <= capacity``."""
        capacity, cols = self.entries.shape
        if tile.shape[0] > capacity or tile.shape[1] > cols:
            raise ValueError(
                f"tile {tile.shape} does not fit an accumulator of {capacity} x {cols} entries"
            )
        accumulate(self.entries, tile)

    def read(self, length: int, width: int) -> np.ndarray:
        """Copy of the finished top-left ``length x width`` results."""
        return self.entries[:length, :width].copy()
