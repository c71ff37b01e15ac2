"""``systolic sweep``: a design-space sweep from a TOML spec, as Dask tasks; resumable."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from systolic.cli.common import check_output_dir, positive, real


def add_parser(commands) -> None:
    """Add ``sweep`` to the top-level subparsers."""
    sweep = commands.add_parser(
        "sweep",
        help="run a design-space sweep from a TOML spec on Dask",
        description="Run every point of a sweep spec (workloads x array sizes, dataflows, "
        "weight loading, accumulator rows, number formats, machine presets, energy tables) "
        "as Dask tasks, on a local cluster or a running scheduler. Each finished point is "
        "stored in DIR at once, so a rerun computes only what is missing. Prints the best "
        "points per workload and writes points.csv and Pareto plots (README.md, "
        "'Design-space sweeps', documents the spec).",
    )
    sweep.add_argument("spec", metavar="SPEC", help="the sweep spec, a TOML file")
    sweep.add_argument(
        "--scheduler", metavar="ADDRESS", default=None,
        help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster "
        "on 127.0.0.1)",
    )  # fmt: skip
    sweep.add_argument(
        "--workers", type=positive, default=None, metavar="N",
        help="worker processes of the local cluster, one thread each (default: one per core)",
    )  # fmt: skip
    sweep.add_argument("--out", default="sweep-results", metavar="DIR",
                       help="results folder (default sweep-results)")  # fmt: skip
    sweep.add_argument(
        "--no-values", action="store_true",
        help="compute no value: cycles, traffic and energy from the closed forms (thousands "
        "of points per second); the error columns stay empty",
    )  # fmt: skip
    sweep.add_argument(
        "--chunk", type=positive, default=None, metavar="N",
        help="points per Dask task (default: as many as take about 0.1 s, measured as the "
        "sweep goes; one each at first)",
    )  # fmt: skip
    sweep.add_argument(
        "--connect-timeout", type=real(0, low_open=True), default=10.0, metavar="S",
        help="seconds to wait for the scheduler (default 10)",
    )  # fmt: skip
    sweep.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``sweep``; return the exit status (1 when a point failed; its error is stored)."""
    from systolic.sweep import format_summary, load_spec, run_sweep

    if args.scheduler is not None and args.workers is not None:
        raise ValueError("--workers sizes the local cluster; with --scheduler the scheduler's "
                         "workers run the points")  # fmt: skip
    out = Path(args.out)
    check_output_dir(out, "--out")
    spec = load_spec(args.spec)
    summary = run_sweep(
        spec, out, values=not args.no_values, scheduler=args.scheduler, workers=args.workers,
        chunk=args.chunk, connect_timeout_s=args.connect_timeout,
    )  # fmt: skip
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    print(f"wrote {', '.join(summary['files'])}", file=sys.stderr)
    return 1 if summary["failed"] else 0
