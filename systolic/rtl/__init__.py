"""The RTL level: synthesizable Verilog of the array, beside the golden model it must equal.

The Verilog files in this folder are package data, one module per file, each the twin of a
Python unit (``pe.v`` of ``systolic/pe.py``, ``array.v`` of ``systolic/array.py``, ...)::

    weight_stationary.v   controller (fold loop, load and stream rules), valid/ready ports
      schedule.v          the fold loop (m-chunk -> n-tile -> k-tile), twice: loads, streams
      skew.v, delay.v     input skew ("systolic data setup"), delay lines
      array.v, pe.v       the ROWS x COLS grid of weight-stationary PEs (shadow + switch)
      accumulator.v       output de-skew (a tag moving east) and per-column accumulator banks
    output_stationary.v   controller, skews, the grid of os_pe.v and its drain

Integer formats only, as on the TPU v1: int8 operands, int32 partial sums and accumulators
(two's complement, wrapping). :class:`RTLConfig` says which design a run uses;
``systolic.rtl.cosim`` proves it equal to the golden model cycle by cycle (Verilator +
cocotb), ``systolic.rtl.synth`` counts its gates (Yosys), ``systolic.rtl.export`` writes it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from systolic.config import ArrayConfig, Dataflow, WeightLoad, _enum_value, set_positive_ints

#: the folder holding the bundled Verilog
RTL_DIR = Path(__file__).resolve().parent

#: Verilog files of each design, top module first
SOURCES = {
    Dataflow.WS: (
        "weight_stationary.v", "schedule.v", "delay.v", "skew.v", "array.v", "pe.v",
        "accumulator.v",
    ),
    Dataflow.OS: ("output_stationary.v", "schedule.v", "delay.v", "skew.v", "os_pe.v"),
}  # fmt: skip
TOPS = {Dataflow.WS: "weight_stationary", Dataflow.OS: "output_stationary"}

#: the formats of the RTL: operand and accumulator widths in bits
DATA_W, ACC_W = 8, 32
#: designs beyond these sizes are refused: co-simulation and synthesis would not finish
MAX_PES = 1024
MAX_ACCUMULATOR_ROWS = 4096


class RTLError(ValueError):
    """The RTL cannot run: a missing toolchain, Verilog that does not compile, a failed run."""


@dataclass(frozen=True)
class RTLConfig:
    """One configuration of the RTL: what its Verilog parameters are.

    Parameters
    ----------
    rows, cols : int
        Array size (``ROWS``, ``COLS``); at most :data:`MAX_PES` PEs.
    dataflow : Dataflow or str
        ``"ws"`` or ``"os"``; the input-stationary dataflow has no RTL.
    weight_load : WeightLoad or str
        ``"serial"`` or ``"double_buffered"`` (``DOUBLE_BUFFERED``); ``"serial"`` only for os.
        The segmented load has no RTL (its chains and per-chain enables are modelled by the
        golden model only).
    accumulator_rows : int
        Accumulator depth in rows of ``cols`` sums (``ACC_ROWS``, weight-stationary only; a
        GEMM with more rows of A is run in chunks of this many). Hardware has a finite depth,
        so there is no unlimited setting.
    """

    rows: int = 4
    cols: int = 4
    dataflow: Dataflow = Dataflow.WS
    weight_load: WeightLoad = WeightLoad.SERIAL
    accumulator_rows: int = 8

    def __post_init__(self):
        set_positive_ints(self, "rows", "cols", "accumulator_rows")
        object.__setattr__(self, "dataflow", _enum_value(Dataflow, self.dataflow, "dataflow"))
        object.__setattr__(
            self, "weight_load", _enum_value(WeightLoad, self.weight_load, "weight_load")
        )
        if self.dataflow not in TOPS:
            raise ValueError(f"there is no RTL of the {self.dataflow.value} dataflow; use ws or os")
        if self.weight_load is WeightLoad.SEGMENTED:
            raise ValueError(
                "there is no RTL of the segmented weight load; use serial or double_buffered"
            )
        if self.rows * self.cols > MAX_PES:
            raise ValueError(
                f"a {self.rows}x{self.cols} array has {self.rows * self.cols:,} PEs; the RTL "
                f"takes at most {MAX_PES:,}"
            )
        if self.accumulator_rows > MAX_ACCUMULATOR_ROWS:
            raise ValueError(
                f"accumulator_rows={self.accumulator_rows:,} is more than the RTL takes "
                f"({MAX_ACCUMULATOR_ROWS:,})"
            )
        # validates the combination (no double-buffered output-stationary array)
        self.array_config  # noqa: B018

    @classmethod
    def from_array(cls, config: ArrayConfig, accumulator_rows: int = 8) -> RTLConfig:
        """The RTL of an ``ArrayConfig``; refuses what the RTL does not build (floating-point
        formats, input-stationary). ``accumulator_rows`` is used when the config's is None."""
        if config.dtype != "int8":
            raise ValueError(
                f"the RTL computes in int8 (int32 sums), as the TPU v1; {config.dtype} is not "
                "built in Verilog"
            )
        rows = config.accumulator_rows or accumulator_rows
        return cls(config.rows, config.cols, config.dataflow, config.weight_load, rows)

    @property
    def array_config(self) -> ArrayConfig:
        """The golden model's configuration of the same machine (int8)."""
        ws = self.dataflow is Dataflow.WS
        return ArrayConfig(
            rows=self.rows,
            cols=self.cols,
            dataflow=self.dataflow,
            weight_load=self.weight_load,
            accumulator_rows=self.accumulator_rows if ws else None,
            dtype="int8",
        )

    @property
    def top(self) -> str:
        """Name of the top module."""
        return TOPS[self.dataflow]

    @property
    def sources(self) -> tuple[str, ...]:
        """File names of the design's Verilog, top first."""
        return SOURCES[self.dataflow]

    @property
    def parameters(self) -> dict[str, int]:
        """Verilog parameters of the top module."""
        params = {"ROWS": self.rows, "COLS": self.cols, "DATA_W": DATA_W, "ACC_W": ACC_W}
        if self.dataflow is Dataflow.WS:
            params["ACC_ROWS"] = self.accumulator_rows
            params["DOUBLE_BUFFERED"] = int(self.weight_load is WeightLoad.DOUBLE_BUFFERED)
        return params

    @property
    def name(self) -> str:
        """Short name, e.g. ``ws_4x4_serial_acc8`` or ``os_2x3``."""
        if self.dataflow is Dataflow.OS:
            return f"os_{self.rows}x{self.cols}"
        return f"ws_{self.rows}x{self.cols}_{self.weight_load.value}_acc{self.accumulator_rows}"
