"""``systolic roofline``: fully connected layers on a TPU-like machine's roofline."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from systolic.cli.common import add_energy_option, check_output_dir, energy_table, non_negative
from systolic.files import atomic_write
from systolic.numerics import FORMATS


def add_parser(commands) -> None:
    """Add ``roofline`` to the top-level subparsers."""
    roof = commands.add_parser(
        "roofline",
        help="where fully connected layers land on a TPU-like machine's roofline",
        description="Run fully connected layers at batch 1 to 8192 on a preset machine "
        "(DRAM, weight FIFO, double-buffered array) and print achieved TOPS against "
        "operations per weight byte, with each run's cycle breakdown; write CSV and PNG.",
    )
    roof.add_argument("--preset", default="tpu_v1", choices=["tpu_v1", "teaching"])
    roof.add_argument(
        "--dtype", choices=list(FORMATS), default=None,
        help="number format (default: the preset's; int8 for tpu_v1, as the TPU v1)",
    )  # fmt: skip
    roof.add_argument("--seed", type=non_negative, default=0, help="random seed (default 0)")
    add_energy_option(roof)
    roof.add_argument("--out", default="results", help="folder for CSV and PNG (default results)")
    roof.add_argument(
        "--json", action="store_true",
        help="print the machine (peak, bandwidth, ridge point) and the runs as JSON",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run ``roofline``; return the exit status."""
    import csv

    from systolic import plots, roofline
    from systolic.tpu import PRESETS

    out = Path(args.out)
    check_output_dir(out, "--out")
    prices = energy_table(args)
    config = PRESETS[args.preset]()
    if args.dtype is not None:
        config = dataclasses.replace(config, dtype=args.dtype)
    records = roofline.runs(config, seed=args.seed, energy=prices)

    def write(handle) -> None:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)

    atomic_write(out / "roofline.csv", write)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    bandwidth = roofline.bandwidth_bytes_per_s(config) / 1e9
    plots.roofline(ax, records, config.peak_ops_per_s / 1e12, bandwidth)
    ax.set_title(f"{args.preset}: {config.rows}x{config.cols} at {config.clock_mhz:g} MHz, "
                 f"{config.dtype}")  # fmt: skip
    fig.tight_layout()
    plots.save_figure(fig, out / "roofline.png")
    if args.json:
        machine = {
            "preset": args.preset,
            "dtype": config.dtype,
            "peak_tops": config.peak_ops_per_s / 1e12,
            "bandwidth_gb_s": roofline.bandwidth_bytes_per_s(config) / 1e9,
            "ridge_ops_per_byte": roofline.ridge_ops_per_byte(config),
            "runs": records,
        }
        if prices is not None:
            from systolic.energy import machine_area_mm2

            machine.update(energy_table=prices.name, **machine_area_mm2(config, prices))
        print(json.dumps(machine, indent=2))
    else:
        print(roofline.format_table(records))
    print(f"wrote {out / 'roofline.csv'} and {out / 'roofline.png'}", file=sys.stderr)
    return 0
