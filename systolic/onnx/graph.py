"""An ONNX graph run on a TensorCore machine with values: each node on its unit, on one
timeline, and each node's cost.

::

    graph inputs, initializers --DMA load--> node 0 --> node 1 --> ... --DMA store--> outputs
    node: OPS[op_type] -> values and cost -> ops on the machine's timeline (an MXU node whose
          GEMMs are followed by element-wise work, a bias, adds a VPU op after them)

A node starts when the nodes that made its inputs have ended and its unit is free
(``systolic.machine.timeline.schedule``). A graph input or initializer is read from HBM by
the DMA before the first node that uses it (weights stream in while earlier nodes compute);
every graph output is written back. An MXU node's GEMMs run one after another, each over
all MXUs (``systolic.machine.mapping``), with the machine format's values; a VPU node costs
its operations per element by class (``systolic.machine.vpu``), plus one add-class
operation per vector register of elements a reduction folds; a data-movement node reads and
writes its bytes through HBM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from systolic import api
from systolic.energy import price_machine
from systolic.machine.config import MachineConfig
from systolic.machine.mapping import gemm_mapping
from systolic.machine.timeline import Op, Schedule, schedule
from systolic.machine.vpu import elementwise_cost, folded_cost
from systolic.numerics import quantize
from systolic.onnx.ops import OPS, Gemms, Move, Vector


def unsupported(model) -> list[tuple[str, str]]:
    """``(node name, op type)`` of every node the machine cannot run (its op type is not in
    ``OPS``, or it is outside the default ONNX domain), looked up before anything runs."""
    bad = []
    for index, node in enumerate(model.graph.node):
        if node.domain not in ("", "ai.onnx") or node.op_type not in OPS:
            bad.append((node.name or f"node {index}", node.op_type))
    return bad


#: the element types a Cast may not convert to: float8 e8m0 (whose rounding ml_dtypes' cast
#: does not share with ONNX's)
UNSUPPORTED_CASTS = ("FLOAT8E8M0",)
#: the quantizers run (u)int8 and (u)int16 only, per tensor or per axis
_QUANTIZERS = ("QuantizeLinear", "DequantizeLinear")
_QUANTIZED_TYPES = ("INT8", "UINT8", "INT16", "UINT16")


def unsupported_types(model) -> list[tuple[str, str]]:
    """``(node, element type)`` of every node asked for a data type the backend does not run
    (a Cast to :data:`UNSUPPORTED_CASTS`; a quantizer of another type than (u)int8 and
    (u)int16, or with blocked scales), from the graph's declared types, before anything
    runs."""
    from onnx import TensorProto, helper

    graph = model.graph
    declared = {v.name: v.type.tensor_type.elem_type
                for v in [*graph.input, *graph.output, *graph.value_info]}  # fmt: skip
    declared.update({t.name: t.data_type for t in graph.initializer})
    casts = {getattr(TensorProto, t) for t in UNSUPPORTED_CASTS if hasattr(TensorProto, t)}
    bad = []
    for index, node in enumerate(graph.node):
        label = node.name or f"node {index}"
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Cast" and attrs.get("to") in casts:
            bad.append((label, TensorProto.DataType.Name(attrs["to"])))
        if node.op_type == "CastLike" and declared.get(node.input[1]) in casts:
            bad.append((label, TensorProto.DataType.Name(declared[node.input[1]])))
        if node.op_type not in _QUANTIZERS:
            continue
        if attrs.get("block_size"):
            bad.append((label, "blocked scales"))
        # the quantized side: QuantizeLinear's output type (its zero point's, or
        # output_dtype), DequantizeLinear's input
        if node.op_type == "QuantizeLinear":
            kind = attrs.get("output_dtype") or (
                declared.get(node.input[2]) if len(node.input) > 2 else None)  # fmt: skip
        else:
            kind = declared.get(node.input[0])
        if kind:
            name = TensorProto.DataType.Name(kind)
            if name not in _QUANTIZED_TYPES:
                bad.append((label, name))
    return bad


def check_supported(model) -> None:
    """Refuse, in one line, a model with a node the machine cannot run, naming the first
    such op and node and the supported set, or a tensor of a type it does not run."""
    types = unsupported_types(model)
    if types:
        where, kind = types[0]
        raise ValueError(f"data type {kind} in node {where!r} is not supported (casts to "
                         f"{', '.join(UNSUPPORTED_CASTS)}; quantizers of other types than "
                         f"{', '.join(_QUANTIZED_TYPES)}, or blocked)")  # fmt: skip
    bad = unsupported(model)
    if bad:
        name, op_type = bad[0]
        more = f" (and {len(bad) - 1} more nodes)" if len(bad) > 1 else ""
        raise ValueError(
            f"unsupported op {op_type!r} in node {name!r}{more}; supported: "
            f"{', '.join(sorted(OPS))}"
        )


@dataclass
class GraphRun:
    """A graph's run: ``outputs`` by name, one record per node (``nodes``: ``name``, ``op``,
    ``unit``, ``cycles``, ``utilization``, ``bytes`` (moved to and from HBM), ``macs``,
    ``energy_j``), the ``schedule`` of its ops and its ``total_cycles``. A node's ``cycles``
    are its own ops' (an MXU node's GEMMs and epilogue), not the stretch of the timeline it
    spans."""

    outputs: dict[str, np.ndarray]
    nodes: list[dict]
    schedule: Schedule
    total_cycles: int


def _opset(model) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return 1


def run_graph(model, inputs: dict[str, np.ndarray], config: MachineConfig, energy=None) -> GraphRun:
    """Run ``model``'s graph on ``config`` from ``inputs`` (every graph input that is not an
    initializer, by name); with an ``energy`` table (``systolic.energy``), each node's
    ``energy_j`` prices its MXU work (as arrays), VPU operations, VMEM bytes and the HBM
    bytes it moves (``price_machine``), else None.

    Raises
    ------
    ValueError
        An unsupported op (before anything runs), or a missing input.
    """
    from onnx import helper, numpy_helper

    check_supported(model)
    graph = model.graph
    values: dict[str, np.ndarray] = {}
    for tensor in graph.initializer:
        values[tensor.name] = numpy_helper.to_array(tensor)
    for value in graph.input:
        if value.name in values:
            continue
        if value.name not in inputs:
            raise ValueError(f"input {value.name!r} is not given")
        values[value.name] = np.asarray(inputs[value.name])
    opset = _opset(model)
    ops: list[Op] = []
    ready: dict[str, int] = {}  # value name -> the op after which it is in VMEM
    records = []

    def add(unit: str, cycles: int, deps, name: str) -> int:
        ops.append(Op(unit, int(cycles), tuple(deps), "evaluation", name))
        return len(ops) - 1

    def dma_cycles(nbytes: int) -> int:
        return math.ceil(nbytes / config.hbm_bytes_per_cycle)

    mxu = MXU(config)

    for index, node in enumerate(graph.node):
        name = node.name or f"{node.op_type}_{index}"
        spec = OPS[node.op_type]
        attrs = {a.name: _attribute(helper.get_attribute_value(a)) for a in node.attribute}
        attrs["_opset"] = opset
        attrs["_outputs"] = len(node.output)
        node_inputs = [values[n] if n else None for n in node.input]
        deps, moved = [], 0
        for input_name, array in zip(node.input, node_inputs, strict=True):
            if not input_name:
                continue
            if input_name not in ready:  # a graph input or initializer: from HBM
                moved += array.nbytes
                ready[input_name] = add("dma", dma_cycles(array.nbytes), (), f"load {input_name}")
            deps.append(ready[input_name])
        outputs, cost = spec.run(attrs, node_inputs, mxu)
        cycles, macs, last, counts = _place(cost, config, deps, name, add, dma_cycles)
        if isinstance(cost, Move):
            moved += 2 * cost.bytes
        counts["hbm_bytes"] = moved
        dtype = counts.pop("dtype")
        energy_j = price_machine(counts, energy, dtype)["energy_j"] if energy is not None else None
        for output_name, array in zip(node.output, outputs, strict=False):
            if output_name:
                values[output_name] = array
                ready[output_name] = last
        utilization = macs / (config.pe_count * cycles) if cycles and macs else 0.0
        records.append({"name": name, "op": node.op_type, "unit": spec.unit, "cycles": cycles,
                        "utilization": utilization, "bytes": moved, "macs": macs,
                        "energy_j": energy_j})  # fmt: skip
    for value in graph.output:  # written back
        array = values[value.name]
        if value.name in ready:
            add("dma", dma_cycles(np.asarray(array).nbytes), (ready[value.name],),
                f"store {value.name}")  # fmt: skip
    placed = schedule(ops)
    outputs = {value.name: values[value.name] for value in graph.output}
    return GraphRun(outputs, records, placed, placed.total_cycles)


class MXU:
    """The machine's MXUs as the operators call them: ``mxu(a, b)`` in the machine's format,
    ``mxu.integer(a, b)`` for int8 operands into int32 sums (the quantized ops)."""

    def __init__(self, config: MachineConfig):
        self.config = config

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        (m, k), n = a.shape, b.shape[1]
        if m * k * n == 0:
            return np.zeros((m, n), dtype=np.float32)
        # float16, bfloat16 and small integer operands are exact in float32: the MXU takes
        # them so
        a, b = (x.astype(np.float32) if x.dtype.itemsize < 4 else x for x in (a, b))
        if self.config.dtype == "int8":
            # a float GEMM in int8: A quantized per tensor, B per output column (symmetric,
            # systolic.numerics.quantize), int32 sums scaled back
            qa, scale_a = quantize(a)
            qb, scale_b = quantize(b, axis=1)
            sums = api.matmul(qa, qb, self.config.mxu, compare=False)[0]
            return (sums * (scale_a * scale_b)).astype(np.float32)
        return api.matmul(a, b, self.config.mxu, compare=False)[0]

    def integer(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``a @ b`` of int8 operands in int32, on the MXUs' int8 mode.

        Raises
        ------
        ValueError
            A machine whose MXUs have no int8 mode.
        """
        if not self.config.int8:
            raise ValueError(f"{self.config.name}'s MXUs have no int8 mode for the quantized ops")
        return api.matmul(a, b, self.config.with_dtype("int8").mxu, compare=False)[0]


