"""ONNX models on the TensorCore machine, with values: an ONNX backend
(``onnx.backend.base.Backend``), usable by anyone's ONNX tooling.

::

    SystolicBackend.prepare(model, machine="tpu_v5e", dtype="fp32") -> SystolicRep
    SystolicRep.run(inputs) -> outputs (and .last: the run's per-node records and timeline)

The operators it runs and on which unit are ``systolic.onnx.ops.OPS``; a model with any
other op is refused before anything runs (``is_compatible`` says so without raising). The
graph runs as ``systolic.onnx.graph.run_graph`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx.backend.base import Backend, BackendRep

from systolic.machine.config import MachineConfig, machine
from systolic.onnx.graph import (
    GraphRun,
    check_supported,
    run_graph,
    unsupported,
    unsupported_types,
)

#: the machine a backend runs on unless told (``prepare(..., machine=..., dtype=...)``)
DEFAULT_MACHINE, DEFAULT_DTYPE = "tpu_v5e", "fp32"


class SystolicRep(BackendRep):
    """A prepared model: :meth:`run` executes it on the machine; ``last`` keeps the last
    run's :class:`~systolic.onnx.graph.GraphRun` (its per-node records and timeline)."""

    def __init__(self, model, config: MachineConfig):
        self.model, self.config = model, config
        initializers = {t.name for t in model.graph.initializer}
        self.input_names = [v.name for v in model.graph.input if v.name not in initializers]
        self.last: GraphRun | None = None

    def run(self, inputs: Any, **kwargs: Any) -> list[np.ndarray]:
        """The graph's outputs, in its output order, from ``inputs``: a list in the graph's
        input order (initializers left out), a dict by name, or one array."""
        if isinstance(inputs, dict):
            named = dict(inputs)
        else:
            if isinstance(inputs, np.ndarray):
                inputs = [inputs]
            named = dict(zip(self.input_names, inputs, strict=False))
        self.last = run_graph(self.model, named, self.config)
        return [self.last.outputs[v.name] for v in self.model.graph.output]


class SystolicBackend(Backend):
    """The ONNX backend of the machine (``onnx.backend.base.Backend``): ``prepare`` takes
    ``machine`` (a preset name or a ``MachineConfig``, default ``tpu_v5e``) and ``dtype``
    (the MXUs' format, default fp32)."""

    @classmethod
    def is_compatible(cls, model, device: str = "CPU", **kwargs: Any) -> bool:
        return (
            cls.supports_device(device) and not unsupported(model)
            and not unsupported_types(model)
        )  # fmt: skip

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device in ("CPU", "CPU:0")

    @classmethod
    def prepare(cls, model, device: str = "CPU", **kwargs: Any) -> SystolicRep:
        """Check ``model`` (ONNX's checker, then the supported ops) and prepare it."""
        import onnx.checker

        onnx.checker.check_model(model)
        check_supported(model)
        config = kwargs.get("machine", DEFAULT_MACHINE)
        if not isinstance(config, MachineConfig):
            config = machine(config, kwargs.get("dtype", DEFAULT_DTYPE))
        return SystolicRep(model, config)

    @classmethod
    def run_model(cls, model, inputs: Any, device: str = "CPU", **kwargs: Any):
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node, inputs: Any, device: str = "CPU", outputs_info=None, **kwargs):
        """One node on the machine: a graph of that node alone, its inputs' types and shapes
        from ``inputs``."""
        from onnx import helper

        arrays = [np.asarray(x) for x in inputs]
        graph_inputs = [
            helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for name, a in zip(node.input, arrays, strict=False)
        ]
        graph_outputs = [helper.make_empty_tensor_value_info(name) for name in node.output]
        graph = helper.make_graph([node], "node", graph_inputs, graph_outputs)
        model = helper.make_model(graph)
        check_supported(model)
        config = machine(kwargs.get("machine", DEFAULT_MACHINE), kwargs.get("dtype", DEFAULT_DTYPE))
        return SystolicRep(model, config).run(arrays)


prepare = SystolicBackend.prepare
run_model = SystolicBackend.run_model
run_node = SystolicBackend.run_node
supports_device = SystolicBackend.supports_device

__all__ = ["SystolicBackend", "SystolicRep", "prepare", "run_model", "run_node",
           "supports_device"]  # fmt: skip
