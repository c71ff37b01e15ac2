"""What the training comparisons share: their options, training named variants on the array, and
writing the histories as CSV and the learning curves as PNG.

Every variant is a ``systolic.training.Settings`` made from the common settings with
``dataclasses.replace``, so the variants differ only where a script says so; all of them start
from the same seed and run on the same simulated array.
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


def _write_csv(path: Path, runs: dict[str, Run], variants, columns: list[str]) -> None:
    """One row per variant and epoch, with the variant's settings that differ."""

    def write(handle) -> None:
        writer = csv.DictWriter(handle, fieldnames=FIELDS + columns, lineterminator="\n")
        writer.writeheader()
        for label, result in runs.items():
            for record in result.history:
                settings = {c: getattr(variants[label], c) for c in columns}
                writer.writerow({"variant": label, **epoch_row(record), **settings})

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
