"""The vector unit (VPU): element-wise ops and reductions with real values and counted cycles.

::

    VMEM --> vector registers (sublanes x lanes float32) --> VALU / transcendental path
                                                        \\--> back to VMEM

An array lives in vector registers as a TPU lays it out: its last two dimensions are padded
to multiples of ``(sublanes, lanes)`` (8 x 128), one register per tile, leading dimensions
multiplying the count (a 1-D array is one row). An op runs one *vector step* per register of
its output, and a step costs its op class's cycles (``VPUConfig``): an op that does several
things per element (the sigmoid's negate, exp, add and reciprocal) costs the sum. The
chip's ``cores`` VPUs share the steps (``ceil(steps / cores)`` each), and an op never takes
fewer cycles than its bytes over the VMEM bandwidth.

Reductions of a 2-D array ``(r, c)``, with ``g = ceil(r / sublanes)`` row groups and
``t = ceil(c / lanes)`` column tiles:

- along axis 1 (a row's sum, max or argmax): ``g * (t - 1)`` steps combine a row group's
  registers into one, then ``g * ceil(log2(min(c, lanes)))`` steps fold the lanes in a tree;
- along axis 0 (a column's sum: a bias gradient): ``t * (g - 1)`` steps combine registers,
  then ``t * ceil(log2(min(r, sublanes)))`` steps fold the sublanes.

Each combining step costs ``ops`` add-class operations: 1 for a sum or a max, 3 for an
argmax (compare, select the value, select its index).

Values are NumPy's, in float32 (every VPU computes in fp32), so they are the values of the
same expression evaluated by NumPy on float32 arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from systolic.machine.config import OP_CLASSES, MachineConfig


def vector_registers(shape: tuple[int, ...], sublanes: int, lanes: int) -> int:
    """Vector registers an array of ``shape`` fills (its last two dimensions padded to
    ``(sublanes, lanes)``; a 1-D array is one row; a 0-D one one register).

    >>> vector_registers((10, 30), 8, 128), vector_registers((784,), 8, 128)
    (2, 7)
    """
    if len(shape) == 0:
        return 1
    if len(shape) == 1:
        shape = (1, shape[0])
    *lead, r, c = shape
    return math.prod(lead) * math.ceil(r / sublanes) * math.ceil(c / lanes)


@dataclass(frozen=True)
class VectorCost:
    """What one VPU op cost: ``cycles`` on the chip's VPUs, ``steps`` vector steps of each
    op class (``steps_by_class``, summed over cores), the element operations it did
    (``element_ops``, real elements times operations per element, padding not counted) and
    the bytes it read and wrote in VMEM (``vmem_bytes``, float32)."""

    cycles: int
    steps_by_class: tuple[tuple[str, int], ...]
    element_ops: tuple[tuple[str, int], ...]
    vmem_bytes: int


def _cost(config: MachineConfig, steps: dict[str, int], elements: dict[str, int],
          vmem_bytes: int) -> VectorCost:  # fmt: skip
    vpu = config.vpu
    cycles = sum(math.ceil(n / config.cores) * vpu.cycles(cls) for cls, n in steps.items())
    floor = math.ceil(vmem_bytes / (config.vmem_bytes_per_cycle * config.cores))
    return VectorCost(
        max(cycles, floor),
        tuple((cls, steps.get(cls, 0)) for cls in OP_CLASSES),
        tuple((cls, elements.get(cls, 0)) for cls in OP_CLASSES),
        vmem_bytes,
    )


def elementwise_cost(
    config: MachineConfig, shape: tuple[int, ...], ops: dict[str, int], operands: int
) -> VectorCost:
    """Cost of an element-wise op producing an array of ``shape`` with ``ops[class]``
    operations of each class per element, reading ``operands`` arrays of that shape (and
    writing one).

    >>> from systolic.machine.config import tpu_v5e
    >>> elementwise_cost(tpu_v5e(), (10, 30), {"add": 1}, 2).cycles   # 2 registers, 1 cycle
    2
    """
    vpu = config.vpu
    registers = vector_registers(shape, vpu.sublanes, vpu.lanes)
    size = math.prod(shape)
    steps = {cls: registers * n for cls, n in ops.items() if n}
    elements = {cls: size * n for cls, n in ops.items() if n}
    return _cost(config, steps, elements, 4 * size * (operands + 1))


def folded_cost(
    config: MachineConfig,
    shape: tuple[int, ...],
    ops: dict[str, int],
    operands: int,
    combines: int = 0,
    combine_ops: int = 1,
) -> VectorCost:
    """:func:`elementwise_cost` of an op over an output of ``shape``, plus ``combines``
    elements folded into others (a reduction counted by its combines alone, where its layout
    is not a plain 2-D row or column reduction: a softmax over any axis, a pooling window),
    ``combine_ops`` add-class operations each, one vector register of them per step."""
    cost = elementwise_cost(config, shape, ops, operands)
    if not combines:
        return cost
    steps = math.ceil(combines / config.vpu.vector)
    extra = math.ceil(steps / config.cores) * combine_ops * config.vpu.add_cycles
    steps_by_class = dict(cost.steps_by_class)
    steps_by_class["add"] += steps * combine_ops
    element_ops = dict(cost.element_ops)
    element_ops["add"] += combines * combine_ops
    return VectorCost(
        cost.cycles + extra,
        tuple((cls, steps_by_class[cls]) for cls in OP_CLASSES),
        tuple((cls, element_ops[cls]) for cls in OP_CLASSES),
        cost.vmem_bytes,
    )


def reduction_cost(
    config: MachineConfig, shape: tuple[int, int], axis: int, ops: int = 1
) -> VectorCost:
    """Cost of reducing a 2-D array of ``shape`` along ``axis`` with ``ops`` add-class
    operations per combining step (see the module docstring).

    >>> from systolic.machine.config import tpu_v5e
    >>> reduction_cost(tpu_v5e(), (10, 30), axis=1).cycles  # 2 row groups x ceil(log2 30)
    10
    """
    if axis not in (0, 1) or len(shape) != 2:
        raise ValueError(f"a VPU reduction takes a 2-D array and axis 0 or 1, got {shape}, {axis}")
    vpu = config.vpu
    r, c = shape
    groups, tiles = math.ceil(r / vpu.sublanes), math.ceil(c / vpu.lanes)
    if axis == 1:
        steps = groups * (tiles - 1) + groups * math.ceil(math.log2(min(c, vpu.lanes)))
        out = r
    else:
        steps = tiles * (groups - 1) + tiles * math.ceil(math.log2(min(r, vpu.sublanes)))
        out = c
    combines = r * c - out  # each combine folds one element into another
    return _cost(config, {"add": steps * ops}, {"add": combines * ops}, 4 * (r * c + out))


@dataclass(frozen=True)
class VectorOp:
    """An element-wise VPU op: its float32 ``function`` and its operations per element by
    class (``ops``)."""

    function: Callable[..., np.ndarray]
    ops: dict[str, int]


def _f32(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.asarray(x, dtype=np.float32) for x in arrays]


def _sigmoid(z):
    # negate, exp, add 1, reciprocal: one of each, as nn's sigmoid
    s = np.negative(z)
    np.exp(s, out=s)
    s += np.float32(1.0)
    return np.divide(np.float32(1.0), s, out=s)


#: the element-wise ops of a training step, by name: values in float32, operations per
#: element by class
VECTOR_OPS: dict[str, VectorOp] = {
    "add": VectorOp(lambda x, y: x + y, {"add": 1}),
    "subtract": VectorOp(lambda x, y: x - y, {"add": 1}),
    "multiply": VectorOp(lambda x, y: x * y, {"add": 1}),
    "scale": VectorOp(lambda x, s: x * s, {"add": 1}),
    "sigmoid": VectorOp(_sigmoid, {"add": 2, "divide": 1, "transcendental": 1}),
    "tanh": VectorOp(np.tanh, {"transcendental": 1}),
    "relu": VectorOp(lambda z: np.maximum(z, np.float32(0.0)), {"add": 1}),
    # derivatives from the activation's output: a * (1 - a), 1 - a * a, a > 0 (select)
    "sigmoid_grad": VectorOp(lambda a: a * (np.float32(1.0) - a), {"add": 2}),
    "tanh_grad": VectorOp(lambda a: np.float32(1.0) - a * a, {"add": 2}),
    "relu_grad": VectorOp(lambda a: (a > 0).astype(np.float32), {"add": 2}),
    "exp": VectorOp(np.exp, {"transcendental": 1}),
    "divide": VectorOp(lambda x, y: x / y, {"divide": 1}),
}


class VPU:
    """The chip's vector units: :meth:`run` computes an element-wise op's values and cost,
    :meth:`reduce` a reduction's."""

    def __init__(self, config: MachineConfig):
        self.config = config

    def run(self, name: str, *inputs: np.ndarray) -> tuple[np.ndarray, VectorCost]:
        """``VECTOR_OPS[name]`` on float32 copies of ``inputs`` (arrays of one shape, or
        scalars): the values and the cost."""
        op = VECTOR_OPS[name]
        arrays = _f32(*inputs)
        out = np.asarray(op.function(*arrays), dtype=np.float32)
        operands = sum(1 for x in arrays if x.ndim)
        return out, elementwise_cost(self.config, out.shape, op.ops, operands)

    def reduce(self, kind: str, x: np.ndarray, axis: int) -> tuple[np.ndarray, VectorCost]:
        """``sum``, ``max`` or ``argmax`` of a 2-D array along ``axis``, in float32 (argmax:
        int64 indices, the first of equal maxima as NumPy's)."""
        functions = {"sum": np.sum, "max": np.max, "argmax": np.argmax}
        if kind not in functions:
            raise ValueError(f"unknown reduction {kind!r}; valid: {', '.join(functions)}")
        (x,) = _f32(x)
        out = functions[kind](x, axis=axis)
        if kind != "argmax":
            out = out.astype(np.float32)
        return out, reduction_cost(self.config, x.shape, axis, 3 if kind == "argmax" else 1)


@njit(cache=True)
def optimizer_step(param, grad, velocity, eta, mu, decay, regularised, momentum):
    """The optimizer's update of one parameter on the VPU, in float32, in place: ``step = g
    * eta`` (``regularised``: ``(g + p * decay) * eta``), then ``p = p - step``
    (``momentum``: ``v = v * mu - step; p = p + v``). ``param`` and ``velocity`` are
    C-contiguous and keep their type (float64 holding float32 values); ``eta``, ``mu`` and
    ``decay`` are float32. The same numbers as those expressions on float32 NumPy arrays
    (tested): each operation one IEEE float32 rounding, in the same order."""
    p, g, v = param.reshape(-1), grad.reshape(-1), velocity.reshape(-1)
    for i in range(p.size):
        p32, g32 = np.float32(p[i]), np.float32(g[i])
        if regularised:
            step = (g32 + p32 * decay) * eta
        else:
            step = g32 * eta
        if momentum:
            v32 = np.float32(v[i]) * mu - step
            v[i] = v32
            p[i] = p32 + v32
        else:
            p[i] = p32 - step