def _attribute(value):
    """An attribute's value with strings as ``str`` (ONNX stores them as bytes)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode() for v in value]
    return value


def _place(cost, config: MachineConfig, deps, name: str, add, dma_cycles):
    """Append a node's ops for its ``cost``; return its cycles, MACs, the op that ends it and
    what energy prices (``systolic.energy.price_machine``'s counts, HBM bytes left out)."""
    counts = {"mxu_report": None, "vpu_element_ops": {}, "vmem_bytes": 0, "hbm_bytes": 0,
              "dtype": config.dtype}  # fmt: skip

    def vector_counts(vector) -> None:
        for op_class, n in vector.element_ops:
            counts["vpu_element_ops"][op_class] = counts["vpu_element_ops"].get(op_class, 0) + n
        counts["vmem_bytes"] += vector.vmem_bytes

    if isinstance(cost, Gemms):
        cycles, macs = 0, 0
        for m, k, n in cost.shapes:
            if m * k * n:
                mapping = gemm_mapping(m, k, n, config)
                cycles += mapping.cycles
                report = counts["mxu_report"]
                counts["mxu_report"] = mapping.report if report is None else report + mapping.report
            macs += m * k * n
        if cost.integer:
            counts["dtype"] = "int8"
        last = add("mxu", cycles, deps, name)
        if cost.ops:
            vector = elementwise_cost(config, tuple(cost.vector_shape), cost.ops, 1)
            last = add("vpu", vector.cycles, (last,), f"{name} epilogue")
            cycles += vector.cycles
            vector_counts(vector)
        return cycles, macs, last, counts
    if isinstance(cost, Vector):
        vector = folded_cost(config, tuple(cost.shape), cost.ops, cost.operands, cost.reduce,
                             cost.reduce_ops)  # fmt: skip
        vector_counts(vector)
        return vector.cycles, 0, add("vpu", vector.cycles, deps, name), counts
    cycles = dma_cycles(2 * cost.bytes)  # read and written back
    return cycles, 0, add("dma", cycles, deps, name), counts
