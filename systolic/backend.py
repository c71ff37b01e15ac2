"""The training step on a TensorCore machine: the ``nn`` backend that runs every op on a unit.

::

    nn.Network / nn.train  --(matmul, bias add, activation, dropout, output error,
                              bias gradient, update, argmax)-->  MachineBackend
        matmuls      -> MXUs  (values: the weight-stationary array; cycles: the mapping)
        element-wise -> VPU   (values: float32 NumPy; cycles: vector steps by op class)
        HBM <-> VMEM -> DMA   (bytes / HBM bandwidth)
    each step's ops -> systolic.machine.timeline.schedule -> the step's cycles per unit/phase

Where values live. Parameters and velocities stay in HBM between steps, as do the inputs
and targets of a mini-batch and the evaluation's inputs. A step is two stages: the forward
pass, then the backward pass with the gradients and the update (evaluation is a stage of its
own). Within a stage, what an op produces stays in VMEM for the ops after it. Every ``z``
and activation the forward pass produces is saved: written to HBM, and read back by the
backward stage where it needs it (the backward never recomputes them). A value from HBM is
read once per stage; updated parameters and velocities are written back. VMEM's capacity is
not an allocator here: it bounds the tile an op works on (:func:`check_fits`), and the
residency above is fixed by the step's structure. Values in HBM are float32 (4 bytes); the
MXUs round their operands to the machine's format on the way in.

The step's ops are recorded as they are called and placed on the timeline when the step
ends (``end_step``); the counts of an epoch are kept per distinct step (a trainer's steps
are all alike but the last), so a step is scheduled once, however many times it runs. A
step begun with ``begin_step(kind, size)`` like one recorded before (the trainer's next
mini-batch of the same size) is replayed: its values are computed, its ops not recorded
again, and it counts as that step. Each replayed step's calls (methods and shapes, in order)
are checked against the recorded one's; the tests hold a replayed epoch's counts equal to
one recorded step by step.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from systolic import api
from systolic.dataflows import weight_stationary as ws
from systolic.limits import format_bytes
from systolic.machine.config import OP_CLASSES, MachineConfig
from systolic.machine.mapping import GemmMapping, drain_cycles, gemm_mapping, split_evenly
from systolic.machine.timeline import PHASES, UNITS, Op, Schedule, schedule
from systolic.machine.vpu import (
    VECTOR_OPS,
    VectorCost,
    elementwise_cost,
    optimizer_step,
    reduction_cost,
)
from systolic.report import Report

#: the stage of each phase: values made in a stage stay in VMEM within it
_STAGES = {"forward": "forward", "backward": "backward", "gradient": "backward",
           "update": "backward", "inference": "evaluation"}  # fmt: skip
#: nn's phase names to the timeline's (evaluation is nn's "inference")
_PHASE = {"inference": "evaluation"}
#: ASSUMED: add-class operations per element to draw a dropout mask's random number on the
#: VPU (a counter-based generator's multiply, xor and shift rounds); not published
RANDOM_OPS_ASSUMED = 4
#: bytes of a value in HBM and VMEM (float32)
VALUE_BYTES = 4
#: ASSUMED: the DMA moves a large operand in blocks of at most this many bytes, and a unit
#: starts on a block as soon as it has arrived (as a Pallas kernel's pipelined blocks and
#: XLA's asynchronous copies overlap transfers with compute). Not published; 1 MiB is a
#: small part of every preset's VMEM, and blocks this large keep a GEMM's column blocks
#: many MXU tiles wide.
PIPELINE_BYTES = 1 << 20


def _key(x: np.ndarray) -> tuple[int, int, int]:
    """What identifies a value in memory: the array owning its memory, where it starts and
    how many elements it has (``w.T`` is ``w``; a slice of rows is not the whole)."""
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    return id(root), x.__array_interface__["data"][0], x.size


@dataclass(frozen=True)
class StepCounts:
    """What one kind of step did, beside its :class:`Schedule`: MXU work (``mxu_report``:
    the mappings' Reports summed), MACs, the VPU's element operations by class and its
    VMEM bytes, and the DMA's bytes read from and written to HBM."""

    mxu_report: Report | None
    macs: int
    vpu_element_ops: dict[str, int]
    vmem_bytes: int
    hbm_read_bytes: int
    hbm_write_bytes: int


class MachineBackend:
    """Runs a network's steps on ``config`` (see the module docstring); collects per epoch.

    ``epoch`` maps each distinct step (``(kind, ops, costs)``) to how many times it ran
    since :meth:`reset`; :meth:`summary` prices them.
    """

    #: the gradients are the engines' new arrays, but the machine's update reads them itself
    scratch_gradients = False

    def __init__(self, config: MachineConfig, replay: bool = True):
        if not isinstance(config, MachineConfig):
            raise ValueError(f"config must be a MachineConfig, got {config!r}")
        self.config, self.replay = config, replay
        self.epoch: Counter = Counter()
        self._keep: dict[int, object] = {}  # ids in step keys, kept alive
        self._recorded: dict[tuple, tuple] = {}  # (kind, size) -> (epoch key, calls)
        self._begin()

    # ------------------------------------------------------------------ recording

    def _begin(self) -> None:
        self._ops: list[Op] = []
        self._costs: list[int] = []  # id of each op's cost object (mapping, VectorCost, bytes)
        self._made: dict[tuple, tuple[int, str]] = {}  # _key(value) -> (op, stage)
        self._stored: dict[tuple, int] = {}  # _key(value) -> its store op
        self._loaded: dict[tuple, int] = {}  # (_key(value), stage) -> its load op
        self._alive: list[np.ndarray] = []  # the arrays whose ids are keys above
        self._calls: list[tuple] = []  # (what, shape) of every computation, in order
        self._signature: tuple | None = None
        self._replay: tuple | None = None  # (epoch key, calls) of the step being replayed

    def begin_step(self, kind: str, size: int) -> None:
        """A step of ``kind`` over ``size`` samples begins: replay it if one like it was
        recorded (see the module docstring)."""
        if self.replay:
            self._signature = (kind, size)
            self._replay = self._recorded.get(self._signature)

    def _add(self, unit: str, cycles: int, deps, phase: str, name: str, cost,
             latency: int = 0) -> int:  # fmt: skip
        self._ops.append(Op(unit, cycles, tuple(deps), _PHASE.get(phase, phase), name, latency))
        key = id(cost)
        self._keep.setdefault(key, cost)
        self._costs.append(key)
        return len(self._ops) - 1

    def _dma(self, direction: str, nbytes: int, deps, phase: str, name: str) -> int:
        cost = _transfer(direction, nbytes)
        cycles = math.ceil(nbytes / self.config.hbm_bytes_per_cycle)
        return self._add("dma", cycles, deps, phase, f"{direction} {name}", cost)

    def _use(self, x: np.ndarray, phase: str, name: str) -> int:
        """The op whose end makes ``x`` readable in VMEM for an op of ``phase``: its
        producer in this stage, or a load from HBM (after its store, if an earlier stage
        made it)."""
        if self._replay is not None:
            return 0
        return self._blocks(x, 0, ((0, len(x) if x.ndim else 1),), phase, name)[0]

    def _made_by(self, x: np.ndarray, op: int, phase: str, name: str, save: bool = False):
        """Record ``x`` as made by ``op``; ``save`` writes it to HBM (a saved value)."""
        if self._replay is not None:
            return x
        key = _key(x)
        self._alive.append(x)
        self._made[key] = (op, _STAGES[phase])
        if save:
            self._stored[key] = self._dma("store", x.size * VALUE_BYTES, (op,), phase, name)
        return x

    def _vector(self, name: str, inputs, phase: str, label: str, values, ops=None, save=False):
        """Record a VPU op producing ``values`` from ``inputs`` (arrays read from VMEM)."""
        self._calls.append((label, values.shape))
        if self._replay is not None:
            return values
        deps = [self._use(x, phase, label) for x in inputs if isinstance(x, np.ndarray)]
        ops = VECTOR_OPS[name].ops if ops is None else ops
        operands = sum(1 for x in inputs if isinstance(x, np.ndarray) and x.ndim)
        cost = _elementwise(self.config, values.shape, tuple(sorted(ops.items())), operands)
        op = self._add("vpu", cost.cycles, deps, phase, label, cost)
        return self._made_by(values, op, phase, label, save)

    def _resident(self, x: np.ndarray, phase: str) -> int | None:
        """The op that put ``x`` in VMEM for ``phase``'s stage, or None if it is in HBM."""
        key, stage = _key(x), _STAGES[phase]
        made = self._made.get(key)
        if made is not None and made[1] == stage:
            return made[0]
        return self._loaded.get((key, stage))

    def _blocks(self, x: np.ndarray, axis: int, bounds, phase: str, name: str) -> list[int]:
        """The op after which each block of ``x`` (``bounds`` along ``axis``) is in VMEM:
        where it is not yet, its loads from HBM, one per block (see :data:`PIPELINE_BYTES`),
        after its store if an earlier stage made it."""
        resident = self._resident(x, phase)
        if resident is not None:
            return [resident] * len(bounds)
        key, stage = _key(x), _STAGES[phase]
        made = self._made.get(key)
        deps = ()
        if made is not None:  # from an earlier stage: through HBM
            if key not in self._stored:
                self._stored[key] = self._dma("store", x.size * VALUE_BYTES, (made[0],),
                                              phase, name)  # fmt: skip
            deps = (self._stored[key],)
        self._alive.append(x)  # its memory's owner stays alive with it: the key stays unique
        if len(bounds) == 1:
            loads = [self._dma("load", x.size * VALUE_BYTES, deps, phase, name)]
            self._loaded[key, stage] = loads[0]
            return loads
        across = x.size // x.shape[axis]
        loads = [self._dma("load", (hi - lo) * across * VALUE_BYTES, deps, phase, name)
                 for lo, hi in bounds]  # fmt: skip
        self._loaded[key, stage] = self._add("dma", 0, loads, phase, f"{name} loaded", _JOIN)
        return loads

    def _gemm(self, a: np.ndarray, b: np.ndarray, layer: int, phase: str, label: str):
        (m, k), n = a.shape, b.shape[1]
        # the MXUs read float32 values from VMEM (HBM holds float32) and round them to their
        # format on the way in
        call = (label, (m, k, n))
        quick = None
        if self._replay is not None and self._replay[1][len(self._calls)] == call:
            # the recorded step ran this very GEMM through every check: the engine's short
            # path directly, rounding through float32 in its compiled copy (None, and the
            # checked way, when it does not take the operands)
            quick = ws.run_small_float(a, b, self.config.mxu, via_float32=True)
        if quick is None:
            a32, b32 = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
            c = api.matmul(a32, b32, self.config.mxu, compare=False)[0]
        else:
            c = quick[0]
        self._calls.append(call)
        if self._replay is not None:
            return c
        a_ready = self._use(a, phase, label)
        # a B to load from HBM arrives in column blocks, each computed once it is in
        resident = self._resident(b, phase) is not None
        bounds = column_blocks(self.config, n, 0 if resident else b.size * VALUE_BYTES)
        ready = self._blocks(b, 1, bounds, phase, label)
        ops = []
        for (n0, n1), b_ready in zip(bounds, ready, strict=True):
            mapping = gemm_mapping(m, k, n1 - n0, self.config)
            # busy until the last row is in, ready after the drain (machine.mapping)
            drain = drain_cycles(self.config)
            ops.append(self._add("mxu", mapping.cycles - drain, (a_ready, b_ready), phase,
                                 f"layer{layer} {label}", mapping, drain))  # fmt: skip
        op = ops[0] if len(ops) == 1 else self._add("mxu", 0, ops, phase, label, _JOIN)
        return self._made_by(c, op, phase, label)

    def end_step(self, kind: str) -> None:
        """Close the step: count it under its ops and costs (a replayed one under the step it
        repeats), and start the next.

        Raises
        ------
        RuntimeError
            A replayed step whose calls differ from the recorded one's (a caller whose steps
            of one size differ must make the backend with ``replay=False``).
        """
        if self._replay is not None:
            key, calls = self._replay
            if calls != tuple(self._calls):
                raise RuntimeError(
                    f"a {kind} step of {self._signature[1]} samples made other calls than the "
                    "one recorded before it; use MachineBackend(config, replay=False)"
                )
            self.epoch[key] += 1
        elif self._ops:
            key = (kind, tuple(self._ops), tuple(self._costs))
            self.epoch[key] += 1
            if self._signature is not None:
                self._recorded[self._signature] = (key, tuple(self._calls))
        self._begin()

    def reset(self) -> None:
        """Forget the counted steps (a new epoch)."""
        self.epoch.clear()
        self._keep.clear()
        self._recorded.clear()
        self._begin()

    # ------------------------------------------------------------------ nn's operations

    def matmul(self, a, b, layer: int, phase: str) -> np.ndarray:
        """``a @ b`` on the MXUs."""
        return self._gemm(np.asarray(a), np.asarray(b), layer, phase, phase)

    def linear(self, a, w, b, layer: int, phase: str) -> np.ndarray:
        """``z = a @ w + b``: the product on the MXUs, the bias added on the VPU; ``z`` is
        saved in the forward pass."""
        product = self._gemm(np.asarray(a), w, layer, phase, "z = a @ w")
        z = product + np.asarray(b, dtype=np.float32)
        return self._vector("add", (product, b), phase, f"layer{layer} + b", z,
                            save=phase == "forward")  # fmt: skip

    def activate(self, name: str, z, layer: int, phase: str) -> np.ndarray:
        """The activation ``name`` on the VPU (softmax: a row max and a row sum too)."""
        save = phase == "forward"
        label = f"layer{layer} {name}"
        if name == "softmax":
            z32 = np.asarray(z, dtype=np.float32)
            peak = self._reduce("max", z32, 1, phase, label)
            e = np.exp(z32 - peak[:, None])
            e = self._vector("exp", (z32, peak), phase, label, e,
                             ops={"add": 1, "transcendental": 1})  # fmt: skip
            total = self._reduce("sum", e, 1, phase, label)
            a = e / total[:, None]
            return self._vector("divide", (e, total), phase, label, a, save=save)
        values = VECTOR_OPS[name].function(np.asarray(z, dtype=np.float32))
        return self._vector(name, (z,), phase, label, values, save=save)

    def _reduce(self, kind: str, x: np.ndarray, axis: int, phase: str, label: str):
        functions = {"sum": np.sum, "max": np.max, "argmax": np.argmax}
        x32 = np.asarray(x, dtype=np.float32)
        values = functions[kind](x32, axis=axis)
        values = values if kind == "argmax" else values.astype(np.float32)
        self._calls.append((label, kind, x32.shape))
        if self._replay is not None:
            return values
        deps = [self._use(x, phase, label)]
        cost = _reduction(self.config, x32.shape, axis, 3 if kind == "argmax" else 1)
        op = self._add("vpu", cost.cycles, deps, phase, f"{label} {kind}", cost)
        return self._made_by(values, op, phase, label)

    def dropout(self, a, keep: float, rng: np.random.Generator, layer: int):
        """Inverted dropout on the VPU: a random number per unit (``RANDOM_OPS_ASSUMED``
        operations), a compare and a select make the mask (0 or ``1 / keep``), a multiply
        applies it; both are saved."""
        drawn = rng.random(np.shape(a))  # the NumPy backend's draws, so runs stay comparable
        mask = ((drawn < keep) / np.float32(keep)).astype(np.float32)
        label = f"layer{layer} dropout"
        mask = self._vector("multiply", (), "forward", f"{label} mask", mask,
                            ops={"add": RANDOM_OPS_ASSUMED + 2}, save=True)  # fmt: skip
        dropped = np.asarray(a, dtype=np.float32) * mask
        return self._vector("multiply", (a, mask), "forward", label, dropped, save=True), mask

    def output_error(self, cost, z, a, y, layer: int) -> np.ndarray:
        """``cost.delta(z, a, y) / batch`` on the VPU, in float32: ``a - y`` (cross-entropy,
        log-likelihood) or ``(a - y) * sigmoid'(z)`` (quadratic), then the scale."""
        label = f"layer{layer} output error"
        a32, y32, z32 = (np.asarray(v, dtype=np.float32) for v in (a, y, z))
        delta = a32 - y32
        if _cost_name(cost) == "quadratic":
            s = VECTOR_OPS["sigmoid"].function(z32)
            delta = delta * (s * (np.float32(1.0) - s))
            ops = {"add": 1 + 2 + 2 + 1, "divide": 1, "transcendental": 1}  # a-y, s(1-s), *
            inputs = (a, y, z)
        else:
            ops, inputs = {"add": 1}, (a, y)
        delta = delta * np.float32(1.0 / len(y))
        ops = {**ops, "add": ops["add"] + 1}  # the scale
        return self._vector("multiply", inputs, "backward", label, delta, ops=ops)

    def weight_gradient(self, a, delta, layer: int) -> np.ndarray:
        """``a.T @ delta`` on the MXUs."""
        return self._gemm(np.asarray(a).T, delta, layer, "gradient", "dw = a.T @ delta")

    def bias_gradient(self, delta, layer: int) -> np.ndarray:
        """``delta`` summed over the batch: a reduction along axis 0 on the VPU."""
        return self._reduce("sum", delta, 0, "gradient", f"layer{layer} db")

    def backpropagate(self, delta, w, activation: str, a, z, mask, layer: int) -> np.ndarray:
        """``(delta @ w.T)`` on the MXUs, then times ``f'`` (and the mask) on the VPU."""
        back = self._gemm(delta, w.T, layer, "backward", "delta @ w.T")
        label = f"layer{layer - 1} f'"
        grad_name = f"{activation}_grad"
        if mask is None:  # from the saved activation
            grad = VECTOR_OPS[grad_name].function(np.asarray(a, dtype=np.float32))
            out = back * grad
            ops = {**VECTOR_OPS[grad_name].ops}
            ops["add"] += 1
            return self._vector("multiply", (back, a), "backward", label, out, ops=ops)
        # dropped out: f' from the saved z (the activation again, then its derivative)
        z32 = np.asarray(z, dtype=np.float32)
        grad = VECTOR_OPS[grad_name].function(VECTOR_OPS[activation].function(z32))
        if activation == "relu":  # relu's derivative from z directly: z > 0
            grad = (z32 > 0).astype(np.float32)
        out = back * grad * np.asarray(mask, dtype=np.float32)
        ops = Counter(VECTOR_OPS[grad_name].ops)
        if activation != "relu":
            ops.update(VECTOR_OPS[activation].ops)
        ops["add"] += 2  # times f', times the mask
        return self._vector("multiply", (back, z, mask), "backward", label, out, ops=dict(ops))

    def update(self, optimizer, grads, scratch: bool) -> None:
        """The optimizer's step on the VPU, in float32, written into the parameters (and
        velocities) in place, which are then stored to HBM: ``step = eta * g`` (L2:
        ``eta * (g + decay * p)``), then ``p -= step`` (momentum: ``v = mu * v - step;
        p += v``)."""
        eta, mu, decay = (np.float32(v) for v in (optimizer.eta, optimizer.mu, optimizer.decay))
        velocities = optimizer.velocity or [None] * len(optimizer.params)
        unused = np.zeros(0)
        for i, (param, grad) in enumerate(zip(optimizer.params, grads, strict=True)):
            label = f"update {i}"
            velocity = velocities[i]
            regularised = bool(optimizer.decay) and optimizer.regularised[i]
            inputs = [param, grad] + ([] if velocity is None else [velocity])
            adds = 2 + 2 * regularised + 2 * (velocity is not None)
            self._calls.append((label, param.shape, adds))
            values = (
                param, np.ascontiguousarray(grad), unused if velocity is None else velocity,
                eta, mu, decay, regularised, velocity is not None,
            )  # fmt: skip
            if self._replay is not None:
                optimizer_step(*values)
                continue
            # a large parameter is updated in blocks of rows, each stored once updated
            rows = param.shape[0]
            bounds = split_evenly(rows, pieces(param.size * VALUE_BYTES * len(inputs), rows))
            ready = [self._blocks(x, 0, bounds, "update", label) for x in inputs]
            across = param.size // rows
            for (lo, hi), deps in zip(bounds, zip(*ready, strict=True), strict=True):
                shape = (hi - lo, *param.shape[1:])
                cost = _elementwise(self.config, shape, (("add", adds),), len(inputs))
                op = self._add("vpu", cost.cycles, deps, "update", label, cost)
                stored = (hi - lo) * across * VALUE_BYTES
                for _ in range(1 if velocity is None else 2):  # the parameter, its velocity
                    self._dma("store", stored, (op,), "update", label)
            optimizer_step(*values)  # after the ops that read the old values are recorded

    def argmax(self, outputs) -> np.ndarray:
        """Each row's argmax on the VPU; the labels are written to HBM."""
        labels = self._reduce("argmax", outputs, 1, "inference", "predict")
        if self._replay is not None:
            return labels
        op = self._made[_key(labels)][0]
        self._dma("store", labels.size * VALUE_BYTES, (op,), "inference", "labels")
        return labels

    # ------------------------------------------------------------------ what it cost

    def steps(self, kind: str | None = None):
        """``(schedule, counts, times, kind)`` of each distinct step counted (of ``kind``:
        ``"train"`` or ``"evaluation"``)."""
        for (step_kind, ops, costs), times in self.epoch.items():
            if kind is None or step_kind == kind:
                timeline, counts = _step_cost(ops, costs, self._keep)
                yield timeline, counts, times, step_kind

    def first_step(self, kind: str = "train") -> tuple[tuple[Op, ...], Schedule] | None:
        """The ops and schedule of the first step of ``kind`` counted (for a Gantt chart)."""
        for (step_kind, ops, _), _times in self.epoch.items():
            if step_kind == kind:
                return ops, schedule(ops)
        return None

    def summary(self, energy=None) -> dict:
        """The counted steps (an epoch's) priced: see ``summarize``."""
        return summarize(self.config, list(self.steps()), energy)


#: the summary's name of each timeline unit: the DMA's busy cycles are HBM's
UNIT_NAMES = {"mxu": "mxu", "vpu": "vpu", "dma": "hbm"}


def summarize(config: MachineConfig, steps: list, energy=None) -> dict:
    """What an epoch's steps (``MachineBackend.steps``) cost, by the stable names:

    - ``total_cycles``, ``seconds``: every training step and evaluation pass, one after
      another (a step starts when the one before has ended);
    - ``train_cycles``, ``evaluation_cycles``, ``steps`` (training steps), ``step_cycles``
      (the cycles of the training step run most often: a full mini-batch);
    - ``phases``: per phase (``forward``, ``backward``, ``gradient``, ``update``,
      ``evaluation``) its ``cycles`` (the steps' cycles given to it, see
      ``systolic.machine.timeline.Schedule``; they sum to ``total_cycles``), ``seconds``,
      and its ops' busy ``mxu_cycles``, ``vpu_cycles`` and ``hbm_cycles`` (the DMA's);
    - ``unit_cycles`` and ``unit_share``: busy cycles per unit (``mxu``, ``vpu``, ``hbm``)
      and their share of ``total_cycles``; ``bottleneck``: the busiest unit of the training
      steps (of all steps when there is no training step);
    - ``macs``, ``utilization`` (MACs over all MXUs' PEs times ``total_cycles``),
      ``vpu_element_ops`` by op class, ``vmem_bytes``, ``hbm_read_bytes``,
      ``hbm_write_bytes``;
    - with an ``energy`` table: ``energy_j`` and its parts by unit
      (``energy_by_unit_j``, ``systolic.energy.price_machine``), and ``step_energy_j``, the
      training steps' energy over their number (evaluation not included); else None.
    """
    from systolic.energy import price_machine

    phases = {p: {"cycles": 0, "mxu_cycles": 0, "vpu_cycles": 0, "hbm_cycles": 0} for p in PHASES}
    units = dict.fromkeys(UNIT_NAMES.values(), 0)
    train_units = dict.fromkeys(UNIT_NAMES.values(), 0)
    totals = Counter()
    element_ops = dict.fromkeys(OP_CLASSES, 0)
    # what energy prices, per kind of step
    priced = {
        kind: {"mxu_report": None, "vpu_element_ops": dict.fromkeys(OP_CLASSES, 0),
               "vmem_bytes": 0, "hbm_bytes": 0}
        for kind in ("train", "evaluation")
    }  # fmt: skip
    most = (0, 0)  # (times, cycles) of the most frequent training step
    for timeline, counts, times, kind in steps:
        totals[kind] += timeline.total_cycles * times
        if kind == "train":
            totals["steps"] += times
            most = max(most, (times, timeline.total_cycles))
        for phase, cycles in timeline.phase_cycles.items():
            phases[phase]["cycles"] += cycles * times
            for unit, busy in timeline.phase_unit_cycles[phase].items():
                phases[phase][f"{UNIT_NAMES[unit]}_cycles"] += busy * times
        for unit, busy in timeline.unit_cycles.items():
            units[UNIT_NAMES[unit]] += busy * times
            if kind == "train":
                train_units[UNIT_NAMES[unit]] += busy * times
        totals["macs"] += counts.macs * times
        totals["vmem_bytes"] += counts.vmem_bytes * times
        totals["hbm_read_bytes"] += counts.hbm_read_bytes * times
        totals["hbm_write_bytes"] += counts.hbm_write_bytes * times
        into = priced[kind]
        for op_class, n in counts.vpu_element_ops.items():
            element_ops[op_class] += n * times
            into["vpu_element_ops"][op_class] += n * times
        into["vmem_bytes"] += counts.vmem_bytes * times
        into["hbm_bytes"] += (counts.hbm_read_bytes + counts.hbm_write_bytes) * times
        if counts.mxu_report is not None:
            repeated = counts.mxu_report.repeated(times)
            mxu = into["mxu_report"]
            into["mxu_report"] = repeated if mxu is None else mxu + repeated
    total = totals["train"] + totals["evaluation"]
    busiest = train_units if totals["steps"] else units  # the training steps', if any
    for values in phases.values():
        values["seconds"] = config.seconds(values["cycles"])
    out = {
        "total_cycles": total,
        "seconds": config.seconds(total),
        "train_cycles": totals["train"],
        "evaluation_cycles": totals["evaluation"],
        "steps": totals["steps"],
        "step_cycles": most[1],
        "phases": {p: v for p, v in phases.items() if v["cycles"]},
        "unit_cycles": units,
        "unit_share": {u: (busy / total if total else 0.0) for u, busy in units.items()},
        "bottleneck": max(busiest, key=busiest.get) if total else None,
        "macs": totals["macs"],
        "utilization": totals["macs"] / (config.pe_count * total) if total else 0.0,
        "vpu_element_ops": element_ops,
        "vmem_bytes": totals["vmem_bytes"],
        "hbm_read_bytes": totals["hbm_read_bytes"],
        "hbm_write_bytes": totals["hbm_write_bytes"],
        "energy_j": None,
        "energy_by_unit_j": None,
        "step_energy_j": None,
        "energy_table": None if energy is None else energy.name,
    }
    if energy is not None:
        by_kind = {kind: price_machine(counts, energy, config.dtype)
                   for kind, counts in priced.items()}  # fmt: skip
        out["energy_by_unit_j"] = {
            part: by_kind["train"][part] + by_kind["evaluation"][part]
            for part in by_kind["train"]
            if part != "energy_j"
        }
        out["energy_j"] = by_kind["train"]["energy_j"] + by_kind["evaluation"]["energy_j"]
        if totals["steps"]:
            out["step_energy_j"] = by_kind["train"]["energy_j"] / totals["steps"]
    return out


def pieces(nbytes: int, tiles: int) -> int:
    """Blocks a transfer of ``nbytes`` made of ``tiles`` indivisible tiles is cut into: as
    many as :data:`PIPELINE_BYTES` asks for, at most one per tile."""
    return max(1, min(tiles, math.ceil(nbytes / PIPELINE_BYTES)))


def column_blocks(config: MachineConfig, n: int, nbytes: int) -> list[tuple[int, int]]:
    """The column blocks ``(n0, n1)`` of a GEMM's ``n`` columns whose B (``nbytes`` of it)
    arrives from HBM block by block: whole MXU column tiles, as many per block as the chip
    has MXUs (so every block keeps them all busy); one block when ``nbytes`` is 0 (B is in
    VMEM already)."""
    width = config.mxu_cols * config.mxu_count
    groups = math.ceil(n / width)
    return [(lo * width, min(n, hi * width))
            for lo, hi in split_evenly(groups, pieces(nbytes, groups))]  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _transfer(direction: str, nbytes: int) -> tuple[str, int]:
    """A DMA transfer's cost object (one per direction and size, so its id is stable)."""
    return (direction, nbytes)


#: the cost of a zero-cycle op that joins blocks (a value is ready when all its blocks are)
_JOIN = ("join", 0)


@functools.lru_cache(maxsize=4096)
def _elementwise(config, shape, ops, operands) -> VectorCost:
    return elementwise_cost(config, shape, dict(ops), operands)


@functools.lru_cache(maxsize=4096)
def _reduction(config, shape, axis, ops) -> VectorCost:
    return reduction_cost(config, shape, axis, ops)


@functools.lru_cache(maxsize=16)
def _cost_name(cost) -> str:
    from nn.costs import COSTS

    return next(name for name, value in COSTS.items() if value is cost)


def _step_cost(ops: tuple[Op, ...], costs: tuple[int, ...], objects: dict):
    """The schedule and counts of one step (its ops and their cost objects' ids)."""
    timeline = schedule(ops)
    mxu_report, macs, vmem, read, write = None, 0, 0, 0, 0
    element_ops = dict.fromkeys(OP_CLASSES, 0)
    for key in costs:
        cost = objects[key]
        if isinstance(cost, GemmMapping):
            mxu_report = cost.report if mxu_report is None else mxu_report + cost.report
            macs += cost.macs
            vmem += cost.report.act_read_bytes + cost.report.weight_read_bytes
            vmem += cost.m * cost.n * VALUE_BYTES
        elif isinstance(cost, VectorCost):
            for op_class, n in cost.element_ops:
                element_ops[op_class] += n
            vmem += cost.vmem_bytes
        else:
            direction, nbytes = cost
            if direction == "load":
                read += nbytes
            elif direction == "store":
                write += nbytes
    return timeline, StepCounts(mxu_report, macs, element_ops, vmem, read, write)


def check_fits(config: MachineConfig, sizes, batch: int, evaluated: int) -> None:
    """Refuse, before training, an MLP of ``sizes`` at mini-batch ``batch`` (evaluated
    ``evaluated`` samples at a time) that ``config`` cannot hold, naming what does not fit
    and by how much:

    - HBM: parameters, gradients and velocities (three float32 copies of each), the saved
      ``z``, activation and dropout mask of every layer of a mini-batch, and one
      evaluation pass's inputs and outputs, all float32;
    - VMEM: each GEMM's tile on one MXU, a k-strip of its operands (``k x mxu_cols`` of B,
      ``min(m, accumulator_rows) x k`` of A, in the MXU format) and the rows of sums it makes
      (float32), for every GEMM of the step and of evaluation.
    """
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    parameters = sum((n_in + 1) * n_out for n_in, n_out in pairs)
    saved = 3 * batch * sum(sizes[1:]) + batch * sizes[0]
    passing = evaluated * (sizes[0] + 2 * max(sizes[1:]))
    need = VALUE_BYTES * (3 * parameters + saved + passing)
    if need > config.hbm_bytes:
        raise ValueError(
            f"a {','.join(map(str, sizes))} network at batch {batch} needs "
            f"{format_bytes(need)} of HBM (parameters, gradients, velocities, saved "
            f"activations), more than {config.name}'s {format_bytes(config.hbm_bytes)} by "
            f"{format_bytes(need - config.hbm_bytes)}"
        )
    operand = config.operand_bytes
    for m in (batch, evaluated):
        for n_in, n_out in pairs:
            # forward (m, n_in) @ (n_in, n_out), backward (m, n_out) @ (n_out, n_in),
            # gradient (n_in, m) @ (m, n_out)
            for gm, gk, gn in ((m, n_in, n_out), (m, n_out, n_in), (n_in, m, n_out)):
                rows = min(gm, config.accumulator_rows)
                cols = min(gn, config.mxu_cols)
                tile = operand * gk * (cols + rows) + VALUE_BYTES * rows * cols
                if tile > config.vmem_bytes:
                    raise ValueError(
                        f"the ({gm:,}, {gk:,}) @ ({gk:,}, {gn:,}) GEMM's tile needs "
                        f"{format_bytes(tile)} of VMEM, more than {config.name}'s "
                        f"{format_bytes(config.vmem_bytes)} by "
                        f"{format_bytes(tile - config.vmem_bytes)}"
                    )
            if m == evaluated:
                break  # evaluation runs the forward GEMM only


__all__ = ["MachineBackend", "PHASES", "UNITS", "Schedule", "StepCounts", "check_fits"]
