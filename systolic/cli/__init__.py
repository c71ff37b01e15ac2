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
from systolic.cli import rtl as rtl_command
from systolic.cli.common import Parser as _Parser
from systolic.cli.common import positive as _positive
from systolic.config import ArrayConfig, Dataflow, WeightLoad
from systolic.dataflows import MODULES
from systolic.dataflows.weight_stationary import check_limits
from systolic.files import atomic_write
from systolic.numerics import FORMATS, check_sizes, error_bound, prepare_operands
from systolic.training import Settings

# a run of more PE-cycles than this shows a progress bar (about a second on a laptop core)
PROGRESS_PE_CYCLES = 2 * 10**9


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
    gemm.add_argument(
        "--vcd", help="also write the golden model's registers, cycle by cycle, to this VCD file"
    )
    gemm.add_argument("--plot", help="also save per-PE utilization and the cycle breakdown here")

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
    _train_parser(commands)
    infer = commands.add_parser(
        "infer",
        help="classify MNIST test images with a saved model on the array, in a number format",
        description="Run a model saved by `systolic train --save` on the simulated array in "
        "int8 (quantized), bf16, fp16 or fp32, and print its test accuracy next to the float64 "
        "NumPy run of the same model, with cycles and utilization.",
    )
    infer.add_argument("model", help="model file written by systolic train --save")
    infer.add_argument("--dtype", default="int8", choices=list(FORMATS), help="default int8")
    infer.add_argument("--rows", type=_positive, default=32, help="PE rows (default 32)")
    infer.add_argument("--cols", type=_positive, default=32, help="PE columns (default 32)")
    infer.add_argument("--dataflow", default="ws", choices=[flow.value for flow in Dataflow])
    infer.add_argument("--limit", type=_positive, default=None, help="first N test images")
    infer.add_argument("--json", action="store_true", help="print the result as JSON")
    rtl_command.add_parser(commands)
    roof = commands.add_parser(
        "roofline",
        help="where fully connected layers land on a TPU-like machine's roofline",
        description="Run fully connected layers at batch 1 to 8192 on a preset machine "
        "(DRAM, weight FIFO, double-buffered array) and print achieved TOPS against "
        "operations per weight byte, with each run's cycle breakdown; write CSV and PNG.",
    )
    roof.add_argument("--preset", default="tpu_v1", choices=["tpu_v1", "teaching"])
    roof.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    roof.add_argument("--out", default="results", help="folder for CSV and PNG (default results)")
    roof.add_argument("--json", action="store_true", help="print the runs as JSON")
    return parser


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a keep probability in (0, 1], got {value}")
    return value


def _train_parser(commands) -> None:
    from nn.activations import HIDDEN_ACTIVATIONS
    from nn.costs import COSTS
    from nn.init import INITS
    from nn.optim import OPTIMIZERS

    defaults = Settings()
    train = commands.add_parser(
        "train",
        help="train an MLP on MNIST with its matmuls on the simulated array",
        description="Train an MLP on the bundled MNIST with every matmul on the simulated "
        "array, next to the same run on NumPy from the same seed. Prints a table per epoch "
        "(accuracy, cycles, utilization) and a summary.",
    )
    train.add_argument("--sizes", default="784,30,10", help="layer sizes (default 784,30,10)")
    train.add_argument("--cost", default=defaults.cost, choices=list(COSTS))
    train.add_argument("--init", default=defaults.init, choices=list(INITS))
    train.add_argument("--activation", default=defaults.activation, choices=HIDDEN_ACTIVATIONS)
    train.add_argument("--optimizer", default=defaults.optimizer, choices=OPTIMIZERS)
    train.add_argument("--mu", type=float, default=defaults.mu, help="momentum (default 0.9)")
    train.add_argument("--eta", type=float, default=defaults.eta, help="learning rate (0.5)")
    train.add_argument("--lmbda", type=float, default=defaults.lmbda, help="L2 strength (0)")
    train.add_argument(
        "--dropout", type=_probability, default=defaults.keep,
        help="keep probability of hidden units, in (0, 1] (default 1: no dropout)",
    )  # fmt: skip
    train.add_argument("--batch", type=_positive, default=defaults.batch, help="mini-batch (10)")
    train.add_argument("--epochs", type=_positive, default=defaults.epochs, help="default 2")
    train.add_argument(
        "--train-limit", type=_positive, default=None,
        help="train on the first N of the 50,000 training images (default all)",
    )  # fmt: skip
    train.add_argument("--seed", type=int, default=defaults.seed, help="random seed (0)")
    train.add_argument("--rows", type=_positive, default=32, help="PE rows (default 32)")
    train.add_argument("--cols", type=_positive, default=32, help="PE columns (default 32)")
    train.add_argument("--dataflow", default="ws", choices=[flow.value for flow in Dataflow])
    train.add_argument(
        "--weight-load", default="serial", choices=[mode.value for mode in WeightLoad]
    )
    train.add_argument("--dtype", default="fp32", choices=list(FORMATS), help="default fp32")
    train.add_argument(
        "--clock-mhz", type=float, default=700.0,
        help="clock for the simulated time (default 700, the TPU v1's)",
    )  # fmt: skip
    train.add_argument(
        "--reference", action=argparse.BooleanOptionalAction, default=True,
        help="also train on NumPy from the same seed and compare (default on)",
    )  # fmt: skip
    train.add_argument("--json", action="store_true", help="print the history as JSON")
    train.add_argument("--out", help="folder to write train.json and train.csv into")
    train.add_argument("--save", help="write the network trained on the array to this .npz")
    train.add_argument("--plot", help="save test accuracy per epoch with the cycles here (PNG)")


