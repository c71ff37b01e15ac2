"""``systolic train``: an MLP trained on MNIST with every matmul on the array, beside NumPy."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from systolic.cli.common import (
    add_energy_option,
    check_output_dir,
    check_output_file,
    energy_table,
    layer_sizes,
    non_negative,
    positive,
    real,
)
from systolic.config import ArrayConfig, Dataflow, WeightLoad
from systolic.files import atomic_write
from systolic.numerics import FORMATS
from systolic.training import Settings


def add_parser(commands) -> None:
    """Add ``train`` to the top-level subparsers."""
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
    train.add_argument(
        "--mu", type=real(0, 0.999), default=defaults.mu, help="momentum, 0 to 0.999 (0.9)"
    )
    train.add_argument(
        "--eta", type=real(0, low_open=True), default=defaults.eta, help="learning rate (0.5)"
    )
    train.add_argument("--lmbda", type=real(0), default=defaults.lmbda, help="L2 strength (0)")
    train.add_argument(
        "--dropout", type=real(0, 1, low_open=True), default=defaults.keep,
        help="keep probability of hidden units, in (0, 1] (default 1: no dropout)",
    )  # fmt: skip
    train.add_argument("--batch", type=positive, default=defaults.batch, help="mini-batch (10)")
    train.add_argument("--epochs", type=positive, default=defaults.epochs, help="default 2")
    train.add_argument(
        "--train-limit", type=positive, default=None,
        help="train on the first N of the 50,000 training images (default all)",
    )  # fmt: skip
    train.add_argument("--seed", type=non_negative, default=defaults.seed, help="random seed (0)")
    # the bare array's options default to None, so that --machine can refuse them when given
    train.add_argument("--rows", type=positive, default=None, help="PE rows (default 32)")
    train.add_argument("--cols", type=positive, default=None, help="PE columns (default 32)")
    train.add_argument(
        "--dataflow", default=None, choices=[flow.value for flow in Dataflow], help="default ws"
    )
    train.add_argument(
        "--weight-load", default=None, choices=[mode.value for mode in WeightLoad],
        help="default serial",
    )  # fmt: skip
    train.add_argument(
        "--dtype", default=None, choices=list(FORMATS),
        help="number format (default fp32 on the array, the machine's own, bf16, with "
        "--machine)",
    )  # fmt: skip
    train.add_argument(
        "--machine", type=machine_name, default=None, metavar="PRESET",
        help="run every op of the step on a TensorCore machine (systolic machines lists "
        "them: tpu_v2 ... tpu_v6e) instead of the bare array",
    )  # fmt: skip
    train.add_argument(
        "--target-accuracy", type=real(0, 1, low_open=True), default=None, metavar="A",
        help="with --machine: report the simulated seconds and joules until the validation "
        "accuracy first reaches A, in (0, 1]",
    )  # fmt: skip
    train.add_argument(
        "--timeline", metavar="PNG", default=None,
        help="with --machine: draw one training step's Gantt chart (a lane per unit)",
    )  # fmt: skip
    train.add_argument(
        "--clock-mhz", type=real(0, low_open=True), default=None,
        help="clock for the simulated time (default 700, the TPU v1's)",
    )  # fmt: skip
    train.add_argument(
        "--reference", action=argparse.BooleanOptionalAction, default=True,
        help="also train on NumPy from the same seed and compare (default on)",
    )  # fmt: skip
    add_energy_option(train)
    train.add_argument("--json", action="store_true", help="print the history as JSON")
    train.add_argument("--out", help="folder to write train.json and train.csv into")
    train.add_argument("--save", help="write the network trained on the array to this .npz")
    train.add_argument("--plot", help="save test accuracy per epoch with the cycles here (PNG)")


#: the bare array's options and their defaults (a machine has its own MXUs and clock)
ARRAY_DEFAULTS = {"rows": 32, "cols": 32, "dataflow": "ws", "weight_load": "serial",
                  "clock_mhz": 700.0, "dtype": "fp32"}  # fmt: skip


def machine_name(text: str) -> str:
    """Argument type: a training machine's preset name; an unknown one lists them all."""
    from systolic.machine.config import MACHINES

    if text not in MACHINES:
        raise argparse.ArgumentTypeError(f"unknown machine {text!r}; valid: {', '.join(MACHINES)}")
    return text


