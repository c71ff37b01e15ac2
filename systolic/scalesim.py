"""SCALE-Sim's compute-cycle figure for a GEMM, and how this simulator's count relates to it.

Our convention (``Report``): cycle 0 is the first cycle in which anything happens, and
``total_cycles`` counts every cycle up to and including the one in which the last result
leaves the array. SCALE-Sim v2/v3 report, per layer, ``folds * fold_cycles - 1``: the index of
the last cycle rather than the number of cycles. With serial loading and no accumulator limit
(SCALE-Sim has neither double buffering nor accumulator chunking):

==========  ===========================================  =====================================
dataflow    SCALE-Sim compute cycles                      ours (``total_cycles``)
==========  ===========================================  =====================================
WS          ``F * (2r + c + m - 2) - 1``,                 SCALE-Sim + 1
            ``F = ceil(k/r) * ceil(n/c)``
IS          ``F * (2r + c + n - 2) - 1``,                 SCALE-Sim + 1
            ``F = ceil(k/r) * ceil(m/c)``
OS          ``F * (r + c + k - 2) - 1``,                  SCALE-Sim + 1 + ``F * r``
            ``F = ceil(m/r) * ceil(n/c)``
==========  ===========================================  =====================================

The extra ``F * r`` of OS is the drain: SCALE-Sim stops counting at the last MAC, but the sums
of an output-stationary array are still in its PEs then, and shifting a column of ``r`` sums
out of its bottom edge takes ``r`` more cycles before the next fold can start (see
``systolic.dataflows.output_stationary``).
"""

from __future__ import annotations

import math

from systolic.config import ArrayConfig, Dataflow


def scalesim_cycles(m: int, k: int, n: int, config: ArrayConfig) -> int:
    """SCALE-Sim's compute cycles of ``(m, k) @ (k, n)`` on ``config``'s array and dataflow."""
    rows, cols = config.rows, config.cols
    if config.dataflow is Dataflow.OS:
        return math.ceil(m / rows) * math.ceil(n / cols) * (rows + cols + k - 2) - 1
    streamed, on_cols = (m, n) if config.dataflow is Dataflow.WS else (n, m)
    folds = math.ceil(k / rows) * math.ceil(on_cols / cols)
    return folds * (2 * rows + cols + streamed - 2) - 1
