"""What the training comparisons share: their options, training named variants on the array (or
on a training machine), and writing the histories as CSV and the learning curves as PNG.

Every variant is a ``systolic.training.Settings`` made from the common settings with
``dataclasses.replace``, so the variants differ only where a script says so; all of them start
from the same seed and run on the same simulated array. With ``--machine PRESET`` every op of
every step runs on that TensorCore machine instead, and each variant's step time, energy and
simulated time to ``--target-accuracy`` are measured beside its accuracy.
"""

import argparse
import csv
import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from systolic import plots  # noqa: E402
from systolic.config import ArrayConfig  # noqa: E402
from systolic.files import atomic_write  # noqa: E402
from systolic.training import Run, Settings, epoch_row, run  # noqa: E402

#: the columns a run on a machine adds to the CSV (its epoch's machine summary)
MACHINE_FIELDS = [
    "seconds",
    "step_cycles",
    "step_seconds",
    "step_energy_j",
    "energy_j",
    "bottleneck",
]

TRAINING_IMAGES = 50_000
FIELDS = [
    "variant",
    "epoch",
    "train_cost",
    "val_accuracy",
    "test_accuracy",
    "total_cycles",
    "utilization",
]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def comma_list(item: Callable[[str], object]) -> Callable[[str], list]:
    """An argparse ``type`` for comma-separated values, each converted by ``item``."""

    def parse(text: str) -> list:
        values = [item(part.strip()) for part in text.split(",") if part.strip()]
        if not values:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
        return values

    return parse