def _random_operands(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(args.seed)
    if args.operands == "int":
        return (
            rng.integers(-8, 9, size=(args.m, args.k)).astype(np.float64),
            rng.integers(-8, 9, size=(args.k, args.n)).astype(np.float64),
        )
    return rng.standard_normal((args.m, args.k)), rng.standard_normal((args.k, args.n))


def _plot_gemm(report, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from systolic import plots

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    plots.pe_heatmap(left, report)
    plots.breakdown_bars(right, {"GEMM": report})
    fig.tight_layout()
    plots.save_figure(fig, path)


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
    if args.vcd:
        from systolic.waveform import MAX_PES

        if config.pe_count > MAX_PES:  # refuse before running anything
            raise ValueError(
                f"--vcd: a {config.rows}x{config.cols} array has {config.pe_count} PEs, too "
                f"many to dump (at most {MAX_PES}); use a smaller array"
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
    if args.plot:
        _plot_gemm(report, args.plot)
    if args.vcd:
        from systolic.waveform import write_vcd

        cycles_written = write_vcd(args.vcd, a, b, config)
        print(f"wrote {cycles_written:,} cycles of waveforms to {args.vcd}", file=sys.stderr)
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


def _train(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from systolic import training

    settings = Settings(
        sizes=tuple(_layer_sizes(args.sizes)), cost=args.cost, init=args.init,
        activation=args.activation, optimizer=args.optimizer, eta=args.eta, mu=args.mu,
        lmbda=args.lmbda, keep=args.dropout, batch=args.batch, epochs=args.epochs,
        train_limit=args.train_limit, seed=args.seed,
    )  # fmt: skip
    if FORMATS[args.dtype].is_integer:
        raise ValueError(
            f"training needs float matmuls; --dtype {args.dtype} is for quantized inference "
            "(train with fp32, bf16 or fp16)"
        )
    config = ArrayConfig(
        rows=args.rows, cols=args.cols, dataflow=args.dataflow, weight_load=args.weight_load,
        dtype=args.dtype,
    )  # fmt: skip
    quiet = args.json
    reference = None
    if args.reference:
        with tqdm(desc="NumPy reference", unit="img", file=sys.stderr, leave=False,
                  disable=quiet or None) as bar:  # fmt: skip
            reference = training.run(settings, None, progress=bar.update)
    rows = []
    header = (
        f"{'epoch':>5} {'cost':>8} {'val acc':>8} {'test acc':>8} {'ref val':>8} "
        f"{'ref test':>8} {'cycles':>14} {'util %':>7} {'wall s':>7}"
    )
    if not quiet:
        print(f"training {args.sizes} ({settings.cost}, {settings.init} init, "
              f"{settings.activation}, {settings.optimizer}) on a {config.rows}x{config.cols} "
              f"{config.dataflow.name} array, {config.dtype}")  # fmt: skip
        print(header)

    def show(record) -> None:
        ref = reference.history[record.epoch - 1] if reference else None
        row = _epoch_row(record, ref)
        rows.append(row)
        if not quiet:
            bar.clear()
            print(
                f"{row['epoch']:>5} {row['train_cost']:>8.4f} {_pct(row['val_accuracy'])} "
                f"{_pct(row['test_accuracy'])} {_pct((row['reference'] or {}).get('val_accuracy'))}"
                f" {_pct((row['reference'] or {}).get('test_accuracy'))} "
                f"{row['total_cycles']:>14,} {100 * row['utilization']:>7.2f} "
                f"{sum(row['seconds'].values()):>7.1f}"
            )

    size = settings.train_limit or 50_000
    with tqdm(total=size * settings.epochs, desc="training on the array", unit="img",
              file=sys.stderr, leave=False, disable=quiet or None) as bar:  # fmt: skip
        simulated = training.run(settings, config, on_epoch=show, progress=bar.update)
    summary = _summary(simulated, reference, args.clock_mhz)
    if args.save:
        import dataclasses

        from nn.model import save_model

        array = {"rows": config.rows, "cols": config.cols, "dataflow": config.dataflow.value,
                 "weight_load": config.weight_load.value, "dtype": config.dtype}  # fmt: skip
        save_model(args.save, simulated.network, {**dataclasses.asdict(settings), "array": array})
    if args.out:
        _write_history(Path(args.out), rows, summary)
    if args.plot:
        _plot_training(rows, args.plot)
    if quiet:
        print(json.dumps({"epochs": rows, "summary": summary}, indent=2))
        return
    print(_summary_text(summary))


def _plot_training(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from systolic import plots

    accuracy = {"simulated array": [row["test_accuracy"] for row in rows]}
    if rows[0]["reference"] is not None:
        accuracy["NumPy reference"] = [row["reference"]["test_accuracy"] for row in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    epochs = [row["epoch"] for row in rows]
    plots.accuracy_with_cycles(ax, epochs, accuracy, [row["total_cycles"] for row in rows])
    fig.tight_layout()
    plots.save_figure(fig, path)


def _pct(value) -> str:
    return f"{'-':>8}" if value is None else f"{100 * value:>7.2f}%"


def _epoch_row(record, reference) -> dict:
    """One epoch as a JSON-ready dict: the stable names plus cycles per phase."""
    from systolic.training import epoch_row

    row = {
        **epoch_row(record),
        "cycles_by_phase": record.collected["cycles_by_phase"],
        "utilization_by_phase": record.collected["utilization_by_phase"],
        "seconds": record.seconds,
        "reference": None,
    }
    if reference is not None:
        row["reference"] = {
            "train_cost": reference.train_cost,
            "val_accuracy": reference.val_accuracy,
            "test_accuracy": reference.test_accuracy,
            "seconds": reference.seconds,
        }
    return row


def _summary(simulated, reference, clock_mhz: float) -> dict:
    from systolic import training

    total = sum(sum(epoch.values()) for epoch in simulated.reports)
    phases = {}
    for epoch in simulated.reports:
        for phase, report in epoch.items():
            phases[phase] = phases[phase] + report if phase in phases else report
    last = simulated.history[-1]
    summary = {
        "val_accuracy": last.val_accuracy,
        "test_accuracy": last.test_accuracy,
        "total_cycles": total.total_cycles,
        "utilization": total.utilization,
        "utilization_by_phase": {p: r.utilization for p, r in phases.items()},
        "cycles_by_phase": {p: r.total_cycles for p, r in phases.items()},
        "clock_mhz": clock_mhz,
        "simulated_s": total.total_cycles / (clock_mhz * 1e6),
        "wall_s": sum(sum(r.seconds.values()) for r in simulated.history),
        "reference": None,
    }
    if reference is not None:
        summary["reference"] = {
            "val_accuracy": reference.history[-1].val_accuracy,
            "test_accuracy": reference.history[-1].test_accuracy,
            "wall_s": sum(sum(r.seconds.values()) for r in reference.history),
            "max_weight_difference": training.max_weight_difference(simulated, reference),
        }
    return summary


def _summary_text(summary: dict) -> str:
    lines = [
        f"final accuracy       validation {_pct(summary['val_accuracy']).strip()}, "
        f"test {_pct(summary['test_accuracy']).strip()}",
        f"total cycles         {summary['total_cycles']:,} "
        f"({summary['simulated_s']:.3f} s at {summary['clock_mhz']:g} MHz)",
        f"utilization          {100 * summary['utilization']:.2f} % overall",
    ]
    for phase, share in summary["utilization_by_phase"].items():
        cycles = summary["cycles_by_phase"][phase]
        lines.append(f"  {phase:<18} {100 * share:6.2f} % of {cycles:,} cycles")
    lines.append(f"wall time            {summary['wall_s']:.1f} s on the simulated array")
    ref = summary["reference"]
    if ref is not None:
        lines.append(
            f"NumPy reference      validation {_pct(ref['val_accuracy']).strip()}, test "
            f"{_pct(ref['test_accuracy']).strip()}, {ref['wall_s']:.1f} s; final weights "
            f"differ by at most {ref['max_weight_difference']:.2e}"
        )
    return "\n".join(lines)


def _write_history(out: Path, rows: list[dict], summary: dict) -> None:
    """Write train.json (epochs and summary) and train.csv (one row per epoch), atomically."""
    import csv

    atomic_write(
        out / "train.json",
        lambda handle: json.dump({"epochs": rows, "summary": summary}, handle, indent=2),
    )
    fields = ["epoch", "train_cost", "val_accuracy", "test_accuracy", "total_cycles",
              "utilization", "reference_val_accuracy", "reference_test_accuracy"]  # fmt: skip

    def write(handle) -> None:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            ref = row["reference"] or {}
            flat = {name: row.get(name) for name in fields}
            flat["reference_val_accuracy"] = ref.get("val_accuracy")
            flat["reference_test_accuracy"] = ref.get("test_accuracy")
            writer.writerow(flat)

    atomic_write(out / "train.csv", write)


def _infer(args: argparse.Namespace) -> None:
    from systolic import inference

    config = ArrayConfig(rows=args.rows, cols=args.cols, dataflow=args.dataflow, dtype=args.dtype)
    result = inference.run(args.model, config, args.limit)
    record = {
        "dtype": args.dtype, "samples": result.samples, "test_accuracy": result.accuracy,
        "reference_test_accuracy": result.reference_accuracy, "agreement": result.agreement,
        **result.report.to_dict(),
    }  # fmt: skip
    if args.json:
        print(json.dumps(record, indent=2))
        return
    print(f"{result.samples:,} MNIST test images on a {config.rows}x{config.cols} "
          f"{config.dataflow.name} array")  # fmt: skip
    print(f"test accuracy        {100 * result.accuracy:.2f} % in {args.dtype}, "
          f"{100 * result.reference_accuracy:.2f} % in float64 (NumPy); the two agree on "
          f"{100 * result.agreement:.2f} % of the images")  # fmt: skip
    print(f"total cycles         {result.report.total_cycles:,}, utilization "
          f"{100 * result.report.utilization:.2f} %")  # fmt: skip


def _roofline(args: argparse.Namespace) -> None:
    import csv

    from systolic import plots, roofline
    from systolic.tpu import PRESETS

    config = PRESETS[args.preset]()
    records = roofline.runs(config, seed=args.seed)
    out = Path(args.out)

    def write(handle) -> None:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)

    atomic_write(out / "roofline.csv", write)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    bandwidth = config.memory.dram_bytes_per_cycle * config.clock_mhz * 1e6 / 1e9
    plots.roofline(ax, records, config.peak_ops_per_s / 1e12, bandwidth)
    ax.set_title(f"{args.preset}: {config.rows}x{config.cols} at {config.clock_mhz:g} MHz, "
                 f"{config.dtype}")  # fmt: skip
    fig.tight_layout()
    plots.save_figure(fig, out / "roofline.png")
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        print(roofline.format_table(records))
    print(f"wrote {out / 'roofline.csv'} and {out / 'roofline.png'}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "gemm":
            _gemm(args)
        elif args.command == "compare":
            _compare(args)
        elif args.command == "train":
            _train(args)
        elif args.command == "infer":
            _infer(args)
        elif args.command == "roofline":
            _roofline(args)
        elif args.command == "rtl":
            return rtl_command.run(args)
    except ValueError as error:  # every bad-input error of the package is a ValueError
        print(f"systolic: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
