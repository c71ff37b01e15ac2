"""Input-stationary dataflow: a tile of A stays in the PEs while B streams through.

Mapping of ``C = A @ B`` on ``rows x cols`` PEs: PE(i, j) holds ``A[m0 + j, k0 + i]`` (k on
rows, m on columns); row ``i`` of B streams in from the west, skewed (row ``i`` of the array
gets ``B[k0 + i, t]`` at cycle ``S + t + i``); column ``j`` emits ``C[m0 + j, t]`` at cycle
``S + t + rows - 1 + j``::

      A tile (transposed) shifts in from the north, into the shadow registers
             |  |  |
      B ->  [a][a][a]        the same grid and PEs as weight-stationary:
      B ->  [a][a][a]        the stationary register holds an input element,
      B ->  [a][a][a]        the streamed operand is the weights
             |  |  |
         accumulators (sum over k-folds), holding columns of C

That is exactly the weight-stationary array computing ``C.T = B.T @ A.T``: the stationary
operand is ``A.T`` and ``n`` is streamed. So every engine here is the weight-stationary one on
the transposed operands (same hardware, same golden model, same kernel), with the Report's
operand traffic named after the GEMM's operands: ``act_read_bytes`` counts A (here the
stationary tile), ``weight_read_bytes`` counts B (here streamed). Folds:
``ceil(k/rows) * ceil(m/cols)`` per chunk of ``n``; a fold streams ``T = n`` (or a chunk).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from systolic.config import ArrayConfig
from systolic.dataflows import weight_stationary as ws
from systolic.report import Report
from systolic.schedule import thread_count


def _named_after_operands(report: Report) -> Report:
    # the transposed run calls B.T its activations and A.T its weights: swap the names back
    return dataclasses.replace(
        report, weight_read_bytes=report.act_read_bytes, act_read_bytes=report.weight_read_bytes
    )


def closed_form_cycles(m: int, k: int, n: int, config: ArrayConfig) -> dict[str, int]:
    """Cycle breakdown in O(1): the weight-stationary one of ``(n, k) @ (k, m)``."""
    return ws.closed_form_cycles(n, k, m, config)


def traffic_bytes(m: int, k: int, n: int, config: ArrayConfig) -> dict[str, int]:
    """Bytes moved between the array and its buffers for one GEMM (``Report`` fields)."""
    return traffic_named_after_operands(ws.traffic_bytes(n, k, m, config))


def traffic_named_after_operands(moved: dict) -> dict:
    """The weight-stationary traffic of the transposed GEMM (ints or arrays) with A's and B's
    bytes named after the GEMM's operands."""
    swapped = {"weight_read_bytes": "act_read_bytes", "act_read_bytes": "weight_read_bytes"}
    return {swapped.get(name, name): value for name, value in moved.items()}


def simulate_golden(
    a: np.ndarray,
    b: np.ndarray,
    config: ArrayConfig,
    record: bool = False,
    record_registers: bool = False,
    progress: Callable[[int], None] | None = None,
):
    """Run ``a @ b`` cycle by cycle on the golden model; see ``weight_stationary``.

    Returns a ``GoldenRun`` whose ``result`` is ``a @ b`` (the array computed its transpose).
    """
    ws.check_limits(a.shape[0], a.shape[1], b.shape[1], config, closed_form_cycles)
    a_t, b_t = np.ascontiguousarray(b.T), np.ascontiguousarray(a.T)
    run = ws.simulate_golden(a_t, b_t, config, record, record_registers, progress)
    return ws.GoldenRun(
        np.ascontiguousarray(run.result.T), _named_after_operands(run.report), run.array
    )


def simulate_fast(
    a: np.ndarray,
    b: np.ndarray,
    config: ArrayConfig,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, Report]:
    """Run ``a @ b`` on the fast engine; same values and counts as :func:`simulate_golden`."""
    ws.check_limits(a.shape[0], a.shape[1], b.shape[1], config, closed_form_cycles)
    # the array streams B.T, which the kernel reads transposed: that is b itself, no copy
    (m, k), n = a.shape, b.shape[1]
    threads = thread_count(m * k * n, m * n, config.threads)  # for the two transposes
    c_t, report = ws.simulate_fast(b.T, ws.transposed(a, threads), config, progress, a_t=b)
    return ws.transposed(c_t, threads), _named_after_operands(report)
