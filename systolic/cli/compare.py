"""``systolic compare``: a workload on every dataflow and array size; table, CSV and PNG."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from systolic.cli.common import (
    add_energy_option,
    check_output_dir,
    energy_table,
    layer_sizes,
    non_negative,
    positive,
)
from systolic.config import ArrayConfig, WeightLoad
from systolic.numerics import FORMATS


def add_parser(commands) -> None:
    """Add ``compare`` to the top-level subparsers."""
    cmp = commands.add_parser(
        "compare",
        help="run a workload on every dataflow and array size",
        description="Run a workload's GEMMs on each dataflow and array size with random "
        "operands checked against NumPy; print a table per dataflow and write CSV and PNG.",
    )
    source = cmp.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--workload",
        help="a workload file (SCALE-Sim GEMM or conv topology CSV, name,m,k,n CSV, JSON) or "
        "a bundled network's name (systolic workloads lists them)",
    )
    source.add_argument(
        "--mlp", help="layer sizes of an MLP, e.g. 784,30,10: its training step's GEMMs"
    )
    cmp.add_argument(
        "--batch", type=positive, default=None,
        help="MLP mini-batch (default 10) or a bundled network's batch (default 1)",
    )  # fmt: skip
    cmp.add_argument("--sizes", default="8x8,32x32", help="array sizes (default 8x8,32x32)")
    cmp.add_argument("--dataflows", default="ws,os,is", help="default ws,os,is")
    cmp.add_argument(
        "--weight-load", default="serial", choices=[mode.value for mode in WeightLoad],
        help="for WS and IS (OS has nothing to load); default serial",
    )  # fmt: skip
    cmp.add_argument("--dtype", default="fp32", choices=list(FORMATS), help="default fp32")
    cmp.add_argument("--seed", type=non_negative, default=0, help="random seed (default 0)")
    cmp.add_argument("--out", default="results", help="folder for CSV and PNG (default results)")
    cmp.add_argument(
        "--no-values", action="store_true",
        help="compute nothing: cycles, utilization and bytes from the closed forms (fast, for "
        "whole networks at large sizes); the error columns stay empty",
    )  # fmt: skip
    cmp.add_argument(
        "--machines", default=None, metavar="PRESETS",
        help="also run the workload on these machines, comma-separated (tpu_v1, teaching, "
        "tpu_v2 ... tpu_v6e: systolic machines lists the training machines), each in its own "
        "number format, timed without values (an ONNX model runs whole on the training "
        "machines, with values: its vector nodes too)",
    )  # fmt: skip
    add_energy_option(cmp)
    cmp.add_argument("--json", action="store_true", help="print the records as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``compare``; return the exit status."""
    from systolic import compare, plots, workloads

    sizes = compare.parse_sizes(args.sizes)
    flows = compare.parse_dataflows(args.dataflows)
    for rows, cols in sizes:  # refused here, before anything is loaded or shown
        ArrayConfig(rows, cols)
    out = Path(args.out)
    check_output_dir(out, "--out")
    prices = energy_table(args)
    machines = _machines(args.machines)
    if args.workload is not None:
        gemms = workloads.load_workload(args.workload, args.batch)
    else:
        gemms = workloads.mlp_gemms(layer_sizes(args.mlp, "--mlp"), args.batch or 10)
    from tqdm import tqdm

    total = len(sizes) * len(flows) * len(gemms)
    with tqdm(total=total, desc="simulating", unit="GEMM", file=sys.stderr, leave=False) as bar:
        records = compare.compare(
            gemms, sizes, flows, weight_load=args.weight_load, dtype=args.dtype,
            seed=args.seed, progress=bar.update, values=not args.no_values, energy=prices,
        )  # fmt: skip
    # the CSV and the PNG name the run they come from, so a reader can tell they match
    run_id = compare.run_id(records)
    compare.write_csv(records, out / "compare.csv", run_id)
    plots.save_figure(plots.compare_figure(records), out / "compare.png",
                      metadata={"Description": f"systolic compare run {run_id}"})  # fmt: skip
    graph = None
    if machines and args.workload is not None and args.workload.endswith(".onnx"):
        # the whole graph on the training machines, its vector and data-movement nodes too
        from systolic.onnx import run as model_run

        model = model_run.load_model(args.workload)
        specs = model_run.input_specs(model, args.batch or 1)
        graph = (model, model_run.make_inputs(specs, {}, args.seed))
    on_machines = compare.machine_records(gemms, machines, prices, graph) if machines else None
    if args.json:  # with --machines: the array records and the machines' beside them
        document = records if on_machines is None else {"records": records,
                                                         "machines": on_machines}  # fmt: skip
        print(json.dumps(document, indent=2))
    else:
        print(compare.format_tables(records))
        if on_machines is not None:
            print()
            print(compare.format_machines(on_machines))
    print(f"wrote {out / 'compare.csv'} and {out / 'compare.png'} (run {run_id})", file=sys.stderr)
    return 0


def _machines(text: str | None) -> list[str]:
    """The ``--machines`` presets, each checked (an unknown one lists them all)."""
    if text is None:
        return []
    from systolic.machine import preset_names

    names = [name.strip() for name in text.split(",") if name.strip()]
    valid = preset_names()
    for name in names:
        if name not in valid:
            raise ValueError(f"--machines: unknown machine {name!r}; valid: {', '.join(valid)}")
    if not names:
        raise ValueError(f"--machines {text!r}: expected presets like tpu_v4,tpu_v5e")
    return names
