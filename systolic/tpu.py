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
from systolic.report import Report
from systolic.schedule import fold_table

KIB, MIB = 1024, 1024 * 1024


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
    """

    rows: int = 16
    cols: int = 16
    clock_mhz: float = 700.0
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    dtype: str = "fp32"

    def __post_init__(self):
        set_positive_ints(self, "rows", "cols")
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
        return cls(rows=256, cols=256, clock_mhz=700.0, memory=memory, dtype=dtype)

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


def _length(intervals: list[tuple[int, int]]) -> int:
    """Total length of the union of half-open intervals."""
    total, end = 0, -1
    for lo, hi in sorted(intervals):
        if hi <= end:
            continue
        total += hi - max(lo, end)
        end = hi
    return total


def breakdown(timeline: list, lengths: list[int], rows: int, cols: int) -> dict[str, int]:
    """Partition the run's cycles as ``Report`` defines: compute, weight load, weight stall,
    input stall, fill/drain, from the timeline's intervals (rows streaming, tiles shifting,
    waits); a cycle that fits several counts once, in that order."""
    total = timeline[-1].stream + lengths[-1] + rows + cols - 2
    streams = [(t.stream, t.stream + n) for t, n in zip(timeline, lengths, strict=True)]
    shifts = [(t.load, t.load + rows) for t in timeline]
    waits = [(t.load - t.stall, t.load) for t in timeline if t.stall]
    inputs = [(t.stream - t.input_stall, t.stream) for t in timeline if t.input_stall]
    compute = _length(streams)
    load = _length(streams + shifts) - compute
    stall = _length(streams + shifts + waits) - compute - load
    input_stall = _length(streams + shifts + waits + inputs) - compute - load - stall
    return {
        "total_cycles": total,
        "compute_cycles": compute,
        "weight_load_cycles": load,
        "weight_stall_cycles": stall,
        "input_stall_cycles": input_stall,
        "fill_drain_cycles": total - compute - load - stall - input_stall,
    }


class TPU:
    """The machine of ``config``; :meth:`matmul` runs one GEMM through its memories."""

    def __init__(self, config: TPUConfig | None = None):
        self.config = TPUConfig() if config is None else config

    def matmul(
        self, a: np.ndarray, b: np.ndarray, inputs_in_buffer: bool = False
    ) -> tuple[np.ndarray, Report]:
        """``a @ b`` through DRAM, FIFO, unified buffer, array and accumulators.

        Returns the result (the bare array's bits) and a Report whose cycles include the
        weight and input stalls and whose ``dram_read_bytes`` counts the weights fetched.
        Unless ``inputs_in_buffer``, the rows of ``a`` arrive from the host from cycle 0, one
        after another, and a fold streams only once all rows of its chunk are in.

        Raises
        ------
        ValueError
            Bad operands, or activations and results that do not fit the unified buffer.
        """
        config, array = self.config, self.config.array
        fmt = FORMATS[config.dtype]
        shape = gemm_shape(a, b)
        if shape is not None:
            check_run(*shape, array)  # before any work
        a, b = prepare_operands(a, b, fmt, array.max_elements)
        (m, k), n = a.shape, b.shape[1]
        needed = m * k * fmt.operand_bytes + m * n * fmt.acc_bytes
        if needed > config.memory.unified_buffer_bytes:
            raise ValueError(
                f"({m}, {k}) @ ({k}, {n}) needs {needed:,} bytes of activations and results, "
                f"more than the unified buffer's {config.memory.unified_buffer_bytes:,}; "
                "split the batch"
            )
        if k * n * fmt.operand_bytes > config.memory.weight_memory_bytes:
            raise ValueError(
                f"weights of {k * n * fmt.operand_bytes:,} bytes do not fit the weight memory "
                f"of {config.memory.weight_memory_bytes:,} bytes"
            )
        c, bare = ws.simulate_fast(a, b, array)
        table = fold_table(m, k, n, *ws.tiles(m, array))
        lengths = (table[:, 1] - table[:, 0]).tolist()
        if config.memory.whole_tile_reads:  # edge tiles cost a whole tile's read too
            tile_bytes = [config.tile_bytes] * len(table)
        else:
            tile_bytes = ((table[:, 3] - table[:, 2]) * (table[:, 5] - table[:, 4])).tolist()
            tile_bytes = [size * fmt.operand_bytes for size in tile_bytes]
        weights = WeightPath(
            tile_bytes, config.memory.dram_bytes_per_cycle, config.fifo_tiles, config.rows
        )
        inputs_ready = None
        host = config.memory.host_bytes_per_cycle
        if not inputs_in_buffer and not math.isinf(host):
            row_bytes = k * fmt.operand_bytes
            ends = table[:, 1].tolist()

            def inputs_ready(f: int) -> int:
                return math.ceil(ends[f] * row_bytes / host)

        timeline = ws.fold_timeline(
            lengths, config.rows, config.cols, WeightLoad.DOUBLE_BUFFERED, weights.ready,
            inputs_ready,
        )  # fmt: skip
        cycles = breakdown(timeline, lengths, config.rows, config.cols)
        if cycles["total_cycles"] > array.max_cycles:
            raise ValueError(
                f"the run would take {cycles['total_cycles']:,} cycles, more than "
                f"max_cycles={array.max_cycles:,}"
            )
        report = dataclasses.replace(bare, **cycles, dram_read_bytes=sum(tile_bytes))
        return c, report

    def forward(
        self,
        x: np.ndarray,
        layers: Sequence[tuple[np.ndarray, np.ndarray]],
        activation: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> tuple[np.ndarray, Report, list[Report]]:
        """An MLP's forward pass: per layer, ``z = a @ w`` on the array, then the activation
        unit adds the bias and applies ``activation`` (default: none).

        The activation unit reads one accumulator row of ``cols`` results per cycle, so a layer
        with ``m x n`` outputs adds ``m * ceil(n / cols)`` ``non_matrix_cycles`` after its
        matmul (not overlapped with it), and writes its ``m * n`` activated outputs back to the
        unified buffer (``ub_write_bytes``) as the next layer's input.

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
            The sum of the layers' Reports.
        per_layer : list of Report
        """
        fmt = FORMATS[self.config.dtype]
        reports = []
        a = x
        for layer, (w, b) in enumerate(layers):
            # only the first layer's inputs come from the host; the others are in the buffer
            z, report = self.matmul(a, w, layer > 0)  # (batch, n_in) @ (n_in, n_out)
            m, n = z.shape
            a = (z + np.asarray(b, dtype=fmt.dtype)).astype(fmt.dtype)
            if activation is not None:
                a = np.asarray(activation(a), dtype=fmt.dtype)
            non_matrix = m * math.ceil(n / self.config.cols)
            reports.append(
                dataclasses.replace(
                    report,
                    total_cycles=report.total_cycles + non_matrix,
                    non_matrix_cycles=non_matrix,
                    ub_write_bytes=m * n * fmt.operand_bytes,
                )
            )
        return a, sum(reports), reports


def achieved_ops_per_s(report: Report, config: TPUConfig) -> float:
    """Useful operations (2 per MAC) per second at the configured clock."""
    return 2 * report.macs * config.clock_mhz * 1e6 / report.total_cycles


def ops_per_weight_byte(report: Report) -> float:
    """Operational intensity: useful operations per byte of weights read from DRAM."""
    return 2 * report.macs / report.dram_read_bytes if report.dram_read_bytes else math.inf
