"""A workload's layers on a TensorCore machine, timed without values: an inference pass for
sweeps and comparisons.

::

    layer j:  DMA  load W_j (column blocks)  ->  MXU  the block's columns of A_j @ W_j
              VPU  bias add and activation of the layer's outputs  ->  layer j + 1

Every layer reads the previous layer's outputs from VMEM (the first layer's inputs come from
HBM, the last layer's outputs go back to it); its weights come from HBM in the MXUs' format
(an inference pass keeps no float32 master copy), in column blocks that the MXUs start on as
each arrives (``systolic.backend.column_blocks``), so the next layers' weights stream in
while a layer computes. The epilogue of a layer is one bias add and one compare (a relu)
per output on the VPU, an assumption: the workloads give GEMM shapes only. A convolution is
the GEMM of its im2col lowering, once per group; its first layer reads its input map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from systolic.backend import VALUE_BYTES, StepCounts, column_blocks, summarize
from systolic.machine.config import OP_CLASSES, MachineConfig
from systolic.machine.mapping import batch_timing, drain_cycles, gemm_mapping
from systolic.machine.timeline import Op, schedule
from systolic.machine.vpu import folded_cost
from systolic.workloads import ConvLayer

#: operations per output of a layer's epilogue on the VPU (a bias add, a relu's compare)
EPILOGUE_OPS = {"add": 2}


class StepBuilder:
    """Appends a step's ops for the timeline and counts what they cost (MACs, the MXUs'
    summed Report, the VPU's element operations and VMEM bytes, HBM bytes read and written):
    the pieces an inference pass and an LLM's step are made of."""

    def __init__(self, config: MachineConfig, phase: str = "evaluation"):
        self.config, self.phase = config, phase
        self.ops: list[Op] = []
        self.macs = self.read = self.write = self.vmem = self.folds = 0
        self.element_ops = dict.fromkeys(OP_CLASSES, 0)
        self.report = None

    def add(self, unit: str, cycles: int, deps, name: str, latency: int = 0) -> int:
        """An op on ``unit`` after the ops ``deps`` (None entries ignored); its index."""
        self.ops.append(Op(unit, int(cycles), tuple(d for d in deps if d is not None),
                           self.phase, name, latency))  # fmt: skip
        return len(self.ops) - 1

    def mxu(self, cycles: int, deps, name: str) -> int:
        """A GEMM of ``cycles`` (its closed form's total) on the MXUs: busy until its last
        row has entered, its results ready after the drain (``mapping.drain_cycles``)."""
        drain = drain_cycles(self.config)
        return self.add("mxu", cycles - drain, deps, name, drain)

    def dma(self, nbytes: int, deps, name: str, write: bool = False) -> int:
        """``nbytes`` read from HBM (``write``: written to it) by the DMA."""
        if write:
            self.write += nbytes
        else:
            self.read += nbytes
        return self.add("dma", math.ceil(nbytes / self.config.hbm_bytes_per_cycle), deps, name)

    def _count(self, report, m: int, n: int, times: int = 1) -> None:
        self.report = report if self.report is None else self.report + report
        self.macs += report.macs
        self.folds += report.folds
        self.vmem += report.act_read_bytes + report.weight_read_bytes
        self.vmem += times * m * n * VALUE_BYTES  # the sums written

    def gemm(self, m: int, k: int, n: int, deps, name: str, count: int = 1,
             weights: bool = True) -> int:  # fmt: skip
        """``count`` GEMMs ``(m, k) @ (k, n)`` on the MXUs, one after another. With
        ``weights``, each B streams in from HBM in column blocks (``column_blocks``), each
        block computed once it is in; else B is in VMEM already (attention's keys and
        values), and the GEMMs are one op, run back to back (``mapping.batch_timing``)."""
        if not weights:
            cycles, report = batch_timing(m, k, n, count, self.config)
            self._count(report, m, n, count)
            return self.mxu(cycles, deps, f"{name} x{count}")
        operand = self.config.operand_bytes
        last = None
        for _ in range(count):
            for n0, n1 in column_blocks(self.config, n, k * n * operand):
                load = self.dma(k * (n1 - n0) * operand, (), f"{name} weights")
                mapping = gemm_mapping(m, k, n1 - n0, self.config)
                self._count(mapping.report, m, n1 - n0)
                last = self.mxu(mapping.cycles, (*deps, load, last), name)
        return last

    def vector(self, shape, ops: dict, deps, name: str, fold: int = 0,
               operands: int = 1) -> int:  # fmt: skip
        """An element-wise VPU op over ``shape`` (``ops`` per element), reading ``operands``
        inputs, plus ``fold`` combines per element (a reduction: ``folded_cost``)."""
        cost = folded_cost(self.config, tuple(shape), ops, operands, fold * math.prod(shape))
        for op_class, n in cost.element_ops:
            self.element_ops[op_class] += n
        self.vmem += cost.vmem_bytes
        return self.add("vpu", cost.cycles, deps, name)

    def counts(self) -> StepCounts:
        """What the step's ops did, for ``systolic.backend.summarize`` and the energy."""
        return StepCounts(self.report, self.macs, dict(self.element_ops), self.vmem,
                          self.read, self.write)  # fmt: skip


def run_layers(config: MachineConfig, gemms: Sequence[tuple[int, int, int, int, int]],
               energy=None) -> dict:  # fmt: skip
    """Time ``gemms`` (``(m, k, n, count, input_values)`` per layer: ``count`` GEMMs of one
    shape reading ``input_values`` inputs) as one pass on ``config``.

    Returns ``systolic.backend.summarize``'s fields for the pass (its phase is
    ``evaluation``), with ``folds`` added.
    """
    b = StepBuilder(config)
    operand = config.operand_bytes
    previous = b.dma(gemms[0][4] * operand, (), "inputs")  # the pass's inputs, from HBM
    for j, (m, k, n, count, _) in enumerate(gemms):
        computed = b.gemm(m, k, n, (previous,), f"layer{j + 1}", count)
        previous = b.vector((m, n * count), EPILOGUE_OPS, (computed,), f"layer{j + 1} act")
    m, _, n, count, _ = gemms[-1]
    b.dma(m * n * count * VALUE_BYTES, (previous,), "outputs", write=True)
    out = summarize(config, [(schedule(b.ops), b.counts(), 1, "evaluation")], energy)
    out["folds"] = b.folds
    return out


def layer_gemms(layers) -> list[tuple[int, int, int, int, int]]:
    """``(m, k, n, count, input_values)`` of each layer of a workload (``systolic.workloads``;
    a convolution: its im2col GEMM, once per group, reading its input map), for
    :func:`run_layers`."""
    out = []
    for layer in layers:
        if isinstance(layer, ConvLayer):
            shape = layer.shape
            m, k, n = shape.gemm
            values = shape.batch * shape.c_in * shape.height * shape.width
            out.append((m, k, n, shape.groups, values))
        else:
            out.append((layer.m, layer.k, layer.n, 1, layer.m * layer.k))
    return out
