"""Run one workload on several dataflows and array sizes, and tabulate what each costs.

Every GEMM gets random standard-normal operands (the same ones for every dataflow and size,
from one seed), runs on the fast engine, and is compared with NumPy. One record per
layer x dataflow x array size holds the Report's stable fields plus ``layer``, ``dataflow``,
``rows``, ``cols``, ``m``, ``k``, ``n`` and ``scalesim_cycles`` (SCALE-Sim's figure for the same
run, see ``systolic.scalesim``). Priced with an energy table (``energy=``), records also hold
:data:`ENERGY_FIELDS` (``systolic.energy.price``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence

import numpy as np

from systolic.api import check_run, estimate, matmul
from systolic.config import ArrayConfig, Dataflow, WeightLoad
from systolic.conv import check_conv, conv2d, conv_estimate
from systolic.energy import ENERGY_COMPONENTS, EnergyTable, price
from systolic.files import atomic_write
from systolic.limits import check_memory
from systolic.report import Report
from systolic.scalesim import scalesim_conv_cycles, scalesim_cycles
from systolic.workloads import ConvLayer, Layer

FIELDS = (
    "layer", "dataflow", "rows", "cols", "m", "k", "n",
    "total_cycles", "weight_load_cycles", "compute_cycles", "fill_drain_cycles",
    "macs", "pe_count", "folds", "utilization", "mapping_efficiency",
    "act_read_bytes", "weight_read_bytes", "acc_write_bytes", "acc_read_bytes",
    "max_abs_error", "max_rel_error", "exact", "scalesim_cycles",
)  # fmt: skip
#: the energy of a record priced with a table, in pJ (components sum to ``energy_pj``)
ENERGY_FIELDS = ("energy_pj", *ENERGY_COMPONENTS, "pj_per_mac")


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """Array sizes from ``"8x8,32x32,128x64"`` (rows x cols), in the given order."""
    sizes = []
    for item in text.split(","):
        match = re.fullmatch(r"\s*([0-9]+)\s*[xX]\s*([0-9]+)\s*", item)
        if not match or min(int(match[1]), int(match[2])) < 1:
            raise ValueError(f"bad array size {item!r}: expected ROWSxCOLS, e.g. 32x32")
        sizes.append((int(match[1]), int(match[2])))
    return sizes


def parse_dataflows(text: str) -> list[Dataflow]:
    """Dataflows from ``"ws,os,is"``; an unknown name lists the valid ones."""
    valid = ", ".join(flow.value for flow in Dataflow)
    flows = []
    for name in text.split(","):
        try:
            flows.append(Dataflow(name.strip().lower()))
        except ValueError:
            raise ValueError(f"unknown dataflow {name.strip()!r}; valid: {valid}") from None
    return flows


def compare(
    gemms: Sequence[Layer],
    sizes: Sequence[tuple[int, int]],
    dataflows: Sequence[Dataflow] = tuple(Dataflow),
    *,
    weight_load: WeightLoad | str = WeightLoad.SERIAL,
    accumulator_rows: int | None = None,
    dtype: str = "fp32",
    seed: int = 0,
    progress: Callable[[], None] | None = None,
    values: bool = True,
    energy: EnergyTable | None = None,
) -> list[dict]:
    """Run every layer (GEMM or convolution) on every dataflow and array size; one record each
    (see module doc). A convolution's ``m``, ``k`` and ``n`` are those of each group's GEMM
    (``systolic.conv``), and its SCALE-Sim figure follows SCALE-Sim's own conv mapping. With
    ``values=False`` nothing is computed: every count comes from the closed forms
    (``api.estimate``), and the error fields are None.

    ``weight_load`` and ``accumulator_rows`` (``ArrayConfig``'s) apply to the dataflows with a
    stationary tile (WS, IS); output-stationary runs are always serial and keep their sums in
    the PEs. ``progress`` is called after each run. ``energy`` prices every run
    (:data:`ENERGY_FIELDS`).
    """
    configs = []
    for rows, cols in sizes:
        for flow in dataflows:
            stationary = flow is not Dataflow.OS
            configs.append(
                ArrayConfig(
                    rows, cols, dataflow=flow, dtype=dtype,
                    weight_load=weight_load if stationary else WeightLoad.SERIAL,
                    accumulator_rows=accumulator_rows if stationary else None,
                )
            )  # fmt: skip
    if not values:
        return _estimates(gemms, configs, progress, energy)
    # every run is checked (sizes, cycles, memory, time) before any operand is made
    for config in configs:
        for layer in gemms:
            try:
                if isinstance(layer, ConvLayer):
                    check_conv(layer.shape, config)
                else:
                    check_run(layer.m, layer.k, layer.n, config)
            except ValueError as error:
                where = f"layer {layer.name!r} on {config.dataflow.value}"
                raise ValueError(f"{where}: {error}") from None
    shapes = [_operand_shapes(layer) for layer in gemms]
    check_memory(8 * sum(math.prod(a) + math.prod(b) for a, b in shapes), "the workload's operands")
    rng = np.random.default_rng(seed)
    operands = [(rng.standard_normal(a), rng.standard_normal(b)) for a, b in shapes]
    records = []
    for config in configs:
        for layer, (a, b) in zip(gemms, operands, strict=True):
            if isinstance(layer, ConvLayer):
                shape = layer.shape
                _, report = conv2d(a, b, stride=shape.stride, padding=shape.padding,
                                   groups=shape.groups, config=config)  # fmt: skip
            else:
                _, report = matmul(a, b, config)
            records.append(_record(layer, config, report, energy))
            if progress is not None:
                progress()
    return records


def _record(
    layer: Layer, config: ArrayConfig, report: Report, energy: EnergyTable | None = None
) -> dict:
    """One record of :func:`compare`: the layer, its GEMM sizes (each group's, for a
    convolution), the Report's stable fields, SCALE-Sim's figure and, with ``energy``, the
    run's price."""
    if isinstance(layer, ConvLayer):
        (m, k, n), scalesim = layer.shape.gemm, scalesim_conv_cycles(layer, config)
    else:
        m, k, n = layer.m, layer.k, layer.n
        scalesim = scalesim_cycles(m, k, n, config)
    record = {"layer": layer.name, "dataflow": config.dataflow.value, "m": m, "k": k, "n": n}
    record.update(**report.to_dict(), scalesim_cycles=scalesim)
    if energy is None:
        return {name: record[name] for name in FIELDS}
    record.update(price(report, energy, config.dtype))
    return {name: record[name] for name in (*FIELDS, *ENERGY_FIELDS)}


def run_id(records: Sequence[dict]) -> str:
    """A short name of one set of results (a hash of the records), written into every file
    of the set so that files from different runs can be told apart."""
    digest = hashlib.sha256(json.dumps(list(records), sort_keys=True, default=str).encode())
    return digest.hexdigest()[:12]


def _estimates(
    layers: Sequence[Layer], configs: list[ArrayConfig], progress, energy: EnergyTable | None
) -> list[dict]:
    """The records of :func:`compare` from the closed forms alone."""
    records = []
    for config in configs:
        for layer in layers:
            try:
                if isinstance(layer, ConvLayer):
                    report = conv_estimate(layer.shape, config)
                else:
                    report = estimate(layer.m, layer.k, layer.n, config)
            except ValueError as error:
                raise ValueError(
                    f"layer {layer.name!r} on {config.dataflow.value}: {error}"
                ) from None
            records.append(_record(layer, config, report, energy))
            if progress is not None:
                progress()
    return records


def _operand_shapes(layer: Layer) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shapes of a layer's operands: ``A`` and ``B`` of a GEMM, ``x`` and ``w`` of a conv."""
    if isinstance(layer, ConvLayer):
        shape = layer.shape
        return (
            (shape.batch, shape.c_in, shape.height, shape.width),
            (shape.c_out, shape.c_in // shape.groups, shape.kh, shape.kw),
        )
    return (layer.m, layer.k), (layer.k, layer.n)


def write_csv(records: Sequence[dict], path, run: str | None = None) -> None:
    """Write the records as CSV with the columns of ``FIELDS`` (then
    :data:`ENERGY_FIELDS`, when priced, and a ``run`` column naming the set, when given),
    atomically."""
    fields = list(records[0]) if records else list(FIELDS)
    fields += ["run"] if run is not None else []

    def write(handle):
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**record, "run": run} if run is not None else record
                         for record in records)  # fmt: skip

    atomic_write(path, write)


