"""Many bare-array design points of one workload at once: the closed forms on NumPy arrays.

::

    Configs (int64 arrays: rows, cols, accumulator rows, dataflow, weight load,
             segment rows, dtype; one entry per point)
      x the workload's layers (their GEMMs: m, k, n, groups; conv layers as im2col GEMMs)
      -> arrays of the Report fields of every point, summed over the layers, priced, with
         the area (one entry per point)

What a point reports without values (``point.evaluate`` with ``values=False``) is a function
of its configuration and its workload's GEMM shapes alone, and every formula it uses takes
int64 arrays as well as ints (``ops=numpy``: ``weight_stationary.cycle_terms`` and
``traffic_terms``, ``output_stationary``'s, ``schedule.count_folds``,
``scalesim.scalesim_terms``, ``energy.price_terms`` and ``area_terms``). So a chunk of
points is evaluated as arrays of shape ``(points, layers)``, with the same integer
arithmetic and the same floating-point operations in the same order as the per-point path:
the same numbers, bit for bit (the tests hold them equal field by field).

A point the closed forms refuse (a GEMM past ``max_cycles`` or ``max_elements``) or whose
counts could leave int64 is marked in ``refused``; the sweep evaluates those one at a time,
which words the error as the per-point path does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from systolic.config import ArrayConfig, Dataflow, WeightLoad
from systolic.dataflows import input_stationary
from systolic.dataflows import output_stationary as os_flow
from systolic.dataflows import weight_stationary as ws
from systolic.energy import EnergyTable, area_terms, price_terms
from systolic.numerics import FORMATS
from systolic.scalesim import scalesim_conv_gemm, scalesim_terms
from systolic.schedule import count_folds
from systolic.workloads import ConvLayer, Layer

#: the codes of the arrays of :class:`Configs`: an index into each tuple
DATAFLOWS = tuple(Dataflow)
WEIGHT_LOADS = tuple(WeightLoad)
DTYPES = tuple(FORMATS)
#: ``Configs.accumulator_rows`` of unlimited accumulators (None)
UNLIMITED = 0
#: a point is refused when its counts, bounded from above, could reach this (int64 wraps)
_INT64_SAFE = 2.0**62
#: int64 counts converted to float64 exactly below this; a ratio of larger ones is worked
#: out with Python's ints, as the per-point path does
_EXACT_FLOAT = 2**53
_DEFAULTS = ArrayConfig()
#: the summed counts of a point, in :data:`systolic.sweep.point.RESULTS`' names
COUNTS = (
    "total_cycles", "compute_cycles", "weight_load_cycles", "fill_drain_cycles", "macs",
    "folds", "act_read_bytes", "weight_read_bytes", "acc_write_bytes", "acc_read_bytes",
    "scalesim_cycles",
)  # fmt: skip


@dataclass(frozen=True)
class Configs:
    """Bare-array configurations as int64 arrays of one length, one entry per point:
    ``ArrayConfig``'s fields, the enums and the format as codes (indices into
    :data:`DATAFLOWS`, :data:`WEIGHT_LOADS`, :data:`DTYPES`), unlimited accumulators as
    :data:`UNLIMITED`. The limits are ``ArrayConfig``'s defaults."""

    rows: np.ndarray
    cols: np.ndarray
    accumulator_rows: np.ndarray
    dataflow: np.ndarray
    weight_load: np.ndarray
    segment_rows: np.ndarray
    dtype: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def of_points(cls, points: Sequence[dict]) -> Configs:
        """The configurations of sweep points (dicts with ``rows``, ``cols``, ``dataflow``,
        ``weight_load``, ``accumulator_rows`` and ``dtype``, as ``spec.expand`` makes
        them)."""
        flows = {flow.value: code for code, flow in enumerate(DATAFLOWS)}
        loads = {load.value: code for code, load in enumerate(WEIGHT_LOADS)}
        dtypes = {name: code for code, name in enumerate(DTYPES)}
        columns = [
            (p["rows"], p["cols"], UNLIMITED if p["accumulator_rows"] is None
             else p["accumulator_rows"], flows[p["dataflow"]], loads[p["weight_load"]],
             dtypes[p["dtype"]])
            for p in points
        ]  # fmt: skip
        table = np.array(columns, dtype=np.int64).reshape(len(points), 6)
        rows, cols, acc, flow, load, dtype = table.T
        segments = np.full(len(points), _DEFAULTS.segment_rows, dtype=np.int64)
        return cls(rows, cols, acc, flow, load, segments, dtype)

    def taken(self, index: np.ndarray | slice) -> Configs:
        """The configurations at ``index``."""
        return Configs(*(getattr(self, name)[index] for name in self.__annotations__))


