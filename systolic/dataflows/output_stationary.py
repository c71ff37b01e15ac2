"""Output-stationary dataflow: each PE keeps one output sum while A and B stream through.

Mapping of ``C = A @ B`` on ``rows x cols`` PEs: PE(i, j) accumulates ``C[m0 + i, n0 + j]``
(m on rows, n on columns) over all of k. Row ``i`` of the array gets ``A[m0 + i, t]`` from the
west at cycle ``S + t + i``, column ``j`` gets ``B[t, n0 + j]`` from the north at cycle
``S + t + j``; both move on one PE per cycle, so they meet in PE(i, j) at cycle ``S + t + i +
j``, where ``acc += a * b``::

              B (skewed, moves south)
               |      |      |
    A  -->  [acc] -> [acc] -> [acc]      A moves east
    (skewed)   |      |      |
       -->  [acc] -> [acc] -> [acc]
               |      |      |
               v      v      v   drain: the sums shift south, one row per cycle

Drain (the part SCALE-Sim does not count): the sums must leave the array. Column ``j``'s last
MAC is in its bottom PE at cycle ``S + k + rows + j - 2``; from the next cycle the column
shifts its sums south for ``rows`` cycles, the bottom PE handing one to the output buffer each
cycle (bottom row first), zeros entering at the top. A fold therefore takes ``k + 2*rows +
cols - 2`` cycles: ``k`` compute and ``2*rows + cols - 2`` fill/drain. The next fold starts
when the drain is done and every sum is zero again (serial); there is no stationary tile to
load or double-buffer. Folds: ``ceil(m/rows) * ceil(n/cols)``, each streaming all of k.

Engines: :func:`simulate_golden` steps :class:`OutputStationaryArray` cycle by cycle;
:func:`simulate_fast` runs the numba kernel, which does the MACs of each PE in its cycle order
(PEs never read each other's sums, so the order across PEs is free) and skips padding; its
cycle counts are the closed form's (:func:`closed_form_cycles`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from numba import njit, prange

from systolic.array import GridModel
from systolic.config import ArrayConfig
from systolic.dataflows import weight_stationary as ws
from systolic.numerics import FORMATS
from systolic.report import FAST_REPORTS, Report
from systolic.schedule import (
    SCALAR,
    count_folds,
    fold_counts,
    fold_table,
    pad_tile,
    plan_folds,
    run_output_tiles,
    skew,
    thread_count,
)


def tiles(m: int, k: int, config: ArrayConfig) -> tuple[int, int, int]:
    """Tile sizes ``(tile_m, tile_k, tile_n)``: m on rows, all of k, n on columns."""
    return config.rows, k, config.cols


def fold_cycles(k: int, config: ArrayConfig) -> int:
    """Cycles of one fold: ``k`` streamed, ``rows + cols - 2`` fill, ``rows`` drain."""
    return _fold_cycles(k, config.rows, config.cols)


def _fold_cycles(k, rows, cols):
    return k + 2 * rows + cols - 2


def closed_form_cycles(m: int, k: int, n: int, config: ArrayConfig) -> dict[str, int]:
    """Cycle breakdown of ``(m, k) @ (k, n)`` in O(1); see the module docstring."""
    return dict(_closed_form_cycles(m, k, n, config))  # a copy: the cached one is shared


@functools.lru_cache(maxsize=1024)  # a trainer asks for the same shapes every batch
def _closed_form_cycles(m: int, k: int, n: int, config: ArrayConfig) -> dict[str, int]:
    return cycle_terms(m, k, n, config.rows, config.cols)


def cycle_terms(m, k, n, rows, cols, ops=SCALAR, counts=None) -> dict:
    """:func:`closed_form_cycles` of ints (``ops=SCALAR``) or of int64 arrays of many
    configurations (``ops=numpy``): the one formula of both; ``counts`` the fold counts if
    the caller has them."""
    folds = (counts or count_folds(m, k, n, rows, k, cols, ops)).folds
    cycles = _fold_cycles(k, rows, cols)
    return {
        "total_cycles": folds * cycles,
        "weight_load_cycles": 0 * folds,
        "compute_cycles": folds * k,
        "fill_drain_cycles": folds * (cycles - k),
    }


def traffic_bytes(m: int, k: int, n: int, config: ArrayConfig) -> dict[str, int]:
    """Bytes moved between the array and its buffers for one GEMM (``Report`` fields)."""
    return dict(_traffic_bytes(m, k, n, config))  # a copy: the cached one is shared


@functools.lru_cache(maxsize=1024)  # a trainer asks for the same shapes every batch
def _traffic_bytes(m: int, k: int, n: int, config: ArrayConfig) -> dict[str, int]:
    fmt = FORMATS[config.dtype]
    return traffic_terms(m, k, n, config.rows, config.cols, fmt.operand_bytes, fmt.acc_bytes)


def traffic_terms(m, k, n, rows, cols, operand_bytes, acc_bytes, ops=SCALAR,
                  counts=None) -> dict:  # fmt: skip
    """:func:`traffic_bytes` of ints (``ops=SCALAR``) or of int64 arrays (``ops=numpy``)."""
    counts = counts or count_folds(m, k, n, rows, k, cols, ops)
    # while a column drains, the sum of PE row i passes the rows - 1 - i PEs below it
    full, last = divmod(m, rows)
    passes = full * rows * (rows - 1) // 2 + last * (rows - 1) - last * (last - 1) // 2
    return {
        "weight_read_bytes": counts.chunks * k * n * operand_bytes,
        "act_read_bytes": m * k * counts.n_tiles * operand_bytes,
        "acc_write_bytes": m * n * acc_bytes,  # each sum leaves the array once
        "acc_read_bytes": m * n * acc_bytes,
        "operand_register_writes": k * (m * counts.n_tiles * cols + n * counts.chunks * rows),
        "psum_register_writes": m * k * n + n * passes,
        "weight_register_writes": 0 * counts.chunks,
    }


# ----------------------------------------------------------------------------- golden engine


class OutputStationaryArray(GridModel):
    """Golden per-cycle model of a rows x cols output-stationary array.

    Registers per PE: ``a`` and ``b`` (operands passing east and south) with valid bits, and the
    stationary sum ``acc`` with a valid bit (it holds a useful product). ``step()`` computes all
    of them from the previous cycle's values, then commits them together. Parameters are those
    of ``systolic.array.GridModel``.
    """

    REGISTERS = ("a", "a_valid", "b", "b_valid", "acc", "acc_valid")

    def reset(self) -> None:
        """Clear all registers, the cycle counter, the MAC counts and the recorded trace."""
        super().reset()
        shape = (self.rows, self.cols)
        self.a, self.b, self.acc = (np.zeros(shape, self.dtype) for _ in range(3))
        self.a_valid, self.b_valid, self.acc_valid = (np.zeros(shape, bool) for _ in range(3))

    def step(
        self,
        west: np.ndarray,
        west_valid: np.ndarray,
        north: np.ndarray,
        north_valid: np.ndarray,
        drain: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Advance one clock edge.

        Parameters
        ----------
        west, west_valid : shape (rows,)
            Elements of A entering each row, and whether they are real.
        north, north_valid : shape (cols,)
            Elements of B entering each column, and whether they are real.
        drain : shape (cols,), bool
            Columns that shift their sums one PE south this cycle instead of computing.

        Returns
        -------
        south, south_valid : shape (cols,)
            Sums leaving the bottom row into the output buffer, and whether they are real.
        """
        self._check_limit()
        a_in = np.column_stack([west, self.a[:, :-1]]).astype(self.dtype)
        a_valid = np.column_stack([west_valid, self.a_valid[:, :-1]])
        b_in = np.vstack([north, self.b[:-1]]).astype(self.dtype)
        b_valid = np.vstack([north_valid, self.b_valid[:-1]])
        draining = np.broadcast_to(drain, (self.rows, self.cols))
        useful = a_valid & b_valid & ~draining
        south = np.where(drain, self.acc[-1], 0).astype(self.dtype)
        south_valid = drain & self.acc_valid[-1]
        shifted = np.vstack([np.zeros(self.cols, self.dtype), self.acc[:-1]])
        shifted_valid = np.vstack([np.zeros(self.cols, bool), self.acc_valid[:-1]])
        # one clock edge: every register above was computed from the old state
        self.acc = np.where(draining, shifted, self.acc + a_in * b_in)
        self.acc_valid = np.where(draining, shifted_valid, self.acc_valid | useful)
        self.a, self.a_valid, self.b, self.b_valid = a_in, a_valid, b_in, b_valid
        self._tick(useful)
        return south, south_valid


