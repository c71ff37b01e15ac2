"""Utilization against mini-batch size for the MNIST MLP's training-step GEMMs, per dataflow.

    python sims/batch_size_sweep.py [--mlp 784,30,10] [--size 32x32] [--batches 1,2,4,...,1024]

Runs the forward, backward and gradient GEMMs of one mini-batch of each size on one array, for
each dataflow, and writes results/batch_size_sweep.csv (totals per batch and dataflow) and
results/batch_size_sweep.png (utilization and cycles per sample against the batch).
"""

import argparse
from pathlib import Path

from sweep import save_sweep

from systolic import compare, workloads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlp", default="784,30,10", help="MLP layer sizes")
    parser.add_argument("--size", default="32x32", help="array size (default 32x32)")
    parser.add_argument("--batches", default="1,2,4,8,16,32,64,128,256,512,1024")
    parser.add_argument("--weight-load", default="serial", help="serial or double_buffered")
    parser.add_argument("--out", default="results", help="output folder (default results)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.mlp.split(",")]
    (size,) = compare.parse_sizes(args.size)
    rows = []
    for batch in (int(b) for b in args.batches.split(",")):
        records = compare.compare(
            workloads.mlp_gemms(sizes, batch), [size], weight_load=args.weight_load
        )
        for total in compare.totals(records):
            rows.append({"batch": batch, **total})
    title = f"MLP {args.mlp} on {args.size}: one training step"
    save_sweep(rows, "batch", "mini-batch size", Path(args.out) / "batch_size_sweep", title)


if __name__ == "__main__":
    main()
