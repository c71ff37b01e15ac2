"""ONNX models as workloads: every Conv, Gemm and MatMul node, with its shapes, in graph order.

The model is read with the ``onnx`` package (its external data as
``systolic.onnx.run.read_external_data`` reads it) and its shapes inferred
(``onnx.shape_inference``). A symbolic batch dimension of a graph input (a ``dim_param`` such
as ``"N"``, or an unknown size) is set to ``batch`` first.

- ``Conv`` becomes a ``workloads.ConvLayer``: input ``(N, C, H, W)``, weights ``(M, C / group,
  kh, kw)``, ``strides``, symmetric ``pads``; ``group`` 1, or depthwise (``group == C``). Other
  groups, dilations, asymmetric pads and ``auto_pad`` other than ``NOTSET`` are refused.
- ``Gemm`` becomes a ``workloads.Gemm`` ``(M, K) @ (K, N)`` (``transA`` and ``transB``
  honoured).
- ``MatMul`` of ``(..., M, K)`` and a 2-D ``(K, N)`` (a weight) is one GEMM whose rows are
  all the leading rows of A; with leading dimensions on both sides (attention), one GEMM per
  element of the broadcast leading dimensions (batch, heads), named ``node[i]``: the array
  runs them one after another.

Layer names are the nodes' names (or ``<op>_<index>`` for unnamed nodes), made unique.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from systolic.networks import check_batch
from systolic.workloads import MAX_DIM, ConvLayer, Gemm, Layer, WorkloadError

#: a MatMul broadcast to more GEMMs than this is refused
MAX_REPEATS = 4096


def load_onnx(path: str | os.PathLike, batch: int = 1) -> list[Layer]:
    """The Conv, Gemm and MatMul layers of the ONNX model at ``path`` (module docstring)."""
    import onnx
    from google.protobuf.message import DecodeError

    from systolic.onnx.run import read_external_data

    path = Path(path)
    check_batch(batch)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except FileNotFoundError:
        raise WorkloadError(f"{path}: no such file") from None
    except (DecodeError, OSError, ValueError, RecursionError) as error:
        raise WorkloadError(f"{path}: not an ONNX model ({error})") from None
    try:
        read_external_data(model, path)  # inside the model's folder, as long as shapes need
    except ValueError as error:
        raise WorkloadError(str(error)) from None
    graph = model.graph
    initializers = {init.name for init in graph.initializer}
    for value in graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        if len(dims) and (dims[0].dim_param or dims[0].dim_value <= 0):
            dims[0].ClearField("dim_param")
            dims[0].dim_value = batch
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception as error:  # onnx raises its own error types for inconsistent graphs
        raise WorkloadError(f"{path}: shape inference failed: {error}") from None
    shapes = _shapes(model.graph)
    layers: list[Layer] = []
    names: set[str] = set()
    for index, node in enumerate(model.graph.node):
        if node.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        name = _unique(node.name or f"{node.op_type}_{index}", names)
        where = f"{path}, node {name!r} ({node.op_type})"
        inputs = [_shape(shapes, value, where) for value in node.input[:2]]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            layers.append(_conv(name, inputs, attrs, where))
        elif node.op_type == "Gemm":
            m, k = _2d(inputs[0], attrs.get("transA", 0))
            _, n = _2d(inputs[1], attrs.get("transB", 0))
            layers.append(_gemm(name, m, k, n, where))
        else:
            layers.extend(_matmul(name, *inputs, where))
    if not layers:
        raise WorkloadError(f"{path}: no Conv, Gemm or MatMul node: nothing runs on the array")
    return layers


def _shapes(graph) -> dict[str, list[int]]:
    """Known shapes of the graph's values (inputs, outputs, inferred, initializers)."""
    shapes = {}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_value if d.HasField("dim_value") else -1 for d in dims]
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)
    return shapes


def _shape(shapes: dict[str, list[int]], value: str, where: str) -> list[int]:
    shape = shapes.get(value)
    if shape is None or any(d < 1 for d in shape):
        raise WorkloadError(f"{where}: the shape of input {value!r} is unknown ({shape})")
    return shape


def _2d(shape: list[int], transposed: int) -> tuple[int, int]:
    rows, cols = shape
    return (cols, rows) if transposed else (rows, cols)


def _gemm(name: str, m: int, k: int, n: int, where: str) -> Gemm:
    if max(m, k, n) > MAX_DIM:
        raise WorkloadError(f"{where}: a size above {MAX_DIM:,}")
    return Gemm(name, m, k, n)


def _conv(name: str, inputs: list[list[int]], attrs: dict, where: str) -> ConvLayer:
    (batch, channels, height, width), (filters, per_group, kh, kw) = inputs
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise WorkloadError(f"{where}: auto_pad {attrs['auto_pad']!r} is not supported")
    if any(d != 1 for d in attrs.get("dilations", [1, 1])):
        raise WorkloadError(f"{where}: dilated convolutions are not supported")
    top, left, bottom, right = attrs.get("pads", [0, 0, 0, 0])
    if (top, left) != (bottom, right):
        pads = [top, left, bottom, right]
        raise WorkloadError(f"{where}: asymmetric pads {pads} are not supported")
    group = attrs.get("group", 1)
    stride_h, stride_w = attrs.get("strides", [1, 1])
    depthwise = group > 1
    if depthwise and not (group == channels and per_group == 1):
        raise WorkloadError(
            f"{where}: group={group} is not supported (only 1, or depthwise: group = channels)"
        )
    try:
        return ConvLayer(
            name, height, width, kh, kw, channels, filters // group if depthwise else filters,
            stride_h, stride_w, batch, depthwise, top, left,
        )  # fmt: skip
    except ValueError as error:
        raise WorkloadError(f"{where}: {error}") from None


def _matmul(name: str, a: list[int], b: list[int], where: str) -> list[Gemm]:
    if len(a) < 2 or len(b) < 2:
        raise WorkloadError(f"{where}: 1-D operands {a} and {b} are not supported")
    (m, k), (k2, n) = a[-2:], b[-2:]
    if len(b) == 2:  # one weight matrix for every row: the leading dimensions are rows of A
        m = math.prod(a[:-1])
        a = a[-2:]
    if k != k2:
        raise WorkloadError(f"{where}: inner sizes {k} and {k2} differ")
    try:
        leading = np.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2]))
    except ValueError:
        raise WorkloadError(
            f"{where}: leading dimensions {a[:-2]} and {b[:-2]} do not broadcast"
        ) from None
    repeats = math.prod(leading)
    if repeats > MAX_REPEATS:
        raise WorkloadError(f"{where}: {repeats:,} GEMMs, more than {MAX_REPEATS:,}")
    if repeats == 1:
        return [_gemm(name, m, k, n, where)]
    return [_gemm(f"{name}[{i}]", m, k, n, where) for i in range(repeats)]


def _unique(name: str, seen: set[str]) -> str:
    name = name.strip() or "node"
    candidate, i = name, 1
    while candidate in seen:
        i += 1
        candidate = f"{name}_{i}"
    seen.add(candidate)
    return candidate
