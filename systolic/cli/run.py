"""``systolic run``: an ONNX model run on a TensorCore machine with values, each node priced on
its unit, every output checked against ONNX's reference runtime."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from systolic.cli.common import (
    add_energy_option,
    check_output_dir,
    check_output_file,
    energy_table,
    non_negative,
    positive,
)


def add_parser(commands) -> None:
    """Add ``run`` to the top-level subparsers."""
    parser = commands.add_parser(
        "run",
        help="run an ONNX model on a training machine with values, checked against ONNX",
        description="Run an ONNX model on a TensorCore machine: MatMul, Gemm and Conv on the "
        "MXUs, element-wise ops, normalizations, pooling and reductions on the VPU, shape ops "
        "as data movement, all on one timeline. Every output is compared with ONNX's "
        "reference runtime (and onnxruntime, if installed). Prints the slowest nodes first.",
    )
    parser.add_argument("model", help="the .onnx file")
    parser.add_argument("--machine", default="tpu_v5e", metavar="PRESET",
                        help="a training machine (systolic machines; default tpu_v5e)")  # fmt: skip
    parser.add_argument(
        "--dtype", default=None, choices=["bf16", "fp32", "int8"],
        help="the MXUs' format (default the machine's own, bf16; int8 quantizes every float "
        "GEMM: its A per tensor, its B per output column)",
    )  # fmt: skip
    parser.add_argument(
        "--input", action="append", default=[], metavar="NAME=FILE.npy",
        help="an input's values from a .npy file (repeatable); the others are random",
    )  # fmt: skip
    parser.add_argument(
        "--batch", type=positive, default=None,
        help="size of a free first input dimension (needed when there is one)",
    )  # fmt: skip
    parser.add_argument("--seed", type=non_negative, default=0, help="random seed (default 0)")
    parser.add_argument("--out", help="folder for the outputs (and inputs/) as .npy")
    parser.add_argument("--plot", metavar="PNG", help="draw the cycles of each node by unit")
    add_energy_option(parser)
    parser.add_argument("--json", action="store_true", help="print the run as JSON")


def _given(texts: list[str]) -> dict:
    """The ``--input NAME=FILE.npy`` arrays, read without unpickling, each header's size
    checked (:func:`~systolic.limits.check_memory`) before its array is allocated or read."""
    import numpy as np

    from systolic.limits import check_memory, memory_limit_bytes

    limit = memory_limit_bytes()
    given = {}
    for text in texts:
        name, sep, path = text.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--input {text!r}: expected NAME=FILE.npy")
        try:
            with open(path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
                need = math.prod(shape) * dtype.itemsize
                if need <= limit:
                    handle.seek(0)
                    given[name] = np.load(handle, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ValueError(
                f"--input {name}: {path}: cannot read a .npy array ({error})"
            ) from None
        if need > limit:
            check_memory(need, f"--input {name}: {path}")  # refuses it, naming the sizes
    return given


def run(args: argparse.Namespace) -> int:
    """Run ``run``; return the exit status."""
    from systolic import energy as energy_tables
    from systolic.machine.config import machine
    from systolic.onnx import graph as runner
    from systolic.onnx import run as model_run

    out = Path(args.out) if args.out is not None else None
    if out is not None:
        check_output_dir(out, "--out")
    plot = check_output_file(args.plot, "--plot") if args.plot is not None else None
    config = machine(args.machine, args.dtype)
    model = model_run.load_model(args.model)
    runner.check_supported(model)  # before anything runs
    given = _given(args.input)
    inputs = model_run.make_inputs(model_run.input_specs(model, args.batch), given, args.seed)
    model_run.check_fits(model, inputs, config)  # before any node runs
    prices = energy_table(args) or energy_tables.horowitz45()
    if not prices.prices_machines:
        energy_tables.price_machine({}, prices, config.dtype)  # refuses, naming what lacks
    result = runner.run_graph(model, inputs, config, prices)
    checks = model_run.compare(result.outputs, model_run.reference_outputs(model, inputs),
                               config.dtype)  # fmt: skip
    onnxruntime = model_run.onnxruntime_outputs(model, inputs)
    if onnxruntime is not None:
        for record, other in zip(checks, model_run.compare(result.outputs, onnxruntime,
                                                           config.dtype), strict=True):  # fmt: skip
            record["onnxruntime_max_abs_error"] = other["max_abs_error"]
            record["onnxruntime_within_bound"] = other["within_bound"]
    seconds = config.seconds(result.total_cycles)
    document = {
        "model": str(args.model), "machine": config.name, "dtype": config.dtype,
        "total_cycles": result.total_cycles, "seconds": seconds,
        "unit_cycles": dict(result.schedule.unit_cycles),
        "energy_j": sum(n["energy_j"] for n in result.nodes), "energy_table": prices.name,
        "nodes": sorted(result.nodes, key=lambda n: -n["cycles"]), "outputs": checks,
    }  # fmt: skip
    if out is not None:
        _write_arrays(out, result.outputs, inputs, model_run.file_name)
    if plot is not None:
        _plot(result.nodes, config, plot)
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    print(_text(document))
    if not all(c["within_bound"] for c in checks):
        print("systolic: warning: an output is outside its format's bound (see above)",
              file=sys.stderr)  # fmt: skip
    return 0


def _text(d: dict) -> str:
    lines = [f"{d['model']} on {d['machine']} ({d['dtype']} MXUs): {d['total_cycles']:,} cycles, "
             f"{1e6 * d['seconds']:.3f} us"]  # fmt: skip
    lines.append(f"{'node':<28} {'op':<18} {'unit':>4} {'cycles':>12} {'util %':>7} "
                 f"{'bytes':>12} {'energy uJ':>10}")  # fmt: skip
    for n in d["nodes"][:20]:
        lines.append(f"{n['name'][:28]:<28} {n['op']:<18} {n['unit']:>4} {n['cycles']:>12,} "
                     f"{100 * n['utilization']:>7.2f} {n['bytes']:>12,} "
                     f"{1e6 * n['energy_j']:>10.3f}")  # fmt: skip
    if len(d["nodes"]) > 20:
        lines.append(f"... {len(d['nodes']) - 20} more nodes (--json lists them all)")
    busy = ", ".join(f"{u.upper()} {c:,}" for u, c in d["unit_cycles"].items())
    lines.append(f"busy cycles          {busy}")
    lines.append(f"energy ({d['energy_table']})  {1e6 * d['energy_j']:,.3f} uJ")
    for o in d["outputs"]:
        error = "-" if o["max_abs_error"] is None else f"{o['max_abs_error']:.3g}"
        verdict = "within" if o["within_bound"] else "OUTSIDE"
        line = (f"output {o['name']:<14} max abs error {error} against onnx.reference: "
                f"{verdict} the {d['dtype']} bound")  # fmt: skip
        if "onnxruntime_max_abs_error" in o:
            other = o["onnxruntime_max_abs_error"]
            line += (f"; {'-' if other is None else f'{other:.3g}'} against onnxruntime ("
                     f"{'within' if o['onnxruntime_within_bound'] else 'OUTSIDE'})")  # fmt: skip
        lines.append(line)
    return "\n".join(lines)


def _write_arrays(out: Path, outputs: dict, inputs: dict, file_name) -> None:
    """Every output as ``out/<name>.npy`` and every input as ``out/inputs/<name>.npy``."""
    import numpy as np

    from systolic.files import atomic_write

    for folder, arrays in ((out, outputs), (out / "inputs", inputs)):
        for name, array in arrays.items():

            def write(handle, a=array) -> None:
                np.save(handle, np.asarray(a))

            atomic_write(folder / f"{file_name(name)}.npy", write, binary=True)


def _plot(nodes: list[dict], config, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from systolic import plots

    fig, ax = plt.subplots(figsize=(10, 4))
    plots.node_cycles(ax, nodes)
    ax.set_title(f"cycles per node on {config.name} ({config.dtype} MXUs)")
    fig.tight_layout()
    plots.save_figure(fig, path)
