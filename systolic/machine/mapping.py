"""One mapping of a GEMM onto a chip's MXUs: which MXU computes which block of the result.

::

         n-tiles of mxu_cols columns         A GEMM (m, k) @ (k, n) is cut by columns of its
        +------+------+------+------+        result first: whole n-tiles of ``mxu_cols``
        | MXU0 | MXU1 | MXU2 | MXU3 |        columns, shared as evenly as possible among the
        +------+------+------+------+        chip's ``cores * mxus`` MXUs. When there are
                                             fewer n-tiles than MXUs, each column block is
        +-------------+-------------+        cut again by rows of m among the MXUs left
        |    MXU0     |    MXU2     |        over (as evenly as possible, at least one row
        +-------------+-------------+        each). k is never split: every sum is made in
        |    MXU1     |    MXU3     |        one MXU, in the order of the bare array.
        +-------------+-------------+

Each block is a GEMM ``(m1 - m0, k) @ (k, n1 - n0)`` on one MXU, which is the bare
weight-stationary array (``MachineConfig.mxu``): its cycles are the array's closed form and
its values the array's. A block's results are the same numbers as the same rows and columns
of the whole GEMM on one array (a sum's terms and their order depend only on k and the
array's rows), so the values are computed once for the whole GEMM; the tests hold that
equal to running every block on its own.

The MXUs run their blocks at once: the GEMM takes the cycles of its slowest block. On the
step's timeline an MXU is busy with a GEMM until its last row has entered (``busy``) and its
results are ready ``rows + cols - 2`` cycles later (``latency``, the drain): the next GEMM's
folds follow on the MXU meanwhile, as a fold follows a fold, its first tile taking its own
shift. ``count`` GEMMs of one shape that need no weights from HBM (attention's heads) run
back to back (:func:`batch_timing`): whole GEMMs shared out over the MXUs when there are at
least as many as MXUs, else each GEMM's blocks repeated on their MXUs. The
mapping is computed once per shape and configuration (:func:`gemm_mapping`, cached) and read
by the values engine (its run checks), the limits, the step's timeline and the energy pricing.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from systolic.api import estimate
from systolic.dataflows import weight_stationary as ws
from systolic.dataflows.weight_stationary import check_limits
from systolic.machine.config import MachineConfig
from systolic.report import Report


@dataclass(frozen=True)
class Block:
    """One MXU's share of a GEMM: rows ``m0:m1`` and columns ``n0:n1`` of the result."""

    m0: int
    m1: int
    n0: int
    n1: int


def split_evenly(total: int, parts: int) -> list[tuple[int, int]]:
    """``[0, total)`` cut into ``min(parts, total)`` consecutive ranges whose sizes differ by
    at most one, the larger first.

    >>> split_evenly(10, 4)
    [(0, 3), (3, 6), (6, 8), (8, 10)]
    """
    parts = min(parts, total)
    size, extra = divmod(total, parts)
    bounds, start = [], 0
    for i in range(parts):
        stop = start + size + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


@dataclass(frozen=True)
class GemmMapping:
    """``(m, k) @ (k, n)`` on ``config``'s MXUs (see the module docstring).

    Fields
    ------
    blocks : tuple of Block
        One per MXU used, in MXU order.
    block_reports : tuple of Report
        Each block's closed-form Report on one MXU (``systolic.api.estimate``).
    cycles : int
        Cycles of the GEMM on the chip: the slowest block's ``total_cycles``.
    report : Report
        The blocks' Reports summed: ``macs`` (``m * k * n``), folds, bytes and register
        writes of all MXUs; its ``total_cycles`` is the MXUs' summed busy cycles (the
        PE-cycles of the busy MXUs over one MXU's PEs), not the GEMM's time.
    """

    m: int
    k: int
    n: int
    blocks: tuple[Block, ...]
    block_reports: tuple[Report, ...]

    @property
    def cycles(self) -> int:
        return max(report.total_cycles for report in self.block_reports)

    @property
    def report(self) -> Report:
        return sum(self.block_reports[1:], self.block_reports[0])

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n


def drain_cycles(config: MachineConfig) -> int:
    """Cycles from an MXU's last row entering to its last sum leaving: ``rows + cols - 2``."""
    return config.mxu_rows + config.mxu_cols - 2


@functools.lru_cache(maxsize=4096)
def batch_timing(m: int, k: int, n: int, count: int, config: MachineConfig) -> tuple[int, Report]:
    """Cycles and summed Report of ``count`` GEMMs ``(m, k) @ (k, n)`` run back to back on the
    MXUs (see the module docstring): the slowest MXU's folds as one stream
    (``weight_stationary.closed_form_cycles`` with ``times``)."""
    mxu, mxus = config.mxu, config.mxu_count
    if count >= mxus:
        check_limits(m, k, n, mxu)
        cycles = ws.closed_form_cycles(m, k, n, mxu, math.ceil(count / mxus))["total_cycles"]
        return cycles, estimate(m, k, n, mxu).repeated(count)
    mapping = gemm_mapping(m, k, n, config)
    cycles = max(ws.closed_form_cycles(b.m1 - b.m0, k, b.n1 - b.n0, mxu, count)["total_cycles"]
                 for b in mapping.blocks)  # fmt: skip
    return cycles, mapping.report.repeated(count)


@functools.lru_cache(maxsize=4096)  # a trainer maps the same few shapes every step
def gemm_mapping(m: int, k: int, n: int, config: MachineConfig) -> GemmMapping:
    """The mapping of ``(m, k) @ (k, n)`` onto ``config``'s MXUs (cached).

    Raises
    ------
    ValueError
        A block that would take more than the MXU's ``max_cycles``.
    """
    mxu = config.mxu
    mxus = config.mxu_count
    column_blocks = split_evenly(math.ceil(n / config.mxu_cols), mxus)
    rows_per_column = max(1, mxus // len(column_blocks))
    blocks = []
    for t0, t1 in column_blocks:
        n0, n1 = t0 * config.mxu_cols, min(n, t1 * config.mxu_cols)
        for m0, m1 in split_evenly(m, rows_per_column):
            blocks.append(Block(m0, m1, n0, n1))
    reports = []
    for block in blocks:
        shape = (block.m1 - block.m0, k, block.n1 - block.n0)
        check_limits(*shape, mxu)
        reports.append(estimate(*shape, mxu))
    return GemmMapping(m, k, n, tuple(blocks), tuple(reports))