def simulate_golden(
    a: np.ndarray,
    b: np.ndarray,
    config: ArrayConfig,
    record: bool = False,
    record_registers: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ws.GoldenRun:
    """Run ``a @ b`` cycle by cycle on :class:`OutputStationaryArray` (small sizes only).

    The controller feeds each fold's skewed A rows and B columns, drains each column ``rows``
    cycles from the cycle after its last MAC, and starts the next fold once every column has
    drained. It counts each cycle's phase and every real element moved. ``record``,
    ``record_registers`` and ``progress`` are those of ``weight_stationary.simulate_golden``.
    """
    m, k = a.shape
    n = b.shape[1]
    ws.check_limits(m, k, n, config, closed_form_cycles)
    rows, cols, dtype = config.rows, config.cols, a.dtype
    item = dtype.itemsize  # partial sums; operands may be stored narrower (bf16, fp16)
    operand = FORMATS[config.dtype].operand_bytes
    array = OutputStationaryArray(rows, cols, dtype, config.max_cycles, record, record_registers,
                                  progress)  # fmt: skip
    result = np.zeros((m, n), dtype=dtype)
    counts = dict.fromkeys(("weight_load_cycles", "compute_cycles", "fill_drain_cycles"), 0)
    moved = dict.fromkeys(
        ("weight_read_bytes", "act_read_bytes", "acc_write_bytes", "operand_register_writes",
         "psum_register_writes"), 0,
    )  # fmt: skip
    column = np.arange(cols)
    for fold in plan_folds(m, k, n, *tiles(m, k, config)):
        m_used, n_used = fold.m1 - fold.m0, fold.n1 - fold.n0
        west = skew(pad_tile(np.ascontiguousarray(a[fold.m0 : fold.m1].T), (k, rows)))
        west_valid = skew(pad_tile(np.ones((k, m_used), bool), (k, rows)))
        north = skew(pad_tile(b[:, fold.n0 : fold.n1], (k, cols)))
        north_valid = skew(pad_tile(np.ones((k, n_used), bool), (k, cols)))
        drain_start = k + rows - 1 + column  # the cycle after column j's last MAC
        tile = np.zeros((rows, cols), dtype)
        for u in range(fold_cycles(k, config)):
            if u < len(west):
                feed = (west[u], west_valid[u])
            else:
                feed = (np.zeros(rows, dtype), np.zeros(rows, bool))
            if u < len(north):
                down = (north[u], north_valid[u])
            else:
                down = (np.zeros(cols, dtype), np.zeros(cols, bool))
            step = u - drain_start
            drain = (step >= 0) & (step < rows)
            counts["compute_cycles" if u < k else "fill_drain_cycles"] += 1
            moved["act_read_bytes"] += int(feed[1].sum()) * operand
            moved["weight_read_bytes"] += int(down[1].sum()) * operand
            south, south_valid = array.step(*feed, *down, drain)
            moved["acc_write_bytes"] += int(south_valid.sum()) * item
            # operands shift every cycle; a sum is written by a useful MAC or a drain shift
            moved["operand_register_writes"] += int(array.a_valid.sum() + array.b_valid.sum())
            written = array.useful.sum() + (array.acc_valid & drain).sum()
            moved["psum_register_writes"] += int(written)
            tile[rows - 1 - step[drain], column[drain]] = south[drain]  # bottom row first
        result[fold.m0 : fold.m1, fold.n0 : fold.n1] = tile[:m_used, :n_used]
    report = Report(
        rows=rows,
        cols=cols,
        total_cycles=array.cycle,
        **counts,
        macs=int(array.pe_active_cycles.sum()),
        folds=fold_counts(m, k, n, *tiles(m, k, config)).folds,
        **moved,
        acc_read_bytes=m * n * item,
        pe_active_cycles=array.pe_active_cycles.copy(),
    )
    return ws.GoldenRun(result, report, array)


# ------------------------------------------------------------------------------- fast engine


@njit(cache=True)
def _os_fold(a, b, m0, m1, n0, n1, acc, active):
    """One fold: PE(i, j) adds ``A[m0 + i, t] * B[t, n0 + j]`` for t = 0, 1, ... (its cycles
    ``t + i + j``, in order) into ``acc[i, j]``; padding PEs are skipped. ``active[i, j]``
    counts the useful MACs of PE(i, j).

    Each PE's sum gets its products in that order; the PEs' updates of different sums are
    independent, so they are made in the order fastest here: four rows of PEs at a time,
    eight cycles at a time (``weight_stationary.mac_group``), the inner loop along a row.
    """
    k = a.shape[1]
    m_used, n_used = m1 - m0, n1 - n0
    k_main = k - k % ws.GROUP_ROWS
    m_main = m_used - m_used % ws.GROUP_COLS
    for i in range(0, m_main, ws.GROUP_COLS):
        s0, s1, s2, s3 = acc[i], acc[i + 1], acc[i + 2], acc[i + 3]
        for t in range(0, k_main, ws.GROUP_ROWS):
            # the group's operands of A, cycle by row: w[r, c] = A[m0 + i + c, t + r]
            w = a[m0 + i : m0 + i + ws.GROUP_COLS, t : t + ws.GROUP_ROWS].T
            ws.mac_group(b, t, n0, n_used, w, s0, s1, s2, s3)
        for c in range(ws.GROUP_COLS):  # the cycles left over from the groups
            _os_row(a, b, m0 + i + c, n0, n1, k_main, k, acc[i + c])
    for i in range(m_main, m_used):  # the rows of PEs left over
        _os_row(a, b, m0 + i, n0, n1, 0, k, acc[i])
    for i in range(m_used):
        for j in range(n_used):
            active[i, j] += k


@njit(cache=True)
def _os_row(a, b, row, n0, n1, t0, t1, sums):
    """A row of PEs through cycles ``t0:t1``: ``sums[j]`` gets ``A[row, t] * B[t, n0 + j]``
    for each ``t`` in turn."""
    for t in range(t0, t1):
        x = a[row, t]
        b_row = b[t, n0:n1]
        for j in range(n1 - n0):
            sums[j] = sums[j] + x * b_row[j]


@njit(cache=True)
def _os_tile(a, b, table, k_tiles, tile, out, active):
    """One output tile (one fold: ``k_tiles`` is 1): its drained sums written into ``out``."""
    m0, m1, _, _, n0, n1 = table[tile * k_tiles]
    acc = np.zeros((m1 - m0, n1 - n0), dtype=out.dtype)
    _os_fold(a, b, m0, m1, n0, n1, acc, active)
    out[m0:m1, n0:n1] = acc


@njit(parallel=True, cache=True)
def _os_kernel(a, b, table, k_tiles, first_tile, last_tile, out, active):
    """Run folds ``first_tile:last_tile`` spread over ``active.shape[0]`` threads."""
    threads = active.shape[0]
    for p in prange(threads):
        for tile in range(first_tile + p, last_tile, threads):
            _os_tile(a, b, table, k_tiles, tile, out, active[p])


@njit(cache=True)
def _os_kernel_serial(a, b, table, k_tiles, first_tile, last_tile, out, active):
    """Run folds ``first_tile:last_tile`` in this thread (no thread is started)."""
    for tile in range(first_tile, last_tile):
        _os_tile(a, b, table, k_tiles, tile, out, active[0])


def simulate_fast(
    a: np.ndarray,
    b: np.ndarray,
    config: ArrayConfig,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, Report]:
    """Run ``a @ b`` on the fast engine: golden values and counts, at numba speed.

    Parameters and returns as ``weight_stationary.simulate_fast``.
    """
    m, k = a.shape
    n = b.shape[1]
    cycles = ws.check_limits(m, k, n, config, closed_form_cycles)
    table = fold_table(m, k, n, *tiles(m, k, config))
    out = np.empty((m, n), dtype=a.dtype)
    shape = (config.rows, config.cols)
    threads = thread_count(m * k * n, len(table), config.threads)
    known = FAST_REPORTS.peek((m, k, n, config))
    pe_active = run_output_tiles(
        (_os_kernel, _os_kernel_serial), a, b, table, 1, out, shape, progress, threads,
        count=known is None,
    )  # fmt: skip
    report = known or FAST_REPORTS.get(
        (m, k, n, config),
        lambda: Report(
            rows=config.rows,
            cols=config.cols,
            **cycles,
            macs=int(pe_active.sum()),
            folds=len(table),
            **traffic_bytes(m, k, n, config),
            pe_active_cycles=pe_active,
        ),
    )
    return out, report
