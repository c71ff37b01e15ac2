"""The one record of what a simulation cost: cycles, MACs, utilization, bytes, error."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

BREAKDOWN = (
    "weight_load_cycles",
    "compute_cycles",
    "fill_drain_cycles",
    "weight_stall_cycles",
    "input_stall_cycles",
    "raw_stall_cycles",
    "non_matrix_cycles",
)
_COUNTS = (
    "total_cycles",
    *BREAKDOWN,
    "macs",
    "folds",
    "weight_read_bytes",
    "act_read_bytes",
    "acc_write_bytes",
    "acc_read_bytes",
    "dram_read_bytes",
    "ub_write_bytes",
    "lowered_act_bytes",
    "ifmap_bytes",
    "operand_register_writes",
    "psum_register_writes",
    "weight_register_writes",
    "host_read_bytes",
)


@dataclass(frozen=True)
class Report:
    """Cost of one or more GEMMs on a ``rows x cols`` array.

    Cycles are clock cycles of the array. Cycle 0 is the first cycle in which anything happens
    (the first weight shift); the last counted cycle is the one in which the last result leaves
    the south edge of the array into the accumulators (for a layer or program run by
    ``systolic.tpu.TPU``, the one in which the activation unit writes the last output to the
    unified buffer, if later). ``total_cycles`` is their number, and the
    breakdown below partitions it, each cycle counted once, by what happens at the array's
    inputs in that cycle:

    - ``compute_cycles``: a row of activations starts into the array (its first element enters
      row 0): one per streamed row of every fold, ``m`` per fold in the weight-stationary
      dataflow.
    - ``weight_load_cycles``: no row starts, and a weight tile is shifting in (into the
      top-left shift chain: with the serial and double-buffered loads every chain shifts at
      once; with the segmented load, that is the chain of the first ``segment_rows`` rows
      of column 0).
    - ``fill_drain_cycles``: none of the others: no row starts and no tile is shifting while
      the array waits for the switch to a new tile to reach its last PE, or for partial sums
      to drain out of its south edge.
    - ``weight_stall_cycles``: no row starts, no tile is shifting, and the next tile could
      shift now but its weights have not yet arrived from memory (``systolic.tpu``; always 0
      for the bare array, which is fed as fast as it asks).
    - ``raw_stall_cycles``: none of the above, and the next fold could stream but its
      activations are the results of an earlier layer that the activation unit has not yet
      written to the unified buffer (a read-after-write dependency: ``systolic.tpu.TPU.run``
      and ``forward``; 0 for a single GEMM).
    - ``input_stall_cycles``: none of the above, and the next fold could stream but its
      activations have not yet arrived from the host (``systolic.tpu``; 0 for the bare array).
    - ``non_matrix_cycles``: after the last result has left the array, the activation unit
      (and the vector work of a program: gate products, pooling) finishes the last layer's
      outputs; the array has nothing left to do (``systolic.tpu.TPU.run`` and ``forward``; 0
      for a single GEMM).

    In the TPU paper's Table 3 (Jouppi et al., ISCA 2017) terms: "array active" cycles are
    ``compute_cycles`` (split into useful and unused MACs by ``macs`` and
    ``unused_pe_slots``), "weight shift" is ``weight_load_cycles``, "weight stall" is
    ``weight_stall_cycles``, and the paper's "non-matrix" cycles (the array idle) are the sum
    of ``raw_stall_cycles``, ``input_stall_cycles``, ``non_matrix_cycles`` and
    ``fill_drain_cycles``; its rows 7 and 8 (RAW stalls, input data stalls) are
    ``raw_stall_cycles`` and ``input_stall_cycles`` (``systolic.tpu.table3``).

    Weight-stationary closed forms (``F`` folds, fold ``f`` streams ``T_f`` rows; ``r`` rows,
    ``c`` cols; derived from and tested against the golden model):

    - serial: each fold costs ``2r + c + T_f - 2``: ``r`` weight-load, ``T_f`` compute and
      ``r + c - 2`` fill/drain cycles; folds do not overlap.
    - double_buffered: the first tile shifts in (``r`` cycles) and fold 0 streams. The tile of
      fold ``f + 1`` starts shifting into the shadow registers in the cycle the last PE switches
      to fold ``f``'s tile, ``r + c - 2`` cycles after fold ``f`` starts, and takes ``r``
      cycles; fold ``f + 1`` then streams once fold ``f`` has, so it starts ``max(T_f, 2r + c
      - 2)`` cycles after fold ``f``. After the last fold the array drains for ``r + c - 2``
      cycles. With ``g_f = max(0, 2r + c - 2 - T_f)`` the idle gap after fold ``f``::

          total      = r + sum(T_f) + sum_{f<F-1} g_f + r + c - 2
          weight_load = r + sum_{f<F-1} min(r, g_f)
          compute     = sum(T_f)
          fill_drain  = r + c - 2 + sum_{f<F-1} max(0, r + c - 2 - T_f)

      so for ``T_f >= 2r + c - 2`` only the first tile's shift is exposed.
    - segmented (chains of ``s = min(segment_rows, r)`` rows): as double_buffered, with each
      chain (segment ``g``, column ``j``) starting to shift in the cycle its own bottom PE
      switches, so the top-left one starts ``s - 1`` cycles after fold ``f`` and takes ``s``
      cycles: fold ``f + 1`` starts ``max(T_f, 2s - 1)`` cycles after fold ``f``. With
      ``g_f = max(0, 2s - 1 - T_f)``::

          total       = s + sum(T_f) + sum_{f<F-1} g_f + r + c - 2
          weight_load = s + sum_{f<F-1} min(s, g_f)
          compute     = sum(T_f)
          fill_drain  = r + c - 2 + sum_{f<F-1} max(0, s - 1 - T_f)

    Fields
    ------
    rows, cols : int
        Array shape.
    total_cycles : int
        Clock cycles, as above. Equals the sum of the ``*_cycles`` breakdown fields.
    macs : int
        Useful multiply-accumulates: a real activation times a real weight (``m * k * n`` for
        one GEMM). Products with padding are not counted.
    folds : int
        Tiles of the GEMM mapped onto the array in turn (``ceil(k/rows) * ceil(n/cols)`` per
        chunk of at most ``accumulator_rows`` rows of ``m``).
    weight_read_bytes : int
        Bytes of real weights shifted into the array (padding is generated at the edge, not read).
    act_read_bytes : int
        Bytes of real activations fed into the west edge.
    acc_write_bytes : int
        Bytes of real partial sums written from the south edge into the accumulators (one per
        output element per k-fold).
    acc_read_bytes : int
        Bytes of finished results read out of the accumulators (one per output element).
    dram_read_bytes : int
        Bytes of weights read from the weight memory (DRAM) into the weight FIFO
        (``systolic.tpu``; 0 for the bare array).
    ub_write_bytes : int
        Bytes of activated results written back to the unified buffer by the activation unit
        (``systolic.tpu.TPU.forward``; 0 otherwise). The unified buffer's reads are the
        activations fed to the array, ``act_read_bytes``.
    lowered_act_bytes : int
        Convolutions (``systolic.conv``): bytes of the im2col matrices the lowering builds in
        the unified buffer, every receptive field in full, so overlapping windows repeat input
        pixels (``groups * M * K`` operands). 0 for a plain GEMM.
    ifmap_bytes : int
        Convolutions: bytes of the input feature map itself (``N * C_in * H * W`` operands), what
        the same activations take without the im2col duplication. 0 for a plain GEMM.
    operand_register_writes : int
        Writes of a real streaming operand into a PE's register (its valid bit set), one per
        PE it passes: weight- and input-stationary, every real element of the streamed
        operand enters its row and moves east through all ``cols`` PEs (``m * k * n_tiles *
        cols`` in WS; in IS the same with ``m`` and ``n`` swapped); output-stationary, every
        real element of A passes ``cols`` PEs and every one of B ``rows`` PEs, once per fold.
    psum_register_writes : int
        Writes of a valid partial sum into a PE's sum register: WS and IS, every partial sum
        of a real column moves south through all ``rows`` PEs, once per k-fold (``m * n *
        k_tiles * rows`` in WS); OS, every useful MAC writes its PE's sum (``macs``) and
        every real sum is written once more into each PE it passes while its column drains
        (a sum in PE row ``i`` passes ``rows - 1 - i``).
    weight_register_writes : int
        Writes of a real weight into a shadow register while a tile shifts in (WS; A's tile in
        IS; 0 in OS, which has no stationary tile to load): the tile enters bottom row first
        at the top of the array and shifts down, so a weight bound for PE row ``i`` is written
        ``i + 1`` times (segmented load: ``d + 1`` times, ``d`` rows below the top of its
        chain). Padding is generated at the edge and not counted.
    host_read_bytes : int
        Bytes of a program's first inputs read from the host (``systolic.tpu``; 0 otherwise).
    max_abs_error, max_rel_error : float or None
        Largest ``|c - ref|`` and ``|c - ref| / |ref|`` over the result, where ``ref`` is the
        float64 product of the operands after rounding to the array's format; an element with
        ``ref == 0`` has relative error 0 if ``c == 0`` and inf otherwise. ``None`` when not
        compared.
    exact : bool or None
        Whether every element equals ``ref``. ``None`` when not compared.
    overflow_count : int or None
        Integer formats, when compared: result elements whose int32 sum wrapped around (they
        differ from ``ref``). ``None`` for float formats or when not compared.
    pe_active_cycles : numpy.ndarray or None, shape (rows, cols)
        Useful MACs done by each PE (one per cycle at most). Sums to ``macs``. Read-only in
        the fast engine's Reports, which are shared by every run of one shape and config
        (:class:`ReportCache`).

    Derived (properties): ``pe_count = rows * cols``; ``idle_pe_slots = pe_count *
    total_cycles - macs``, the PE-cycles (slots) without a useful MAC, the active ones being
    ``macs``; ``utilization = macs / (pe_count * total_cycles)``; ``mapping_efficiency =
    macs / (pe_count * compute_cycles)``, the share of PEs holding real weights while
    activations stream; ``unused_pe_slots = pe_count * compute_cycles - macs``.

    Reports of the same array add with ``+`` (and ``sum``): counts add, errors take the
    maximum, ``exact`` is true when all are.
    """

    rows: int
    cols: int
    total_cycles: int
    weight_load_cycles: int
    compute_cycles: int
    fill_drain_cycles: int
    macs: int
    folds: int
    weight_read_bytes: int = 0
    act_read_bytes: int = 0
    acc_write_bytes: int = 0
    acc_read_bytes: int = 0
    weight_stall_cycles: int = 0
    input_stall_cycles: int = 0
    raw_stall_cycles: int = 0
    non_matrix_cycles: int = 0
    dram_read_bytes: int = 0
    ub_write_bytes: int = 0
    lowered_act_bytes: int = 0
    ifmap_bytes: int = 0
    operand_register_writes: int = 0
    psum_register_writes: int = 0
    weight_register_writes: int = 0
    host_read_bytes: int = 0
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    exact: bool | None = None
    overflow_count: int | None = None
    pe_active_cycles: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        parts = sum(getattr(self, name) for name in BREAKDOWN)
        if parts != self.total_cycles:
            raise ValueError(
                f"cycle breakdown sums to {parts}, not total_cycles={self.total_cycles}"
            )

    @property
    def pe_count(self) -> int:
        """Number of processing elements."""
        return self.rows * self.cols

    @property
    def idle_pe_slots(self) -> int:
        """PE-cycles of the run without a useful MAC: ``pe_count * total_cycles - macs``."""
        return self.pe_count * self.total_cycles - self.macs

    @property
    def utilization(self) -> float:
        """Useful MACs per PE per cycle, over the whole run (0..1)."""
        return self.macs / (self.pe_count * self.total_cycles) if self.total_cycles else 0.0

    @property
    def unused_pe_slots(self) -> int:
        """PE-cycles of the compute cycles that did no useful MAC (padding of edge tiles, and
        PEs not yet or no longer reached by the skewed stream): ``pe_count * compute_cycles -
        macs``. With ``macs`` it splits the array's active time as the TPU paper does."""
        return self.pe_count * self.compute_cycles - self.macs

    @property
    def mapping_efficiency(self) -> float:
        """Useful MACs per PE per compute cycle (0..1): what padding of edge tiles costs."""
        slots = self.pe_count * self.compute_cycles
        return self.macs / slots if slots else 0.0

    def with_comparison(self, c: np.ndarray, reference: np.ndarray) -> Report:
        """Return a copy with the error fields filled from ``c`` against ``reference``.

        For an integer ``c`` (int8 format) the sums are exact unless they wrapped around, so
        ``overflow_count`` is the number of elements that differ from the reference.
        """
        overflows = None
        if np.asarray(c).dtype.kind in "iu":
            overflows = int(np.count_nonzero(np.asarray(c, dtype=np.float64) != reference))
        c = np.asarray(c, dtype=np.float64)
        diff = np.abs(c - reference)
        magnitude = np.abs(reference)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(magnitude > 0, diff / magnitude, np.where(diff > 0, np.inf, 0.0))
        return dataclasses.replace(
            self,
            max_abs_error=float(diff.max()),
            max_rel_error=float(rel.max()),
            exact=bool(np.array_equal(c, reference)),
            overflow_count=overflows,
        )

    def __add__(self, other: Report) -> Report:
        if not isinstance(other, Report):
            return NotImplemented
        if (self.rows, self.cols) != (other.rows, other.cols):
            raise ValueError(
                f"cannot add reports of a {self.rows}x{self.cols} and a "
                f"{other.rows}x{other.cols} array"
            )
        counts = {name: getattr(self, name) + getattr(other, name) for name in _COUNTS}
        errors = {}
        compared = self.exact is not None and other.exact is not None
        for name in ("max_abs_error", "max_rel_error"):
            errors[name] = max(getattr(self, name), getattr(other, name)) if compared else None
        errors["exact"] = (self.exact and other.exact) if compared else None
        both = self.overflow_count is not None and other.overflow_count is not None
        errors["overflow_count"] = self.overflow_count + other.overflow_count if both else None
        active = None
        if self.pe_active_cycles is not None and other.pe_active_cycles is not None:
            active = self.pe_active_cycles + other.pe_active_cycles
        return Report(rows=self.rows, cols=self.cols, **counts, **errors, pe_active_cycles=active)

    def repeated(self, count: int) -> Report:
        """The Report of ``count`` runs like this one: counts times ``count``, errors as they
        are (``sum([self] * count)``, without building the intermediate Reports)."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a positive integer, got {count!r}")
        counts = {name: getattr(self, name) * count for name in _COUNTS}
        overflows = None if self.overflow_count is None else self.overflow_count * count
        active = None if self.pe_active_cycles is None else self.pe_active_cycles * count
        return dataclasses.replace(
            self, **counts, overflow_count=overflows, pe_active_cycles=active
        )

    def __radd__(self, other: object) -> Report:
        # sum() starts from 0
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    def to_dict(self) -> dict:
        """Plain JSON-ready dict: every field but the per-PE array, plus the derived ratios."""
        out = {name: getattr(self, name) for name in ("rows", "cols", "pe_count", *_COUNTS)}
        out["utilization"] = self.utilization
        out["mapping_efficiency"] = self.mapping_efficiency
        out["unused_pe_slots"] = self.unused_pe_slots
        out["idle_pe_slots"] = self.idle_pe_slots
        for name in ("max_abs_error", "max_rel_error", "exact", "overflow_count"):
            out[name] = getattr(self, name)
        return out

    def table(self) -> str:
        """Readable multi-line table of the report, with units."""
        total = self.total_cycles or 1
        lines = [
            f"array                {self.rows} x {self.cols} PEs",
            f"total cycles         {self.total_cycles:>14,}",
        ]
        for name in BREAKDOWN:
            value = getattr(self, name)
            label = name.removesuffix("_cycles").replace("_", " ")
            lines.append(f"  {label:<18} {value:>14,}  ({100 * value / total:5.1f} %)")
        lines += [
            f"folds                {self.folds:>14,}",
            f"MACs                 {self.macs:>14,}",
            f"utilization          {100 * self.utilization:>13.2f} %",
            f"mapping efficiency   {100 * self.mapping_efficiency:>13.2f} %",
            f"weights read         {self.weight_read_bytes:>14,} B",
            f"activations read     {self.act_read_bytes:>14,} B",
            f"accumulator writes   {self.acc_write_bytes:>14,} B",
            f"accumulator reads    {self.acc_read_bytes:>14,} B",
        ]
        if self.dram_read_bytes:
            lines.append(f"weights from DRAM    {self.dram_read_bytes:>14,} B")
        if self.exact is not None:
            verdict = "exact" if self.exact else "not exact"
            lines.append(
                f"vs NumPy             {verdict}: max abs error {self.max_abs_error:.3g}, "
                f"max rel error {self.max_rel_error:.3g}"
            )
        return "\n".join(lines)


class ReportCache:
    """Reports of fast-engine runs, by GEMM shape and config.

    Without a comparison, a run's Report is a function of ``(m, k, n)`` and the config alone,
    its per-PE counts included: the kernels are deterministic, and the tests hold their counts
    equal to the golden model's. A trainer makes thousands of calls of a few shapes, and
    building a Report cost more than simulating its small GEMMs, so each is built once. Cached
    Reports are shared: their ``pe_active_cycles`` is read-only.
    """

    def __init__(self, size: int = 1024):
        self.size = size
        self._reports: dict[tuple, Report] = {}

    def peek(self, key: tuple) -> Report | None:
        """The Report for ``key`` if it was built before, else None."""
        return self._reports.get(key)

    def get(self, key: tuple, build) -> Report:
        """The Report for ``key``, built by ``build()`` the first time."""
        report = self._reports.get(key)
        if report is None:
            report = build()
            if report.pe_active_cycles is not None:
                report.pe_active_cycles.flags.writeable = False
            if len(self._reports) >= self.size:
                self._reports.clear()
            self._reports[key] = report
        return report


#: the fast engines' Reports (``systolic.dataflows``)
FAST_REPORTS = ReportCache()