def write_totals_csv(totals: Sequence[dict], path) -> None:
    """Write per-network totals (``plots.network_totals``) as CSV, atomically."""

    def write(handle):
        writer = csv.DictWriter(handle, fieldnames=list(totals[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(totals)

    atomic_write(path, write)


def totals(records: Sequence[dict]) -> list[dict]:
    """Sum the records of each (dataflow, array size): cycles, MACs, bytes, SCALE-Sim cycles;
    recompute ``utilization`` and ``mapping_efficiency`` from the sums; keep the largest error.
    """
    summed = (
        "total_cycles", "compute_cycles", "macs", "act_read_bytes", "weight_read_bytes",
        "acc_write_bytes", "acc_read_bytes", "scalesim_cycles",
    )  # fmt: skip
    if records and "energy_pj" in records[0]:
        summed += ("energy_pj", *ENERGY_COMPONENTS)
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        key = (record["dataflow"], record["rows"], record["cols"])
        groups.setdefault(key, []).append(record)
    out = []
    for (flow, rows, cols), group in groups.items():
        total = {"layer": "total", "dataflow": flow, "rows": rows, "cols": cols}
        total.update({name: sum(r[name] for r in group) for name in summed})
        pes = rows * cols
        total["utilization"] = total["macs"] / (pes * total["total_cycles"])
        total["mapping_efficiency"] = total["macs"] / (pes * total["compute_cycles"])
        if "energy_pj" in total:
            total["pj_per_mac"] = total["energy_pj"] / total["macs"]
        errors = [r["max_abs_error"] for r in group if r["max_abs_error"] is not None]
        total["max_abs_error"] = max(errors) if errors else None
        out.append(total)
    return out


def format_tables(records: Sequence[dict]) -> str:
    """One text table per dataflow: a row per array size and layer, then totals per size."""
    head = (
        f"{'array':>9} {'layer':<18} {'cycles':>12} {'util %':>7} {'map %':>6} "
        f"{'A read B':>12} {'B read B':>12} {'acc wr B':>12} {'max abs err':>11} "
        f"{'SCALE-Sim':>12}"
    )
    summary = totals(records)
    blocks = []
    for flow in dict.fromkeys(r["dataflow"] for r in records):
        lines = [f"dataflow {flow}", head]
        for total in (t for t in summary if t["dataflow"] == flow):
            size = (total["rows"], total["cols"])
            rows = [r for r in records if r["dataflow"] == flow and (r["rows"], r["cols"]) == size]
            for r in [*rows, total]:
                lines.append(
                    f"{size[0]:>4}x{size[1]:<4} {r['layer']:<18.18} {r['total_cycles']:>12,} "
                    f"{100 * r['utilization']:>7.2f} {100 * r['mapping_efficiency']:>6.1f} "
                    f"{r['act_read_bytes']:>12,} {r['weight_read_bytes']:>12,} "
                    f"{r['acc_write_bytes']:>12,} {_error(r['max_abs_error'])} "
                    f"{r['scalesim_cycles']:>12,}"
                )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _error(value: float | None) -> str:
    return f"{'-':>11}" if value is None else f"{value:>11.2e}"


def machine_records(
    layers: Sequence[Layer], names: Sequence[str], energy=None, graph=None
) -> list[dict]:
    """The workload's layers on each machine preset of ``names``, in the preset's own format,
    timed without values: a TensorCore machine's inference pass
    (``systolic.machine.program.run_layers``) or the TPU v1's program (``TPU.run``). One
    record each: ``machine``, ``total_cycles``, ``seconds``, ``utilization``, ``macs``,
    ``bottleneck`` (the busiest unit; None on the TPU v1, which has one timeline) and
    ``energy_pj`` (None without ``energy``).

    ``graph``: ``(model, inputs)`` of an ONNX workload. A TensorCore machine then runs the
    whole graph with values (``systolic.onnx.graph.run_graph``), its element-wise and
    data-movement nodes too, not only the GEMMs of ``layers``."""
    from systolic.machine import preset
    from systolic.machine.config import MachineConfig
    from systolic.machine.program import layer_gemms, run_layers
    from systolic.tpu import TPU, MatrixOp

    records = []
    for name in names:
        config = preset(name)
        if isinstance(config, MachineConfig) and graph is not None:
            from systolic.onnx.graph import run_graph

            prices = energy if energy is not None and energy.prices_machines else None
            ran = run_graph(*graph, config, prices)
            macs = sum(node["macs"] for node in ran.nodes)
            cycles = ran.total_cycles
            busiest = ran.schedule.bottleneck
            records.append({
                "machine": name, "dtype": config.dtype, "total_cycles": cycles,
                "seconds": config.seconds(cycles),
                "utilization": macs / (config.pe_count * cycles) if cycles else 0.0,
                "macs": macs, "bottleneck": "hbm" if busiest == "dma" else busiest,
                "energy_pj": None if prices is None else 1e12 * sum(
                    node["energy_j"] for node in ran.nodes),
            })  # fmt: skip
            continue
        if isinstance(config, MachineConfig):
            run = run_layers(
                config,
                layer_gemms(layers),
                energy if energy is not None and energy.prices_machines else None,
            )
            records.append({
                "machine": name, "dtype": config.dtype, "total_cycles": run["total_cycles"],
                "seconds": run["seconds"], "utilization": run["utilization"],
                "macs": run["macs"], "bottleneck": run["bottleneck"],
                "energy_pj": None if run["energy_j"] is None else run["energy_j"] * 1e12,
            })  # fmt: skip
            continue
        program = [MatrixOp.from_conv(layer.shape, layer.name) if isinstance(layer, ConvLayer)
                   else MatrixOp(layer.m, layer.k, layer.n, name=layer.name)
                   for layer in layers]  # fmt: skip
        report, _ = TPU(config).run(program)
        records.append({
            "machine": name, "dtype": config.dtype, "total_cycles": report.total_cycles,
            "seconds": report.total_cycles / (config.clock_mhz * 1e6),
            "utilization": report.utilization, "macs": report.macs, "bottleneck": None,
            "energy_pj": None if energy is None else price(report, energy, config.dtype)[
                "energy_pj"],
        })  # fmt: skip
    return records


def format_machines(records: list[dict]) -> str:
    """:func:`machine_records` as a table."""
    lines = [f"{'machine':<9} {'format':>6} {'cycles':>14} {'time us':>10} {'util %':>7} "
             f"{'bound':>5} {'energy uJ':>10}"]  # fmt: skip
    for r in records:
        energy = "-" if r["energy_pj"] is None else f"{r['energy_pj'] / 1e6:,.2f}"
        lines.append(
            f"{r['machine']:<9} {r['dtype']:>6} {r['total_cycles']:>14,} "
            f"{1e6 * r['seconds']:>10.3f} {100 * r['utilization']:>7.2f} "
            f"{r['bottleneck'] or '-':>5} {energy:>10}"
        )
    return "\n".join(lines)
