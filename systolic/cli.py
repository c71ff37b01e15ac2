"""The ``systolic`` command.

``systolic gemm [M K N]`` runs random operands through the simulated array and prints the
Report next to the comparison with NumPy. ``systolic compare`` runs a workload on every
dataflow and array size and writes a table, CSV and PNG. Bad input ends with a one-line
message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from systolic.api import ENGINES, matmul
from systolic.config import ArrayConfig, Dataflow, WeightLoad
from systolic.dataflows import MODULES
from systolic.dataflows.weight_stationary import check_limits
from systolic.numerics import FORMATS, check_sizes, error_bound, prepare_operands

# a run of more PE-cycles than this shows a progress bar (about a second on a laptop core)
PROGRESS_PE_CYCLES = 2 * 10**9


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="systolic", description="Cycle-accurate systolic-array simulator.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    gemm = commands.add_parser(
        "gemm",
        help="run a random (M, K) @ (K, N) GEMM on the array",
        description="Run a random (M, K) @ (K, N) GEMM on the simulated array and print its "
        "Report (cycles, utilization, bytes) next to the comparison with NumPy.",
    )
    for name, default in (("M", 1000), ("K", 784), ("N", 30)):
        gemm.add_argument(
            name.lower(),
            metavar=name,
            type=_positive,
            nargs="?",
            default=default,
            help=f"default {default}",
        )
    gemm.add_argument("--rows", type=_positive, default=32, help="PE rows (default 32)")
    gemm.add_argument("--cols", type=_positive, default=32, help="PE columns (default 32)")
    gemm.add_argument(
        "--dataflow", default="ws", choices=[flow.value for flow in Dataflow],
        help="weight-, output- or input-stationary (default ws)",
    )  # fmt: skip
    gemm.add_argument(
        "--weight-load",
        default="serial",
        choices=[mode.value for mode in WeightLoad],
        help="weight loading (default serial)",
    )
    gemm.add_argument(
        "--accumulator-rows",
        type=_positive,
        default=None,
        help="accumulator capacity in rows (default unlimited)",
    )
    gemm.add_argument("--dtype", default="fp32", choices=list(FORMATS), help="default fp32")
    gemm.add_argument(
        "--operands",
        default="normal",
        choices=["normal", "int"],
        help="random standard-normal floats, or small integers (exact results); default normal",
    )
    gemm.add_argument("--engine", default="fast", choices=ENGINES, help="default fast")
    gemm.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    gemm.add_argument(
        "--max-cycles",
        type=_positive,
        default=ArrayConfig.max_cycles,
        help=f"refuse runs longer than this many cycles (default {ArrayConfig.max_cycles:,})",
    )
    gemm.add_argument("--json", action="store_true", help="print the Report as JSON")

    cmp = commands.add_parser(
        "compare",
        help="run a workload on every dataflow and array size",
        description="Run a workload's GEMMs on each dataflow and array size with random "
        "operands checked against NumPy; print a table per dataflow and write CSV and PNG.",
    )
    source = cmp.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--workload", help="GEMM list: SCALE-Sim GEMM topology CSV, name,m,k,n CSV, or JSON"
    )
    source.add_argument(
        "--mlp", help="layer sizes of an MLP, e.g. 784,30,10: its training step's GEMMs"
    )
    cmp.add_argument("--batch", type=_positive, default=10, help="MLP mini-batch (default 10)")
    cmp.add_argument("--sizes", default="8x8,32x32", help="array sizes (default 8x8,32x32)")
    cmp.add_argument("--dataflows", default="ws,os,is", help="default ws,os,is")
    cmp.add_argument(
        "--weight-load", default="serial", choices=[mode.value for mode in WeightLoad],
        help="for WS and IS (OS has nothing to load); default serial",
    )  # fmt: skip
    cmp.add_argument("--dtype", default="fp32", choices=list(FORMATS), help="default fp32")
    cmp.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    cmp.add_argument("--out", default="results", help="folder for CSV and PNG (default results)")
    cmp.add_argument("--json", action="store_true", help="print the records as JSON")
    return parser


def _random_operands(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(args.seed)
    if args.operands == "int":
        return (
            rng.integers(-8, 9, size=(args.m, args.k)).astype(np.float64),
            rng.integers(-8, 9, size=(args.k, args.n)).astype(np.float64),
        )
    return rng.standard_normal((args.m, args.k)), rng.standard_normal((args.k, args.n))


def _gemm(args: argparse.Namespace) -> None:
    config = ArrayConfig(
        rows=args.rows,
        cols=args.cols,
        dataflow=args.dataflow,
        weight_load=args.weight_load,
        accumulator_rows=args.accumulator_rows,
        dtype=args.dtype,
        max_cycles=args.max_cycles,
    )
    # refuse oversized runs before making operands that may not even fit in memory
    check_sizes(args.m, args.k, args.n, config.max_elements)
    closed_form = MODULES[config.dataflow].closed_form_cycles
    cycles = check_limits(args.m, args.k, args.n, config, closed_form)["total_cycles"]
    fmt = FORMATS[config.dtype]
    a, b = prepare_operands(*_random_operands(args), fmt, config.max_elements)
    show_progress = not args.json and cycles * config.pe_count > PROGRESS_PE_CYCLES
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(desc="simulating", unit="fold", file=sys.stderr, leave=False)
    # the first use in a process compiles or loads the kernels: time that apart from the run
    start = time.perf_counter()
    matmul(a[:1, :1], b[:1, :1], config, engine=args.engine, compare=False)
    warmup_s = time.perf_counter() - start
    start = time.perf_counter()
    c, report = matmul(
        a, b, config, engine=args.engine, progress=bar.update if bar is not None else None
    )
    wall_s = time.perf_counter() - start
    if bar is not None:
        bar.close()
    start = time.perf_counter()
    np.matmul(a, b)
    numpy_s = time.perf_counter() - start
    bound = error_bound(a, b, fmt)
    diff = np.abs(c.astype(np.float64) - a.astype(np.float64) @ b.astype(np.float64))
    within = bool((diff <= bound).all())
    if args.json:
        record = {"m": args.m, "k": args.k, "n": args.n, **report.to_dict()}
        record.update(
            dataflow=config.dataflow.value,
            weight_load=config.weight_load.value,
            dtype=config.dtype,
            engine=args.engine,
            within_error_bound=within,
            wall_s=wall_s,
            numpy_s=numpy_s,
            warmup_s=warmup_s,
        )
        print(json.dumps(record, indent=2))
        return
    print(
        f"GEMM ({args.m}, {args.k}) @ ({args.k}, {args.n}), {config.dataflow.name}, "
        f"{config.dtype}, {config.weight_load.value} weight loading, {args.engine} engine"
    )
    print(report.table())
    if report.exact:
        print("result               equals NumPy's float64 product exactly")
    else:
        verdict = "within" if within else "OUTSIDE"
        print(
            f"result               {verdict} the {config.dtype} rounding-error bound "
            f"(largest error / bound: {float((diff / np.maximum(bound, 1e-300)).max()):.3f})"
        )
    print(
        f"wall time            {wall_s:.4f} s simulated, {numpy_s:.6f} s np.matmul "
        f"({wall_s / max(numpy_s, 1e-9):,.0f}x), after {warmup_s:.2f} s to compile or load "
        "the kernels"
    )


def _layer_sizes(text: str) -> list[int]:
    try:
        return [int(size) for size in text.split(",")]
    except ValueError:
        raise ValueError(f"bad --mlp {text!r}: expected layer sizes like 784,30,10") from None


def _compare(args: argparse.Namespace) -> None:
    from systolic import compare, plots, workloads

    sizes = compare.parse_sizes(args.sizes)
    flows = compare.parse_dataflows(args.dataflows)
    if args.workload is not None:
        gemms = workloads.load_workload(args.workload)
    else:
        gemms = workloads.mlp_gemms(_layer_sizes(args.mlp), args.batch)
    from tqdm import tqdm

    total = len(sizes) * len(flows) * len(gemms)
    with tqdm(total=total, desc="simulating", unit="GEMM", file=sys.stderr, leave=False) as bar:
        records = compare.compare(
            gemms, sizes, flows, weight_load=args.weight_load, dtype=args.dtype,
            seed=args.seed, progress=bar.update,
        )  # fmt: skip
    out = Path(args.out)
    compare.write_csv(records, out / "compare.csv")
    plots.save_figure(plots.compare_figure(records), out / "compare.png")
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        print(compare.format_tables(records))
    print(f"wrote {out / 'compare.csv'} and {out / 'compare.png'}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "gemm":
            _gemm(args)
        elif args.command == "compare":
            _compare(args)
    except ValueError as error:  # every bad-input error of the package is a ValueError
        print(f"systolic: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
