"""The ONNX operators the machine runs, by op type: which unit runs each, its values and its cost.

::

    node --> OPS[node.op_type] --> (unit, values = run(node, inputs), cost on that unit)
               mxu: MatMul, Gemm, Conv          the GEMMs on the MXUs (the array's values)
               vpu: element-wise, activations,  NumPy in float32 (or the inputs' integer
                    normalizations, pooling,    type), priced by op class per element
                    softmax, reductions
               dma: shape and data movement     copies priced by their bytes over HBM

Like ONNX's own reference runtime (``onnx/reference/ops/``), one function per op type
computes its values and a registry maps op types to them; unlike it, every function is
written here, from the operator's specification, so that the comparison with
``onnx.reference.ReferenceEvaluator`` is between two independent implementations. Each
function takes the node's attributes (a dict) and its input arrays (None for an omitted
optional input) and returns its outputs and its cost: ``Gemms`` (the GEMMs the MXUs run,
with the element-wise work after them), ``Vector`` (operations per element by class over
the output) or ``Move`` (bytes a copy moves).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Gemms:
    """MXU work: ``(m, k, n)`` of each GEMM run, and ``ops`` per element of ``vector_shape``
    done on the VPU after them (a bias, a scale); ``integer``: the GEMMs run in the MXUs'
    int8 mode (the quantized ops), whatever the machine's format."""

    shapes: tuple[tuple[int, int, int], ...]
    vector_shape: tuple[int, ...] = ()
    ops: dict = field(default_factory=dict)
    integer: bool = False


@dataclass(frozen=True)
class Vector:
    """VPU work: ``ops`` per element (by class) over an output of ``shape``, reading
    ``operands`` inputs of that size; ``reduce`` elements folded into others (a reduction's
    combines, at ``reduce_ops`` add-class operations each)."""

    shape: tuple[int, ...]
    ops: dict
    operands: int = 1
    reduce: int = 0
    reduce_ops: int = 1


@dataclass(frozen=True)
class Move:
    """Data movement: ``bytes`` copied (read and written once) by the DMA."""

    bytes: int


@dataclass(frozen=True)
class OpSpec:
    """An op type's unit (``mxu``, ``vpu`` or ``dma``) and the function computing its values
    and cost: ``run(attrs, inputs, mxu) -> (outputs, cost)``, ``mxu(a, b)`` the machine's
    2-D GEMM."""

    unit: str
    run: Callable


OPS: dict[str, OpSpec] = {}


def op(unit: str, *names: str):
    """Register the decorated function as the op types ``names`` on ``unit``."""

    def register(function):
        for name in names:
            OPS[name] = OpSpec(unit, function)
        return function

    return register


# ----------------------------------------------------------------------- element-wise (VPU)

#: unary element-wise ops: their values and operations per element by class
_UNARY = {
    "Relu": (lambda x: np.maximum(x, 0), {"add": 1}),
    "Neg": (np.negative, {"add": 1}),
    "Abs": (np.abs, {"add": 1}),
    "Exp": (np.exp, {"transcendental": 1}),
    "Log": (np.log, {"transcendental": 1}),
    "Tanh": (np.tanh, {"transcendental": 1}),
    "Sqrt": (np.sqrt, {"divide": 1}),
    "Reciprocal": (lambda x: 1 / x, {"divide": 1}),
    "Sigmoid": (lambda x: 1 / (1 + np.exp(-x)), {"add": 2, "divide": 1, "transcendental": 1}),
    "Floor": (np.floor, {"add": 1}),
    "Ceil": (np.ceil, {"add": 1}),
    "Sign": (np.sign, {"add": 2}),
    "Not": (np.logical_not, {"add": 1}),
    "Softplus": (lambda x: np.log1p(np.exp(x)), {"add": 1, "transcendental": 2}),
    "Erf": (np.vectorize(math.erf, otypes=[np.float64]), {"transcendental": 1}),
}


def _unary(name):
    function, ops = _UNARY[name]

    def run(attrs, inputs, mxu):
        (x,) = inputs
        with np.errstate(all="ignore"):
            y = np.asarray(function(x))
        y = y.astype(x.dtype, copy=False) if name != "Not" else y
        return [y], Vector(y.shape, ops)

    return run


for _name in _UNARY:
    OPS[_name] = OpSpec("vpu", _unary(_name))

#: binary element-wise ops (NumPy broadcasting, as ONNX's multidirectional broadcasting)
_BINARY = {
    "Add": (np.add, {"add": 1}),
    "Sub": (np.subtract, {"add": 1}),
    "Mul": (np.multiply, {"add": 1}),
    "Div": (None, {"divide": 1}),
    "Pow": (np.power, {"transcendental": 2}),
    "Equal": (np.equal, {"add": 1}),
    "Less": (np.less, {"add": 1}),
    "LessOrEqual": (np.less_equal, {"add": 1}),
    "Greater": (np.greater, {"add": 1}),
    "GreaterOrEqual": (np.greater_equal, {"add": 1}),
    "And": (np.logical_and, {"add": 1}),
    "Or": (np.logical_or, {"add": 1}),
    "Xor": (np.logical_xor, {"add": 1}),
}


def _divide(a, b):
    if a.dtype.kind in "iu":  # integer division truncates toward zero (C's, ONNX's)
        return (np.trunc(a / b)).astype(a.dtype)
    return a / b


def _binary(name):
    function, ops = _BINARY[name]

    def run(attrs, inputs, mxu):
        a, b = inputs
        with np.errstate(all="ignore"):
            y = _divide(a, b) if name == "Div" else function(a, b)
        y = np.asarray(y)
        if y.dtype.kind not in "b" and a.dtype.kind != "b":
            y = y.astype(a.dtype, copy=False)
        return [y], Vector(y.shape, ops, operands=2)

    return run


for _name in _BINARY:
    OPS[_name] = OpSpec("vpu", _binary(_name))


def _variadic_op(name):
    def run(attrs, inputs, mxu):
        y = inputs[0]
        for x in inputs[1:]:
            y = {"Max": np.maximum, "Min": np.minimum, "Sum": np.add, "Mean": np.add}[name](y, x)
        if name == "Mean":
            y = y / len(inputs)
        y = np.asarray(y).astype(inputs[0].dtype, copy=False)
        return [y], Vector(y.shape, {"add": len(inputs)}, operands=len(inputs))

    return run


