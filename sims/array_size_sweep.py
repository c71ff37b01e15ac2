"""Utilization against array size for the MNIST MLP's training-step GEMMs, per dataflow.

    python sims/array_size_sweep.py [--mlp 784,30,10] [--batch 10] [--sides 4,8,16,32,64,128,256]

Runs the forward, backward and gradient GEMMs of one mini-batch on square arrays of each side,
for each dataflow, and writes results/array_size_sweep.csv (totals per size and dataflow) and
results/array_size_sweep.png (utilization and cycles against the side).
"""

import argparse
from pathlib import Path

from sweep import save_sweep

from systolic import compare, workloads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlp", default="784,30,10", help="MLP layer sizes")
    parser.add_argument("--batch", type=int, default=10, help="mini-batch (default 10)")
    parser.add_argument("--sides", default="4,8,16,32,64,128,256", help="square array sides")
    parser.add_argument("--weight-load", default="serial", help="serial or double_buffered")
    parser.add_argument("--out", default="results", help="output folder (default results)")
    args = parser.parse_args()
    sides = [int(side) for side in args.sides.split(",")]
    gemms = workloads.mlp_gemms([int(s) for s in args.mlp.split(",")], args.batch)
    records = compare.compare(gemms, [(s, s) for s in sides], weight_load=args.weight_load)
    rows = [{"side": t["rows"], **t} for t in compare.totals(records)]
    title = f"MLP {args.mlp}, batch {args.batch}: one training step"
    save_sweep(rows, "side", "array side (rows = cols)", Path(args.out) / "array_size_sweep", title)


if __name__ == "__main__":
    main()
