"""``systolic machines``: the training machines' presets, with their published figures."""

from __future__ import annotations

import argparse
import json


def add_parser(commands) -> None:
    """Add ``machines`` to the top-level subparsers."""
    parser = commands.add_parser(
        "machines",
        help="list the TensorCore machines (TPU v2 to v6e) that --machine takes",
        description="List the training machines' presets: TensorCores, MXUs and their size, "
        "clock, peak bf16 FLOP/s, HBM and VMEM (each number's source is in "
        "systolic/machine/config.py).",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list")


def run(args: argparse.Namespace) -> int:
    """Run ``machines``; return the exit status."""
    from systolic.machine.config import MACHINES

    records = [preset().summary() for preset in MACHINES.values()]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    print(f"{'name':<9} {'cores':>5} {'MXUs':>5} {'MXU':>9} {'clock MHz':>9} "
          f"{'peak bf16':>11} {'HBM':>9} {'HBM BW':>10} {'VMEM':>9}")  # fmt: skip
    for r in records:
        mxu = f"{r['mxu_rows']}x{r['mxu_cols']}"
        print(
            f"{r['name']:<9} {r['cores']:>5} {r['mxus']:>5} {mxu:>9} {r['clock_mhz']:>9g} "
            f"{r['peak_bf16_flops'] / 1e12:>8.1f} TF {r['hbm_bytes'] / 1e9:>6.1f} GB "
            f"{r['hbm_bytes_per_second'] / 1e9:>6.0f} GB/s {r['vmem_bytes'] / 2**20:>5.0f} MiB"
        )
    print("MXUs per TensorCore; peak, HBM and bandwidth per chip; VMEM per TensorCore")
    return 0
