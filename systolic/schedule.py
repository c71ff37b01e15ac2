"""Fold (tile) plans and skew/de-skew: how a GEMM is cut to fit the array and fed to it.

Written once here; every dataflow and engine imports it.

Folds of ``(m, k) @ (k, n)`` on a ``rows x cols`` weight-stationary array (other dataflows
choose other tile sizes, see :func:`fold_counts`)::

          n0      n1              B is cut into rows x cols tiles (edges zero-padded);
        +-------+-------+         A into chunks of at most `capacity` rows (the accumulator's
    k0  | f0    | f2    |         size); each (chunk, n-tile, k-tile) is one fold, streamed
        +-------+-------+         in the order chunk -> n-tile -> k-tile, so that the k-folds
    k1  | f1    | f3    |         of an output tile follow each other into the accumulator.
        +-------+-------+

Skew: row ``i`` of the array receives element ``t`` of its stream at cycle ``t + i``::

    cycle:    0    1    2    3
    row 0:   a00  a10  a20   .          skewed[t + i, i] = tile[t, i]
    row 1:    .   a01  a11  a21
    row 2:    .    .   a02  a12 a22

De-skew is the same relation read backwards: column ``j`` of the south edge emits element
``t`` at stream-relative cycle ``t + j``, so ``tile[t, j] = skewed[t + j, j]``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit


@dataclass(frozen=True)
class Fold:
    """One tile of a GEMM on the array: rows ``m0:m1`` of A, a ``k0:k1`` x ``n0:n1`` tile of B.

    ``first`` and ``last`` mark the first and last k-fold of its output tile: the accumulator
    starts from zero at the first and hands the finished tile out after the last.
    """

    m0: int
    m1: int
    k0: int
    k1: int
    n0: int
    n1: int
    first: bool
    last: bool

    @property
    def stream_rows(self) -> int:
        """Rows of A streamed through the array in this fold (``T``)."""
        return self.m1 - self.m0


@dataclass(frozen=True)
class FoldCounts:
    """How many tiles a GEMM is cut into.

    ``chunks`` chunks of ``m``: ``full_chunks`` of ``chunk_rows`` rows, then one of
    ``last_chunk_rows`` rows if that is not zero; ``k_tiles * n_tiles`` folds per chunk.
    The fields are ints, or NumPy arrays of many GEMMs' counts (:func:`count_folds`).
    """

    k_tiles: int
    n_tiles: int
    chunk_rows: int
    full_chunks: int
    last_chunk_rows: int

    @property
    def chunks(self) -> int:
        return self.full_chunks + (self.last_chunk_rows != 0)

    @property
    def folds_per_chunk(self) -> int:
        return self.k_tiles * self.n_tiles

    @property
    def folds(self) -> int:
        return self.chunks * self.folds_per_chunk


class _Scalars:
    """The few operations of the closed forms that differ between Python ints and NumPy
    arrays, for Python ints (``numpy`` itself has them for arrays: ``minimum``, ``maximum``,
    ``where``). Every closed form takes one of the two as ``ops``, so that a formula is
    written once and evaluates one GEMM exactly (Python ints) or a million design points at
    once (int64 arrays, ``systolic.sweep.vectorized``)."""

    minimum = staticmethod(min)
    maximum = staticmethod(max)

    @staticmethod
    def where(condition, yes, no):
        return yes if condition else no


#: the closed forms' operations on Python ints (see :class:`_Scalars`); ``numpy`` on arrays
SCALAR = _Scalars()


@functools.lru_cache(maxsize=1024)  # a trainer asks for the same shapes every batch
def fold_counts(m: int, k: int, n: int, tile_m: int, tile_k: int, tile_n: int) -> FoldCounts:
    """Count the folds of ``(m, k) @ (k, n)`` cut into ``tile_m x tile_k x tile_n`` tiles.

    Each dataflow chooses the tile sizes: weight-stationary maps k to the array's rows and n to
    its columns and cuts m into chunks of the accumulator's capacity; output-stationary maps m
    to rows and n to columns and streams all of k.
    """
    return count_folds(m, k, n, tile_m, tile_k, tile_n)


def count_folds(m, k, n, tile_m, tile_k, tile_n, ops=SCALAR) -> FoldCounts:
    """:func:`fold_counts` of ints (``ops=SCALAR``) or of int64 arrays (``ops=numpy``),
    uncached."""
    chunk_rows = ops.minimum(m, tile_m)
    return FoldCounts(
        k_tiles=-(-k // tile_k),
        n_tiles=-(-n // tile_n),
        chunk_rows=chunk_rows,
        full_chunks=m // chunk_rows,
        last_chunk_rows=m % chunk_rows,
    )


#: fold tables of at most this many bytes are cached (a trainer's shapes); larger ones, of
#: GEMMs of millions of folds, are built for their run and freed with it
CACHED_TABLE_BYTES = 2**20
#: bytes of one fold's row of the table
TABLE_ROW_BYTES = 6 * 8


def fold_table(m: int, k: int, n: int, tile_m: int, tile_k: int, tile_n: int) -> np.ndarray:
    """Bounds of every fold of ``(m, k) @ (k, n)``, in run order (m-chunk, n-tile, k-tile).

    Returns an int64 array of shape ``(folds, 6)``, one row ``(m0, m1, k0, k1, n0, n1)`` per
    fold, built in place: the run allocates :data:`TABLE_ROW_BYTES` per fold and no more.
    The ``k_tiles`` k-folds of one output tile are consecutive rows. Small tables are cached
    (a trainer runs the same few shapes thousands of times), so callers must not modify them;
    they are not marked read-only because numba's kernels run far slower on read-only arrays.
    """
    counts = fold_counts(m, k, n, tile_m, tile_k, tile_n)
    if counts.folds * TABLE_ROW_BYTES <= CACHED_TABLE_BYTES:
        return _cached_fold_table(m, k, n, tile_m, tile_k, tile_n)
    return _build_fold_table(m, k, n, tile_m, tile_k, tile_n)


@functools.lru_cache(maxsize=256)
def _cached_fold_table(m: int, k: int, n: int, tile_m: int, tile_k: int, tile_n: int):
    return _build_fold_table(m, k, n, tile_m, tile_k, tile_n)


def _build_fold_table(m: int, k: int, n: int, tile_m: int, tile_k: int, tile_n: int):
    counts = fold_counts(m, k, n, tile_m, tile_k, tile_n)
    table = np.empty((counts.chunks, counts.n_tiles, counts.k_tiles, 6), dtype=np.int64)
    m0 = np.arange(counts.chunks, dtype=np.int64) * counts.chunk_rows
    k0 = np.arange(counts.k_tiles, dtype=np.int64) * tile_k
    n0 = np.arange(counts.n_tiles, dtype=np.int64) * tile_n
    # each column broadcast from its own axis: no intermediate of the table's size
    table[..., 0] = m0[:, None, None]
    table[..., 1] = np.minimum(m0 + counts.chunk_rows, m)[:, None, None]
    table[..., 2] = k0[None, None, :]
    table[..., 3] = np.minimum(k0 + tile_k, k)[None, None, :]
    table[..., 4] = n0[None, :, None]
    table[..., 5] = np.minimum(n0 + tile_n, n)[None, :, None]
    return table.reshape(-1, 6)


def plan_folds(m: int, k: int, n: int, tile_m: int, tile_k: int, tile_n: int) -> list[Fold]:
    """The folds of :func:`fold_table` as :class:`Fold` records, for readable engines."""
    k_tiles = fold_counts(m, k, n, tile_m, tile_k, tile_n).k_tiles
    return [
        Fold(*map(int, bounds), first=index % k_tiles == 0, last=index % k_tiles == k_tiles - 1)
        for index, bounds in enumerate(fold_table(m, k, n, tile_m, tile_k, tile_n))
    ]


#: a GEMM of fewer MACs runs on one thread: at a few milliseconds of work or less, starting
#: and joining threads costs more than it saves, and on a machine whose cores are busy each
#: join waits for a descheduled thread's next time slice (a training epoch's 25,000 small
#: GEMMs then ran 39 times slower; bench/README.md, "busy machine")
SERIAL_MACS = 1 << 22


def thread_count(macs: int, tiles: int, threads: int | None = None) -> int:
    """Threads for a GEMM of ``macs`` MACs in ``tiles`` independent output tiles: 1 below
    :data:`SERIAL_MACS`, else at most ``threads`` (a config's setting), else the
    ``SYSTOLIC_THREADS`` environment variable, else numba's thread count, and never more than
    there are tiles."""
    configured = env_threads()  # read (and refused if malformed) whatever the size
    if macs < SERIAL_MACS or tiles < 2:
        return 1
    limit = threads if threads is not None else configured
    if limit is None:
        limit = numba.get_num_threads()
    return max(1, min(limit, tiles))


def env_threads() -> int | None:
    """``SYSTOLIC_THREADS`` as a positive integer, ``None`` when unset; else ValueError."""
    return _parse_threads(os.environ.get("SYSTOLIC_THREADS", ""))


@functools.lru_cache(maxsize=8)  # read at every call: parse each value once
def _parse_threads(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"SYSTOLIC_THREADS must be a positive integer, got {text!r}")
    return value


def run_output_tiles(
    kernels: tuple[Callable, Callable],
    a: np.ndarray,
    b: np.ndarray,
    table: np.ndarray,
    k_tiles: int,
    out: np.ndarray,
    pe_shape: tuple[int, int],
    progress: Callable[[int], None] | None = None,
    threads: int = 1,
    count: bool = True,
) -> np.ndarray:
    """Run a dataflow's numba kernel over every output tile of a fold table.

    Output tiles (``k_tiles`` consecutive folds of ``table`` each) are independent, so with
    ``threads`` > 1 the parallel kernel of ``kernels = (parallel, serial)`` spreads them over
    that many threads (see :func:`thread_count`); each thread counts its PEs' useful MACs in
    its own slice of ``active``. With one thread the serial kernel runs them in this thread,
    without starting any. Either is called as ``kernel(a, b, table, k_tiles, first_tile,
    last_tile, out, active)``, for a few batches of tiles when ``progress`` is given (called
    with the number of folds finished after each batch), else once. Without ``count`` (the
    caller has this GEMM's counts already) the kernel counts into a scratch array that is
    never read, so no fresh one is allocated and cleared per call.

    Returns
    -------
    numpy.ndarray, shape ``pe_shape``, or None without ``count``
        Useful MACs per PE.
    """
    tiles = len(table) // k_tiles
    threads = max(1, min(threads, tiles))
    kernel = kernels[0] if threads > 1 else kernels[1]
    if count:
        active = np.zeros((threads, *pe_shape), dtype=np.int64)
    else:
        active = scratch_counters(threads, *pe_shape)
    step = tiles if progress is None else max(threads, -(-tiles // 50))
    for first in range(0, tiles, step):
        last = min(first + step, tiles)
        kernel(a, b, table, k_tiles, first, last, out, active)
        if progress is not None:
            progress((last - first) * k_tiles)
    if not count:
        return None
    return active[0] if threads == 1 else active.sum(axis=0)


@functools.lru_cache(maxsize=16)
def scratch_counters(threads: int, rows: int, cols: int) -> np.ndarray:
    """Per-PE counters that are written and never read (see :func:`run_output_tiles`)."""
    return np.zeros((threads, rows, cols), dtype=np.int64)


def pad_tile(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Zero-pad the 2-D ``x`` at its bottom and right edges to ``shape``."""
    out = np.zeros(shape, dtype=x.dtype)
    out[: x.shape[0], : x.shape[1]] = x
    return out


@njit(cache=True)
def skew(tile):
    """Skew a ``(T, w)`` stream for ``w`` array rows: returns ``(T + w - 1, w)``.

    ``out[t + i, i] = tile[t, i]``; every other element is zero.
    """
    length, width = tile.shape
    out = np.zeros((length + width - 1, width), dtype=tile.dtype)
    for t in range(length):
        for i in range(width):
            out[t + i, i] = tile[t, i]
    return out


@njit(cache=True)
def deskew(skewed, length):
    """Undo the skew of ``length`` rows: ``out[t, j] = skewed[t + j, j]``, shape ``(length, w)``."""
    width = skewed.shape[1]
    out = np.empty((length, width), dtype=skewed.dtype)
    for t in range(length):
        for j in range(width):
            out[t, j] = skewed[t + j, j]
    return out