def parser(doc: str, epochs: int, eta: float | None, eta_help: str | None = None):
    """The options every comparison takes; a script adds its own before parsing.

    Parameters
    ----------
    doc : str
        The script's docstring; its first line describes the command.
    epochs : int
        Default number of epochs.
    eta : float or None
        Default learning rate of every variant (None: the script chooses per variant).
    eta_help : str, optional
        Help text of ``--eta`` (default: "learning rate (default <eta>)").
    """
    p = argparse.ArgumentParser(
        description=doc.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(doc.splitlines()[1:]),
    )
    p.add_argument("--epochs", type=_positive, default=epochs, help=f"default {epochs}")
    p.add_argument(
        "--train-limit",
        type=_non_negative,
        default=10_000,
        help=f"train on the first N of the {TRAINING_IMAGES:,} training images "
        "(default 10000; 0: all)",
    )
    p.add_argument("--full", action="store_true", help="train on all 50,000 images")
    p.add_argument("--batch", type=_positive, default=10, help="mini-batch (default 10)")
    p.add_argument(
        "--eta",
        type=_positive_float,
        default=eta,
        help=eta_help or f"learning rate (default {eta})",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--rows", type=_positive, default=32, help="PE rows (default 32)")
    p.add_argument("--cols", type=_positive, default=32, help="PE columns (default 32)")
    p.add_argument("--out", default="results", help="output folder (default results)")
    p.add_argument(
        "--machine", default=None, metavar="PRESET",
        help="run every op of the step on a TensorCore machine (tpu_v2 ... tpu_v6e) instead "
        "of the bare array",
    )  # fmt: skip
    p.add_argument(
        "--target-accuracy", type=_positive_float, default=0.9,
        help="with --machine: the validation accuracy whose simulated time and energy are "
        "compared (default 0.9)",
    )  # fmt: skip
    return p


def common_settings(args: argparse.Namespace) -> Settings:
    """The settings every variant starts from (``Settings``' defaults for the rest)."""
    limit = None if args.full or args.train_limit in (0, None) else args.train_limit
    eta = Settings().eta if args.eta is None else args.eta
    return Settings(
        eta=eta, batch=args.batch, epochs=args.epochs, train_limit=limit, seed=args.seed
    )


def array_config(args: argparse.Namespace) -> ArrayConfig:
    """The simulated array: ``--rows`` x ``--cols``, weight-stationary, fp32."""
    return ArrayConfig(rows=args.rows, cols=args.cols, dataflow="ws", dtype="fp32")


def differing(variants: dict[str, Settings], always: Sequence[str] = ()) -> list[str]:
    """Names of the settings that differ between variants, plus ``always``, in field order."""
    names = []
    for field in dataclasses.fields(Settings):
        values = {repr(getattr(s, field.name)) for s in variants.values()}
        if len(values) > 1 or field.name in always:
            names.append(field.name)
    return names


def _hardware(result: Run) -> tuple[int, float]:
    """Total simulated cycles over all epochs, and the utilization over all of them."""
    total = sum(sum(epoch.values()) for epoch in result.reports)
    return total.total_cycles, total.utilization


def to_accuracy(result: Run, target: float) -> tuple[float | None, float | None]:
    """Simulated seconds and joules of a machine run until its validation accuracy first
    reached ``target`` (each epoch's training and evaluation counted whole); None if never."""
    seconds = joules = 0.0
    for record in result.history:
        seconds += record.collected["seconds"]
        joules += record.collected["energy_j"]
        if record.val_accuracy >= target:
            return seconds, joules
    return None, None


def compare(
    name: str,
    variants: dict[str, Settings],
    args: argparse.Namespace,
    title: str,
    always: Sequence[str] = (),
    dtypes: dict[str, str] | None = None,
) -> dict[str, Run]:
    """Train every variant on the array; print, write ``<out>/<name>.csv`` and ``.png``.

    Parameters
    ----------
    name : str
        Stem of the output files.
    variants : dict of str to Settings
        The runs to compare, by the name shown in the table, the CSV and the legend.
    args : argparse.Namespace
        Parsed options of :func:`parser` (array size and output folder).
    title : str
        What is compared, for the figure's title.
    always : sequence of str
        Settings to show in the table and CSV even when every variant has the same value.
    dtypes : dict of str to str, optional
        The array's number format per variant (default: fp32 for all).

    Returns
    -------
    dict of str to Run
    """
    if args.machine is not None:
        return compare_on_machine(name, variants, args, title, always)
    config = array_config(args)
    columns = differing(variants, always)
    first = next(iter(variants.values()))
    images = first.train_limit or TRAINING_IMAGES
    print(
        f"{name}: {images:,} training images, batch {first.batch}, {first.epochs} epochs, "
        f"seed {first.seed}, on a {config.rows}x{config.cols} WS array, {config.dtype}"
    )
    print(f"{'variant':<16} {'epoch':>5} {'cost':>8} {'val acc':>8} {'test acc':>8}")
    runs, walls = {}, {}
    for label, settings in variants.items():

        def show(record, label=label) -> None:
            print(
                f"{label:<16} {record.epoch:>5} {record.train_cost:>8.4f} "
                f"{100 * record.val_accuracy:>7.2f}% {100 * record.test_accuracy:>7.2f}%"
            )

        start = time.perf_counter()
        variant_config = dataclasses.replace(config, dtype=(dtypes or {}).get(label, config.dtype))
        runs[label] = run(settings, variant_config, on_epoch=show)
        walls[label] = time.perf_counter() - start
    stem = Path(args.out) / name
    _write_csv(stem.with_suffix(".csv"), runs, variants, columns)
    _save_curves(stem.with_suffix(".png"), runs, title, images, first, config)
    print()
    print(_table(runs, variants, columns, walls))
    print(f"wrote {stem.with_suffix('.csv')} and {stem.with_suffix('.png')}")
    return runs


def compare_on_machine(name, variants, args, title, always=()) -> dict[str, Run]:
    """:func:`compare` on the TensorCore machine ``args.machine``: every op of each step
    priced; the CSV adds :data:`MACHINE_FIELDS`, the figure plots accuracy against simulated
    seconds and each variant's step by phase."""
    from systolic.energy import horowitz45
    from systolic.machine.config import machine

    config = machine(args.machine)
    energy = horowitz45()
    columns = differing(variants, always)
    first = next(iter(variants.values()))
    images = first.train_limit or TRAINING_IMAGES
    print(
        f"{name}: {images:,} training images, batch {first.batch}, {first.epochs} epochs, "
        f"seed {first.seed}, on {config.name} ({config.dtype} MXUs), energy {energy.name}"
    )
    print(f"{'variant':<16} {'epoch':>5} {'cost':>8} {'val acc':>8} {'step us':>8} "
          f"{'step uJ':>8}")  # fmt: skip
    runs, walls = {}, {}
    for label, settings in variants.items():

        def show(record, label=label) -> None:
            m = record.collected
            print(
                f"{label:<16} {record.epoch:>5} {record.train_cost:>8.4f} "
                f"{100 * record.val_accuracy:>7.2f}% "
                f"{1e6 * config.seconds(m['step_cycles']):>8.3f} "
                f"{1e6 * m['step_energy_j']:>8.3f}"
            )

        start = time.perf_counter()
        runs[label] = run(settings, config, on_epoch=show, energy=energy)
        walls[label] = time.perf_counter() - start
    stem = Path(args.out) / name
    _write_csv(stem.with_suffix(".csv"), runs, variants, columns, machine=config)
    _save_machine_curves(stem.with_suffix(".png"), runs, title, images, first, config, args)
    print()
    print(_machine_table(runs, variants, columns, walls, config, args.target_accuracy))
    print(f"wrote {stem.with_suffix('.csv')} and {stem.with_suffix('.png')}")
    return runs


def _machine_table(runs, variants, columns, walls, config, target) -> str:
    """One line per variant: settings, accuracy, step time and energy, time to ``target``."""
    head = f"{'variant':<16} " + "".join(f"{c:>14} " for c in columns)
    lines = [head + f"{'val acc':>8} {'step us':>8} {'MXU %':>6} {'VPU %':>6} {'HBM %':>6} "
             f"{'bound':>5} {'step uJ':>8} {'to ' + format(target, '.0%'):>10} {'J to':>8} "
             f"{'wall s':>7}"]  # fmt: skip
    for label, result in runs.items():
        last = result.history[-1]
        m = last.collected
        share = m["unit_share"]
        seconds, joules = to_accuracy(result, target)
        reach = "-" if seconds is None else f"{seconds * 1e3:.2f} ms"
        reach_j = "-" if joules is None else f"{joules:.3g}"
        settings = "".join(f"{str(getattr(variants[label], c)):>14} " for c in columns)
        lines.append(
            f"{label:<16} {settings}{100 * last.val_accuracy:>7.2f}% "
            f"{1e6 * config.seconds(m['step_cycles']):>8.3f} {100 * share['mxu']:>6.1f} "
            f"{100 * share['vpu']:>6.1f} {100 * share['hbm']:>6.1f} {m['bottleneck']:>5} "
            f"{1e6 * m['step_energy_j']:>8.3f} {reach:>10} {reach_j:>8} "
            f"{walls[label]:>7.1f}"
        )
    lines.append(f"(step: a full mini-batch's training step; {config.name}, "
                 f"{config.clock_mhz:g} MHz; 'to': simulated time and energy until the "
                 "validation accuracy first reaches the target, epochs counted whole)")  # fmt: skip
    return "\n".join(lines)


def _save_machine_curves(path, runs, title, images, first, config, args) -> None:
    """Validation accuracy against simulated seconds, and each variant's step by phase."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    for label, result in runs.items():
        seconds, elapsed = [], 0.0
        for record in result.history:
            elapsed += record.collected["seconds"]
            seconds.append(elapsed * 1e3)
        left.plot(seconds, [100 * r.val_accuracy for r in result.history], marker="o",
                  label=label)  # fmt: skip
    left.axhline(100 * args.target_accuracy, color="gray", linestyle=":", linewidth=1)
    left.set_xlabel("simulated time (ms, training and evaluation)")
    left.set_ylabel("validation accuracy (%)")
    left.grid(True, alpha=0.3)
    left.legend(loc="lower right")
    left.set_title("accuracy against simulated time", fontsize="medium")
    steps = {label: _step_phases(result, config) for label, result in runs.items()}
    plots.stacked_bars(right, steps, "microseconds per training step")
    right.set_title("one training step, by phase", fontsize="medium")
    fig.suptitle(
        f"{title}\n{images:,} training images, batch {first.batch}, seed {first.seed}, "
        f"{config.name} ({config.dtype} MXUs)"
    )
    fig.tight_layout()
    plots.save_figure(fig, path)


def _step_phases(result: Run, config) -> dict[str, float]:
    """Microseconds of the last epoch's training steps per phase, per step."""
    m = result.history[-1].collected
    steps = max(1, m["steps"])
    return {phase: 1e6 * v["seconds"] / steps for phase, v in m["phases"].items()
            if phase != "evaluation"}  # fmt: skip


def _write_csv(path: Path, runs: dict[str, Run], variants, columns: list[str],
               machine=None) -> None:  # fmt: skip
    """One row per variant and epoch, with the variant's settings that differ (and, on a
    machine, :data:`MACHINE_FIELDS`)."""
    extra = MACHINE_FIELDS if machine is not None else []

    def write(handle) -> None:
        writer = csv.DictWriter(handle, fieldnames=FIELDS + extra + columns, lineterminator="\n")
        writer.writeheader()
        for label, result in runs.items():
            for record in result.history:
                settings = {c: getattr(variants[label], c) for c in columns}
                measured = {}
                if machine is not None:
                    m = record.collected
                    measured = {f: m.get(f) for f in MACHINE_FIELDS}
                    measured["step_seconds"] = machine.seconds(m["step_cycles"])
                writer.writerow({"variant": label, **epoch_row(record), **measured, **settings})

    atomic_write(path, write)


def _save_curves(path: Path, runs: dict[str, Run], title, images, first, config) -> None:
    """Validation accuracy and training cost per epoch; the legend gives the hardware cost."""
    labels = {}
    for label, result in runs.items():
        cycles, utilization = _hardware(result)
        labels[label] = f"{label}: {cycles / 1e6:,.1f} M cycles, {100 * utilization:.1f} % util."
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    accuracy = {label: [r.val_accuracy for r in result.history] for label, result in runs.items()}
    cost = {label: [r.train_cost for r in result.history] for label, result in runs.items()}
    plots.training_curves(left, accuracy, "validation accuracy (10,000 images)", labels)
    plots.training_curves(right, cost, "training cost (each variant's own cost function)")
    left.set_title(
        "accuracy (legend: simulated cycles and utilization, all epochs)", fontsize="medium"
    )
    right.set_title("training cost per epoch", fontsize="medium")
    fig.suptitle(
        f"{title}\n{images:,} training images, batch {first.batch}, seed {first.seed}, "
        f"{config.rows}x{config.cols} weight-stationary array, {config.dtype}"
    )
    fig.tight_layout()
    plots.save_figure(fig, path)


def _table(runs: dict[str, Run], variants, columns: list[str], walls: dict[str, float]) -> str:
    """One line per variant: its differing settings, final accuracies and hardware cost."""
    head = f"{'variant':<16} " + "".join(f"{c:>14} " for c in columns)
    lines = [head + f"{'val acc':>8} {'test acc':>8} {'cycles':>14} {'util %':>7} {'wall s':>7}"]
    for label, result in runs.items():
        last = result.history[-1]
        cycles, utilization = _hardware(result)
        settings = "".join(f"{str(getattr(variants[label], c)):>14} " for c in columns)
        lines.append(
            f"{label:<16} {settings}{100 * last.val_accuracy:>7.2f}% "
            f"{100 * last.test_accuracy:>7.2f}% {cycles:>14,} {100 * utilization:>7.2f} "
            f"{walls[label]:>7.1f}"
        )
    return "\n".join(lines)


def save_activation_figure(path: Path, z, functions: dict, derivatives: dict) -> None:
    """Two panels over ``z``: the named functions, and their derivatives."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    plots.activation_curves(left, z, functions, "f(z)").set_title("activation")
    plots.activation_curves(right, z, derivatives, "f'(z)").set_title("derivative")
    fig.tight_layout()
    plots.save_figure(fig, path)
    print(f"wrote {path}")
