"""``systolic gemm [M K N]``: a random GEMM on the array, its Report next to NumPy."""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from systolic import limits
from systolic.api import ENGINES, check_run, fold_count, matmul, run_bytes
from systolic.cli.common import (
    add_energy_option,
    check_output_file,
    energy_table,
    non_negative,
    positive,
    real,
)
from systolic.config import ArrayConfig, Dataflow, WeightLoad
from systolic.numerics import FORMATS, error_bound, prepare_operands

# a run of more PE-cycles than this shows a progress bar (about a second on a laptop core)
PROGRESS_PE_CYCLES = 2 * 10**9
# a run estimated at more seconds than this says so before it starts, and shows a bar
NOTE_SECONDS = 2.0


def add_parser(commands) -> None:
    """Add ``gemm`` to the top-level subparsers."""
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
            type=positive,
            nargs="?",
            default=default,
            help=f"default {default}",
        )
    gemm.add_argument("--rows", type=positive, default=32, help="PE rows (default 32)")
    gemm.add_argument("--cols", type=positive, default=32, help="PE columns (default 32)")
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
        "--segment-rows", type=positive, default=8,
        help="rows per weight shift chain with --weight-load segmented (default 8)",
    )  # fmt: skip
    gemm.add_argument(
        "--accumulator-rows",
        type=positive,
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
    gemm.add_argument("--seed", type=non_negative, default=0, help="random seed (default 0)")
    gemm.add_argument(
        "--max-cycles",
        type=positive,
        default=ArrayConfig.max_cycles,
        help=f"refuse runs longer than this many cycles (default {ArrayConfig.max_cycles:,})",
    )
    gemm.add_argument(
        "--max-seconds",
        type=real(0, low_open=True),
        default=ArrayConfig.max_seconds,
        help="refuse runs whose estimated time on the engine is longer "
        f"(default {ArrayConfig.max_seconds:g})",
    )
    add_energy_option(gemm)
    gemm.add_argument("--json", action="store_true", help="print the Report as JSON")
    gemm.add_argument(
        "--vcd", help="also write the golden model's registers, cycle by cycle, to this VCD file"
    )
    gemm.add_argument("--plot", help="also save per-PE utilization and the cycle breakdown here")


def _random_operands(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(args.seed)
    if args.operands == "int":
        return (
            rng.integers(-8, 9, size=(args.m, args.k)).astype(np.float64),
            rng.integers(-8, 9, size=(args.k, args.n)).astype(np.float64),
        )
    return rng.standard_normal((args.m, args.k)), rng.standard_normal((args.k, args.n))


def _plot_gemm(report, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from systolic import plots

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    plots.pe_heatmap(left, report)
    plots.breakdown_bars(right, {"GEMM": report})
    fig.tight_layout()
    plots.save_figure(fig, path)


def run(args: argparse.Namespace) -> int:
    """Run ``gemm``; return the exit status."""
    config = ArrayConfig(
        rows=args.rows,
        cols=args.cols,
        dataflow=args.dataflow,
        weight_load=args.weight_load,
        accumulator_rows=args.accumulator_rows,
        dtype=args.dtype,
        segment_rows=args.segment_rows,
        max_cycles=args.max_cycles,
        max_seconds=args.max_seconds,
    )
    # everything is checked before anything is made, run or written
    plot = check_output_file(args.plot, "--plot") if args.plot is not None else None
    prices = energy_table(args)
    vcd = check_output_file(args.vcd, "--vcd") if args.vcd is not None else None
    if vcd is not None:
        from systolic.waveform import check_vcd

        check_vcd(args.m, args.k, args.n, config)
    m, k, n = args.m, args.k, args.n
    cycles = check_run(m, k, n, config, args.engine)["total_cycles"]
    # the run's own allocations, and this command's: its random operands in float64, the
    # check against the error bound
    limits.check_memory(run_bytes(m, k, n, config, args.engine) + 8 * (m * k + k * n)
                        + 32 * m * n, f"GEMM ({m:,}, {k:,}) @ ({k:,}, {n:,})")  # fmt: skip
    seconds = limits.run_seconds(args.engine, cycles, m * k * n, config.pe_count)
    if seconds > NOTE_SECONDS:
        print(f"simulating {cycles:,} cycles on the {args.engine} engine: about "
              f"{limits.duration(seconds)} (estimated; max_seconds={config.max_seconds:g})",
              file=sys.stderr)  # fmt: skip
    fmt = FORMATS[config.dtype]
    a, b = prepare_operands(*_random_operands(args), fmt, config.max_elements)
    show_progress = cycles * config.pe_count > PROGRESS_PE_CYCLES or seconds > NOTE_SECONDS
    bar = None
    if show_progress:
        from tqdm import tqdm

        golden = args.engine == "golden"
        bar = tqdm(desc="simulating", unit="cycle" if golden else "fold", file=sys.stderr,
                   total=cycles if golden else fold_count(m, k, n, config).folds, leave=False,
                   mininterval=0.5)  # fmt: skip
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
    if plot is not None:
        _plot_gemm(report, plot)
    if vcd is not None:
        from systolic.waveform import write_vcd

        cycles_written = write_vcd(vcd, a, b, config)
        print(f"wrote {cycles_written:,} cycles of waveforms to {vcd}", file=sys.stderr)
    start = time.perf_counter()
    np.matmul(a, b)
    numpy_s = time.perf_counter() - start
    bound = error_bound(a, b, fmt)
    diff = np.abs(c.astype(np.float64) - a.astype(np.float64) @ b.astype(np.float64))
    within = bool((diff <= bound).all())
    priced = {}
    if prices is not None:
        from systolic.energy import price

        priced = {"energy_table": prices.name, **price(report, prices, config.dtype)}
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
            **priced,
        )
        print(json.dumps(record, indent=2))
        return 0
    print(
        f"GEMM ({args.m}, {args.k}) @ ({args.k}, {args.n}), {config.dataflow.name}, "
        f"{config.dtype}, {config.weight_load.value} weight loading"
        + (
            f" ({config.chain_rows} rows per chain)"
            if config.weight_load.value == "segmented"
            else ""
        )
        + f", {args.engine} engine"
    )
    print(report.table())
    if priced:
        print(f"energy ({priced['energy_table']}) {priced['energy_pj'] / 1e6:>9,.3f} uJ, "
              f"{priced['pj_per_mac']:.2f} pJ per MAC")  # fmt: skip
        for name, value in priced.items():
            if name.endswith("_energy_pj"):
                label = name.removesuffix("_energy_pj")
                print(f"  {label:<18} {value / 1e6:>14,.3f} uJ  "
                      f"({100 * value / priced['energy_pj']:5.1f} %)")  # fmt: skip
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
    return 0
