"""Configuration of the simulated array: validated, frozen dataclasses.

Every setting is checked when the object is built, so a config that exists is a config that
works. Use ``dataclasses.replace`` to make variants for sweeps.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import numbers
from dataclasses import dataclass

import numpy as np

from systolic.limits import DEFAULT_MAX_SECONDS
from systolic.numerics import FORMATS


class Dataflow(enum.Enum):
    """Which operand stays in the processing elements.

    ``WS`` (weight-stationary, the TPU's): a tile of B; k on rows, n on columns, m streamed.
    ``OS`` (output-stationary): a tile of C; m on rows, n on columns, k streamed.
    ``IS`` (input-stationary): a tile of A; k on rows, m on columns, n streamed.
    """

    WS = "ws"
    OS = "os"
    IS = "is"


class WeightLoad(enum.Enum):
    """How a weight tile reaches the processing elements.

    ``SERIAL``: every fold shifts its tile in, then streams; folds never overlap (SCALE-Sim's
    model). ``DOUBLE_BUFFERED``: the next tile shifts into the shadow registers while the current
    fold computes (the TPU v1's model: one shift chain per column, all columns shifting at
    once). ``SEGMENTED``: double-buffered, with each column's chain cut into segments of
    ``ArrayConfig.segment_rows`` rows, each fed at its own top row, and every (segment,
    column) chain shifting as soon as its own PEs have switched: a tile goes in
    ``segment_rows`` cycles after the previous fold's first row has passed the segment, so a
    fold that streams a few rows (a decode step's GEMV) costs ``2 * segment_rows - 1`` cycles
    instead of ``2 * rows + cols - 2``. It needs a weight bus ``rows / segment_rows`` times
    as wide as the north edge's.
    """

    SERIAL = "serial"
    DOUBLE_BUFFERED = "double_buffered"
    SEGMENTED = "segmented"


#: the largest array: 16,777,216 PEs (the TPU v1 has 65,536); beyond it even the per-PE
#: counters of a run take gigabytes
MAX_PES = 2**24


def _enum_value(enum_cls: type[enum.Enum], value: object, what: str) -> enum.Enum:
    """Accept an enum member or its string value; raise a ValueError that lists the valid ones."""
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        valid = ", ".join(repr(member.value) for member in enum_cls)
        raise ValueError(f"unknown {what} {value!r}; valid: {valid}") from None


def check_positive_int(value: object, what: str) -> int:
    """``value`` as an int, or ``ValueError("<what> must be a positive integer, got <value>")``
    unless it is an integer >= 1 (Python's or NumPy's, as from ``np.arange``; not a bool)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def set_positive_ints(obj: object, *names: str) -> None:
    """Check the named fields of a frozen dataclass with :func:`check_positive_int` and store
    them as Python ints (a NumPy integer would be hashed and printed differently)."""
    for name in names:
        object.__setattr__(obj, name, check_positive_int(getattr(obj, name), name))


@dataclass(frozen=True)
class ArrayConfig:
    """A rows x cols systolic array and the limits a simulation of it may reach.

    Parameters
    ----------
    rows, cols : int
        Processing elements per column and per row of the grid (>= 1).
    dataflow : Dataflow or str
        Which operand stays in the PEs: ``"ws"`` (weight-stationary, the TPU's), ``"os"``
        (output-stationary) or ``"is"`` (input-stationary); see :class:`Dataflow`.
    weight_load : WeightLoad or str
        How the stationary tile (B in WS, A in IS) is loaded: ``"serial"`` or
        ``"double_buffered"`` or ``"segmented"``, see :class:`WeightLoad`. Output-stationary
        arrays stream both operands and have nothing to load, so they take ``"serial"`` only.
    accumulator_rows : int or None
        Accumulator capacity in rows of ``cols`` partial sums. ``None`` means unlimited. A GEMM
        that streams more rows than this (``m`` in WS, ``n`` in IS) is split into chunks of at
        most this many rows, and the stationary tiles are loaded again for each chunk, as on
        the TPU. Output-stationary arrays keep their sums in the PEs and take ``None`` only.
    dtype : str
        Number format of operands and accumulators, a key of ``systolic.numerics.FORMATS``.
    max_cycles : int
        A simulation that would take more clock cycles than this is refused before it starts
        (and the golden model stops with an error if it ever steps past it).
    max_elements : int
        Largest number of elements allowed in any operand or the result (bounds memory).
    max_seconds : float
        A run whose estimated time on the chosen engine (``systolic.limits``) exceeds this is
        refused before it starts; ``math.inf`` turns the check off.
    threads : int or None
        Most threads a fast-engine run may use. ``None``: the ``SYSTOLIC_THREADS``
        environment variable, else numba's thread count. GEMMs of fewer than
        ``systolic.schedule.SERIAL_MACS`` MACs always run on one thread.
    segment_rows : int
        Rows of PEs per weight shift chain with ``weight_load="segmented"`` (default 8; an
        array of fewer rows has one chain per column). Ignored by the other loads.

    Notes
    -----
    The array has at most :data:`MAX_PES` PEs, and a run is also refused when the memory it
    would allocate exceeds ``systolic.limits.memory_limit_bytes()``.
    """

    rows: int = 8
    cols: int = 8
    dataflow: Dataflow = Dataflow.WS
    weight_load: WeightLoad = WeightLoad.SERIAL
    accumulator_rows: int | None = None
    dtype: str = "fp32"
    max_cycles: int = 2**32
    max_elements: int = 2**28
    max_seconds: float = DEFAULT_MAX_SECONDS
    threads: int | None = None
    segment_rows: int = 8

    def __post_init__(self):
        set_positive_ints(self, "rows", "cols", "max_cycles", "max_elements", "segment_rows")
        if self.threads is not None:
            set_positive_ints(self, "threads")
        if self.rows * self.cols > MAX_PES:
            raise ValueError(
                f"a {self.rows:,}x{self.cols:,} array has {self.rows * self.cols:,} PEs, more "
                f"than {MAX_PES:,} (its per-PE counters alone would take "
                f"{8 * self.rows * self.cols / 2**30:,.0f} GiB)"
            )
        # frozen: normalise strings to enum members through object.__setattr__
        object.__setattr__(self, "dataflow", _enum_value(Dataflow, self.dataflow, "dataflow"))
        object.__setattr__(
            self, "weight_load", _enum_value(WeightLoad, self.weight_load, "weight_load")
        )
        if self.accumulator_rows is not None:
            set_positive_ints(self, "accumulator_rows")
        if self.dataflow is Dataflow.OS:
            if self.weight_load is not WeightLoad.SERIAL:
                raise ValueError(
                    "the output-stationary dataflow has no stationary tile to double-buffer; "
                    f"weight_load must be 'serial', got {self.weight_load.value!r}"
                )
            if self.accumulator_rows is not None:
                raise ValueError(
                    "the output-stationary dataflow keeps its sums in the PEs; "
                    f"accumulator_rows must be None, got {self.accumulator_rows!r}"
                )
        if not isinstance(self.dtype, str) or self.dtype not in FORMATS:
            valid = ", ".join(repr(name) for name in FORMATS)
            raise ValueError(f"unknown dtype {self.dtype!r}; valid: {valid}")
        seconds = self.max_seconds
        if (
            isinstance(seconds, bool | np.bool_)
            or not isinstance(seconds, numbers.Real)
            or math.isnan(seconds)
            or seconds <= 0
        ):
            raise ValueError(f"max_seconds must be a number > 0 (or math.inf), got {seconds!r}")

    def __hash__(self) -> int:
        # a config keys the caches of every run (a trainer's thousands of calls): hash its
        # fields once, not at every lookup
        try:
            return self._hash
        except AttributeError:
            value = hash(tuple(getattr(self, f.name) for f in dataclasses.fields(self)))
            object.__setattr__(self, "_hash", value)
            return value

    @property
    def chain_rows(self) -> int:
        """Rows of PEs per weight shift chain: ``min(segment_rows, rows)`` for the segmented
        load, else ``rows``."""
        if self.weight_load is WeightLoad.SEGMENTED:
            return min(self.segment_rows, self.rows)
        return self.rows

    @property
    def pe_count(self) -> int:
        """Number of processing elements, rows * cols."""
        return self.rows * self.cols
