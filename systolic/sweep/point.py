"""One sweep point: a pure function of its configuration, run wherever Dask sends it.

::

    point (dict of parameters) + its layers + its energy table
        -> compare.compare on one array (or TPU.run on a machine preset)
        -> one result dict: the parameters, the workload's totals, energy, area, errors

A bare-array point runs every layer of its workload on one ``ArrayConfig`` through
``systolic.compare.compare`` (with values checked against NumPy, or from the closed forms
with ``values=False``) and sums the layers. A machine point runs the workload as one program
of layers on a ``systolic.tpu`` preset (``TPU.run``: memories, stalls, activation unit); with
values, its layers also run on the machine's array (the same bits as ``TPU.matmul``) for the
error fields. Workers import this module by name; nothing here reads a file.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import numpy as np

from systolic import compare
from systolic.config import Dataflow, WeightLoad
from systolic.energy import ENERGY_COMPONENTS, EnergyTable, area_mm2, machine_area_mm2, price
from systolic.numerics import FORMATS
from systolic.sweep import block, vectorized
from systolic.sweep.block import Piece
from systolic.workloads import ConvLayer, Layer

#: the parameters of a point, in the order of the result files
PARAMS = (
    "workload", "batch", "seed", "machine", "rows", "cols", "dataflow", "weight_load",
    "accumulator_rows", "dtype", "energy", "values",
)  # fmt: skip
#: what a point reports, after its parameters (None where it does not apply)
RESULTS = (
    "layers", "total_cycles", "compute_cycles", "weight_load_cycles", "fill_drain_cycles",
    "stall_cycles", "macs", "pe_count", "folds", "utilization", "mapping_efficiency",
    "act_read_bytes", "weight_read_bytes", "acc_write_bytes", "acc_read_bytes",
    "dram_read_bytes", "energy_pj", *ENERGY_COMPONENTS, "pj_per_mac", "area_mm2", "array_mm2",
    "sram_mm2", "max_abs_error", "max_rel_error", "exact", "scalesim_cycles", "seconds",
)  # fmt: skip
#: every column of a stored point: its key, how it ended, its parameters and results
FIELDS = ("key", "status", "error", *PARAMS, *RESULTS)
#: the cycle categories of a Report that are not stalls
_ARRAY_CYCLES = ("compute_cycles", "weight_load_cycles", "fill_drain_cycles")
#: the counts summed over a workload's layers (``compare.totals`` sums the rest)
_SUMMED = ("weight_load_cycles", "fill_drain_cycles", "folds")


def machine_config(name: str, dtype: str | None):
    """The machine preset ``name``, in ``dtype`` (None: the preset's own):
    ``systolic.machine.preset``."""
    from systolic.machine import preset

    return preset(name, dtype)


def evaluate(point: dict, layers: Sequence[Layer], energy: EnergyTable) -> dict:
    """The results of one point (see the module docstring): ``point``'s parameters
    (:data:`PARAMS`) followed by :data:`RESULTS`, with ``status`` ``"ok"``.

    Parameters
    ----------
    point : dict
        The point's parameters; ``machine`` None for a bare array.
    layers : sequence of Layer
        Its workload at its batch.
    energy : EnergyTable
        The table that prices it (``point["energy"]`` names it).

    Raises
    ------
    ValueError
        A layer the array or machine refuses (too large, too slow, does not fit).
    """
    start = time.perf_counter()
    if point["machine"] is None:
        results = _array_results(point, layers, energy)
    else:
        results = _machine_results(point, layers, energy)
    results["layers"] = len(layers)
    results["seconds"] = time.perf_counter() - start
    return _record(point, [results.get(name) for name in RESULTS])


def evaluate_chunk(points: Sequence[dict], context: dict) -> Sequence[dict]:
    """Evaluate several points (one Dask task); a point that raises gives a failed record
    (:func:`failed`) and the others still run. ``context`` holds the layers of each
    ``(workload, batch)`` (``"layers"``) and the energy tables by name (``"tables"``).

    Bare-array points without values (a ``block.Piece``, or such dicts) are evaluated
    together, each workload's at once (``systolic.sweep.vectorized``: the same numbers), into
    :class:`Columns`; the others, and the points the closed forms refuse, one at a time. The
    records come in any order."""
    groups: dict[tuple, Sequence[dict]] = {}
    singles = []
    if isinstance(points, Piece) and not points.block.base["values"]:
        groups[points.block.run + (points.block.base["energy"],)] = points
    else:
        for point in points:
            if point["values"] or point["machine"] is not None:
                singles.append(point)
            else:
                run = (point["workload"], point["batch"], point["energy"])
                groups.setdefault(run, []).append(point)
    parts = []
    for (workload, batch, energy), group in groups.items():
        start = time.perf_counter()
        piece = isinstance(group, Piece)
        configs = group.configs() if piece else vectorized.Configs.of_points(group)
        layers = context["layers"][workload, batch]
        results = vectorized.workload_results(configs, layers, context["tables"][energy])
        refused = results.pop("refused")
        if refused.any():
            keep = np.flatnonzero(~refused)
            singles += [group[i] for i in np.flatnonzero(refused).tolist()]
            group = group.taken(keep) if piece else [group[i] for i in keep.tolist()]
            results = {name: value[keep] for name, value in results.items()}
        seconds = (time.perf_counter() - start) / max(1, len(group))
        results.update(layers=len(layers), stall_cycles=0, dram_read_bytes=0, seconds=seconds,
                       max_abs_error=None, max_rel_error=None, exact=None)  # fmt: skip
        parts.append((group, results))
    records = []
    for point in singles:
        try:
            layers = context["layers"][point["workload"], point["batch"]]
            records.append(evaluate(point, layers, context["tables"][point["energy"]]))
        except Exception as error:  # recorded with the point: the sweep goes on
            records.append(failed(point, error))
    if not parts:
        return records
    return Columns.joined(parts, records)


class Columns(Sequence):
    """The records of many finished points, kept as columns until they are read: the
    points (a sequence of dicts of :data:`PARAMS` and ``key``, status ``"ok"``: a
    ``block.Piece`` or a list), their results by name of :data:`RESULTS` (an array of one
    entry per point, or one value for all), then ``others``, records of their own. A
    sequence of records like a list of :func:`evaluate`'s, that Dask sends and pickles as a
    few arrays instead of a dict per point."""

    def __init__(self, points: Sequence[dict], results: dict, others: list[dict]):
        self.points, self.results, self.others = points, results, others

    @classmethod
    def joined(cls, parts: list[tuple[Sequence[dict], dict]], others: list[dict]) -> Columns:
        """The columns of several groups of points, one after another."""
        if len(parts) == 1:
            return cls(*parts[0], others)
        points = [point for group, _ in parts for point in group]
        results = {name: np.concatenate([block.filled(r[name], len(g)) for g, r in parts])
                   for name in RESULTS}  # fmt: skip
        return cls(points, results, others)

    def __len__(self) -> int:
        return len(self.points) + len(self.others)

    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        if index >= len(self.points):
            return self.others[index - len(self.points)]
        return _record(self.points[index], [self.column(name)[index] for name in RESULTS])

    def __iter__(self):
        rows = zip(*(self.column(name) for name in RESULTS), strict=True)
        for point, values in zip(self.points, rows, strict=True):
            yield _record(point, values)
        yield from self.others

    def column(self, name: str) -> list:
        """The results ``name`` of :attr:`points`, a Python value each."""
        value = self.results[name]
        if isinstance(value, np.ndarray):
            return value.tolist()
        return [value] * len(self.points)

    def seconds(self) -> float:
        """The seconds :attr:`points` took to evaluate, together."""
        value = self.results["seconds"]
        return float(np.sum(value)) if isinstance(value, np.ndarray) else value * len(self.points)


def _record(point: dict, values: Sequence) -> dict:
    """The record of an ``ok`` point from its parameters and its :data:`RESULTS`."""
    record = {"key": point["key"], "status": "ok", "error": None}
    record.update(zip(PARAMS, map(point.__getitem__, PARAMS), strict=True))
    record.update(zip(RESULTS, values, strict=True))
    return record


@dataclasses.dataclass(frozen=True)
class Task:
    """The points of one Dask task and what they need (see :func:`evaluate_chunk`), as one
    object: Dask sends it as it is, where it would walk every point of a list of dicts for
    references to other tasks (a third of the client's time in a closed-form sweep)."""

    points: list[dict]
    context: dict

    def run(self) -> Sequence[dict]:
        """The records of the task's points (:func:`evaluate_chunk`)."""
        return evaluate_chunk(self.points, self.context)


def failed(point: dict, error: BaseException) -> dict:
    """The record of a point that raised ``error``: its parameters, ``status`` ``"failed"``
    and ``error`` as one line, the exception's type and message."""
    message = " ".join(f"{type(error).__name__}: {error}".split())
    return {"key": point["key"], "status": "failed", "error": message,
            **{name: point[name] for name in PARAMS}}  # fmt: skip


def _array_results(point: dict, layers: Sequence[Layer], energy: EnergyTable) -> dict:
    """A bare array's totals over the workload, from ``compare.compare``."""
    flow = Dataflow(point["dataflow"])
    records = compare.compare(
        layers, [(point["rows"], point["cols"])], [flow], weight_load=point["weight_load"],
        accumulator_rows=point["accumulator_rows"], dtype=point["dtype"], seed=point["seed"],
        values=point["values"], energy=energy,
    )  # fmt: skip
    (total,) = compare.totals(records)
    total.update({name: sum(record[name] for record in records) for name in _SUMMED})
    total.update(_errors(records, point["values"]), stall_cycles=0, dram_read_bytes=0)
    total["pe_count"] = point["rows"] * point["cols"]
    sram = _accumulator_bytes(point, layers)
    total.update(area_mm2(energy, point["rows"], point["cols"], point["dtype"], sram))
    return total


def _accumulator_bytes(point: dict, layers: Sequence[Layer]) -> int:
    """Bytes of a bare array's accumulators, priced as SRAM: ``accumulator_rows`` rows of
    ``cols`` sums; unlimited, as many rows as the workload's longest stream needs (``m`` in
    WS, ``n`` in IS); none in OS, whose sums stay in the PEs."""
    flow = Dataflow(point["dataflow"])
    if flow is Dataflow.OS:
        return 0
    rows = point["accumulator_rows"]
    if rows is None:
        gemms = [layer.shape.gemm if isinstance(layer, ConvLayer) else (layer.m, layer.k, layer.n)
                 for layer in layers]  # fmt: skip
        rows = max(m if flow is Dataflow.WS else n for m, _, n in gemms)
    return rows * point["cols"] * FORMATS[point["dtype"]].acc_bytes


def _machine_results(point: dict, layers: Sequence[Layer], energy: EnergyTable) -> dict:
    """A machine preset's run of the workload as one program, priced, with its area."""
    from systolic.machine.config import MachineConfig
    from systolic.tpu import TPU, MatrixOp

    config = machine_config(point["machine"], point["dtype"])
    if isinstance(config, MachineConfig):
        return _tensorcore_results(point, layers, energy, config)
    program = [
        MatrixOp.from_conv(layer.shape, layer.name) if isinstance(layer, ConvLayer)
        else MatrixOp(layer.m, layer.k, layer.n, name=layer.name)
        for layer in layers
    ]  # fmt: skip
    report, _ = TPU(config).run(program)
    out = report.to_dict()
    out["stall_cycles"] = report.total_cycles - sum(out[name] for name in _ARRAY_CYCLES)
    out.update(price(report, energy, config.dtype))
    area = machine_area_mm2(config, energy)
    out.update(area, sram_mm2=area["area_mm2"] - area["array_mm2"])
    if point["values"]:  # the machine's array computes the bits TPU.matmul returns
        records = compare.compare(
            layers, [(config.rows, config.cols)], [Dataflow.WS],
            weight_load=WeightLoad.DOUBLE_BUFFERED,
            accumulator_rows=config.memory.accumulator_rows, dtype=config.dtype,
            seed=point["seed"],
        )  # fmt: skip
        out.update(_errors(records, True))
    return out


def _tensorcore_results(point: dict, layers, energy: EnergyTable, config) -> dict:
    """A TensorCore machine's inference pass of the workload (``run_layers``), priced with the
    table's machine units; the array-only fields (cycle breakdown, area) stay None."""
    from systolic.machine.program import layer_gemms, run_layers

    run = run_layers(config, layer_gemms(layers), energy if energy.prices_machines else None)
    out = {
        "total_cycles": run["total_cycles"], "macs": run["macs"], "pe_count": config.pe_count,
        "folds": run["folds"], "utilization": run["utilization"],
        "dram_read_bytes": run["hbm_read_bytes"],
        "energy_pj": None if run["energy_j"] is None else run["energy_j"] * 1e12,
    }  # fmt: skip
    if point["values"]:  # each MXU computes the bits of the bare array
        records = compare.compare(
            layers, [(config.mxu_rows, config.mxu_cols)], [Dataflow.WS],
            weight_load=WeightLoad.DOUBLE_BUFFERED, accumulator_rows=config.accumulator_rows,
            dtype=config.dtype, seed=point["seed"],
        )  # fmt: skip
        out.update(_errors(records, True))
    return out


def _errors(records: Sequence[dict], values: bool) -> dict:
    """The largest errors of a workload's layers and whether all were exact (None without
    values)."""
    if not values:
        return {"max_abs_error": None, "max_rel_error": None, "exact": None}
    return {
        "max_abs_error": max(record["max_abs_error"] for record in records),
        "max_rel_error": max(record["max_rel_error"] for record in records),
        "exact": all(record["exact"] for record in records),
    }
