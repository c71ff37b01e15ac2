"""Weight-stationary dataflow (the TPU's): timing, golden run, fast numba engine.

Mapping of ``C = A @ B`` (``A`` is ``(m, k)``, ``B`` is ``(k, n)``) on ``rows x cols`` PEs:
a ``rows x cols`` tile of ``B`` stays in the PEs (k on rows, n on columns); the rows of ``A``
stream in from the west, skewed; partial sums flow south into the accumulators::

      B tile shifts in from the north (r cycles), into the shadow registers
             |  |  |
      A ->  [w][w][w]        row i gets A[t, k0 + i] at cycle S + t + i
      A ->  [w][w][w]        column j emits the partial sum of C[t, n0 + j]
      A ->  [w][w][w]        at cycle S + t + r - 1 + j
             |  |  |
         accumulators (sum over k-folds)

Three engines with one meaning:

- :func:`simulate_golden` drives the per-cycle golden model (``systolic.array``) with a
  controller that follows :func:`fold_timeline`, and counts what it sees;
- :func:`simulate_fast` runs the numba kernel ``_ws_kernel``: the same per-cycle MACs in the
  same order (bit-identical values and per-PE activity), skipping padded and idle PEs, whose
  updates provably change nothing (they add ``+0.0`` to a partial sum that is never ``-0.0``);
  it does not step the idle cycles, so its cycle counts are the closed form's;
- :func:`closed_form_cycles` gives the cycle breakdown in O(1), documented in ``Report``.

The tests hold the golden model's stepped counts equal to the closed form's, and its values,
byte counts and per-PE activity equal to the fast engine's.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from systolic.accumulator import Accumulator, accumulate
from systolic.array import SimulationLimitError, WeightStationaryArray
from systolic.config import ArrayConfig, WeightLoad
from systolic.numerics import (
    COMPILED_FLOATS,
    FORMATS,
    cast_to_float32,
    count_non_finite,
    round_float32_to_bf16,
)
from systolic.report import FAST_REPORTS, Report
from systolic.schedule import (
    SCALAR,
    SERIAL_MACS,
    Fold,
    count_folds,
    deskew,
    fold_counts,
    fold_table,
    pad_tile,
    plan_folds,
    run_output_tiles,
    scratch_counters,
    skew,
    thread_count,
)


@dataclass(frozen=True)
class FoldTiming:
    """When a fold's tile starts shifting in (``load``) and its first row enters (``stream``).

    ``stall`` counts the cycles the load waited past the controller's rules for its weights
    to arrive from memory, ``input_stall`` the cycles the stream waited for its activations
    (both 0 when the array is fed as fast as it asks).
    """

    load: int
    stream: int
    stall: int = 0
    input_stall: int = 0


def fold_timeline(
    stream_rows: list[int],
    rows: int,
    cols: int,
    weight_load: WeightLoad,
    ready: Callable[[int, list[FoldTiming]], int] | None = None,
    inputs_ready: Callable[[int, list[FoldTiming]], int] | None = None,
    chain_rows: int | None = None,
) -> list[FoldTiming]:
    """The controller's rules: the earliest legal load and stream cycle of every fold.

    - a fold streams once its tile is fully shifted in (``chain_rows`` cycles after its load
      starts; ``chain_rows`` is ``rows`` but for the segmented load) and the previous fold's
      last row has entered;
    - serial: a tile starts shifting once the array has drained (the previous fold's last result
      left the south edge);
    - double_buffered: a tile starts shifting into the shadow registers in the cycle the last PE
      (bottom right) switches to the previous tile: every PE has then copied its shadow weight;
    - segmented: chain ``g`` of column ``j`` (rows ``g * chain_rows`` on) starts shifting in
      the cycle its bottom PE switches to the previous tile, :func:`chain_offsets` cycles
      after the top-left chain, which starts ``chain_rows - 1`` cycles after the previous fold
      (``load`` is the top-left chain's start; the first tile's chains start from cycle 0);
    - and, when ``ready`` is given, not before ``ready(f, timeline_so_far)``: the cycle the
      weights of fold ``f`` are available (a memory system's arrival time); when
      ``inputs_ready`` is given, fold ``f`` streams not before ``inputs_ready(f,
      timeline_so_far)``, the cycle its activations are in the buffer (from the host, or
      written there by the activation unit from an earlier layer's results).

    Parameters
    ----------
    stream_rows : list of int
        Rows ``T`` streamed by each fold, in run order.
    """
    if chain_rows is None and weight_load is WeightLoad.SEGMENTED:
        raise ValueError("the segmented load needs chain_rows (ArrayConfig.chain_rows)")
    shift = rows if chain_rows is None else chain_rows
    times = []
    load, previous_end = 0, 0
    for f, length in enumerate(stream_rows):
        due = load
        if ready is not None:
            load = max(load, ready(f, times))
        stream = max(load + shift, previous_end)
        waited = 0
        if inputs_ready is not None:
            waited = max(0, inputs_ready(f, times) - stream)
        times.append(FoldTiming(load, stream + waited, load - due, waited))
        stream += waited
        previous_end = stream + length
        if weight_load is WeightLoad.SERIAL:
            load = stream + length + rows + cols - 2
        elif weight_load is WeightLoad.SEGMENTED:
            load = stream + shift - 1
        else:
            load = stream + rows + cols - 2
    return times


def chain_offsets(config: ArrayConfig) -> tuple[np.ndarray, np.ndarray]:
    """When each weight shift chain starts shifting a tile, after the top-left one, and how
    many rows it holds.

    Returns
    -------
    offsets : numpy.ndarray of int, shape (segments, cols)
        Cycles from the top-left chain's start: 0 for every chain of the serial and
        double-buffered loads (one chain per column, all shifting at once); ``g *
        chain_rows + rows_g - chain_rows + j`` for chain ``g`` of column ``j`` of the
        segmented load, the cycle its bottom PE switches.
    lengths : numpy.ndarray of int, shape (segments,)
        Rows of each chain (the last may be shorter).
    """
    rows, cols, size = config.rows, config.cols, config.chain_rows
    tops = np.arange(0, rows, size)
    lengths = np.minimum(size, rows - tops)
    if config.weight_load is not WeightLoad.SEGMENTED:
        return np.zeros((1, cols), dtype=np.int64), lengths
    offsets = (tops + lengths - size)[:, None] + np.arange(cols)[None, :]
    return offsets.astype(np.int64), lengths


def tiles(m: int, config: ArrayConfig) -> tuple[int, int, int]:
    """Tile sizes ``(tile_m, tile_k, tile_n)`` of the weight-stationary mapping: chunks of m as
    large as the accumulator holds, k on the array's rows, n on its columns."""
    capacity = config.accumulator_rows
    return (m if capacity is None else capacity), config.rows, config.cols


def closed_form_cycles(m: int, k: int, n: int, config: ArrayConfig,
                       times: int = 1) -> dict[str, int]:  # fmt: skip
    """Cycle breakdown of ``(m, k) @ (k, n)`` in O(1); see ``Report`` for the formulas.

    ``times`` runs that many such GEMMs (of their own operands) back to back, their folds in
    one stream as if of one GEMM: the controller treats the first fold of a GEMM like any
    other (a batch of attention heads on one array).

    Returns
    -------
    dict
        ``total_cycles`` and the ``Report`` breakdown fields (``*_cycles``) summing to it.
    """
    return dict(_closed_form_cycles(m, k, n, config, times))  # a copy: the cached one is shared


@functools.lru_cache(maxsize=1024)  # a trainer asks for the same shapes every batch
def _closed_form_cycles(m: int, k: int, n: int, config: ArrayConfig,
                        times: int = 1) -> dict[str, int]:  # fmt: skip
    load = config.weight_load
    return cycle_terms(m, k, n, config.rows, config.cols, tiles(m, config)[0],
                       load is WeightLoad.SERIAL, load is WeightLoad.SEGMENTED, config.chain_rows,
                       times)  # fmt: skip


def cycle_terms(m, k, n, rows, cols, tile_m, serial, segmented, chain_rows, times=1,
                ops=SCALAR, counts=None) -> dict:  # fmt: skip
    """:func:`closed_form_cycles` of ints (``ops=SCALAR``) or of int64 arrays of many
    configurations (``ops=numpy``; ``serial`` and ``segmented`` then bool arrays): the one
    formula of both. ``tile_m`` is the chunk of ``m`` (:func:`tiles`), ``chain_rows``
    ``ArrayConfig.chain_rows``; ``counts`` the fold counts if the caller has them."""
    counts = counts or count_folds(m, k, n, tile_m, rows, cols, ops)
    per_chunk = counts.folds_per_chunk
    folds = times * counts.folds
    compute = times * m * per_chunk  # every fold streams its chunk's rows
    # serial: every fold shifts its tile in and drains; folds do not overlap
    serial_load, serial_fill = folds * rows, folds * (rows + cols - 2)
    # otherwise a tile shifts for `shift` cycles once the previous fold's first row has
    # reached the PEs it must wait for (`wait` cycles); gaps follow every fold but the last:
    # `number` folds of each chunk length (the last chunk's none when it is whole)
    shift = chain_rows
    wait = ops.where(segmented, shift - 1, rows + cols - 2)
    last_rows = counts.last_chunk_rows
    gaps = ((counts.chunk_rows, times * counts.full_chunks * per_chunk - (last_rows == 0)),
            (last_rows, ops.where(last_rows != 0, times * per_chunk - 1, 0)))  # fmt: skip
    load, fill_drain = shift, rows + cols - 2
    for length, number in gaps:
        gap = ops.maximum(0, wait + shift - length)
        load = load + number * ops.minimum(shift, gap)
        fill_drain = fill_drain + number * ops.maximum(0, wait - length)
    load = ops.where(serial, serial_load, load)
    fill_drain = ops.where(serial, serial_fill, fill_drain)
    return {
        "total_cycles": load + compute + fill_drain,
        "weight_load_cycles": load,
        "compute_cycles": compute,
        "fill_drain_cycles": fill_drain,
    }


def traffic_bytes(m: int, k: int, n: int, config: ArrayConfig) -> dict[str, int]:
    """Bytes moved between the array and its buffers, and register writes in the array
    (``Report`` fields, defined there), for one GEMM."""
    return dict(_traffic_bytes(m, k, n, config))  # a copy: the cached one is shared


@functools.lru_cache(maxsize=1024)  # a trainer asks for the same shapes every batch
def _traffic_bytes(m: int, k: int, n: int, config: ArrayConfig) -> dict[str, int]:
    fmt = FORMATS[config.dtype]
    return traffic_terms(m, k, n, config.rows, config.cols, tiles(m, config)[0],
                         config.chain_rows, fmt.operand_bytes, fmt.acc_bytes)  # fmt: skip


def traffic_terms(m, k, n, rows, cols, tile_m, chain_rows, operand_bytes, acc_bytes,
                  ops=SCALAR, counts=None) -> dict:  # fmt: skip
    """:func:`traffic_bytes` of ints (``ops=SCALAR``) or of int64 arrays (``ops=numpy``),
    as :func:`cycle_terms`."""
    counts = counts or count_folds(m, k, n, tile_m, rows, cols, ops)
    # k-tiles of `rows` rows but the last; a weight bound for row i, ``d`` rows below the top
    # of its shift chain, is written d + 1 times
    full, last = divmod(k, rows)
    shifts = full * _chain_writes(rows, chain_rows) + _chain_writes(last, chain_rows)
    return {
        "weight_read_bytes": counts.chunks * k * n * operand_bytes,
        "act_read_bytes": m * k * counts.n_tiles * operand_bytes,
        "acc_write_bytes": m * n * counts.k_tiles * acc_bytes,
        "acc_read_bytes": m * n * acc_bytes,
        "operand_register_writes": m * k * counts.n_tiles * cols,
        "psum_register_writes": m * n * counts.k_tiles * rows,
        "weight_register_writes": counts.chunks * n * shifts,
    }


def _chain_writes(used_rows, chain_rows):
    """Register writes that shift one column's weights for PE rows ``0 .. used_rows - 1``
    into chains of ``chain_rows`` rows (the row ``d`` below its chain's top: d + 1 writes);
    ints or arrays."""
    chains, rest = divmod(used_rows, chain_rows)
    return chains * chain_rows * (chain_rows + 1) // 2 + rest * (rest + 1) // 2


def check_limits(
    m: int,
    k: int,
    n: int,
    config: ArrayConfig,
    closed_form: Callable[[int, int, int, ArrayConfig], dict[str, int]] | None = None,
) -> dict[str, int]:
    """Closed-form cycles of the GEMM, after refusing it if they exceed ``config.max_cycles``.

    ``closed_form`` is the dataflow's cycle formula (default: this module's).
    """
    cycles = (closed_form or closed_form_cycles)(m, k, n, config)
    if cycles["total_cycles"] > config.max_cycles:
        raise SimulationLimitError(
            f"({m}, {k}) @ ({k}, {n}) on {config.rows}x{config.cols} would take "
            f"{cycles['total_cycles']:,} cycles, more than max_cycles={config.max_cycles:,}"
        )
    return cycles


# ----------------------------------------------------------------------------- golden engine


@dataclass
class GoldenRun:
    """What the golden model measured while running a GEMM."""

    result: np.ndarray
    report: Report
    array: WeightStationaryArray


def execute(
    a: np.ndarray,
    b: np.ndarray,
    folds: list[Fold],
    timeline: list[FoldTiming],
    array: WeightStationaryArray,
    accumulator: Accumulator,
    operand_bytes: int | None = None,
    config: ArrayConfig | None = None,
) -> tuple[np.ndarray, dict[str, int]]:
    """Run folds on the golden array, one ``step()`` per cycle, following a given timeline.

    The controller shifts fold ``f``'s tile in from cycle ``timeline[f].load`` and feeds its
    skewed rows from ``timeline[f].stream``; each fold's results are read, de-skewed, from the
    south edge into the accumulator. Any timeline may be given: an illegal one (streaming
    before the tile is in, say) yields wrong values, and one that drives a port twice in one
    cycle raises ``ValueError``. ``operand_bytes`` is the size of an operand in the buffers
    (default: the array's type; 2 for bf16 and fp16 operands held in float32). ``config``
    gives the weight shift chains (:func:`chain_offsets`; default one chain per column, all
    shifting at once).

    Returns
    -------
    result : numpy.ndarray, shape (m, n)
    counts : dict
        Cycle breakdown and traffic fields of ``Report``, counted cycle by cycle.
    """
    rows, cols, dtype = array.rows, array.cols, array.dtype
    item = dtype.itemsize  # partial sums; operands may be stored narrower (bf16, fp16)
    operand = item if operand_bytes is None else operand_bytes
    result = np.zeros((a.shape[0], b.shape[1]), dtype=dtype)
    feeds = []
    for fold in folds:
        if array.progress is not None:
            array.progress(0)  # the setup shows, and a bar's clock runs, from the start
        length, k_used = fold.stream_rows, fold.k1 - fold.k0
        first = np.zeros((length, rows), dtype=bool)
        first[0] = True  # the switch flag rides with each row's first element, padded rows too
        feeds.append(
            (
                skew(pad_tile(a[fold.m0 : fold.m1, fold.k0 : fold.k1], (length, rows))),
                skew(pad_tile(np.ones((length, k_used), dtype=bool), (length, rows))),
                skew(first),
                pad_tile(b[fold.k0 : fold.k1, fold.n0 : fold.n1], (rows, cols)),
                pad_tile(np.ones((k_used, fold.n1 - fold.n0), dtype=bool), (rows, cols)),
                np.zeros((length + cols - 1, cols), dtype=dtype),  # south edge, skewed
            )
        )
    counts = dict.fromkeys(
        (
            "weight_load_cycles",
            "compute_cycles",
            "fill_drain_cycles",
            "weight_read_bytes",
            "act_read_bytes",
            "acc_write_bytes",
            "acc_read_bytes",
            "operand_register_writes",
            "psum_register_writes",
            "weight_register_writes",
        ),
        0,
    )
    # the shift chains (one per column, or segments of `chain_rows`): when each starts a
    # tile after the top-left chain, and the rows it holds
    offsets, lengths = chain_offsets(config) if config is not None else (
        np.zeros((1, cols), dtype=np.int64), np.array([rows]))  # fmt: skip
    tops = (np.cumsum(lengths) - lengths)[:, None]
    load_span = int(offsets.max()) + int(lengths.max())
    column = np.arange(cols)[None, :]
    # real weights of the tile shifting into each chain: each is written again every shift
    in_chain = np.zeros(offsets.shape, dtype=np.int64)
    load_cycles = [when.load for when in timeline]
    if load_cycles != sorted(load_cycles):
        raise ValueError("the timeline must load the tiles in fold order")
    finished = 0  # folds before this one have left the array
    while finished < len(folds):
        cycle = array.cycle
        west = [np.zeros(rows, dtype), np.zeros(rows, bool), np.zeros(rows, bool)]
        north = [np.zeros(offsets.shape, dtype), np.zeros(offsets.shape, bool)]
        enable = np.zeros(offsets.shape, dtype=bool)
        streaming = False
        # only folds that have started loading and not yet left the array can act this cycle
        busy = range(finished, bisect.bisect_right(load_cycles, cycle))
        for f in busy:
            fold, when, feed = folds[f], timeline[f], feeds[f]
            acts, valid, switch, weights, weights_valid, _ = feed
            # a tile's chains shift within `load_span` cycles of its load: the per-chain
            # arithmetic only then
            u = cycle - when.load - offsets if cycle - when.load < load_span else None
            shifting = None if u is None else (u >= 0) & (u < lengths[:, None])
            if shifting is not None and shifting.any():
                if (enable & shifting).any():
                    raise ValueError(f"two tiles shift into one weight chain in cycle {cycle}")
                enable |= shifting
                row = np.clip(tops + lengths[:, None] - 1 - u, 0, rows - 1)  # bottom row first
                north[0] = np.where(shifting, weights[row, column], north[0])
                north[1] |= shifting & weights_valid[row, column]
                in_chain[shifting & (u == 0)] = 0  # the chain starts this fold's tile
            u = cycle - when.stream
            if 0 <= u < len(acts):
                if (west[1] & valid[u]).any() or (west[2] & switch[u]).any():
                    raise ValueError(f"two folds feed the same row in cycle {cycle}")
                west = [west[0] + acts[u], west[1] | valid[u], west[2] | switch[u]]
                streaming = streaming or u < fold.stream_rows
        counts["act_read_bytes"] += int(west[1].sum()) * operand
        if enable.any():
            counts["weight_read_bytes"] += int(north[1].sum()) * operand
            in_chain += north[1]
            counts["weight_register_writes"] += int(in_chain[enable].sum())
        # a tile "shifts in" while the top-left chain shifts (every chain, but segmented)
        loading = bool(enable[0, 0])
        phase = "compute" if streaming else "weight_load" if loading else "fill_drain"
        counts[f"{phase}_cycles"] += 1

        south, south_valid = array.step(*west, *north, enable)
        counts["acc_write_bytes"] += int(south_valid.sum()) * item
        # every register shifts every cycle: those holding valid data were just written
        counts["operand_register_writes"] += int(array.valid.sum())
        counts["psum_register_writes"] += int(array.psum_valid.sum())

        for f in busy:
            fold, when, south_skewed = folds[f], timeline[f], feeds[f][-1]
            u = cycle - (when.stream + rows - 1)
            if 0 <= u < len(south_skewed):
                south_skewed[u] = south
                if u == len(south_skewed) - 1:  # the fold's last result has left the array
                    if fold.first:
                        accumulator.clear()
                    width = fold.n1 - fold.n0
                    accumulator.add(deskew(south_skewed, fold.stream_rows)[:, :width])
                    if fold.last:
                        result[fold.m0 : fold.m1, fold.n0 : fold.n1] = accumulator.read(
                            fold.stream_rows, width
                        )
                        counts["acc_read_bytes"] += fold.stream_rows * width * item
                    finished += 1
    return result, counts


def simulate_golden(
    a: np.ndarray,
    b: np.ndarray,
    config: ArrayConfig,
    record: bool = False,
    record_registers: bool = False,
    progress: Callable[[int], None] | None = None,
) -> GoldenRun:
    """Run ``a @ b`` cycle by cycle on the golden model (small sizes only).

    Parameters
    ----------
    a, b : numpy.ndarray
        Operands already checked and rounded (``systolic.numerics.prepare_operands``).
    config : ArrayConfig
    record : bool
        Keep the per-cycle activity for ``array.trace()``.
    record_registers : bool
        Keep every register of every cycle in ``array.snapshots`` (for waveforms).
    progress : callable, optional
        Called with 0 as each fold's feeds are prepared (the setup), then with the cycles
        stepped, every ``systolic.array.PROGRESS_CYCLES`` (a progress bar's ``update``).
    """
    m, k = a.shape
    n = b.shape[1]
    check_limits(m, k, n, config)
    rows, cols = config.rows, config.cols
    folds = plan_folds(m, k, n, *tiles(m, config))
    timeline = fold_timeline([f.stream_rows for f in folds], rows, cols, config.weight_load,
                             chain_rows=config.chain_rows)  # fmt: skip
    array = WeightStationaryArray(rows, cols, a.dtype, config.max_cycles, record, record_registers,
                                  segment_rows=config.chain_rows, progress=progress)  # fmt: skip
    accumulator = Accumulator(max(f.stream_rows for f in folds), cols, a.dtype)
    operand_bytes = FORMATS[config.dtype].operand_bytes
    result, counts = execute(a, b, folds, timeline, array, accumulator, operand_bytes, config)
    report = Report(
        rows=rows,
        cols=cols,
        total_cycles=array.cycle,
        macs=int(array.pe_active_cycles.sum()),
        folds=len(folds),
        pe_active_cycles=array.pe_active_cycles.copy(),
        **counts,
    )
    return GoldenRun(result, report, array)


# ------------------------------------------------------------------------------- fast engine

# Output rows are evaluated in blocks of this many: within a block, every PE makes its MACs
# for those rows, a group of PE rows at a time, top group first. The partial sums of a
# block (GROUP_COLS rows of STREAM_BLOCK floats, 8 KiB) stay in the first-level cache while
# all rows of PEs add into them, and the block's activations (512 per row of PEs, 256 KiB
# for 128 rows) in the second level while every group of columns reads them.
STREAM_BLOCK = 512
#: PE rows and columns evaluated together: each activation loaded is used by GROUP_COLS
#: PEs and each partial sum loaded gets GROUP_ROWS products before it is stored again.
#: 8 x 4 was fastest of the 15 shapes tried from 2 x 4 to 16 x 4 (30-37 G MACs/s on one
#: core, against 13 for one PE at a time; see bench/README.md)
GROUP_ROWS = 8
GROUP_COLS = 4


@njit(cache=True)
def _ws_fold(a_t, b, m0, m1, k0, k1, n0, n1, acc_t, sums):
    """One fold: the partial sum of every output row through the PE rows, added to the
    accumulator.

    Column ``j`` of PEs computes, for each output row ``t`` of the fold, ``(((0 + A[t, k0] *
    B[k0, j]) + A[t, k0 + 1] * B[k0 + 1, j]) + ...)``: the product of each PE rounded, then
    added to the sum arriving from the PE above, top row first, exactly the golden
    ``psum_out = psum_in + act * weight`` of every PE and cycle. The order in which the PEs'
    updates of *different* sums are made cannot change any value, so they are made in the
    order fastest here: output rows in blocks of ``STREAM_BLOCK``, PEs in groups of
    ``GROUP_ROWS x GROUP_COLS`` (the inner loop runs over output rows, so it vectorizes). The
    finished sums are added to ``acc_t[j, t]`` (the accumulator entries of this output tile,
    transposed), as the accumulator does when a fold's sums leave the array. ``sums`` is
    scratch of shape ``(GROUP_COLS, STREAM_BLOCK)``. PEs of padding rows and columns add
    +0.0 to each sum: they are skipped.
    """
    length, k_used, n_used = m1 - m0, k1 - k0, n1 - n0
    k_main = k_used - k_used % GROUP_ROWS
    n_main = n_used - n_used % GROUP_COLS
    for u0 in range(0, length, STREAM_BLOCK):
        u1 = min(u0 + STREAM_BLOCK, length)
        count = u1 - u0
        for j in range(0, n_used, GROUP_COLS):
            width = GROUP_COLS if j < n_main else n_used - j
            sums[:width, :count] = 0
            s0, s1, s2, s3 = sums[0], sums[1], sums[2], sums[3]
            grouped = k_main if width == GROUP_COLS else 0  # PE rows run in groups
            for i in range(0, grouped, GROUP_ROWS):
                weights = b[k0 + i : k0 + i + GROUP_ROWS, n0 + j : n0 + j + GROUP_COLS]
                mac_group(a_t, k0 + i, m0 + u0, count, weights, s0, s1, s2, s3)
            # PE rows left over from the groups (all rows in a short group of columns), one
            # at a time, each through the group's columns
            for i in range(grouped, k_used):
                act = a_t[k0 + i, m0 + u0 : m0 + u1]
                for c in range(width):
                    weight = b[k0 + i, n0 + j + c]
                    psum = sums[c]
                    for x in range(count):
                        psum[x] = psum[x] + act[x] * weight
            for c in range(width):
                entries = acc_t[j + c, u0:u1]
                psum = sums[c]
                for x in range(count):
                    entries[x] = entries[x] + psum[x]


@njit(cache=True, inline="always")
def mac_group(x, i, t0, count, w, s0, s1, s2, s3):
    """``s<c>[u] = s<c>[u] + x[i + r, t0 + u] * w[r, c]`` for ``r = 0, 1, ..., 7`` in turn, for
    the four sums ``c`` and every ``u < count``: each product rounded, then added, as a PE
    does. The fast engines' inner loop (:func:`_ws_fold`; ``output_stationary._os_fold``):
    each value of ``x`` loaded is used four times and each sum loaded gets eight products
    before it is stored again, and the loop over ``u`` vectorizes."""
    x0 = x[i, t0 : t0 + count]
    x1 = x[i + 1, t0 : t0 + count]
    x2 = x[i + 2, t0 : t0 + count]
    x3 = x[i + 3, t0 : t0 + count]
    x4 = x[i + 4, t0 : t0 + count]
    x5 = x[i + 5, t0 : t0 + count]
    x6 = x[i + 6, t0 : t0 + count]
    x7 = x[i + 7, t0 : t0 + count]
    # the 32 weights as scalars, so that they stay in registers (or one load away)
    w00, w01, w02, w03 = w[0, 0], w[0, 1], w[0, 2], w[0, 3]
    w10, w11, w12, w13 = w[1, 0], w[1, 1], w[1, 2], w[1, 3]
    w20, w21, w22, w23 = w[2, 0], w[2, 1], w[2, 2], w[2, 3]
    w30, w31, w32, w33 = w[3, 0], w[3, 1], w[3, 2], w[3, 3]
    w40, w41, w42, w43 = w[4, 0], w[4, 1], w[4, 2], w[4, 3]
    w50, w51, w52, w53 = w[5, 0], w[5, 1], w[5, 2], w[5, 3]
    w60, w61, w62, w63 = w[6, 0], w[6, 1], w[6, 2], w[6, 3]
    w70, w71, w72, w73 = w[7, 0], w[7, 1], w[7, 2], w[7, 3]
    for u in range(count):
        v0, v1, v2, v3, v4, v5, v6, v7 = x0[u], x1[u], x2[u], x3[u], x4[u], x5[u], x6[u], x7[u]
        # the products of r = 0 first, then each r's in turn (for a PE column: top row first)
        p0, p1, p2, p3 = s0[u] + v0 * w00, s1[u] + v0 * w01, s2[u] + v0 * w02, s3[u] + v0 * w03
        p0, p1, p2, p3 = p0 + v1 * w10, p1 + v1 * w11, p2 + v1 * w12, p3 + v1 * w13
        p0, p1, p2, p3 = p0 + v2 * w20, p1 + v2 * w21, p2 + v2 * w22, p3 + v2 * w23
        p0, p1, p2, p3 = p0 + v3 * w30, p1 + v3 * w31, p2 + v3 * w32, p3 + v3 * w33
        p0, p1, p2, p3 = p0 + v4 * w40, p1 + v4 * w41, p2 + v4 * w42, p3 + v4 * w43
        p0, p1, p2, p3 = p0 + v5 * w50, p1 + v5 * w51, p2 + v5 * w52, p3 + v5 * w53
        p0, p1, p2, p3 = p0 + v6 * w60, p1 + v6 * w61, p2 + v6 * w62, p3 + v6 * w63
        p0, p1, p2, p3 = p0 + v7 * w70, p1 + v7 * w71, p2 + v7 * w72, p3 + v7 * w73
        s0[u], s1[u], s2[u], s3[u] = p0, p1, p2, p3


#: a tile runs in the plain layout of :func:`_ws_fold_short` when its stream is shorter than
#: this many times its row of PEs; measured on 32x32 with the rows run eight at a time: a
#: 784-row stream into 30 PEs a fifth faster plain, a 2000-row one into 8 PEs twice as fast
#: in the long kernel of the time (one PE at a time, skewed)
SHORT_RATIO = 32
#: float32 lanes of a 256-bit vector register, the width LLVM vectorizes for on x86-64: a
#: short fold's row of PEs is run this many columns at a time (see :func:`_ws_fold_short`)
LANES = 8
#: PE rows a short fold adds in one pass over its partial sums (see :func:`_ws_fold_short`)
GROUP = 8
#: partial sums of a short fold's block of output rows (8 KiB of fp32, in the first-level
#: cache while every row of PEs adds into them)
BLOCK_SUMS = 2048


@njit(cache=True)
def _ws_fold_short(a, b, m0, m1, k0, k1, n0, entries, psum, weights, acts, bf16):
    """One fold of a short stream (see ``SHORT_RATIO``): the same MACs, in a plain layout,
    accumulated into ``entries`` (the tile's ``(m1 - m0, n_used)`` accumulator entries).

    ``psum[t, j]`` is the partial sum of output row ``t`` of a block of output rows in
    column ``j``. Per block, PE rows ``i`` run in order, ``GROUP`` of them in one pass over
    the sums: ``psum + x0 * w0 + x1 * w1 + ...`` adds left to right, each product rounded
    on its own, so each sum gets the rows' products in the golden order, with a load and a
    store per ``GROUP`` MACs. The group's weights and activations are first copied into
    ``weights`` (``(GROUP, width)``) and ``acts`` (``(GROUP, block)``), in ``psum``'s type:
    ``a`` (``(m, k)``, any layout) and ``b`` may be float64 and are rounded as they are copied
    (then, with ``bf16``, to bfloat16), so no rounded copy of the operands is needed. A
    group's rows past ``k1`` are zeros: they add ``+0.0`` to a sum that is never ``-0.0``;
    a last group of four rows or fewer adds four (a trainer's k of 10 runs 12 rows, not 16).
    The inner loop runs along the row of PEs over ``width`` columns, a whole number of
    vectors (``LANES``): ``weights``' columns past the tile's are zeros, never read back.
    """
    n_used = entries.shape[1]
    block = psum.shape[0]
    length = m1 - m0
    for t0 in range(0, length, block):
        rows = min(block, length - t0)
        sums = psum[:rows]
        sums[:] = 0
        for g in range(k0, k1, GROUP):
            # a last group of at most four rows: a pass of four, of which only four are read
            span = GROUP // 2 if k1 - g <= GROUP // 2 else GROUP
            for r in range(span):
                into, feed = weights[r], acts[r]
                if g + r < k1:
                    source, column = b[g + r, n0 : n0 + n_used], a[m0 + t0 : m0 + t0 + rows, g + r]
                    for j in range(n_used):
                        into[j] = source[j]
                    for t in range(rows):
                        feed[t] = column[t]
                else:
                    into[:] = 0
                    feed[:] = 0
            if bf16:
                round_float32_to_bf16(weights[:span])
                round_float32_to_bf16(acts[:span])
            w0, w1, w2, w3 = weights[0], weights[1], weights[2], weights[3]
            x0, x1, x2, x3 = acts[0], acts[1], acts[2], acts[3]
            if span < GROUP:
                for t in range(rows):
                    p0, p1, p2, p3 = x0[t], x1[t], x2[t], x3[t]
                    row = sums[t]
                    for j in range(row.shape[0]):
                        row[j] = row[j] + p0 * w0[j] + p1 * w1[j] + p2 * w2[j] + p3 * w3[j]
                continue
            w4, w5, w6, w7 = weights[4], weights[5], weights[6], weights[7]
            x4, x5, x6, x7 = acts[4], acts[5], acts[6], acts[7]
            for t in range(rows):
                p0, p1, p2, p3 = x0[t], x1[t], x2[t], x3[t]
                p4, p5, p6, p7 = x4[t], x5[t], x6[t], x7[t]
                row = sums[t]
                for j in range(row.shape[0]):
                    row[j] = (row[j] + p0 * w0[j] + p1 * w1[j] + p2 * w2[j] + p3 * w3[j]
                              + p4 * w4[j] + p5 * w5[j] + p6 * w6[j] + p7 * w7[j])  # fmt: skip
        accumulate(entries[t0 : t0 + rows], sums[:, :n_used])


@njit(cache=True)
def _ws_tile_short(a, b, table, k_tiles, tile, out, active, bf16):
    """One output tile in the plain layout of :func:`_ws_fold_short` (``a`` is ``(m, k)``, any
    layout; ``a``, ``b`` rounded to ``out``'s type as they are read, then to bfloat16 with
    ``bf16``); the result written into ``out``, useful MACs counted in ``active``."""
    m0, m1, _, _, n0, n1 = table[tile * k_tiles]
    length, n_used = m1 - m0, n1 - n0
    entries = out[m0:m1, n0:n1]  # the accumulator entries of this tile: the result itself
    entries[:] = 0
    width = -(-n_used // LANES) * LANES
    block = max(1, min(length, BLOCK_SUMS // width))
    psum = np.empty((block, width), dtype=out.dtype)
    weights = np.zeros((GROUP, width), dtype=out.dtype)
    acts = np.zeros((GROUP, block), dtype=out.dtype)
    # useful MACs per PE row over the tile's folds; each of the row's n_used PEs made them
    # all (counted per row, not per PE and fold: a thirtieth of the work)
    row_macs = np.zeros(active.shape[0], dtype=np.int64)
    for f in range(tile * k_tiles, (tile + 1) * k_tiles):
        k0, k1 = table[f, 2], table[f, 3]
        _ws_fold_short(a, b, m0, m1, k0, k1, n0, entries, psum, weights, acts, bf16)
        row_macs[: k1 - k0] += length
    for i in range(active.shape[0]):
        for j in range(n_used):
            active[i, j] += row_macs[i]


@njit(cache=True)
def _short_tiles(table, k_tiles):
    """Whether every output tile of ``table`` runs in the plain layout (``SHORT_RATIO``)."""
    for f in range(0, len(table), k_tiles):
        if not _is_short(table[f, 1] - table[f, 0], table[f, 5] - table[f, 4]):
            return False
    return True


@njit(parallel=True, cache=True)
def _transpose(a, out):
    """``out[:] = a.T`` for C-contiguous 2-D arrays, in cache-sized blocks on all threads."""
    m, k = a.shape
    for block in prange((k + 63) // 64):
        for t0 in range(0, m, 64):
            for i in range(block * 64, min(block * 64 + 64, k)):
                for t in range(t0, min(t0 + 64, m)):
                    out[i, t] = a[t, i]


@njit(cache=True)
def _is_short(length, n_used):
    """Whether a tile runs in the plain layout of :func:`_ws_tile_short`: while its stream is
    shorter than ``SHORT_RATIO`` times its row of PEs. It then needs neither the long
    kernel's transposed accumulator nor its scratch."""
    return length < SHORT_RATIO * n_used


@njit(cache=True)
def _long_scratch(table, k_tiles, out):
    """Scratch for :func:`_ws_tile` in one thread: the transposed accumulator and the sums of
    a group of columns, for the largest of the table's output tiles that are not short."""
    size = 0
    for f in range(0, len(table), k_tiles):
        length, n_used = table[f, 1] - table[f, 0], table[f, 5] - table[f, 4]
        if not _is_short(length, n_used):
            size = max(size, n_used * _padded(length) + GROUP_COLS * STREAM_BLOCK)
    return np.empty(size, dtype=out.dtype)


@njit(cache=True)
def _padded(length):
    """The row length of a transposed accumulator of ``length`` entries: a cache line longer
    where that keeps its rows from lying a multiple of 4 KiB apart (they would evict each
    other from the first-level cache while a tile is stored)."""
    return length + 16 * (length % 1024 == 0)


@njit(cache=True)
def _ws_tile(a_t, b, table, k_tiles, tile, out, active, scratch):
    """One output tile (``k_tiles`` consecutive folds of ``table``): its folds in order,
    accumulated; the result written into ``out``, useful MACs counted in ``active``.
    ``scratch``: :func:`_long_scratch` of the table (reused from tile to tile: a fresh
    accumulator of megabytes costs a page fault every 4 KiB)."""
    m0, m1, _, _, n0, n1 = table[tile * k_tiles]
    length, n_used = m1 - m0, n1 - n0
    if _is_short(length, n_used):
        _ws_tile_short(a_t.T, b, table, k_tiles, tile, out, active, False)
        return
    entries = out[m0:m1, n0:n1]  # the accumulator entries of this tile: the result itself
    # the accumulator entries transposed, so that a fold adds its sums along a stream
    stride = _padded(length)
    acc_t = scratch[: n_used * stride].reshape((n_used, stride))
    sums = scratch[n_used * stride : n_used * stride + GROUP_COLS * STREAM_BLOCK]
    sums = sums.reshape((GROUP_COLS, STREAM_BLOCK))
    acc_t[:] = 0
    for f in range(tile * k_tiles, (tile + 1) * k_tiles):
        k0, k1 = table[f, 2], table[f, 3]
        _ws_fold(a_t, b, m0, m1, k0, k1, n0, n1, acc_t, sums)
        for i in range(k1 - k0):  # each used PE made one MAC per output row
            for j in range(n_used):
                active[i, j] += length
    _store_transposed(acc_t, entries)


@njit(cache=True)
def _store_transposed(x, out):
    """``out[:] = x[:, :rows].T`` for ``out`` of shape ``(rows, cols)``, through 16 x 16
    blocks: each cache line of ``x`` and of ``out`` is then read or written once. Read or
    written a row of ``out`` (a column of ``x``) at a time, lines a multiple of 4 KiB apart
    (the rows of a 1024-wide ``out``, say) evict each other from the first-level cache."""
    rows, cols = out.shape
    block = np.empty((16, 16), dtype=out.dtype)
    for t0 in range(0, rows, 16):
        t1 = min(t0 + 16, rows)
        for j0 in range(0, cols, 16):
            j1 = min(j0 + 16, cols)
            for j in range(j0, j1):
                for t in range(t0, t1):
                    block[t - t0, j - j0] = x[j, t]
            for t in range(t0, t1):
                out[t, j0:j1] = block[t - t0, : j1 - j0]


@njit(parallel=True, cache=True)
def _ws_kernel(a_t, b, table, k_tiles, first_tile, last_tile, out, active):
    """Run output tiles ``first_tile:last_tile`` spread over ``active.shape[0]`` threads."""
    threads = active.shape[0]
    for p in prange(threads):
        scratch = _long_scratch(table, k_tiles, out)
        for tile in range(first_tile + p, last_tile, threads):
            _ws_tile(a_t, b, table, k_tiles, tile, out, active[p], scratch)


@njit(cache=True)
def _ws_kernel_serial(a_t, b, table, k_tiles, first_tile, last_tile, out, active):
    """Run output tiles ``first_tile:last_tile`` in this thread (no thread is started)."""
    scratch = _long_scratch(table, k_tiles, out)
    for tile in range(first_tile, last_tile):
        _ws_tile(a_t, b, table, k_tiles, tile, out, active[0], scratch)


def transposed(x: np.ndarray, threads: int = 1) -> np.ndarray:
    """C-contiguous copy of ``x.T``; large ones in cache blocks on ``threads`` threads (numpy's
    copy of a large transpose is slow)."""
    if x.size < 1 << 16 or threads < 2:
        return np.ascontiguousarray(x.T)
    out = np.empty(x.shape[::-1], dtype=x.dtype)
    previous = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        _transpose(np.ascontiguousarray(x), out)
    finally:
        numba.set_num_threads(previous)
    return out


@functools.lru_cache(maxsize=1024)  # a trainer runs the same few shapes every batch
def _plan(m: int, k: int, n: int, config: ArrayConfig) -> tuple[dict, np.ndarray, int]:
    """A GEMM's closed-form cycles (refused past ``max_cycles``), fold table and k-tiles."""
    cycles = check_limits(m, k, n, config)
    table = fold_table(m, k, n, *tiles(m, config))
    return cycles, table, fold_counts(m, k, n, *tiles(m, config)).k_tiles


@njit(cache=True)
def _ws_run_fp32(a, b, table, k_tiles, out, active, bf16):
    """:func:`run_small_float`'s compiled part, one call: every output tile in this thread,
    A and B rounded to fp32 (then, with ``bf16``, to bfloat16) as the tiles read them
    (:func:`_ws_tile_short`), or, where a tile is long (:func:`_ws_fold`), into a transposed
    and a plain copy first. Returns the number of rounded operand values that are not
    finite; ``out`` is not the product then.

    Where the product is smaller than the operands (a forward pass: 10 x 30 results of
    10 x 784 and 784 x 30 operands), they are checked through it: a non-finite value in row
    ``i`` of A (column ``j`` of B) reaches every element of row ``i`` (column ``j``) of the
    product as an infinity or a NaN, so a finite product proves finite operands. Only a
    product that is not finite, which finite operands can also make by overflowing, has its
    operands counted.
    """
    m, k = a.shape
    n = b.shape[1]
    through_product = m * n < k * (m + n)
    if not through_product:
        bad = _count_rounded(a, bf16) + _count_rounded(b, bf16)
        if bad:
            return bad
    if _short_tiles(table, k_tiles):
        for tile in range(len(table) // k_tiles):
            _ws_tile_short(a, b, table, k_tiles, tile, out, active, bf16)
    else:
        a_t = np.empty((k, m), dtype=np.float32)
        b32 = np.empty((k, n), dtype=np.float32)
        # each copy walks its source in memory order: A's rows, or its columns when A is a
        # transposed view (a trainer's gradient GEMM)
        if a.strides[0] < a.strides[1]:
            cast_to_float32(a.T, a_t)
        else:
            cast_to_float32(a, a_t.T)
        cast_to_float32(b, b32)
        if bf16:  # float32 operands: one rounding, as prepare_operands' cast to bfloat16
            round_float32_to_bf16(a_t)
            round_float32_to_bf16(b32)
        scratch = _long_scratch(table, k_tiles, out)
        for tile in range(len(table) // k_tiles):
            _ws_tile(a_t, b32, table, k_tiles, tile, out, active, scratch)
    if not through_product or count_non_finite(out) == 0:
        return 0
    return _count_rounded(a, bf16) + _count_rounded(b, bf16)


@njit(cache=True)
def _count_rounded(x, bf16):
    """How many values of the 2-D ``x`` are not finite once rounded to float32 (then, with
    ``bf16``, to bfloat16), walking ``x`` in memory order (rows, or columns of a transposed
    view)."""
    if x.strides[0] < x.strides[1]:
        return _count_rounded_rows(x.T, bf16)
    return _count_rounded_rows(x, bf16)


@njit(cache=True)
def _count_rounded_rows(x, bf16):
    """:func:`_count_rounded` a block of rows of ``x`` at a time (about ``BLOCK_SUMS``
    values), through a rounded copy of the block."""
    rows, cols = x.shape
    block = max(1, min(rows, BLOCK_SUMS // max(1, cols)))
    copy = np.empty((block, cols), dtype=np.float32)
    bad = 0
    for i in range(0, rows, block):
        part = copy[: min(block, rows - i)]
        cast_to_float32(x[i : i + block], part)
        if bf16:
            round_float32_to_bf16(part)
        bad += count_non_finite(part)
    return bad


def run_small_float(
    a: object, b: object, config: ArrayConfig, via_float32: bool = False
) -> tuple[np.ndarray, Report] | None:
    """The fast engine's shortest path, for the GEMMs a trainer makes thousands of times: fp32
    on float operands, or bf16 on float32 operands (rounded once, so to the same bfloat16 as
    ``prepare_operands``' cast), below ``SERIAL_MACS`` (one thread), of a shape run before
    (its Report is known). One compiled call runs the serial kernel, its short tiles rounding
    the operands as they read them (:func:`_ws_run_fp32`): the values and Report of
    :func:`simulate_fast` on ``prepare_operands``' output, without the general path's steps.
    None when any of this does not hold, or an operand is not finite: the caller then takes
    the general path (which words the error). The run's checks (``api.check_run``) are the caller's.

    ``via_float32``: bf16 takes any float operands and rounds them to float32 first, then to
    bfloat16 (a training machine's values live in float32: the same numbers as converting
    the operands to float32 before the call).
    """
    plan = small_float_plan(a, b, config, via_float32)
    return None if plan is None else run_planned(a, b, plan)


@dataclass(frozen=True)
class SmallFloatPlan:
    """What :func:`run_planned` needs to run one GEMM shape of :func:`run_small_float` again:
    its fold table, k-tiles, known Report, bfloat16 flag and scratch counters (written by the
    kernel, never read: the Report has the counts)."""

    table: np.ndarray
    k_tiles: int
    report: Report
    bf16: bool
    counters: np.ndarray


def small_float_plan(
    a: object, b: object, config: ArrayConfig, via_float32: bool = False
) -> SmallFloatPlan | None:
    """The plan :func:`run_small_float` runs ``a @ b`` by, or None where it would return None
    before running (the operands' types and values aside: :func:`run_planned` checks those).
    A caller may keep it and run operands of the same type, dtypes and shapes by it again
    (``SystolicMatmul`` does, per shape)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray:
        return None
    if (
        a.ndim != 2
        or b.ndim != 2
        or a.dtype not in COMPILED_FLOATS
        or b.dtype not in COMPILED_FLOATS
    ):
        return None
    bf16 = config.dtype == "bf16"
    if not (config.dtype == "fp32" or bf16 and (via_float32 or a.dtype == b.dtype == np.float32)):
        return None
    (m, k), (k_b, n) = a.shape, b.shape
    if k != k_b or m * k * n == 0:
        return None
    # one thread below SERIAL_MACS whatever the settings (the shape's first run, on the
    # general path, has read and checked SYSTOLIC_THREADS)
    if m * k * n >= SERIAL_MACS:
        return None
    report = FAST_REPORTS.peek((m, k, n, config))
    if report is None:
        return None
    _, table, k_tiles = _plan(m, k, n, config)
    counters = scratch_counters(1, config.rows, config.cols)[0]
    return SmallFloatPlan(table, k_tiles, report, bf16, counters)


def run_planned(
    a: np.ndarray, b: np.ndarray, plan: SmallFloatPlan
) -> tuple[np.ndarray, Report] | None:
    """:func:`run_small_float` by a plan of :func:`small_float_plan` for operands of the
    type, dtypes and shapes it was made for: the values and Report, or None when an operand
    is not finite (the caller then takes the general path, which words the error)."""
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.float32)
    if _ws_run_fp32(a, b, plan.table, plan.k_tiles, out, plan.counters, plan.bf16):
        return None
    return out, plan.report


def simulate_fast(
    a: np.ndarray,
    b: np.ndarray,
    config: ArrayConfig,
    progress: Callable[[int], None] | None = None,
    a_t: np.ndarray | None = None,
) -> tuple[np.ndarray, Report]:
    """Run ``a @ b`` on the fast engine: golden values and counts, at numba speed.

    Parameters
    ----------
    a, b : numpy.ndarray
        Operands already checked and rounded (``systolic.numerics.prepare_operands``).
    config : ArrayConfig
    progress : callable, optional
        Called with the number of folds just finished, a few dozen times over a run.
    a_t : numpy.ndarray, optional
        ``a.T``, C-contiguous, if the caller has it: the kernel streams A from this layout.
        ``a`` may then be given as ``a_t.T``.

    Returns
    -------
    result : numpy.ndarray, shape (m, n)
    report : Report
        Without the comparison against NumPy.
    """
    m, k = a.shape
    n = b.shape[1]
    cycles, table, k_tiles = _plan(m, k, n, config)
    rows, cols = config.rows, config.cols
    threads = thread_count(m * k * n, len(table) // k_tiles, config.threads)
    a_t = transposed(a, threads) if a_t is None else a_t
    out = np.empty((m, n), dtype=a.dtype)
    known = FAST_REPORTS.peek((m, k, n, config))
    pe_active = run_output_tiles(
        (_ws_kernel, _ws_kernel_serial), a_t, b, table, k_tiles, out, (rows, cols), progress,
        threads, count=known is None,
    )  # fmt: skip
    report = known or FAST_REPORTS.get(
        (m, k, n, config),
        lambda: Report(
            rows=rows,
            cols=cols,
            **cycles,
            macs=int(pe_active.sum()),
            folds=len(table),
            **traffic_bytes(m, k, n, config),
            pe_active_cycles=pe_active,
        ),
    )
    return out, report
