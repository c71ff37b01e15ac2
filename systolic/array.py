"""Golden per-cycle model of a rows x cols weight-stationary array.

The registers of every PE (see ``systolic.pe``) are held as ``(rows, cols)`` arrays, and
``step()`` computes all of them from the previous cycle's values before committing them, as at
a clock edge::

              weights (shift chains, `load`)  north
                  |      |      |
                  v      v      v
    west   --> [PE00]->[PE01]->[PE02]-->   activations, valid and switch bits move east
    (skewed)      |      |      |
           --> [PE10]->[PE11]->[PE12]-->   partial sums move south:
                  |      |      |          psum_out = psum_in + act * weight
                  v      v      v
                 south edge: one partial sum per column per cycle, into the accumulators

Each column's shadow registers form one shift chain fed at the north edge, or, with
``segment_rows``, chains of that many rows each fed at its own top row (the segmented
weight load, ``systolic.config.WeightLoad.SEGMENTED``), every chain with its own shift enable.

The model is written to be read and checked, not to be fast: use it for small arrays and short
runs. ``trace()`` prints which PEs did a useful MAC in each cycle.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: a golden model reports its progress every this many cycles
PROGRESS_CYCLES = 256


class SimulationLimitError(ValueError):
    """A simulation reached the configured ``max_cycles`` (or would have)."""


class GridModel:
    """What every golden grid model shares: size, cycle counter, guard, activity and trace.

    Subclasses hold their registers and implement ``step()``; it calls ``_tick`` once per
    clock edge with the mask of PEs that did a useful MAC.

    Parameters
    ----------
    rows, cols : int
        Grid size.
    dtype : numpy.dtype
        Type of values, products and partial sums.
    max_cycles : int
        ``step()`` raises :class:`SimulationLimitError` instead of running cycle ``max_cycles``.
    record : bool
        Keep the per-cycle useful-MAC masks for :meth:`trace` and plots.
    record_registers : bool
        Also keep a copy of every register after each clock edge in ``snapshots`` (one
        dict of ``(rows, cols)`` arrays per cycle, names from :attr:`REGISTERS`), for
        waveforms. Small arrays and short runs only.
    progress : callable, optional
        Called with the number of cycles stepped since its last call, every
        :data:`PROGRESS_CYCLES` cycles (a progress bar's ``update``).
    """

    #: register names of the grid, set by each model
    REGISTERS: tuple[str, ...] = ()

    def __init__(
        self,
        rows: int,
        cols: int,
        dtype: np.dtype = np.float32,
        max_cycles: int = 2**32,
        record: bool = False,
        record_registers: bool = False,
        progress: Callable[[int], None] | None = None,
    ):
        if rows < 1 or cols < 1:
            raise ValueError(f"array must be at least 1x1, got {rows}x{cols}")
        self.rows, self.cols, self.dtype = rows, cols, np.dtype(dtype)
        self.max_cycles = max_cycles
        self.record, self.record_registers = record, record_registers
        self.progress = progress
        self.reset()

    def reset(self) -> None:
        """Clear the cycle counter, the MAC counts and the recorded trace."""
        self.cycle = 0
        self.pe_active_cycles = np.zeros((self.rows, self.cols), dtype=np.int64)
        self.useful = np.zeros((self.rows, self.cols), dtype=bool)
        self.history: list[np.ndarray] = []
        self.snapshots: list[dict[str, np.ndarray]] = []

    def _check_limit(self) -> None:
        if self.cycle >= self.max_cycles:
            raise SimulationLimitError(f"simulation reached max_cycles={self.max_cycles}")

    def _tick(self, useful: np.ndarray) -> None:
        """Count the edge just committed and the PEs that did a useful MAC in it (kept in
        :attr:`useful` until the next edge)."""
        self.useful = useful
        self.pe_active_cycles += useful
        if self.record:
            self.history.append(useful)
        if self.record_registers:
            self.snapshots.append({name: getattr(self, name).copy() for name in self.REGISTERS})
        self.cycle += 1
        if self.progress is not None and self.cycle % PROGRESS_CYCLES == 0:
            self.progress(PROGRESS_CYCLES)

    def trace(self) -> str:
        """One line per recorded cycle: ``#`` for a PE that did a useful MAC, ``.`` otherwise."""
        width = len(str(max(len(self.history) - 1, 0)))
        lines = []
        for cycle, useful in enumerate(self.history):
            grid = "|".join("".join("#" if x else "." for x in row) for row in useful)
            lines.append(f"{cycle:>{width}} {grid}")
        return "\n".join(lines)


class WeightStationaryArray(GridModel):
    """Register state of the weight-stationary array and ``step()`` to the next clock edge.

    Parameters are those of :class:`GridModel`, and ``segment_rows``: rows per weight shift
    chain (default ``rows``: one chain per column, fed at the north edge). Chain ``g`` of a
    column holds PE rows ``g * segment_rows`` to ``(g + 1) * segment_rows - 1`` (the last
    chain may be shorter) and is fed at its top row.
    """

    REGISTERS = (
        "act", "valid", "switch", "psum", "psum_valid", "weight", "weight_valid", "shadow",
        "shadow_valid",
    )  # fmt: skip

    def __init__(self, rows: int, cols: int, dtype: np.dtype = np.float32,
                 max_cycles: int = 2**32, record: bool = False, record_registers: bool = False,
                 segment_rows: int | None = None,
                 progress: Callable[[int], None] | None = None):  # fmt: skip
        if rows < 1 or cols < 1:
            raise ValueError(f"array must be at least 1x1, got {rows}x{cols}")
        if segment_rows is not None and segment_rows < 1:
            raise ValueError(f"segment_rows must be at least 1, got {segment_rows}")
        self.segment_rows = rows if segment_rows is None else min(segment_rows, rows)
        self.segments = -(-rows // self.segment_rows)
        # which chain each PE row belongs to, and whether it is a chain's top row
        self._chain_of_row = np.arange(rows) // self.segment_rows
        self._chain_top = np.arange(rows) % self.segment_rows == 0
        super().__init__(rows, cols, dtype, max_cycles, record, record_registers, progress)

    def reset(self) -> None:
        """Clear all registers, the cycle counter, the MAC counts and the recorded trace."""
        super().reset()
        shape = (self.rows, self.cols)
        for name in ("act", "psum", "weight", "shadow"):
            setattr(self, name, np.zeros(shape, dtype=self.dtype))
        for name in ("valid", "switch", "psum_valid", "weight_valid", "shadow_valid"):
            setattr(self, name, np.zeros(shape, dtype=bool))

    def step(
        self,
        west_act: np.ndarray,
        west_valid: np.ndarray,
        west_switch: np.ndarray,
        north_weight: np.ndarray,
        north_weight_valid: np.ndarray,
        load: bool | np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Advance one clock edge.

        Parameters
        ----------
        west_act, west_valid, west_switch : shape (rows,)
            Activation entering each row at the west edge, its valid bit and switch flag.
        north_weight, north_weight_valid : shape (cols,) or (segments, cols)
            Weight entering each shift chain at its top, and whether it is real (not
            padding); shape ``(cols,)`` with one chain per column.
        load : bool or numpy.ndarray of bool, shape (segments, cols)
            Shift enable of every chain (a bool: all chains at once).

        Returns
        -------
        south_psum, south_valid : shape (cols,)
            Partial sums leaving the south edge after this edge, and their valid bits.
        """
        self._check_limit()
        act_in = np.column_stack([west_act, self.act[:, :-1]]).astype(self.dtype)
        valid_in = np.column_stack([west_valid, self.valid[:, :-1]])
        switch_in = np.column_stack([west_switch, self.switch[:, :-1]])
        psum_in = np.vstack([np.zeros(self.cols, self.dtype), self.psum[:-1]])
        psum_valid_in = np.vstack([np.zeros(self.cols, bool), self.psum_valid[:-1]])
        weight = np.where(switch_in, self.shadow, self.weight)
        weight_valid = np.where(switch_in, self.shadow_valid, self.weight_valid)
        useful = valid_in & weight_valid
        enable = np.broadcast_to(np.asarray(load, dtype=bool), (self.segments, self.cols))
        if enable.any():
            north = np.reshape(north_weight, (-1, self.cols))
            north_valid = np.reshape(north_weight_valid, (-1, self.cols))
            # every chain's shadows take the value above them; a chain's top row, its input
            shadow = np.vstack([north[:1], self.shadow[:-1]]).astype(self.dtype)
            shadow_valid = np.vstack([north_valid[:1], self.shadow_valid[:-1]])
            shadow[self._chain_top] = north
            shadow_valid[self._chain_top] = north_valid
            rows_enabled = enable[self._chain_of_row]
            shadow = np.where(rows_enabled, shadow, self.shadow)
            shadow_valid = np.where(rows_enabled, shadow_valid, self.shadow_valid)
        else:
            shadow, shadow_valid = self.shadow, self.shadow_valid
        # one clock edge: every register above was computed from the old state
        self.psum = psum_in + act_in * weight
        self.psum_valid = psum_valid_in | useful
        self.weight, self.weight_valid = weight, weight_valid
        self.shadow, self.shadow_valid = shadow, shadow_valid
        self.act, self.valid, self.switch = act_in, valid_in, switch_in
        self._tick(useful)
        return self.psum[-1].copy(), self.psum_valid[-1].copy()