@dataclass(frozen=True)
class Gemms:
    """A workload's GEMMs as columns (shape ``(layers, 1)``, against a row of points): each
    layer's ``m``, ``k``, ``n``
    (a convolution's per group, ``ConvShape.gemm``), ``groups`` (1 for a GEMM), and the
    GEMM SCALE-Sim runs for it ``copies`` times (``scalesim.scalesim_conv_gemm``)."""

    m: np.ndarray
    k: np.ndarray
    n: np.ndarray
    groups: np.ndarray
    scalesim: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    #: the layers' GEMMs that ``numerics.check_sizes`` refuses (all points are then refused)
    refused: bool

    @classmethod
    def of_layers(cls, layers: Sequence[Layer]) -> Gemms:
        shapes, scalesim = [], []
        for layer in layers:
            if isinstance(layer, ConvLayer):
                shape = layer.shape
                shapes.append((*shape.gemm, shape.groups))
                copies, gemm = scalesim_conv_gemm(layer)
                scalesim.append((*gemm, copies))
            else:
                shapes.append((layer.m, layer.k, layer.n, 1))
                scalesim.append((layer.m, layer.k, layer.n, 1))
        table = np.array(shapes, dtype=np.int64).reshape(len(layers), 4).T[:, :, None]
        m, k, n, groups = table
        limit = _DEFAULTS.max_elements
        refused = any(min(mm, kk, nn) < 1 or max(mm * kk, kk * nn, mm * nn) > limit
                      for mm, kk, nn, _ in shapes)  # fmt: skip
        sim = tuple(np.array(scalesim, dtype=np.int64).reshape(len(layers), 4).T[:, :, None])
        return cls(m, k, n, groups, sim, refused)


