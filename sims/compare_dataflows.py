"""Compare WS, OS and IS dataflows on a workload and array sizes; write CSV and PNG.

    python sims/compare_dataflows.py --mlp 784,30,10 --batch 10 --sizes 8x8,32x32,128x128
    python sims/compare_dataflows.py --workload my_layers.csv --sizes 32x32

Writes results/compare_dataflows.csv (one record per layer x dataflow x size) and
results/compare_dataflows.png (cycles and utilization per layer), and prints the tables.
"""

import argparse
from pathlib import Path

from systolic import compare, plots, workloads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--workload", help="SCALE-Sim GEMM CSV, name,m,k,n CSV, or JSON")
    source.add_argument("--mlp", default="784,30,10", help="MLP layer sizes (default 784,30,10)")
    parser.add_argument("--batch", type=int, default=10, help="MLP mini-batch (default 10)")
    parser.add_argument("--sizes", default="8x8,32x32,128x128", help="array sizes")
    parser.add_argument("--dataflows", default="ws,os,is")
    parser.add_argument("--weight-load", default="serial", help="serial or double_buffered")
    parser.add_argument("--out", default="results", help="output folder (default results)")
    args = parser.parse_args()
    if args.workload:
        gemms = workloads.load_workload(args.workload)
    else:
        gemms = workloads.mlp_gemms([int(s) for s in args.mlp.split(",")], args.batch)
    records = compare.compare(
        gemms,
        compare.parse_sizes(args.sizes),
        compare.parse_dataflows(args.dataflows),
        weight_load=args.weight_load,
    )
    out = Path(args.out)
    compare.write_csv(records, out / "compare_dataflows.csv")
    plots.save_figure(plots.compare_figure(records), out / "compare_dataflows.png")
    print(compare.format_tables(records))


if __name__ == "__main__":
    main()