def run(args: argparse.Namespace) -> int:
    """Run ``train``; return the exit status."""
    from tqdm import tqdm

    from systolic import training

    if args.machine is None:
        for option, value in (("--target-accuracy", args.target_accuracy),
                              ("--timeline", args.timeline)):  # fmt: skip
            if value is not None:
                raise ValueError(f"{option} needs --machine (a training machine's preset)")
    # every output path is checked before a minute of training is spent
    out = Path(args.out) if args.out is not None else None
    if out is not None:
        check_output_dir(out, "--out")
    save = check_output_file(args.save, "--save") if args.save is not None else None
    plot = check_output_file(args.plot, "--plot") if args.plot is not None else None
    timeline = check_output_file(args.timeline, "--timeline") if args.timeline else None
    prices = energy_table(args)
    if args.machine is not None:
        return _run_machine(args, out, save, plot, timeline, prices)
    for name, value in ARRAY_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    settings = _settings(args)
    training.check(settings)  # before any output
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
    reference = _reference(settings, args.reference, quiet)
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
    summary = _summary(simulated, reference, args.clock_mhz, prices, config.dtype)
    if training.collapsed(summary["test_accuracy"], settings.sizes[-1]):
        # the cost stayed finite, so nothing was refused; but the network learned nothing
        print(
            f"systolic: warning: test accuracy {100 * summary['test_accuracy']:.1f} % is chance "
            "level: the network learned nothing (try a smaller --eta or another --init)",
            file=sys.stderr,
        )
    if save is not None:
        import dataclasses

        from nn.model import save_model

        array = {"rows": config.rows, "cols": config.cols, "dataflow": config.dataflow.value,
                 "weight_load": config.weight_load.value, "dtype": config.dtype}  # fmt: skip
        save_model(save, simulated.network, {**dataclasses.asdict(settings), "array": array})
    if out is not None:
        _write_history(out, rows, summary)
    if plot is not None:
        _plot_training(rows, plot)
    if quiet:
        print(json.dumps({"epochs": rows, "summary": summary}, indent=2))
        return 0
    print(_summary_text(summary))
    return 0


def _reference(settings: Settings, wanted: bool, quiet: bool):
    """The NumPy reference run from the same seed (None unless ``wanted``), with a progress
    bar unless ``quiet``."""
    if not wanted:
        return None
    from tqdm import tqdm

    from systolic import training

    with tqdm(desc="NumPy reference", unit="img", file=sys.stderr, leave=False,
              disable=quiet or None) as bar:  # fmt: skip
        return training.run(settings, None, progress=bar.update)


def reference_row(reference, seconds: bool = True) -> dict | None:
    """A reference epoch's accuracies and cost for a row of ``--json`` (with its wall
    seconds per step when ``seconds``); None without a reference."""
    if reference is None:
        return None
    row = {
        "train_cost": reference.train_cost,
        "val_accuracy": reference.val_accuracy,
        "test_accuracy": reference.test_accuracy,
    }
    return {**row, "seconds": reference.seconds} if seconds else row


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(
        sizes=tuple(layer_sizes(args.sizes, "--sizes")), cost=args.cost, init=args.init,
        activation=args.activation, optimizer=args.optimizer, eta=args.eta, mu=args.mu,
        lmbda=args.lmbda, keep=args.dropout, batch=args.batch, epochs=args.epochs,
        train_limit=args.train_limit, seed=args.seed,
    )  # fmt: skip


