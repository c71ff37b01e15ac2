"""Configuration of the simulated array: validated, frozen dataclasses.

Every setting is checked when the object is built, so a config that exists is a config that
works. Use ``dataclasses.replace`` to make variants for sweeps.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from systolic.numerics import FORMATS


class Dataflow(enum.Enum):
    """Which operand stays in the processing elements (see DESIGN.md's table)."""

    WS = "ws"


class WeightLoad(enum.Enum):
    """How a weight tile reaches the processing elements.

    ``SERIAL``: every fold shifts its tile in, then streams; folds never overlap (SCALE-Sim's
    model). ``DOUBLE_BUFFERED``: the next tile shifts into the shadow registers while the current
    fold computes (the TPU's model).
    """

    SERIAL = "serial"
    DOUBLE_BUFFERED = "double_buffered"


def _enum_value(enum_cls: type[enum.Enum], value: object, what: str) -> enum.Enum:
    """Accept an enum member or its string value; raise a ValueError that lists the valid ones."""
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        valid = ", ".join(repr(member.value) for member in enum_cls)
        raise ValueError(f"unknown {what} {value!r}; valid: {valid}") from None


def _positive_int(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class ArrayConfig:
    """A rows x cols systolic array and the limits a simulation of it may reach.

    Parameters
    ----------
    rows, cols : int
        Processing elements per column and per row of the grid (>= 1).
    dataflow : Dataflow or str
        Which operand stays in the PEs. ``"ws"`` (weight-stationary, the TPU's).
    weight_load : WeightLoad or str
        ``"serial"`` or ``"double_buffered"``, see :class:`WeightLoad`.
    accumulator_rows : int or None
        Accumulator capacity in rows of ``cols`` partial sums. ``None`` means unlimited. A GEMM
        with more rows ``m`` than this is split into chunks of at most this many rows, and the
        weights are loaded again for each chunk, as on the TPU.
    dtype : str
        Number format of operands and accumulators, a key of ``systolic.numerics.FORMATS``.
    max_cycles : int
        A simulation that would take more clock cycles than this is refused before it starts
        (and the golden model stops with an error if it ever steps past it).
    max_elements : int
        Largest number of elements allowed in any operand or the result (bounds memory).
    """

    rows: int = 8
    cols: int = 8
    dataflow: Dataflow = Dataflow.WS
    weight_load: WeightLoad = WeightLoad.SERIAL
    accumulator_rows: int | None = None
    dtype: str = "fp32"
    max_cycles: int = 2**32
    max_elements: int = 2**28

    def __post_init__(self):
        for name in ("rows", "cols"):
            _positive_int(getattr(self, name), name)
        # frozen: normalise strings to enum members through object.__setattr__
        object.__setattr__(self, "dataflow", _enum_value(Dataflow, self.dataflow, "dataflow"))
        object.__setattr__(
            self, "weight_load", _enum_value(WeightLoad, self.weight_load, "weight_load")
        )
        if self.accumulator_rows is not None:
            _positive_int(self.accumulator_rows, "accumulator_rows")
        if self.dtype not in FORMATS:
            valid = ", ".join(repr(name) for name in FORMATS)
            raise ValueError(f"unknown dtype {self.dtype!r}; valid: {valid}")
        _positive_int(self.max_cycles, "max_cycles")
        _positive_int(self.max_elements, "max_elements")

    @property
    def pe_count(self) -> int:
        """Number of processing elements, rows * cols."""
        return self.rows * self.cols
