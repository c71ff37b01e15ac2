"""SCALE-Sim's compute-cycle figure for a GEMM, and how this simulator's count relates to it.

Our convention (``Report``): cycle 0 is the first cycle in which anything happens, and
``total_cycles`` counts every cycle up to and including the one in which the last result
leaves the array. SCALE-Sim v2/v3 report, per layer, ``folds * fold_cycles - 1``: the index of
the last cycle rather than the number of cycles. With serial loading and no accumulator limit
(SCALE-Sim has neither double buffering nor accumulator chunking):

==========  ===========================================  =====================================
dataflow    SCALE-Sim compute cycles                      ours (``total_cycles``)
==========  ===========================================  =====================================
WS          ``F * (2r + c + m - 2) - 1``,                 SCALE-Sim + 1
            ``F = ceil(k/r) * ceil(n/c)``
IS          ``F * (2r + c + n - 2) - 1``,                 SCALE-Sim + 1
            ``F = ceil(k/r) * ceil(m/c)``
OS          ``F * (r + c + k - 2) - 1``,                  SCALE-Sim + 1 + ``F * r``
            ``F = ceil(m/r) * ceil(n/c)``
==========  ===========================================  =====================================

The extra ``F * r`` of OS is the drain: SCALE-Sim stops counting at the last MAC, but the sums
of an output-stationary array are still in its PEs then, and shifting a column of ``r`` sums
out of its bottom edge takes ``r`` more cycles before the next fold can start (see
``systolic.dataflows.output_stationary``).

Convolution layers (``workloads.ConvLayer``, from SCALE-Sim's conv topology), as SCALE-Sim
v2/v3 map them (``scalesim/topology_utils.py`` and ``compute/operand_matrix.py``): the layer
is one GEMM with ``M = ofmap_h * ofmap_w`` output pixels (one image: SCALE-Sim has no batch),
``K = Fh * Fw * C`` (the window) and ``N`` = filters, run with the formulas above (WS: K on
rows, N on columns, M streamed; IS: K on rows, M on columns, N streamed; OS: M on rows, N on
columns, K streamed). Two quirks of SCALE-Sim's, reproduced in its column:

- the output size rounds *up*: ``ofmap_h = ceil((H - Fh + S) / S)``, so with a stride that
  does not divide ``H - Fh`` it counts one more row (or column) of windows, which run off the
  input (its addresses are marked as padding) -- the conventional size, ours, is
  ``floor((H - Fh) / S) + 1``;
- a layer with ``DP`` in its name is split into ``C`` layers of one channel each, every one
  with all ``N`` filters (``K = Fh * Fw``): our depthwise convolution with channel multiplier
  ``N`` runs the same ``C`` GEMMs as its ``C`` groups.

So for a conv layer whose stride divides ``H - Fh`` and ``W - Fw``, ours is SCALE-Sim's
figure plus one per GEMM it runs (``C`` for a DP layer, else 1), and for OS plus the drain,
``rows`` per fold, too. A batch above 1 (not SCALE-Sim's) is folded into ``M``.
"""

from __future__ import annotations

import math

from systolic.config import ArrayConfig, Dataflow
from systolic.schedule import SCALAR


def scalesim_cycles(m: int, k: int, n: int, config: ArrayConfig) -> int:
    """SCALE-Sim's compute cycles of ``(m, k) @ (k, n)`` on ``config``'s array and dataflow."""
    flow = config.dataflow
    return scalesim_terms(m, k, n, config.rows, config.cols, flow is Dataflow.WS,
                          flow is Dataflow.OS)  # fmt: skip


def scalesim_terms(m, k, n, rows, cols, ws, os, ops=SCALAR):
    """:func:`scalesim_cycles` of ints (``ops=SCALAR``; ``ws`` and ``os`` say the dataflow)
    or of int64 arrays of many configurations (``ops=numpy``, ``ws`` and ``os`` bool arrays)."""
    os_cycles = -(-m // rows) * -(-n // cols) * (rows + cols + k - 2) - 1
    streamed, on_cols = ops.where(ws, m, n), ops.where(ws, n, m)
    folds = -(-k // rows) * -(-on_cols // cols)
    return ops.where(os, os_cycles, folds * (2 * rows + cols + streamed - 2) - 1)


def scalesim_conv_cycles(layer, config: ArrayConfig) -> int:
    """SCALE-Sim's compute cycles of a ``workloads.ConvLayer`` (module docstring: its output
    size rounds up, and a DP layer runs as ``C`` one-channel layers)."""
    copies, (m, k, n) = scalesim_conv_gemm(layer)
    return copies * scalesim_cycles(m, k, n, config)


def scalesim_conv_gemm(layer) -> tuple[int, tuple[int, int, int]]:
    """The GEMM SCALE-Sim runs for a ``workloads.ConvLayer``, and how many times."""
    # SCALE-Sim has no padding: its topologies fold it into the input size
    height, width = layer.height + 2 * layer.pad_h, layer.width + 2 * layer.pad_w
    ofmap_h = math.ceil((height - layer.kh + layer.stride_h) / layer.stride_h)
    ofmap_w = math.ceil((width - layer.kw + layer.stride_w) / layer.stride_w)
    m = layer.batch * ofmap_h * ofmap_w
    channels = 1 if layer.depthwise else layer.channels
    copies = layer.channels if layer.depthwise else 1
    return copies, (m, layer.kh * layer.kw * channels, layer.filters)