for _name in ("Max", "Min", "Sum", "Mean"):
    OPS[_name] = OpSpec("vpu", _variadic_op(_name))


@op("vpu", "Where")
def _where(attrs, inputs, mxu):
    condition, a, b = inputs
    y = np.where(condition, a, b)
    return [y], Vector(y.shape, {"add": 1}, operands=3)


@op("vpu", "Clip")
def _clip(attrs, inputs, mxu):
    x = inputs[0]
    low = attrs.get("min", inputs[1] if len(inputs) > 1 and inputs[1] is not None else None)
    high = attrs.get("max", inputs[2] if len(inputs) > 2 and inputs[2] is not None else None)
    y = x
    if low is not None:
        y = np.maximum(y, low)
    if high is not None:
        y = np.minimum(y, high)
    return [np.asarray(y).astype(x.dtype, copy=False)], Vector(x.shape, {"add": 2})


@op("vpu", "LeakyRelu")
def _leaky_relu(attrs, inputs, mxu):
    (x,) = inputs
    alpha = attrs.get("alpha", 0.01)
    y = np.where(x >= 0, x, x * x.dtype.type(alpha))
    return [y.astype(x.dtype, copy=False)], Vector(x.shape, {"add": 3})


@op("vpu", "Elu")
def _elu(attrs, inputs, mxu):
    (x,) = inputs
    alpha = x.dtype.type(attrs.get("alpha", 1.0))
    with np.errstate(over="ignore"):
        y = np.where(x >= 0, x, alpha * (np.exp(x) - 1))
    return [y.astype(x.dtype, copy=False)], Vector(x.shape, {"add": 3, "transcendental": 1})


@op("vpu", "HardSigmoid")
def _hard_sigmoid(attrs, inputs, mxu):
    (x,) = inputs
    alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
    y = np.clip(x * x.dtype.type(alpha) + x.dtype.type(beta), 0, 1)
    return [y.astype(x.dtype, copy=False)], Vector(x.shape, {"add": 4})


@op("vpu", "Gelu")
def _gelu(attrs, inputs, mxu):
    (x,) = inputs
    if attrs.get("approximate", "none") == "tanh":
        inner = np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)
        y = 0.5 * x * (1 + np.tanh(inner))
        ops = {"add": 7, "transcendental": 1}
    else:
        erf = _UNARY["Erf"][0]
        y = 0.5 * x * (1 + erf(x / np.sqrt(2)))
        ops = {"add": 4, "transcendental": 1}
    return [np.asarray(y).astype(x.dtype, copy=False)], Vector(x.shape, ops)


# ----------------------------------------------------------------------- reductions (VPU)


def _axes(attrs, inputs, rank: int, default_all: bool = True):
    """A reduction's axes: the attribute (older opsets) or the second input; all when
    neither is given (unless ``noop_with_empty_axes``)."""
    axes = attrs.get("axes")
    if axes is None and len(inputs) > 1 and inputs[1] is not None and inputs[1].size:
        axes = inputs[1].tolist()
    if axes is None:
        return None if default_all else ()
    return tuple(int(a) % rank for a in axes)


def _reduction(name):
    functions = {
        "ReduceSum": np.sum, "ReduceMean": np.mean, "ReduceMax": np.max, "ReduceMin": np.min,
        "ReduceProd": np.prod, "ReduceL1": lambda x, **k: np.sum(np.abs(x), **k),
        "ReduceL2": lambda x, **k: np.sqrt(np.sum(x * x, **k)),
        "ReduceSumSquare": lambda x, **k: np.sum(x * x, **k),
        "ReduceLogSumExp": lambda x, **k: np.log(np.sum(np.exp(x), **k)),
    }  # fmt: skip
    function = functions[name]

    def run(attrs, inputs, mxu):
        x = inputs[0]
        keepdims = bool(attrs.get("keepdims", 1))
        axes = _axes(attrs, inputs, x.ndim)
        if axes is None and attrs.get("noop_with_empty_axes", 0):
            return [x], Vector(x.shape, {"add": 0})
        if x.size == 0 and name in ("ReduceMax", "ReduceMin"):
            high = name == "ReduceMin"  # the identity of the reduction: its type's end
            if x.dtype.kind == "b":
                fill = high
            elif x.dtype.kind in "iu":
                info = np.iinfo(x.dtype)
                fill = info.max if high else info.min
            else:
                fill = np.inf if high else -np.inf
            shape = [1 if (axes is None or i in axes) else d for i, d in enumerate(x.shape)]
            y = np.full(shape, fill, dtype=x.dtype)
            if not keepdims:
                y = y.reshape([d for i, d in enumerate(shape) if not (axes is None or i in axes)])
            return [y], Vector(y.shape, {"add": 0})
        with np.errstate(all="ignore"):
            y = np.asarray(function(x, axis=axes, keepdims=keepdims)).astype(x.dtype, copy=False)
        extra = 2 if name in ("ReduceL2", "ReduceSumSquare", "ReduceLogSumExp") else 1
        return [y], Vector(y.shape, {"add": extra - 1}, reduce=max(0, x.size - y.size))

    return run


for _name in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
              "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"):  # fmt: skip
    OPS[_name] = OpSpec("vpu", _reduction(_name))


def _arg_op(function):
    def run(attrs, inputs, mxu):
        (x,) = inputs
        axis, keepdims = int(attrs.get("axis", 0)) % x.ndim, bool(attrs.get("keepdims", 1))
        if attrs.get("select_last_index", 0):
            y = x.shape[axis] - 1 - function(np.flip(x, axis), axis)
        else:
            y = function(x, axis)
        if keepdims:
            y = np.expand_dims(y, axis)
        y = np.asarray(y, dtype=np.int64)
        return [y], Vector(y.shape, {"add": 0}, reduce=x.size - y.size, reduce_ops=3)

    return run


OPS["ArgMax"] = OpSpec("vpu", _arg_op(np.argmax))
OPS["ArgMin"] = OpSpec("vpu", _arg_op(np.argmin))


def _softmax_axis(attrs, x, opset: int):
    return int(attrs.get("axis", -1 if opset >= 13 else 1)) % max(1, x.ndim)


