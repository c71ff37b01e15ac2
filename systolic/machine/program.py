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
from systolic.machine.mapping import gemm_mapping
from systolic.machine.timeline import Op, schedule
from systolic.machine.vpu import elementwise_cost
from systolic.workloads import ConvLayer

#: operations per output of a layer's epilogue on the VPU (a bias add, a relu's compare)
EPILOGUE_OPS = {"add": 2}


def run_layers(config: MachineConfig, gemms: Sequence[tuple[int, int, int, int, int]],
               energy=None) -> dict:  # fmt: skip
    """Time ``gemms`` (``(m, k, n, count, input_values)`` per layer: ``count`` GEMMs of one
    shape reading ``input_values`` inputs) as one pass on ``config``.

    Returns ``systolic.backend.summarize``'s fields for the pass (its phase is
    ``evaluation``), with ``folds`` added.
    """
    ops: list[Op] = []
    mxu_report, macs, vmem, read, write = None, 0, 0, 0, 0
    element_ops = dict.fromkeys(OP_CLASSES, 0)
    operand = config.operand_bytes
    previous = None  # the op that wrote the previous layer's outputs
    folds = 0
    for j, (m, k, n, count, inputs) in enumerate(gemms):
        if previous is None:  # the pass's inputs, from HBM
            read += inputs * operand
            ops.append(Op("dma", math.ceil(inputs * operand / config.hbm_bytes_per_cycle), (),
                          "evaluation", "inputs"))  # fmt: skip
            previous = len(ops) - 1
        computed = []
        for _ in range(count):
            for n0, n1 in column_blocks(config, n, k * n * operand):
                nbytes = k * (n1 - n0) * operand
                read += nbytes
                ops.append(Op("dma", math.ceil(nbytes / config.hbm_bytes_per_cycle), (),
                              "evaluation", f"layer{j + 1} weights"))  # fmt: skip
                mapping = gemm_mapping(m, k, n1 - n0, config)
                report = mapping.report
                mxu_report = report if mxu_report is None else mxu_report + report
                macs += mapping.macs
                folds += report.folds
                vmem += report.act_read_bytes + report.weight_read_bytes + m * (n1 - n0) * 4
                ops.append(Op("mxu", mapping.cycles, (previous, len(ops) - 1), "evaluation",
                              f"layer{j + 1}"))  # fmt: skip
                computed.append(len(ops) - 1)
        cost = elementwise_cost(config, (m, n * count), EPILOGUE_OPS, 1)
        for op_class, amount in cost.element_ops:
            element_ops[op_class] += amount
        vmem += cost.vmem_bytes
        ops.append(Op("vpu", cost.cycles, tuple(computed), "evaluation", f"layer{j + 1} act"))
        previous = len(ops) - 1
    m, _, n, count, _ = gemms[-1]
    write += m * n * count * VALUE_BYTES
    ops.append(Op("dma", math.ceil(m * n * count * VALUE_BYTES / config.hbm_bytes_per_cycle),
                  (previous,), "evaluation", "outputs"))  # fmt: skip
    counts = StepCounts(mxu_report, macs, element_ops, vmem, read, write)
    out = summarize(config, [(schedule(ops), counts, 1, "evaluation")], energy)
    out["folds"] = folds
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