def _run_machine(args, out, save, plot, timeline, prices) -> int:
    """``train --machine``: every op of the step on a TensorCore machine, beside NumPy."""
    from tqdm import tqdm

    from systolic import energy as energy_tables
    from systolic import training
    from systolic.cli import train_machine as view
    from systolic.machine.config import MXU_FORMATS, machine

    for name in ARRAY_DEFAULTS:
        if name != "dtype" and getattr(args, name) is not None:
            option = "--" + name.replace("_", "-")
            raise ValueError(
                f"{option} is the bare array's; with --machine the MXUs and clock are the "
                f"preset's (systolic machines lists them)"
            )
    dtype = args.dtype
    if dtype is not None and dtype not in MXU_FORMATS:
        raise ValueError(
            f"--dtype {dtype} is not an MXU format; valid with --machine: "
            f"{', '.join(f for f in MXU_FORMATS if f != 'int8')}"
        )
    if dtype == "int8":
        raise ValueError("training needs float matmuls; --dtype int8 is for inference")
    config = machine(args.machine, dtype)
    prices = prices or energy_tables.horowitz45()
    if not prices.prices_machines:
        energy_tables.price_machine({}, prices, config.dtype)  # refuses, naming what lacks
    settings = _settings(args)
    training.check(settings, config)  # before any output
    quiet = args.json
    reference = _reference(settings, args.reference, quiet)
    if not quiet:
        print(f"training {args.sizes} ({settings.cost}, {settings.init} init, "
              f"{settings.activation}, {settings.optimizer}"
              f"{', dropout ' + str(settings.keep) if settings.keep < 1 else ''}) on "
              f"{config.name}, {config.dtype} MXUs")  # fmt: skip
        print(view.HEADER)
    rows = []

    def show(record) -> None:
        ref = reference.history[record.epoch - 1] if reference else None
        row = view.epoch_row(record, ref)
        rows.append(row)
        if not quiet:
            bar.clear()
            print(view.epoch_line(row, _pct))

    size = settings.train_limit or 50_000
    with tqdm(total=size * settings.epochs, desc=f"training on {config.name}", unit="img",
              file=sys.stderr, leave=False, disable=quiet or None) as bar:  # fmt: skip
        simulated = training.run(settings, config, on_epoch=show, progress=bar.update,
                                 energy=prices)  # fmt: skip
    wall = sum(sum(r.seconds.values()) for r in simulated.history)
    summary = view.summary(rows, config, args.target_accuracy, reference, wall)
    if save is not None:
        import dataclasses

        from nn.model import save_model

        save_model(save, simulated.network, {**dataclasses.asdict(settings),
                                             "machine": config.summary()})  # fmt: skip
    if out is not None:
        _write_history(out, rows, summary)
    if plot is not None:
        _plot_training(rows, plot)
    if timeline is not None and simulated.timeline is not None:
        view.plot_timeline(simulated.timeline, config, timeline)
    if quiet:
        print(view.dumps(rows, summary))
        return 0
    print(view.summary_text(summary, _pct))
    return 0


def _plot_training(rows: list[dict], path) -> None:
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
        "reference": reference_row(reference),
    }
    return row


def _summary(simulated, reference, clock_mhz: float, prices=None, dtype: str = "fp32") -> dict:
    from systolic import training
    from systolic.energy import price

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
        "energy": None,
    }
    if prices is not None:  # the whole run, and each phase's share
        summary["energy"] = {"table": prices.name, **price(total, prices, dtype, clock_mhz)}
        summary["energy"]["energy_pj_by_phase"] = {
            p: price(r, prices, dtype)["energy_pj"] for p, r in phases.items()
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
    energy = summary["energy"]
    if energy is not None:
        lines.append(
            f"energy ({energy['table']})  {energy['energy_pj'] / 1e6:,.1f} uJ, "
            f"{energy['pj_per_mac']:.2f} pJ per MAC, {energy['power_w']:.2f} W average"
        )
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
