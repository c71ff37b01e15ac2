"""The step's timeline: ops on units (MXU, VPU, DMA), each started when its inputs are ready
and its unit is free.

::

    op i: (unit, cycles, deps, phase)      dma  |==load w==|   |=store z=|
                                           mxu       |===== z = x @ w =====|
    start_i = earliest t >= max(end_d for      vpu                       |=sigmoid=|
              d in deps_i) at which unit_i
              is free for cycles_i

One function, :func:`schedule`, places every op of a step, in the order the step issued them,
at the earliest cycle at which all the ops it depends on have ended and its unit has a gap
of its length (an op issued later may fill a gap an earlier one left: a weight load with no
inputs runs while the DMA waits for a result to store). Each unit does one op at a time; the
units run side by side, so a step takes the end of its last op, not the sum of its ops. It
never special-cases an op kind.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

#: the units of a TensorCore machine, in the order lanes are drawn
UNITS = ("mxu", "vpu", "dma")
#: the phases of a training step, in the order a shared cycle is given to one (see
#: :class:`Schedule`), then the evaluation's
PHASES = ("forward", "backward", "gradient", "update", "evaluation")


class Op(NamedTuple):
    """One op of a step: the ``unit`` that runs it, its ``cycles`` there, the indices of the
    earlier ops whose outputs it reads (``deps``), its ``phase`` (``PHASES``) and a
    ``name`` for plots. Data, not behaviour: its cost comes from its unit's model. (A named
    tuple: a step's ops are hashed as one key, thousands of times an epoch.)"""

    unit: str
    cycles: int
    deps: tuple[int, ...]
    phase: str
    name: str = ""
    #: cycles after the op leaves its unit before its outputs are ready: an MXU's drain
    #: (the last row's sums crossing the array), during which the MXU already runs the
    #: next op's folds
    latency: int = 0


@dataclass(frozen=True)
class Schedule:
    """Where every op of a step runs.

    Fields
    ------
    starts, ends : tuple of int
        Each op's first cycle and the cycle after its last on its unit (``ends[i] -
        starts[i]`` is its ``cycles``); its outputs are ready ``latency`` cycles later.
    total_cycles : int
        The step's cycles: the latest end plus latency (0 for an empty step).
    unit_cycles : dict
        Busy cycles per unit (``UNITS``): the sum of its ops' cycles.
    phase_cycles : dict
        The step's cycles given to phases: each cycle ``[0, total_cycles)`` to the first
        phase of ``PHASES`` with an op running in it (from its start until its outputs
        are ready), a cycle with none running to the
        phase of the next op to start; they sum to ``total_cycles``.
    phase_unit_cycles : dict
        Per phase, busy cycles per unit of that phase's ops.
    """

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    total_cycles: int
    unit_cycles: dict[str, int]
    phase_cycles: dict[str, int]
    phase_unit_cycles: dict[str, dict[str, int]]

    @property
    def bottleneck(self) -> str:
        """The busiest unit (the first of ``UNITS`` on a tie)."""
        return max(UNITS, key=lambda unit: self.unit_cycles[unit])


def schedule(ops: Sequence[Op]) -> Schedule:
    """Place ``ops`` on their units (see the module docstring); cached by the ops
    themselves, so a trainer's identical steps are placed once.

    Raises
    ------
    ValueError
        An op on an unknown unit or phase, with negative cycles, or depending on an op that
        is not earlier.
    """
    return _schedule(tuple(ops))


@functools.lru_cache(maxsize=256)
def _schedule(ops: tuple[Op, ...]) -> Schedule:
    busy: dict[str, list[tuple[int, int]]] = {unit: [] for unit in UNITS}  # sorted intervals
    starts, ends = [], []
    for i, op in enumerate(ops):
        if op.unit not in busy:
            raise ValueError(f"op {i} ({op.name}) runs on unknown unit {op.unit!r}; valid: "
                             f"{', '.join(UNITS)}")  # fmt: skip
        if op.phase not in PHASES:
            raise ValueError(f"op {i} ({op.name}) has unknown phase {op.phase!r}")
        if op.cycles < 0 or op.latency < 0:
            raise ValueError(f"op {i} ({op.name}) has negative cycles {op.cycles} or "
                             f"latency {op.latency}")  # fmt: skip
        if any(not 0 <= d < i for d in op.deps):
            raise ValueError(f"op {i} ({op.name}) depends on ops {op.deps}, not all earlier")
        ready = max((ends[d] + ops[d].latency for d in op.deps), default=0)
        start = _earliest_gap(busy[op.unit], ready, op.cycles)
        starts.append(start)
        ends.append(start + op.cycles)
        if op.cycles:
            bisect.insort(busy[op.unit], (start, start + op.cycles))
    done = [end + op.latency for op, end in zip(ops, ends, strict=True)]
    total = max(done, default=0)
    unit_cycles = dict.fromkeys(UNITS, 0)
    phase_units = {phase: dict.fromkeys(UNITS, 0) for phase in PHASES}
    for op in ops:
        unit_cycles[op.unit] += op.cycles
        phase_units[op.phase][op.unit] += op.cycles
    used = {op.phase for op in ops}
    return Schedule(
        tuple(starts), tuple(ends), total, unit_cycles,
        _phase_cycles(ops, starts, done, total),
        {phase: cycles for phase, cycles in phase_units.items() if phase in used},
    )  # fmt: skip


def _earliest_gap(intervals: list[tuple[int, int]], ready: int, length: int) -> int:
    """The first cycle ``>= ready`` from which ``length`` cycles are free of ``intervals``
    (sorted and disjoint, so their ends are sorted too: the scan starts at the first that
    ends after ``ready``)."""
    if length == 0:
        return ready
    start = ready
    first = bisect.bisect_right(intervals, (ready, math.inf), key=None)
    first = max(0, first - 1)
    for lo, hi in intervals[first:]:
        if hi <= start:
            continue
        if lo >= start + length:
            break
        start = hi
    return start


def _phase_cycles(ops, starts, ends, total) -> dict[str, int]:
    """Every cycle of ``[0, total)`` given to one phase (see :class:`Schedule`), in one sweep
    over the ops' start and end points."""
    cycles = {phase: 0 for phase in PHASES if any(op.phase == phase for op in ops)}
    events: dict[int, list[tuple[int, int]]] = {}  # cycle -> (phase index, +1 or -1)
    for op, start, end in zip(ops, starts, ends, strict=True):
        if end > start:
            events.setdefault(start, []).append((PHASES.index(op.phase), 1))
            events.setdefault(end, []).append((PHASES.index(op.phase), -1))
    points = sorted({0, total, *events})
    # the phase of the next op to start, for stretches where nothing runs
    starting = sorted(
        (start, PHASES.index(op.phase)) for op, start in zip(ops, starts, strict=True)
    )
    running = [0] * len(PHASES)
    next_start = 0
    for lo, hi in zip(points[:-1], points[1:], strict=True):
        for phase, change in events.get(lo, ()):
            running[phase] += change
        active = next((p for p, count in enumerate(running) if count), None)
        if active is None:  # nothing runs: the cycles belong to what starts next
            while next_start < len(starting) and starting[next_start][0] < hi:
                next_start += 1
            active = starting[min(next_start, len(starting) - 1)][1]
        cycles[PHASES[active]] += hi - lo
    return cycles