def _softmax_op(log: bool):
    def run(attrs, inputs, mxu):
        (x,) = inputs
        opset = attrs.get("_opset", 13)
        axis = _softmax_axis(attrs, x, opset)
        if opset < 13:  # the input seen as 2-D: dimensions from axis on are one row
            rows = int(np.prod(x.shape[:axis]))
            flat = x.reshape(rows, -1)
            shift = flat - flat.max(axis=1, keepdims=True)
            e = np.exp(shift)
            total = e.sum(axis=1, keepdims=True)
            y = (shift - np.log(total)) if log else e / total
            y = y.reshape(x.shape)
        else:
            shift = x - x.max(axis=axis, keepdims=True)
            e = np.exp(shift)
            total = e.sum(axis=axis, keepdims=True)
            y = (shift - np.log(total)) if log else e / total
        ops = {"add": 2, "transcendental": 1 + log, "divide": 0 if log else 1}
        return [y.astype(x.dtype, copy=False)], Vector(x.shape, ops, reduce=2 * x.size)

    return run


OPS["Softmax"] = OpSpec("vpu", _softmax_op(False))
OPS["LogSoftmax"] = OpSpec("vpu", _softmax_op(True))


@op("vpu", "BatchNormalization")
def _batch_norm(attrs, inputs, mxu):
    x, scale, bias, mean, var = inputs[:5]
    eps = attrs.get("epsilon", 1e-5)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    training = bool(attrs.get("training_mode", 0))
    outputs, reduce = [], 0
    if training:  # normalize with the batch's statistics; update the running ones
        axes = (0, *range(2, x.ndim))
        batch_mean, batch_var = x.mean(axis=axes), x.var(axis=axes)
        momentum = attrs.get("momentum", 0.9)
        outputs = [(mean * momentum + batch_mean * (1 - momentum)).astype(mean.dtype),
                   (var * momentum + batch_var * (1 - momentum)).astype(var.dtype)]  # fmt: skip
        mean, var, reduce = batch_mean, batch_var, 2 * x.size
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    y = y * scale.reshape(shape) + bias.reshape(shape)
    outputs = [y.astype(x.dtype, copy=False), *outputs][: attrs.get("_outputs", 1)]
    return outputs, Vector(x.shape, {"add": 3, "divide": 1}, reduce=reduce)


