"""A TPU-like machine: the weight-stationary array fed through its memories.

::

     DRAM (weights) --B/cycle--> weight FIFO --> [ array, double-buffered ] --> accumulators
     unified buffer (activations, results) ---------^                              |
                 ^------------------------------------------------------------------+

``TPU.matmul(a, b)`` computes the values on the array's fast engine (the same bits as the bare
array) and times the run with the array's own fold timeline, where a tile may start shifting
only once its weights have crossed DRAM and the FIFO (``systolic.memory.WeightPath``). Cycles
the array waits for them are ``weight_stall_cycles`` in the Report. Activations and results
must fit the unified buffer together; a GEMM that does not is refused with an error (split the
batch). The accumulators hold ``accumulator_rows`` rows: more rows of A are run in chunks, and
the weights are fetched again for each chunk.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from systolic.api import check_run, gemm_shape
from systolic.config import ArrayConfig, WeightLoad, set_positive_ints
from systolic.dataflows import weight_stationary as ws
from systolic.memory import WeightPath
from systolic.numerics import FORMATS, prepare_operands
from systolic.report import BREAKDOWN, Report
from systolic.schedule import fold_table

KIB, MIB = 1024, 1024 * 1024

#: the TPU v1's activation pipeline latency in cycles (accumulator read to unified-buffer
#: write, and the synchronisation before the next layer may read): not published; an
#: assumption of a few tens of pipeline stages. The six applications' figures hardly depend on
#: it (README, "The TPU v1's six applications").
ACTIVATION_LATENCY_ASSUMED = 32


@dataclass(frozen=True)
class MemoryConfig:
    """Sizes and bandwidths of the memories around the array.

    Parameters
    ----------
    unified_buffer_bytes : int
        Holds a GEMM's activations and results together.
    accumulator_rows : int
        Accumulator entries, each a row of ``cols`` partial sums.
    weight_fifo_bytes : int
        Weight FIFO capacity; it holds ``weight_fifo_bytes // tile_bytes`` whole tiles.
    dram_bytes_per_cycle : float
        Weight-memory bandwidth in bytes per clock cycle, > 0 (``math.inf``: unlimited).
    weight_memory_bytes : int
        Weight memory (DRAM) capacity: a GEMM's weights must fit.
    host_bytes_per_cycle : float
        Host interface bandwidth, > 0 (``math.inf``: unlimited): a GEMM's activations arrive
        in the unified buffer through it, row after row, unless they are already there.
    whole_tile_reads : bool
        Every fold reads a whole ``rows x cols`` tile from DRAM, even when the GEMM's edge
        leaves part of it empty (the weight memory is read in fixed tiles, as the TPU paper's
        own arithmetic in its section 7 implies); otherwise only the tile's real weights.
    """

    unified_buffer_bytes: int = 24 * MIB
    accumulator_rows: int = 4096
    weight_fifo_bytes: int = 4 * 64 * KIB
    dram_bytes_per_cycle: float = 34e9 / 700e6
    weight_memory_bytes: int = 8 * 1024 * MIB
    host_bytes_per_cycle: float = math.inf
    whole_tile_reads: bool = False

    def __post_init__(self):
        if not isinstance(self.whole_tile_reads, bool):
            raise ValueError(
                f"whole_tile_reads must be True or False, got {self.whole_tile_reads!r}"
            )
        set_positive_ints(
            self, "unified_buffer_bytes", "accumulator_rows", "weight_fifo_bytes",
            "weight_memory_bytes",
        )  # fmt: skip
        for name in ("dram_bytes_per_cycle", "host_bytes_per_cycle"):
            bandwidth = getattr(self, name)
            if isinstance(bandwidth, bool) or not isinstance(bandwidth, int | float):
                raise ValueError(f"{name} must be a number > 0, got {bandwidth!r}")
            if not bandwidth > 0:
                raise ValueError(f"{name} must be > 0, got {bandwidth!r}")


@dataclass(frozen=True)
class TPUConfig:
    """The machine: a ``rows x cols`` double-buffered weight-stationary array and its memories.

    Parameters
    ----------
    rows, cols : int
    clock_mhz : float
        Clock, for times and operations per second.
    memory : MemoryConfig
    dtype : str
        Number format (``systolic.numerics.FORMATS``); tile and DRAM bytes follow it.
    activation_lanes : int or None
        Values the activation unit (bias, nonlinearity, the vector ops of
        :class:`VectorOp`, pooling) handles per cycle; ``None``: ``cols``, one accumulator
        row per cycle, as fast as the array delivers results.
    activation_latency_cycles : int
        Cycles from the activation unit's last input of an op to its last output being
        readable in the unified buffer (its pipeline, and the synchronisation before the next
        layer may read), >= 0.
    """

    rows: int = 16
    cols: int = 16
    clock_mhz: float = 700.0
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    dtype: str = "fp32"
    activation_lanes: int | None = None
    activation_latency_cycles: int = 0

    def __post_init__(self):
        set_positive_ints(self, "rows", "cols")
        if self.activation_lanes is not None:
            set_positive_ints(self, "activation_lanes")
        latency = self.activation_latency_cycles
        if isinstance(latency, bool) or not isinstance(latency, int) or latency < 0:
            raise ValueError(f"activation_latency_cycles must be an integer >= 0, got {latency!r}")
        if not self.clock_mhz > 0:
            raise ValueError(f"clock_mhz must be > 0, got {self.clock_mhz!r}")
        tile = self.tile_bytes
        if tile > self.memory.weight_fifo_bytes:
            raise ValueError(
                f"a {self.rows}x{self.cols} {self.dtype} weight tile of {tile:,} bytes does not "
                f"fit the weight FIFO of {self.memory.weight_fifo_bytes:,} bytes"
            )

    @property
    def array(self) -> ArrayConfig:
        """The array as the engines see it (double-buffered, accumulator-sized chunks)."""
        return ArrayConfig(
            self.rows, self.cols, weight_load=WeightLoad.DOUBLE_BUFFERED,
            accumulator_rows=self.memory.accumulator_rows, dtype=self.dtype,
        )  # fmt: skip

    @property
    def lanes(self) -> int:
        """Values the activation unit handles per cycle (``activation_lanes`` or ``cols``)."""
        return self.cols if self.activation_lanes is None else self.activation_lanes

    @property
    def tile_bytes(self) -> int:
        """Bytes of one full weight tile (``rows * cols`` operands)."""
        return self.rows * self.cols * FORMATS[self.dtype].operand_bytes

    @property
    def fifo_tiles(self) -> int:
        """Whole tiles the weight FIFO holds."""
        return self.memory.weight_fifo_bytes // self.tile_bytes

    @property
    def peak_ops_per_s(self) -> float:
        """Two operations (multiply, add) per PE per cycle."""
        return 2 * self.rows * self.cols * self.clock_mhz * 1e6

    @classmethod
    def tpu_v1(cls, dtype: str = "int8") -> TPUConfig:
        """Google's TPU v1 (Jouppi et al., "In-Datacenter Performance Analysis of a Tensor
        Processing Unit", ISCA 2017): a 256x256 array of 8-bit MACs at 700 MHz (92 TOPS
        peak), a 24 MiB unified buffer, 4 MiB of accumulators (4096 entries of 256 x 32 bit),
        a weight FIFO four 64 KiB tiles deep, 8 GiB of DDR3 weight memory at 34 GB/s, and a
        PCIe Gen3 x16 host interface (14 GB/s in the paper's figures). The weight memory is
        read in whole 64 KiB tiles, edge tiles included (``MemoryConfig.whole_tile_reads``).

        By default it computes as the TPU does: int8 operands (a 64 KiB tile), int32
        accumulators. Another ``dtype`` keeps the machine but changes the operands: in fp32 a
        tile is four times larger (256 KiB), so the FIFO holds one tile and the weight traffic
        is four times the TPU's, and runs are more memory-bound than on the real chip.

        The activation unit takes one accumulator row of 256 values per cycle, the rate at
        which the matrix unit delivers partial sums (the paper's section 2). Its pipeline
        latency is not published: :data:`ACTIVATION_LATENCY_ASSUMED` cycles are assumed.
        """
        memory = MemoryConfig(
            unified_buffer_bytes=24 * MIB,
            accumulator_rows=4096,
            weight_fifo_bytes=4 * 64 * KIB,
            dram_bytes_per_cycle=34e9 / 700e6,
            weight_memory_bytes=8 * 1024 * MIB,
            host_bytes_per_cycle=14e9 / 700e6,
            whole_tile_reads=True,
        )
        return cls(
            rows=256, cols=256, clock_mhz=700.0, memory=memory, dtype=dtype,
            activation_lanes=256, activation_latency_cycles=ACTIVATION_LATENCY_ASSUMED,
        )  # fmt: skip

    @classmethod
    def teaching(cls) -> TPUConfig:
        """A 16x16 machine for notebooks: small enough to step through, same proportions."""
        memory = MemoryConfig(
            unified_buffer_bytes=1 * MIB,
            accumulator_rows=256,
            weight_fifo_bytes=4 * 16 * 16 * 4,
            dram_bytes_per_cycle=8.0,
        )
        return cls(rows=16, cols=16, clock_mhz=700.0, memory=memory)


PRESETS = {"tpu_v1": TPUConfig.tpu_v1, "teaching": TPUConfig.teaching}


@dataclass(frozen=True)
class MatrixOp:
    """One layer's matrix multiplies in a program for :meth:`TPU.run`: ``count`` GEMMs
    ``(m, k) @ (k, n)`` that read the same inputs, each with its own weights from DRAM.

    The activation unit then turns every row of results in the accumulators into the layer's
    outputs in the unified buffer (bias, nonlinearity), ``ceil(n / activation_lanes)`` cycles
    per row of ``m`` per GEMM. A convolution is the GEMM of its im2col lowering; its
    ``input_values`` are those of its input map, which the unified buffer holds and the data
    setup lowers on the way into the array (default ``m * k``: a fully connected layer's).
    With ``same_inputs`` the op reads the inputs of the op before it, not its outputs (one of
    an LSTM's gates after another), so it does not wait for them.
    """

    m: int
    k: int
    n: int
    count: int = 1
    name: str = ""
    input_values: int | None = None
    same_inputs: bool = False

    def __post_init__(self):
        set_positive_ints(self, "m", "k", "n", "count")
        if not isinstance(self.same_inputs, bool):
            raise ValueError(f"same_inputs must be True or False, got {self.same_inputs!r}")
        if self.input_values is not None:
            set_positive_ints(self, "input_values")

    @property
    def inputs(self) -> int:
        """Values of the op's inputs in the unified buffer (and from the host, if first)."""
        return self.m * self.k if self.input_values is None else self.input_values

    @classmethod
    def from_conv(cls, shape, name: str = "") -> MatrixOp:
        """The op of a convolution (a ``systolic.conv.ConvShape``): one GEMM of its im2col
        lowering per group, reading the input map itself (not its lowering)."""
        m, k, n = shape.gemm
        values = shape.batch * shape.c_in * shape.height * shape.width
        return cls(m, k, n, count=shape.groups, name=name, input_values=values)


@dataclass(frozen=True)
class VectorOp:
    """Elementwise work on the activation unit in a program for :meth:`TPU.run`: ``passes``
    passes over ``elements`` values of the previous op's outputs, ``activation_lanes`` values
    per cycle, written back to the unified buffer (an LSTM's gate products and
    nonlinearities; a pooling window of ``h x w`` reads each output's inputs in ``h * w``
    passes)."""

    elements: int
    passes: int = 1
    name: str = ""

    def __post_init__(self):
        set_positive_ints(self, "elements", "passes")


#: the categories of ``partition``, in the order a cycle is given to the first that applies
_CATEGORIES = (
    "compute_cycles",
    "weight_load_cycles",
    "weight_stall_cycles",
    "raw_stall_cycles",
    "input_stall_cycles",
    "non_matrix_cycles",
)


def partition(
    total: int, intervals: dict[str, list[tuple[int, int]]], cuts: Sequence[int] = ()
) -> list[dict[str, int]]:
    """Give every cycle of ``[0, total)`` to one category, as ``Report`` defines them.

    ``intervals`` maps each of ``_CATEGORIES`` to half-open cycle intervals; a cycle covered by
    several goes to the first in that order, one covered by none to ``fill_drain_cycles``.
    ``cuts`` split the run into windows ``[0, cuts[0]), [cuts[0], cuts[1]), ...,
    [cuts[-1], total)``; one breakdown per window, each with its ``total_cycles``. Works on
    the intervals' end points, never on single cycles, so a run of 2^32 cycles costs no more
    than a short one.
    """
    points = sorted(
        {0, total, *cuts}
        | {min(max(x, 0), total) for spans in intervals.values() for span in spans for x in span}
    )
    index = {point: i for i, point in enumerate(points)}
    cover = np.zeros((len(_CATEGORIES), len(points)), dtype=np.int64)
    for c, name in enumerate(_CATEGORIES):
        for lo, hi in intervals.get(name, ()):
            lo, hi = min(max(lo, 0), total), min(max(hi, 0), total)
            if hi > lo:
                cover[c, index[lo]] += 1
                cover[c, index[hi]] -= 1
    covered = np.cumsum(cover, axis=1)[:, :-1] > 0  # per segment [points[i], points[i + 1])
    # the first category covering a segment, or fill_drain (index len) where none does
    label = np.where(covered.any(axis=0), covered.argmax(axis=0), len(_CATEGORIES))
    window = np.searchsorted(np.asarray(cuts, dtype=np.int64), points[:-1], side="right")
    sums = np.zeros((len(cuts) + 1, len(_CATEGORIES) + 1), dtype=np.int64)
    np.add.at(sums, (window, label), np.diff(points))
    names = (*_CATEGORIES, "fill_drain_cycles")
    return [
        {"total_cycles": int(row.sum()), **dict(zip(names, row.tolist(), strict=True))}
        for row in sums
    ]


@dataclass
class _Schedule:
    """The timing of a program on the machine: per matrix op, its window's cycles and the
    weight bytes it read from DRAM; and the bytes of the first op's inputs from the host."""

    windows: list[dict[str, int]]
    dram_read_bytes: list[int]
    host_read_bytes: int


def _schedule(
    config: TPUConfig, ops: Sequence[MatrixOp | VectorOp], inputs_in_buffer: bool, activate: bool
) -> _Schedule:
    """Time ``ops``, each reading the previous one's results (or, ``same_inputs``, its
    inputs), on one timeline.

    All matrix ops' weight tiles form one stream through DRAM and the weight FIFO, so the
    FIFO prefetches the next layer's tiles while the current layer computes or waits (up to its
    depth). The first fold of a matrix op streams only once the previous op's outputs are in
    the unified buffer (read after write): its last results have drained, the activation
    unit has read every accumulator row of them (one row per cycle, after ``activate``), the
    vector ops in between have run, and ``activation_latency_cycles`` have passed for each.
    The first op's inputs come from the host unless ``inputs_in_buffer``.
    """
    array = config.array
    rows, cols = config.rows, config.cols
    fmt = FORMATS[config.dtype]
    lanes, latency = config.lanes, config.activation_latency_cycles
    lengths: list[int] = []
    tile_bytes: list[int] = []
    op_of_fold: list[int] = []
    groups: dict[int, list[tuple[int, int]]] = {}  # op -> (last fold of a chunk, unit cycles)
    host_ready: list[int] = []  # op 0's folds: the cycle their chunk's rows are in
    host = config.memory.host_bytes_per_cycle
    from_host = not inputs_in_buffer and not math.isinf(host)
    for j, op in enumerate(ops):
        if not isinstance(op, MatrixOp):
            continue
        table = fold_table(op.m, op.k, op.n, *ws.tiles(op.m, array))
        chunks = math.ceil(op.m / ws.tiles(op.m, array)[0])
        per_chunk = len(table) // chunks
        if config.memory.whole_tile_reads:  # edge tiles cost a whole tile's read too
            sizes = [config.tile_bytes] * len(table)
        else:
            sizes = ((table[:, 3] - table[:, 2]) * (table[:, 5] - table[:, 4])).tolist()
            sizes = [size * fmt.operand_bytes for size in sizes]
        groups[j] = []
        for _ in range(op.count):
            base = len(lengths)
            lengths += (table[:, 1] - table[:, 0]).tolist()
            tile_bytes += sizes
            op_of_fold += [j] * len(table)
            for c in range(chunks):
                chunk_rows = int(table[c * per_chunk, 1] - table[c * per_chunk, 0])
                unit = chunk_rows * math.ceil(op.n / lanes) if activate else 0
                groups[j].append((base + (c + 1) * per_chunk - 1, unit))
            if j == 0 and from_host:
                # the inputs arrive in order; a fold waits for the share of them its rows need
                row_bytes = op.inputs * fmt.operand_bytes / op.m
                host_ready += [math.ceil(end * row_bytes / host) for end in table[:, 1].tolist()]
    if not lengths:
        raise ValueError("a program needs at least one matrix op")
    first_fold = {op_of_fold[0]: 0} | {
        j: f for f, j in enumerate(op_of_fold) if f and op_of_fold[f - 1] != j
    }
    drain = rows + cols - 2

    # the activation unit, walked op by op as the timeline reaches each matrix op
    state = {"next": 0, "ready": 0, "unit": 0}
    if not isinstance(ops[0], MatrixOp) and from_host:
        state["ready"] = math.ceil(_first_inputs(ops[0]) * fmt.operand_bytes / host)

    def finish(upto: int, times: list) -> None:
        """Run the activation unit over ops ``next .. upto - 1``: their outputs' ready cycle."""
        ready, unit = state["ready"], state["unit"]
        for j in range(state["next"], upto):
            op = ops[j]
            if isinstance(op, MatrixOp):
                for last, work in groups[j]:
                    drained = times[last].stream + lengths[last] + drain
                    unit = max(drained, unit) + work
                ready = unit + (latency if activate else 0)
            else:
                unit = max(ready, unit) + op.passes * math.ceil(op.elements / lanes)
                ready = unit + latency
        state.update(next=upto, ready=ready, unit=unit)

    kinds: dict[int, str] = {}

    def inputs_ready(f: int, times: list) -> int:
        j = op_of_fold[f]
        if j == 0:
            kinds[f] = "input_stall_cycles"
            return host_ready[f] if host_ready else 0
        if first_fold[j] == f and not ops[j].same_inputs:
            finish(j, times)
            kinds[f] = "raw_stall_cycles"
            return state["ready"]
        return 0

    weights = WeightPath(tile_bytes, config.memory.dram_bytes_per_cycle, config.fifo_tiles, rows)
    timeline = ws.fold_timeline(
        lengths, rows, cols, WeightLoad.DOUBLE_BUFFERED, weights.ready, inputs_ready
    )
    finish(len(ops), timeline)
    last_drain = timeline[-1].stream + lengths[-1] + drain
    total = max(last_drain, state["ready"])
    intervals: dict[str, list[tuple[int, int]]] = {name: [] for name in _CATEGORIES}
    for f, (t, length) in enumerate(zip(timeline, lengths, strict=True)):
        intervals["compute_cycles"].append((t.stream, t.stream + length))
        intervals["weight_load_cycles"].append((t.load, t.load + rows))
        intervals["weight_stall_cycles"].append((t.load - t.stall, t.load))
        if t.input_stall:
            intervals[kinds[f]].append((t.stream - t.input_stall, t.stream))
    intervals["non_matrix_cycles"].append((last_drain, total))
    # one window per matrix op: up to the cycle its last row has entered the array
    ends = [timeline[groups[j][-1][0]].stream + lengths[groups[j][-1][0]] for j in groups]
    windows = partition(total, intervals, ends[:-1])
    if total > array.max_cycles:
        raise ValueError(
            f"the run would take {total:,} cycles, more than max_cycles={array.max_cycles:,}"
        )
    host_bytes = 0 if inputs_in_buffer else _first_inputs(ops[0]) * fmt.operand_bytes
    dram = dict.fromkeys(groups, 0)
    for j, size in zip(op_of_fold, tile_bytes, strict=True):
        dram[j] += size
    return _Schedule(windows, list(dram.values()), host_bytes)


def _first_inputs(op: MatrixOp | VectorOp) -> int:
    """Values a program's first op reads: from the host, unless they are in the buffer."""
    return op.inputs if isinstance(op, MatrixOp) else op.elements


def table3(report: Report) -> dict[str, float]:
    """The TPU paper's Table 3 rows (Jouppi et al., ISCA 2017), in % of ``total_cycles``.

    ``array_active_pct`` (row 1, ``compute_cycles``) splits into ``useful_macs_pct`` (row 2,
    ``macs`` over the PEs' cycles: the utilization) and ``unused_macs_pct`` (row 3,
    ``unused_pe_slots``); ``weight_stall_pct`` (row 4), ``weight_shift_pct`` (row 5,
    ``weight_load_cycles``) and ``non_matrix_pct`` (row 6: the array idle, i.e. RAW, input,
    non-matrix and fill/drain cycles) complete 100 %. ``raw_stall_pct`` and
    ``input_stall_pct`` (rows 7 and 8) are parts of row 6, as in the paper.
    """
    total = report.total_cycles or 1
    slots = report.pe_count * total
    idle = (
        report.raw_stall_cycles
        + report.input_stall_cycles
        + report.non_matrix_cycles
        + report.fill_drain_cycles
    )
    return {
        "array_active_pct": 100 * report.compute_cycles / total,
        "useful_macs_pct": 100 * report.macs / slots,
        "unused_macs_pct": 100 * report.unused_pe_slots / slots,
        "weight_stall_pct": 100 * report.weight_stall_cycles / total,
        "weight_shift_pct": 100 * report.weight_load_cycles / total,
        "non_matrix_pct": 100 * idle / total,
        "raw_stall_pct": 100 * report.raw_stall_cycles / total,
        "input_stall_pct": 100 * report.input_stall_cycles / total,
    }


class TPU:
    """The machine of ``config``: :meth:`matmul` runs one GEMM through its memories,
    :meth:`forward` an MLP's forward pass with values, :meth:`run` a program of layers for its
    cycles alone."""

    def __init__(self, config: TPUConfig | None = None):
        self.config = TPUConfig() if config is None else config

    def _check_fits(
        self, m: int, k: int, n: int, out_bytes: int, count: int = 1, inputs: int | None = None
    ) -> None:
        """Refuse a GEMM whose activations (``inputs`` values, default ``m * k``) and results
        do not fit the unified buffer, or whose weights do not fit the weight memory."""
        memory, fmt = self.config.memory, FORMATS[self.config.dtype]
        inputs = m * k if inputs is None else inputs
        needed = inputs * fmt.operand_bytes + count * m * n * out_bytes
        if needed > memory.unified_buffer_bytes:
            raise ValueError(
                f"({m}, {k}) @ ({k}, {n}) needs {needed:,} bytes of activations and results, "
                f"more than the unified buffer's {memory.unified_buffer_bytes:,}; "
                "split the batch"
            )
        if count * k * n * fmt.operand_bytes > memory.weight_memory_bytes:
            raise ValueError(
                f"weights of {count * k * n * fmt.operand_bytes:,} bytes do not fit the weight "
                f"memory of {memory.weight_memory_bytes:,} bytes"
            )

    def matmul(
        self, a: np.ndarray, b: np.ndarray, inputs_in_buffer: bool = False
    ) -> tuple[np.ndarray, Report]:
        """``a @ b`` through DRAM, FIFO, unified buffer, array and accumulators.

        Returns the result (the bare array's bits) and a Report whose cycles include the
        weight and input stalls and whose ``dram_read_bytes`` counts the weights fetched.
        Unless ``inputs_in_buffer``, the rows of ``a`` arrive from the host from cycle 0, one
        after another, and a fold streams only once all rows of its chunk are in. The results
        stay in the accumulators (no activation unit pass).

        Raises
        ------
        ValueError
            Bad operands, or activations and results that do not fit the unified buffer.
        """
        c, bare = self._values(a, b, FORMATS[self.config.dtype].acc_bytes)
        (m, n), k = c.shape, np.shape(a)[1]
        timing = _schedule(self.config, [MatrixOp(m, k, n)], inputs_in_buffer, activate=False)
        report = dataclasses.replace(
            bare, **timing.windows[0], dram_read_bytes=timing.dram_read_bytes[0],
            host_read_bytes=timing.host_read_bytes,
        )  # fmt: skip
        return c, report

    def _values(self, a: object, b: object, out_bytes: int) -> tuple[np.ndarray, Report]:
        """``a @ b`` on the bare array, after the checks of a run and of the machine's
        memories (results of ``out_bytes`` each in the unified buffer)."""
        array, fmt = self.config.array, FORMATS[self.config.dtype]
        shape = gemm_shape(a, b)
        if shape is not None:
            check_run(*shape, array)  # before any work
        a, b = prepare_operands(a, b, fmt, array.max_elements)
        (m, k), n = a.shape, b.shape[1]
        self._check_fits(m, k, n, out_bytes)
        return ws.simulate_fast(a, b, array)

    def run(
        self, program: Sequence[MatrixOp | VectorOp], inputs_in_buffer: bool = False
    ) -> tuple[Report, list[Report]]:
        """The cycles of a program of layers, each reading the previous one's outputs, on one
        timeline (see ``_schedule``): no values, the counts of ``systolic.api.estimate``.

        Returns the whole run's Report and one per matrix op: an op's cycles run from the
        cycle after the previous matrix op's last row entered the array to the cycle its own
        last row did (the last op's, to the end of the run). ``ub_write_bytes`` counts the
        outputs the activation unit writes back (of every op, at operand width).

        Raises
        ------
        ValueError
            An empty program, an op that does not fit the unified buffer or weight memory, or
            a run longer than the array's ``max_cycles``.
        """
        from systolic.api import estimate  # the closed forms' counts, as for --no-values

        config, fmt = self.config, FORMATS[self.config.dtype]
        ops = list(program)
        for op in ops:
            if not isinstance(op, MatrixOp | VectorOp):
                raise ValueError(f"a program holds MatrixOp and VectorOp, got {op!r}")
            if isinstance(op, MatrixOp):
                self._check_fits(op.m, op.k, op.n, fmt.operand_bytes, op.count, op.inputs)
        timing = _schedule(config, ops, inputs_in_buffer, activate=True)
        matrices = [op for op in ops if isinstance(op, MatrixOp)]
        reports = []
        windows = zip(matrices, timing.windows, timing.dram_read_bytes, strict=True)
        for op, cycles, dram in windows:
            counts = estimate(op.m, op.k, op.n, config.array).repeated(op.count)
            reports.append(
                dataclasses.replace(
                    counts, **cycles, dram_read_bytes=dram,
                    ub_write_bytes=op.count * op.m * op.n * fmt.operand_bytes,
                )
            )  # fmt: skip
        reports[0] = dataclasses.replace(reports[0], host_read_bytes=timing.host_read_bytes)
        vector_bytes = (
            sum(op.elements for op in ops if isinstance(op, VectorOp)) * fmt.operand_bytes
        )
        total = sum(reports)
        return dataclasses.replace(
            total, ub_write_bytes=total.ub_write_bytes + vector_bytes
        ), reports

    def forward(
        self,
        x: np.ndarray,
        layers: Sequence[tuple[np.ndarray, np.ndarray]],
        activation: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> tuple[np.ndarray, Report, list[Report]]:
        """An MLP's forward pass: per layer, ``z = a @ w`` on the array, then the activation
        unit adds the bias and applies ``activation`` (default: none).

        Values are the bare array's; the cycles come from one timeline over all layers
        (:meth:`run`): the weight FIFO prefetches the next layer's tiles while a layer
        computes, and each layer streams only once the activation unit has written the
        previous layer's outputs to the unified buffer (``raw_stall_cycles``). The activation
        unit reads one accumulator row of ``activation_lanes`` results per cycle, so a layer
        with ``m x n`` outputs keeps it busy ``m * ceil(n / activation_lanes)`` cycles; the
        last layer's pass ends the run (``non_matrix_cycles``).

        Parameters
        ----------
        x : numpy.ndarray, shape (batch, n_in)
        layers : sequence of (w, b)
            ``w`` of shape ``(n_in, n_out)``, ``b`` of shape ``(n_out,)``.
        activation : callable, optional
            Applied elementwise after every layer, e.g. ``np.tanh``.

        Returns
        -------
        output : numpy.ndarray, shape (batch, n_out of the last layer), in the format's type
        total : Report
            The whole pass; its cycles are the sum of the layers'.
        per_layer : list of Report
            Each layer's values' Report, with its window of the timeline (see :meth:`run`).
        """
        fmt = FORMATS[self.config.dtype]
        bare, ops = [], []
        a = x
        for w, b in layers:
            z, values = self._values(a, w, fmt.operand_bytes)  # (batch, n_in) @ (n_in, n_out)
            ops.append(MatrixOp(z.shape[0], np.shape(a)[1], z.shape[1]))
            bare.append(values)
            a = (z + np.asarray(b, dtype=fmt.dtype)).astype(fmt.dtype)
            if activation is not None:
                a = np.asarray(activation(a), dtype=fmt.dtype)
        _, timed = self.run(ops)
        timing = (
            "total_cycles",
            *BREAKDOWN,
            "dram_read_bytes",
            "ub_write_bytes",
            "host_read_bytes",
        )
        reports = [
            dataclasses.replace(values, **{name: getattr(t, name) for name in timing})
            for values, t in zip(bare, timed, strict=True)
        ]
        return a, sum(reports), reports


def achieved_ops_per_s(report: Report, config: TPUConfig) -> float:
    """Useful operations (2 per MAC) per second at the configured clock."""
    return 2 * report.macs * config.clock_mhz * 1e6 / report.total_cycles


def ops_per_weight_byte(report: Report) -> float:
    """Operational intensity: useful operations per byte of weights read from DRAM."""
    return 2 * report.macs / report.dram_read_bytes if report.dram_read_bytes else math.inf