def workload_results(configs: Configs, layers: Sequence[Layer], energy: EnergyTable) -> dict:
    """Every point's totals over ``layers`` on its array, priced by ``energy``.

    Returns
    -------
    dict of numpy.ndarray, shape (points,)
        :data:`COUNTS` (int64), ``pe_count``, ``utilization``, ``mapping_efficiency``,
        ``energy_pj``, its components (``energy.ENERGY_COMPONENTS``), ``pj_per_mac``,
        ``area_mm2``, ``array_mm2``, ``sram_mm2`` (float64), and ``refused`` (bool): points
        whose numbers here are not to be used (see the module docstring).
    """
    gemms = Gemms.of_layers(layers)
    # blocks of points whose intermediate arrays stay in the second-level cache: about
    # twice as fast as the whole chunk at once on the benchmark machine
    size = max(MIN_BLOCK, BLOCK_ELEMENTS // len(layers))
    blocks = [_block_results(configs.taken(slice(start, start + size)), gemms, energy)
              for start in range(0, len(configs), size)]  # fmt: skip
    if len(blocks) == 1:
        return blocks[0]
    return {name: np.concatenate([block[name] for block in blocks]) for name in blocks[0]}


#: elements (points times layers) of one block's arrays (:func:`workload_results`)
BLOCK_ELEMENTS = 1 << 15
#: the fewest points of a block (fewer make NumPy's cost per call count)
MIN_BLOCK = 1024


def _block_results(configs: Configs, gemms: Gemms, energy: EnergyTable) -> dict:
    shape = (gemms.m.shape[0], len(configs))  # (layers, points)
    stationary = configs.dataflow != DATAFLOWS.index(Dataflow.OS)
    if stationary.all():
        per_layer = _stationary_counts(configs, gemms)
    elif not stationary.any():
        per_layer = _os_counts(configs, gemms)
    else:
        per_layer = {name: np.empty(shape, dtype=np.int64) for name in _LAYER_COUNTS}
        for flows, counts in ((stationary, _stationary_counts), (~stationary, _os_counts)):
            index = np.flatnonzero(flows)
            for name, value in counts(configs.taken(index), gemms).items():
                per_layer[name][:, index] = value
    rows, cols = configs.rows, configs.cols
    pe_count = rows * cols
    refused = _refused(gemms, per_layer["total_cycles"], pe_count)
    # a convolution's groups run one after another: a group's counts times their number
    if (gemms.groups != 1).any():
        per_layer = {name: value * gemms.groups for name, value in per_layer.items()}
    per_layer["scalesim_cycles"] = _scalesim(configs, gemms)
    per_layer["macs"] = gemms.m * gemms.k * gemms.n * gemms.groups
    out = {name: np.broadcast_to(per_layer[name], shape).sum(axis=0) for name in COUNTS}
    # each layer priced on its own, the layers' prices summed in order (compare.totals)
    layer_counts = {**per_layer, "pe_count": pe_count, "ub_write_bytes": 0,
                    "dram_read_bytes": 0, "host_read_bytes": 0}  # fmt: skip
    mac_pj = np.array([energy.mac_pj[name] for name in DTYPES])[configs.dtype]
    operand, accumulated = _format_bytes(configs)
    prices = price_terms(layer_counts.__getitem__, energy, mac_pj, operand, accumulated)
    for name, value in prices.items():
        out[name] = _ordered_sum(np.broadcast_to(value, shape))
    out["pe_count"] = pe_count
    out["utilization"] = _ratio(out["macs"], pe_count * out["total_cycles"])
    out["mapping_efficiency"] = _ratio(out["macs"], pe_count * out["compute_cycles"])
    out["pj_per_mac"] = out["energy_pj"] / out["macs"]
    mac_um2 = np.array([energy.mac_um2[name] for name in DTYPES])[configs.dtype]
    sram = _accumulator_rows(configs, gemms) * cols * accumulated
    out.update(area_terms(energy, rows, cols, mac_um2, sram))
    out["refused"] = refused
    return out


#: the counts of each layer of a point, from the dataflows' closed forms
_LAYER_COUNTS = (*COUNTS[:4], "folds", *COUNTS[6:10], "operand_register_writes",
                 "psum_register_writes", "weight_register_writes")  # fmt: skip


def _stationary_counts(configs: Configs, gemms: Gemms) -> dict:
    """The counts of weight- and input-stationary points: IS is WS on ``(n, k, m)``."""
    flow_is = configs.dataflow == DATAFLOWS.index(Dataflow.IS)
    m, n = np.where(flow_is, gemms.n, gemms.m), np.where(flow_is, gemms.m, gemms.n)
    k, rows, cols = gemms.k, configs.rows, configs.cols
    load = configs.weight_load
    serial = load == WEIGHT_LOADS.index(WeightLoad.SERIAL)
    segmented = load == WEIGHT_LOADS.index(WeightLoad.SEGMENTED)
    chain = np.where(segmented, np.minimum(configs.segment_rows, rows), rows)
    acc = configs.accumulator_rows
    tile_m = np.where(acc == UNLIMITED, m, acc)
    operand, accumulated = _format_bytes(configs)
    folds = count_folds(m, k, n, tile_m, rows, cols, np)
    out = ws.cycle_terms(m, k, n, rows, cols, tile_m, serial, segmented, chain, ops=np,
                         counts=folds)  # fmt: skip
    moved = ws.traffic_terms(m, k, n, rows, cols, tile_m, chain, operand, accumulated, ops=np,
                             counts=folds)  # fmt: skip
    if flow_is.any():
        named = input_stationary.traffic_named_after_operands(moved)
        moved = {name: np.where(flow_is, named[name], moved[name]) for name in moved}
    out.update(moved, folds=folds.folds)
    return out


def _os_counts(configs: Configs, gemms: Gemms) -> dict:
    m, k, n, rows, cols = gemms.m, gemms.k, gemms.n, configs.rows, configs.cols
    folds = count_folds(m, k, n, rows, k, cols, np)
    out = os_flow.cycle_terms(m, k, n, rows, cols, ops=np, counts=folds)
    out.update(os_flow.traffic_terms(m, k, n, rows, cols, *_format_bytes(configs), ops=np,
                                     counts=folds), folds=folds.folds)  # fmt: skip
    return {name: np.broadcast_to(value, m.shape[:1] + rows.shape) for name, value in out.items()}


def _format_bytes(configs: Configs) -> tuple[np.ndarray, np.ndarray]:
    """Bytes of an operand and of an accumulator entry in each point's format."""
    sizes = np.array([(FORMATS[name].operand_bytes, FORMATS[name].acc_bytes) for name in DTYPES],
                     dtype=np.int64)  # fmt: skip
    return sizes[configs.dtype, 0], sizes[configs.dtype, 1]


def _scalesim(configs: Configs, gemms: Gemms) -> np.ndarray:
    m, k, n, copies = gemms.scalesim
    flow = configs.dataflow
    ws_flow, os = flow == DATAFLOWS.index(Dataflow.WS), flow == DATAFLOWS.index(Dataflow.OS)
    return copies * scalesim_terms(m, k, n, configs.rows, configs.cols, ws_flow, os, ops=np)


def _refused(gemms: Gemms, cycles: np.ndarray, pe_count: np.ndarray) -> np.ndarray:
    """Points the per-point path refuses (a GEMM past ``max_cycles``, of ``cycles`` per
    layer; all of them, for a GEMM past ``max_elements``), or whose counts could leave
    int64: every count of a layer is at most some bytes per PE and cycle (see ``Report``)."""
    over = (cycles > _DEFAULTS.max_cycles).any(axis=0)
    slots = (pe_count * (cycles * gemms.groups).astype(np.float64)).sum(axis=0)
    return over | (64.0 * slots >= _INT64_SAFE) | gemms.refused


def _ordered_sum(parts: np.ndarray) -> np.ndarray:
    """The sum over the layers (axis 0) in their order, as Python's ``sum`` adds them
    (NumPy's ``sum`` adds floats pairwise, which may round differently)."""
    total = parts[0].copy()
    for part in parts[1:]:
        total += part
    return total


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` as Python divides ints (correctly rounded), also where
    they are too large for float64 to hold exactly."""
    out = numerator / denominator
    large = np.flatnonzero((numerator >= _EXACT_FLOAT) | (denominator >= _EXACT_FLOAT))
    for i in large:
        out[i] = int(numerator[i]) / int(denominator[i])
    return out


def _accumulator_rows(configs: Configs, gemms: Gemms) -> np.ndarray:
    """Rows of each point's accumulators, priced as SRAM (``point._accumulator_bytes``):
    unlimited ones as many as the longest stream needs (``m`` in WS, ``n`` in IS); none in
    OS."""
    flow = configs.dataflow
    longest = np.where(flow == DATAFLOWS.index(Dataflow.IS), gemms.n.max(), gemms.m.max())
    rows = np.where(configs.accumulator_rows == UNLIMITED, longest, configs.accumulator_rows)
    return np.where(flow == DATAFLOWS.index(Dataflow.OS), 0, rows)