@op("vpu", "LayerNormalization")
def _layer_norm(attrs, inputs, mxu):
    x, scale = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    axis = int(attrs.get("axis", -1)) % x.ndim
    eps = attrs.get("epsilon", 1e-5)
    axes = tuple(range(axis, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    inv = 1 / np.sqrt(var + eps)
    y = (x - mean) * inv * scale
    if bias is not None:
        y = y + bias
    outputs = [y.astype(x.dtype, copy=False), mean.astype(np.float32), inv.astype(np.float32)]
    return outputs, Vector(x.shape, {"add": 6, "divide": 1}, reduce=2 * x.size)


def _pool_geometry(attrs, spatial: tuple[int, ...]):
    """Kernel, strides, dilations and (begin, end) pads of a pooling or convolution node."""
    kernel = tuple(attrs["kernel_shape"])
    n = len(kernel)
    strides = tuple(attrs.get("strides", (1,) * n))
    dilations = tuple(attrs.get("dilations", (1,) * n))
    pads = list(attrs.get("pads", (0,) * (2 * n)))
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        for i in range(n):
            out = -(-spatial[i] // strides[i])
            total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i])
            small, large = total // 2, total - total // 2
            pads[i], pads[i + n] = (small, large) if auto_pad == "SAME_UPPER" else (large, small)
    elif auto_pad == "VALID":
        pads = [0] * (2 * n)
    return kernel, strides, dilations, pads


def _pool_windows(x, attrs):
    """Every pooling window of ``x`` (N, C, *spatial) along one trailing axis (padding as
    NaN), and per window the count of cells inside the input (``inside``) and inside the
    input or its explicit pads (``with_pads``: ceil mode's extra cells past them count in
    neither)."""
    spatial = x.shape[2:]
    kernel, strides, dilations, pads = _pool_geometry(attrs, spatial)
    n = len(kernel)
    ceil = bool(attrs.get("ceil_mode", 0))
    out = []
    for i in range(n):
        span = (kernel[i] - 1) * dilations[i] + 1
        size = spatial[i] + pads[i] + pads[i + n] - span
        count = (-(-size // strides[i]) if ceil else size // strides[i]) + 1
        if ceil and (count - 1) * strides[i] >= spatial[i] + pads[i]:
            count -= 1  # the last window must start inside the input or its begin pad
        out.append(count)
    # ceil mode's last windows may reach past the end pad: pad that far too
    extra = [max(0, (out[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1
                 - (spatial[i] + pads[i] + pads[i + n])) for i in range(n)]  # fmt: skip
    width = [(pads[i], pads[i + n] + extra[i]) for i in range(n)]
    padded = np.pad(x.astype(np.float64), [(0, 0), (0, 0), *width], constant_values=np.nan)
    inside = np.pad(np.ones(spatial), width)
    with_pads = np.pad(np.ones([spatial[i] + pads[i] + pads[i + n] for i in range(n)]),
                       [(0, extra[i]) for i in range(n)])  # fmt: skip
    windows, inside_cells, pad_cells = [], [], []
    for index in np.ndindex(*kernel):
        cells = tuple(
            slice(index[i] * dilations[i], index[i] * dilations[i] + (out[i] - 1) * strides[i] + 1,
                  strides[i])
            for i in range(n)
        )  # fmt: skip
        windows.append(padded[(slice(None), slice(None), *cells)])
        inside_cells.append(inside[cells])
        pad_cells.append(with_pads[cells])
    stacked = np.stack(windows, axis=-1)
    return stacked, np.sum(inside_cells, axis=0), np.sum(pad_cells, axis=0), kernel


@op("vpu", "MaxPool")
def _max_pool(attrs, inputs, mxu):
    (x,) = inputs
    stacked, _, _, kernel = _pool_windows(x, attrs)
    filled = np.where(np.isnan(stacked), -np.inf, stacked)
    y = filled.max(axis=-1).astype(x.dtype)
    outputs = [y]
    if attrs.get("_outputs", 1) > 1:  # the indices of the maxima, in the flattened input
        outputs.append(_max_indices(x, attrs, filled))
    window = int(np.prod(kernel))
    return outputs, Vector(y.shape, {"add": 0}, reduce=y.size * (window - 1), reduce_ops=3)


def _max_indices(x, attrs, filled):
    """MaxPool's second output: each maximum's index in ``x`` flattened (row-major, or with
    ``storage_order`` 1 column-major over the spatial dimensions)."""
    positions = np.arange(x.size, dtype=np.float64).reshape(x.shape)
    if attrs.get("storage_order", 0):
        n, c, h, w = x.shape
        spatial = np.arange(h * w).reshape(w, h).T
        positions = (np.arange(n * c)[:, None, None] * h * w + spatial).reshape(x.shape)
    where, _, _, _ = _pool_windows(positions.astype(np.float64), attrs)
    best = np.argmax(filled, axis=-1)
    return np.take_along_axis(where, best[..., None], axis=-1)[..., 0].astype(np.int64)


@op("vpu", "AveragePool")
def _average_pool(attrs, inputs, mxu):
    (x,) = inputs
    stacked, inside, with_pads, kernel = _pool_windows(x, attrs)
    total = np.where(np.isnan(stacked), 0.0, stacked).sum(axis=-1)
    counted = with_pads if attrs.get("count_include_pad", 0) else inside
    y = (total / counted).astype(x.dtype)
    window = int(np.prod(kernel))
    return [y], Vector(y.shape, {"divide": 1}, reduce=y.size * (window - 1))


def _global(kind):
    def run(attrs, inputs, mxu):
        (x,) = inputs
        axes = tuple(range(2, x.ndim))
        y = (np.mean if kind == "avg" else np.max)(x, axis=axes, keepdims=True).astype(x.dtype)
        return [y], Vector(y.shape, {"divide": 1 if kind == "avg" else 0},
                           reduce=x.size - y.size)  # fmt: skip

    return run


OPS["GlobalAveragePool"] = OpSpec("vpu", _global("avg"))
OPS["GlobalMaxPool"] = OpSpec("vpu", _global("max"))


# ----------------------------------------------------------------------- matrix units (MXU)


@op("mxu", "MatMul")
def _matmul(attrs, inputs, mxu):
    a, b = inputs
    a2, b2 = (a[None, :] if a.ndim == 1 else a), (b[:, None] if b.ndim == 1 else b)
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    a3 = np.broadcast_to(a2, batch + a2.shape[-2:]).reshape(-1, *a2.shape[-2:])
    b3 = np.broadcast_to(b2, batch + b2.shape[-2:]).reshape(-1, *b2.shape[-2:])
    m, k, n = a2.shape[-2], a2.shape[-1], b2.shape[-1]
    out = np.stack([mxu(a3[i], b3[i]) for i in range(len(a3))]) if len(a3) else np.zeros(
        (0, m, n), np.float32)  # fmt: skip
    y = out.reshape(*batch, m, n)
    if a.ndim == 1:
        y = y[..., 0, :]
    if b.ndim == 1:
        y = y[..., 0]
    return [y.astype(np.result_type(a, b), copy=False)], Gemms(((m, k, n),) * len(a3))


@op("mxu", "Gemm")
def _gemm(attrs, inputs, mxu):
    a, b = inputs[0], inputs[1]
    c = inputs[2] if len(inputs) > 2 else None
    if attrs.get("transA", 0):
        a = a.T
    if attrs.get("transB", 0):
        b = b.T
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    y = mxu(a, b).astype(np.result_type(a, b), copy=False)
    ops = {}
    if alpha != 1.0:
        y = y * y.dtype.type(alpha)
        ops["add"] = 1
    if c is not None:
        y = y + c * y.dtype.type(beta)
        ops["add"] = ops.get("add", 0) + (1 if beta == 1.0 else 2)
    (m, k), n = a.shape, b.shape[1]
    return [y.astype(np.result_type(a, b), copy=False)], Gemms(((m, k, n),), y.shape, ops)


def _convolve(x, w, attrs, gemm, pad_value=0, dtype=None):
    """A convolution of ``x`` (N, C_in, *spatial) with ``w`` (C_out, C_in / groups, *kernel)
    lowered to one im2col GEMM per group, each run by ``gemm(a, b, group)``; returns the
    output (in ``dtype``, default ``x``'s and ``w``'s) and the GEMMs' shapes. Padding takes
    ``pad_value`` (a quantized input's zero point)."""
    attrs = dict(attrs)
    attrs.setdefault("kernel_shape", w.shape[2:])
    kernel, strides, dilations, pads = _pool_geometry(attrs, x.shape[2:])
    groups = int(attrs.get("group", 1))
    n_images, c_in = x.shape[:2]
    c_out = w.shape[0]
    dims = len(kernel)
    width = [(0, 0), (0, 0)] + [(pads[i], pads[i + dims]) for i in range(dims)]
    padded = np.pad(x, width, constant_values=pad_value)
    out = [(padded.shape[2 + i] - ((kernel[i] - 1) * dilations[i] + 1)) // strides[i] + 1
           for i in range(dims)]  # fmt: skip
    per_in, per_out = c_in // groups, c_out // groups
    y = np.empty((n_images, c_out, *out), dtype=dtype or np.result_type(x, w))
    shapes = []
    for g in range(groups):
        # im2col: one row per output position, one column per (channel, kernel position)
        columns = []
        for c in range(per_in):
            for index in np.ndindex(*kernel):
                slices = [slice(None), g * per_in + c]
                for i in range(dims):
                    start = index[i] * dilations[i]
                    slices.append(slice(start, start + (out[i] - 1) * strides[i] + 1, strides[i]))
                columns.append(padded[tuple(slices)].reshape(n_images, -1))
        a = np.stack(columns, axis=-1).reshape(-1, len(columns))  # (N * positions, K)
        b = w[g * per_out : (g + 1) * per_out].reshape(per_out, -1).T  # (K, C_out / groups)
        product = gemm(a, b, g)
        rows = np.moveaxis(product.reshape(n_images, -1, per_out), 2, 1)  # (N, C_out / g, .)
        y[:, g * per_out : (g + 1) * per_out] = rows.reshape(n_images, per_out, *out)
        shapes.append((a.shape[0], a.shape[1], per_out))
    return y, tuple(shapes)


@op("mxu", "Conv")
def _conv(attrs, inputs, mxu):
    x, w = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None

    def gemm(a, b, group):
        return mxu(a, b) if a.size and b.size else np.zeros((a.shape[0], b.shape[1]))

    y, shapes = _convolve(x, w, attrs, gemm)
    ops = {}
    if bias is not None:
        y = y + bias.reshape(1, -1, *(1,) * (x.ndim - 2))
        ops = {"add": 1}
    return [y.astype(np.result_type(x, w), copy=False)], Gemms(shapes, y.shape, ops)


@op("mxu", "ConvTranspose")
def _conv_transpose(attrs, inputs, mxu):
    # every input pixel times the kernel, added into the output at stride steps: one GEMM
    # per group, (N * pixels, C_in / g) @ (C_in / g, C_out / g * kernel), then col2im adds
    x, w = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    groups = int(attrs.get("group", 1))
    n_images, c_in, *spatial = x.shape
    per_in, per_out = c_in // groups, w.shape[1]
    kernel = tuple(attrs.get("kernel_shape", w.shape[2:]))
    dims = len(kernel)
    strides = tuple(attrs.get("strides", (1,) * dims))
    dilations = tuple(attrs.get("dilations", (1,) * dims))
    extra = tuple(attrs.get("output_padding", (0,) * dims))
    span = [(kernel[i] - 1) * dilations[i] + 1 for i in range(dims)]
    full = [strides[i] * (spatial[i] - 1) + extra[i] + span[i] for i in range(dims)]
    pads = list(attrs.get("pads", (0,) * (2 * dims)))
    shape = attrs.get("output_shape")
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        target = list(shape)[-dims:] if shape is not None else [spatial[i] * strides[i]
                                                                for i in range(dims)]  # fmt: skip
        for i in range(dims):
            # a total below zero (an output larger than the kernels reach) grows the output;
            # its half rounds down, as ONNX's reference computes it, so it grows the end
            total = full[i] - target[i]
            half = total // 2
            if auto_pad == "SAME_UPPER":
                pads[i], pads[i + dims] = half, total - half
            else:
                pads[i], pads[i + dims] = total - half, half
    out = [full[i] - pads[i] - pads[i + dims] for i in range(dims)]
    grow = [(max(0, -pads[i]), max(0, -pads[i + dims])) for i in range(dims)]
    canvas = np.zeros((n_images, per_out * groups, *[full[i] + sum(grow[i]) for i in range(dims)]),
                      dtype=np.result_type(x, w))  # fmt: skip
    shapes = []
    for g in range(groups):
        a = np.moveaxis(x[:, g * per_in : (g + 1) * per_in], 1, -1).reshape(-1, per_in)
        b = w[g * per_in : (g + 1) * per_in].reshape(per_in, -1)  # (C_in / g, C_out / g * k)
        product = mxu(a, b) if a.size and b.size else np.zeros((a.shape[0], b.shape[1]))
        product = product.reshape(n_images, *spatial, per_out, *kernel)
        for index in np.ndindex(*kernel):
            cells = tuple(
                slice(index[i] * dilations[i],
                      index[i] * dilations[i] + (spatial[i] - 1) * strides[i] + 1, strides[i])
                for i in range(dims)
            )  # fmt: skip
            part = product[(..., *index)]  # (N, *spatial, C_out / g)
            cells = tuple(slice(c.start + grow[i][0], c.stop + grow[i][0], c.step)
                          for i, c in enumerate(cells))  # fmt: skip
            canvas[(slice(None), slice(g * per_out, (g + 1) * per_out), *cells)] += np.moveaxis(
                part, -1, 1)  # fmt: skip
        shapes.append((a.shape[0], a.shape[1], b.shape[1]))
    begin = [max(0, pads[i]) for i in range(dims)]
    y = canvas[
        (slice(None), slice(None), *(slice(begin[i], begin[i] + out[i]) for i in range(dims)))
    ]
    ops = {"add": int(np.prod(kernel))}  # the col2im adds, per output
    if bias is not None:
        y = y + bias.reshape(1, -1, *(1,) * dims)
        ops["add"] += 1
    y = np.ascontiguousarray(y).astype(np.result_type(x, w), copy=False)
    return [y], Gemms(tuple(shapes), y.shape, ops)


def _as_int8(x: np.ndarray) -> tuple[np.ndarray, int]:
    """An 8-bit quantized operand as int8 and the shift that made it so: uint8 minus 128
    (the MXU multiplies int8), int8 as it is."""
    if x.dtype == np.uint8:
        return (x.astype(np.int16) - 128).astype(np.int8), 128
    if x.dtype == np.int8:
        return x, 0
    raise ValueError(f"quantized operands must be int8 or uint8, got {x.dtype}")


def _integer_gemm(mxu, a, b, a_zero, b_zero):
    """``(a - a_zero) @ (b - b_zero)`` exactly, as int64, for 2-D 8-bit ``a`` and ``b``;
    ``a_zero`` scalar or per row, ``b_zero`` scalar or per column. The MXU multiplies the
    int8 operands; the zero points and uint8's shift come back as rank-1 corrections on the
    VPU: with ``A' = a - s_a`` and ``c_a = s_a - a_zero`` (likewise for b),
    ``(A' + c_a)(B' + c_b) = A'B' + rowsum(A') c_b + c_a colsum(B') + k c_a c_b``."""
    a8, shift_a = _as_int8(a)
    b8, shift_b = _as_int8(b)
    c_a = shift_a - np.asarray(0 if a_zero is None else a_zero, dtype=np.int64).reshape(-1, 1)
    c_b = shift_b - np.asarray(0 if b_zero is None else b_zero, dtype=np.int64).reshape(1, -1)
    k = a.shape[1]
    core = mxu.integer(a8, b8).astype(np.int64) if a.size and b.size else np.zeros(
        (a.shape[0], b.shape[1]), np.int64)  # fmt: skip
    rows = a8.sum(axis=1, dtype=np.int64, keepdims=True)
    columns = b8.sum(axis=0, dtype=np.int64, keepdims=True)
    return core + rows * c_b + c_a * columns + k * c_a * c_b


#: operations per output of the zero-point corrections (three adds and two multiplies)
_CORRECTIONS = {"add": 5}


@op("mxu", "MatMulInteger")
def _matmul_integer(attrs, inputs, mxu):
    a, b = inputs[0], inputs[1]
    a_zero = inputs[2] if len(inputs) > 2 else None
    b_zero = inputs[3] if len(inputs) > 3 else None
    y = _batched(a, b, lambda x2, y2: _integer_gemm(mxu, x2, y2, a_zero, b_zero)).astype(np.int32)
    (m, k), n = a.shape[-2:], b.shape[-1]
    count = int(np.prod(y.shape[:-2], dtype=np.int64))
    return [y], Gemms(((m, k, n),) * count, y.shape, _CORRECTIONS, integer=True)


def _batched(a, b, gemm):
    """``gemm`` over the broadcast leading dimensions of ``a`` and ``b`` (2-D or more)."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a3 = np.broadcast_to(a, batch + a.shape[-2:]).reshape(-1, *a.shape[-2:])
    b3 = np.broadcast_to(b, batch + b.shape[-2:]).reshape(-1, *b.shape[-2:])
    return np.stack([gemm(a3[i], b3[i]) for i in range(len(a3))]).reshape(
        *batch, a.shape[-2], b.shape[-1])  # fmt: skip


def _requantize(acc, scale, zero, dtype):
    """``acc * scale`` rounded half to even, plus ``zero``, saturated to ``dtype``."""
    info = np.iinfo(dtype)
    y = np.rint(acc.astype(np.float64) * scale) + np.asarray(zero).astype(np.int64)
    return np.clip(y, info.min, info.max).astype(dtype)


@op("mxu", "QLinearMatMul")
def _qlinear_matmul(attrs, inputs, mxu):
    a, a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero = inputs
    acc = _batched(a, b, lambda x2, y2: _integer_gemm(mxu, x2, y2, a_zero, b_zero))
    scale = (np.asarray(a_scale, np.float64) * np.asarray(b_scale, np.float64)
             / np.asarray(y_scale, np.float64))  # fmt: skip
    y = _requantize(acc, scale.reshape(-1) if scale.size > 1 else scale, y_zero, y_zero.dtype)
    (m, k), n = a.shape[-2:], b.shape[-1]
    count = int(np.prod(y.shape[:-2], dtype=np.int64))
    return [y], Gemms(((m, k, n),) * count, y.shape, {"add": 8}, integer=True)


def _integer_conv(mxu, x, x_zero, w, w_zero, attrs):
    """``(x - x_zero) * (w - w_zero)`` convolved exactly (int64), ``w_zero`` per channel."""
    per_out = w.shape[0] // int(attrs.get("group", 1))
    zeros = np.broadcast_to(np.asarray(0 if w_zero is None else w_zero).reshape(-1), (w.shape[0],))
    pad = 0 if x_zero is None else np.asarray(x_zero).item()

    def gemm(a, b, group):
        return _integer_gemm(mxu, a, b, x_zero, zeros[group * per_out : (group + 1) * per_out])

    return _convolve(x, w, attrs, gemm, pad_value=pad, dtype=np.int64)


@op("mxu", "ConvInteger")
def _conv_integer(attrs, inputs, mxu):
    x, w = inputs[0], inputs[1]
    x_zero = inputs[2] if len(inputs) > 2 else None
    w_zero = inputs[3] if len(inputs) > 3 else None
    y, shapes = _integer_conv(mxu, x, x_zero, w, w_zero, attrs)
    return [y.astype(np.int32)], Gemms(shapes, y.shape, _CORRECTIONS, integer=True)


@op("mxu", "QLinearConv")
def _qlinear_conv(attrs, inputs, mxu):
    x, x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero = inputs[:8]
    bias = inputs[8] if len(inputs) > 8 else None
    acc, shapes = _integer_conv(mxu, x, x_zero, w, w_zero, attrs)
    channel = (1, -1) + (1,) * (x.ndim - 2)
    if bias is not None:
        acc = acc + bias.astype(np.int64).reshape(channel)
    scale = np.asarray(x_scale, np.float64) * np.asarray(w_scale, np.float64).reshape(-1)
    scale = (scale / np.asarray(y_scale, np.float64)).reshape(channel if scale.size > 1 else ())
    y = _requantize(acc, scale, y_zero, y_zero.dtype)
    return [y], Gemms(shapes, y.shape, {"add": 9}, integer=True)


def _axis_shape(scale, x, axis):
    """A per-axis scale or zero point shaped to broadcast along ``axis`` of ``x``."""
    scale = np.asarray(scale)
    if scale.ndim == 0 or scale.size == 1:
        return scale.reshape(())
    shape = [1] * x.ndim
    shape[int(axis) % x.ndim] = -1
    return scale.reshape(shape)


@op("vpu", "QuantizeLinear")
def _quantize_linear(attrs, inputs, mxu):
    x, scale = inputs[0], inputs[1]
    zero = inputs[2] if len(inputs) > 2 and inputs[2] is not None else np.uint8(0)
    if attrs.get("block_size", 0) or zero.dtype not in (np.uint8, np.int8, np.uint16, np.int16):
        raise ValueError("QuantizeLinear supports per-tensor and per-axis (u)int8 and (u)int16")
    axis = attrs.get("axis", 1)
    scaled = x.astype(np.float32) / _axis_shape(scale, x, axis).astype(np.float32)
    y = _requantize(scaled, 1.0, _axis_shape(zero, x, axis), zero.dtype)
    return [y], Vector(y.shape, {"divide": 1, "add": 3}, operands=1)


@op("vpu", "DequantizeLinear")
def _dequantize_linear(attrs, inputs, mxu):
    x, scale = inputs[0], inputs[1]
    zero = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    if attrs.get("block_size", 0) or x.dtype.kind not in "iu":
        raise ValueError("DequantizeLinear supports per-tensor and per-axis integer inputs")
    axis = attrs.get("axis", 1)
    shifted = x.astype(np.int64)
    if zero is not None:
        shifted = shifted - _axis_shape(zero, x, axis).astype(np.int64)
    y = (shifted.astype(np.float32) * _axis_shape(scale, x, axis)).astype(scale.dtype)
    return [y], Vector(y.shape, {"add": 2}, operands=1)


# ----------------------------------------------------------------------- data movement (DMA)


def _check_size(shape, dtype, what: str) -> None:
    """Refuse an array an op would make from its input data (a shape it was given), before
    allocating it, when it exceeds the memory a run may take (``systolic.limits``)."""
    from systolic.limits import check_memory

    dims = [int(d) for d in shape]
    if any(d < 0 for d in dims):
        raise ValueError(f"{what}: negative dimension in shape {dims}")
    check_memory(math.prod(dims) * np.dtype(dtype).itemsize, f"{what} of shape {dims}")


def _moved(*arrays) -> Move:
    return Move(sum(int(a.nbytes) for a in arrays))


@op("dma", "Identity")
def _identity(attrs, inputs, mxu):
    return [inputs[0]], _moved(inputs[0])


@op("dma", "Reshape")
def _reshape(attrs, inputs, mxu):
    x, shape = inputs[0], [int(d) for d in inputs[1]]
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    y = x.reshape(shape)
    return [y], _moved(y)


@op("dma", "Flatten")
def _flatten(attrs, inputs, mxu):
    (x,) = inputs
    axis = int(attrs.get("axis", 1))
    axis = axis + x.ndim if axis < 0 else axis
    y = x.reshape(int(np.prod(x.shape[:axis])), -1)
    return [y], _moved(y)


@op("dma", "Transpose")
def _transpose(attrs, inputs, mxu):
    (x,) = inputs
    perm = attrs.get("perm")
    y = np.ascontiguousarray(np.transpose(x, perm))
    return [y], _moved(y)


@op("dma", "Concat")
def _concat(attrs, inputs, mxu):
    y = np.concatenate(inputs, axis=int(attrs["axis"]))
    return [y], _moved(y)


def _squeeze_op(unsqueeze: bool):
    def run(attrs, inputs, mxu):
        x = inputs[0]
        axes = attrs.get("axes")
        if axes is None and len(inputs) > 1 and inputs[1] is not None:
            axes = inputs[1].tolist()
        if unsqueeze:
            rank = x.ndim + len(axes)
            y = x
            for axis in sorted(int(a) % rank for a in axes):
                y = np.expand_dims(y, axis)
        else:
            y = np.squeeze(x) if axes is None else np.squeeze(
                x, axis=tuple(int(a) % x.ndim for a in axes))  # fmt: skip
        return [y], _moved(y)

    return run


OPS["Squeeze"] = OpSpec("dma", _squeeze_op(False))
OPS["Unsqueeze"] = OpSpec("dma", _squeeze_op(True))


@op("dma", "Gather")
def _gather(attrs, inputs, mxu):
    x, indices = inputs
    axis = int(attrs.get("axis", 0))
    indices = np.where(indices < 0, indices + x.shape[axis], indices)
    y = np.take(x, indices, axis=axis)
    return [y], _moved(y)


@op("dma", "Slice")
def _slice(attrs, inputs, mxu):
    x = inputs[0]
    if "starts" in attrs:  # opset < 10: attributes
        starts, ends = attrs["starts"], attrs["ends"]
        axes = attrs.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = inputs[1].tolist(), inputs[2].tolist()
        axes = inputs[3].tolist() if len(inputs) > 3 and inputs[3] is not None else list(
            range(len(starts)))  # fmt: skip
        steps = inputs[4].tolist() if len(inputs) > 4 and inputs[4] is not None else [1] * len(
            starts)  # fmt: skip
    slices = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis = int(axis) % x.ndim
        size = x.shape[axis]
        start, end = int(start), int(end)
        start = max(-size - 1, min(size, start))
        end = max(-size - 1, min(size, end))
        slices[axis] = slice(start, end, int(step))
    y = x[tuple(slices)]
    return [np.ascontiguousarray(y)], _moved(y)


@op("dma", "Shape")
def _shape(attrs, inputs, mxu):
    shape = np.array(inputs[0].shape, dtype=np.int64)
    start = attrs.get("start", 0)
    end = attrs.get("end")
    y = shape[start:end]
    return [y], Move(0)


@op("dma", "Size")
def _size(attrs, inputs, mxu):
    return [np.array(inputs[0].size, dtype=np.int64)], Move(0)


@op("dma", "Cast")
def _cast(attrs, inputs, mxu):
    from onnx import helper

    x = inputs[0]
    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(int(attrs["to"])))
    if attrs.get("saturate", 1) and dtype.name.startswith("float8"):
        # an 8-bit float saturates: values past its range, infinities too, become its
        # largest finite value; NaN stays NaN
        import ml_dtypes

        top = float(ml_dtypes.finfo(dtype).max)
        x = np.where(np.isnan(x), x, np.clip(x.astype(np.float32), -top, top))
    y = x.astype(dtype)
    return [y], _moved(y)


@op("dma", "Expand")
def _expand(attrs, inputs, mxu):
    x, shape = inputs
    _check_size(np.broadcast_shapes(x.shape, tuple(int(d) for d in shape)), x.dtype, "Expand")
    y = x * np.ones(shape.tolist(), dtype=x.dtype)
    return [y], _moved(y)


@op("dma", "Split")
def _split(attrs, inputs, mxu):
    x = inputs[0]
    axis = int(attrs.get("axis", 0)) % x.ndim
    split = attrs.get("split")
    if split is None and len(inputs) > 1 and inputs[1] is not None:
        split = inputs[1].tolist()
    parts = attrs.get("_outputs", 1)
    if split is None:
        size = x.shape[axis]
        chunk = -(-size // attrs.get("num_outputs", parts))
        split = [min(chunk, size - i * chunk) for i in range(attrs.get("num_outputs", parts))]
    bounds = np.cumsum(split)[:-1]
    outputs = np.split(x, bounds, axis=axis)
    return [np.ascontiguousarray(o) for o in outputs], _moved(x)


@op("dma", "Pad")
def _pad(attrs, inputs, mxu):
    x = inputs[0]
    if "pads" in attrs:
        pads, value = list(attrs["pads"]), attrs.get("value", 0.0)
    else:
        pads = inputs[1].tolist()
        value = inputs[2].item() if len(inputs) > 2 and inputs[2] is not None and inputs[
            2].size else 0  # fmt: skip
    axes = list(range(x.ndim))
    if len(inputs) > 3 and inputs[3] is not None:
        axes = [int(a) % x.ndim for a in inputs[3].tolist()]
    width = [(0, 0)] * x.ndim
    for i, axis in enumerate(axes):
        width[axis] = (int(pads[i]), int(pads[i + len(axes)]))
    mode = attrs.get("mode", "constant")
    if mode == "constant":
        y = np.pad(x, width, constant_values=value)
    else:
        y = np.pad(x, width, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode])
    return [y], _moved(y)


@op("dma", "Constant")
def _constant(attrs, inputs, mxu):
    from onnx import numpy_helper

    for key, value in attrs.items():
        if key.startswith("_"):
            continue
        if key in ("value", "sparse_value"):
            y = numpy_helper.to_array(value)
        elif key in ("value_float", "value_floats"):
            y = np.array(value, dtype=np.float32)
        elif key in ("value_int", "value_ints"):
            y = np.array(value, dtype=np.int64)
        else:  # value_string(s)
            y = np.array(value, dtype=object)
        return [y], Move(0)
    raise ValueError("a Constant node without a value")


@op("dma", "ConstantOfShape")
def _constant_of_shape(attrs, inputs, mxu):
    from onnx import numpy_helper

    value = attrs.get("value")
    fill = numpy_helper.to_array(value).reshape(-1)[0] if value is not None else np.float32(0)
    _check_size(inputs[0].tolist(), np.asarray(fill).dtype, "ConstantOfShape")
    y = np.full(inputs[0].tolist(), fill, dtype=np.asarray(fill).dtype)
    return [y], _moved(y)


@op("vpu", "LRN")
def _lrn(attrs, inputs, mxu):
    (x,) = inputs
    size = int(attrs["size"])
    alpha, beta, bias = attrs.get("alpha", 1e-4), attrs.get("beta", 0.75), attrs.get("bias", 1.0)
    squares = np.pad(x.astype(np.float64) ** 2, [(0, 0), ((size - 1) // 2, size // 2)] + [
        (0, 0)] * (x.ndim - 2))  # fmt: skip
    window = sum(squares[:, i : i + x.shape[1]] for i in range(size))
    y = x / (bias + alpha / size * window) ** beta
    ops = {"add": size + 2, "transcendental": 2}  # the power as exp(beta * log(.))
    return [y.astype(x.dtype)], Vector(x.shape, ops)


@op("dma", "Dropout")
def _dropout(attrs, inputs, mxu):
    # inference: the identity (training_mode, when given and true, is refused)
    x = inputs[0]
    if len(inputs) > 2 and inputs[2] is not None and bool(inputs[2]):
        raise ValueError("Dropout in training mode is not supported (inference only)")
    outputs = [x]
    if attrs.get("_outputs", 1) > 1:
        outputs.append(np.ones(x.shape, dtype=bool))
    return outputs, Move(0)


@op("dma", "CastLike")
def _cast_like(attrs, inputs, mxu):
    from onnx import helper

    x, target = inputs
    kind = helper.np_dtype_to_tensor_dtype(target.dtype)
    return _cast({"to": kind, "saturate": attrs.get("saturate", 1)}, [x], mxu)


@op("dma", "Range")
def _range(attrs, inputs, mxu):
    start, limit, delta = (np.asarray(v).item() for v in inputs)
    if delta == 0:
        raise ValueError("Range: delta must not be 0")
    count = max(int(np.ceil((limit - start) / delta)), 0)
    _check_size([count], np.asarray(inputs[0]).dtype, "Range")
    y = (start + np.arange(count) * delta).astype(np.asarray(inputs[0]).dtype)
    return [y], _moved(y)


@op("vpu", "Mod")
def _mod(attrs, inputs, mxu):
    a, b = inputs
    if attrs.get("fmod", 0):
        y = np.fmod(a, b)
    else:
        with np.errstate(all="ignore"):
            y = np.mod(a, b)
    y = np.asarray(y).astype(a.dtype, copy=False)
    return [y], Vector(y.shape, {"divide": 1, "add": 2}, operands=2)


for _name, _function in (("Cos", np.cos), ("Sin", np.sin)):
    _UNARY[_name] = (_function, {"transcendental": 1})
    OPS[_name] = OpSpec("vpu", _unary(_name))


@op("vpu", "CumSum")
def _cumsum(attrs, inputs, mxu):
    x, axis = inputs[0], int(np.asarray(inputs[1]).item())
    axis %= x.ndim
    y = np.flip(x, axis) if attrs.get("reverse", 0) else x
    total = np.cumsum(y, axis=axis, dtype=x.dtype)
    if attrs.get("exclusive", 0):  # each position without itself
        total = total - y
    y = np.flip(total, axis) if attrs.get("reverse", 0) else total
    return [np.ascontiguousarray(y)], Vector(y.shape, {"add": 1}, reduce=x.size)


@op("vpu", "Trilu")
def _trilu(attrs, inputs, mxu):
    x = inputs[0]
    k = int(np.asarray(inputs[1]).item()) if len(inputs) > 1 and inputs[1] is not None else 0
    y = np.triu(x, k) if attrs.get("upper", 1) else np.tril(x, k)
    return [y], Vector(y.shape, {"add": 1})


@op("vpu", "Hardmax")
def _hardmax(attrs, inputs, mxu):
    (x,) = inputs
    axis = int(attrs.get("axis", -1)) % x.ndim
    index = np.expand_dims(np.argmax(x, axis=axis), axis)
    y = np.zeros_like(x)
    np.put_along_axis(y, index, 1, axis=axis)
    return [y], Vector(y.shape, {"add": 1}, reduce=x.size, reduce_ops=3)


@op("dma", "GatherElements")
def _gather_elements(attrs, inputs, mxu):
    x, indices = inputs
    axis = int(attrs.get("axis", 0)) % x.ndim
    indices = np.where(indices < 0, indices + x.shape[axis], indices)
    y = np.take_along_axis(x, indices, axis=axis)
    return [y], _moved(y)
