"""Compare dataflows and array sizes on the bundled networks; write CSV and PNG.

    python sims/networks.py --networks resnet18,resnet50,mobilenet_v1 --sizes 32x32,128x128
    python sims/networks.py --values        # compute and check every value (slower)

By default nothing is computed: every count comes from the closed forms (``--no-values`` of
``systolic compare``), which equal what a run reports. Writes results/networks.csv (one record
per network x layer x dataflow x size) and results/networks.png (total cycles and utilization
per network, and utilization per layer of the first network), and prints totals.
"""

import argparse
from pathlib import Path

from systolic import compare, plots
from systolic.networks import network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--networks", default="resnet50,resnet18,mobilenet_v1,vgg16,alexnet,bert_base_layer"
    )
    parser.add_argument("--sizes", default="32x32,128x128", help="array sizes")
    parser.add_argument("--dataflows", default="ws,os,is")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--values", action="store_true", help="compute and check the values")
    parser.add_argument("--out", default="results", help="output folder (default results)")
    args = parser.parse_args()
    sizes, flows = compare.parse_sizes(args.sizes), compare.parse_dataflows(args.dataflows)
    records = []
    for name in args.networks.split(","):
        layers = network(name.strip(), args.batch)
        for record in compare.compare(layers, sizes, flows, values=args.values):
            records.append({"network": name.strip(), **record})
    out = Path(args.out)
    compare.write_csv([{k: v for k, v in r.items() if k != "network"} for r in records],
                      out / "networks_layers.csv")  # fmt: skip
    totals = plots.network_totals(records)
    compare.write_totals_csv(totals, out / "networks.csv")
    plots.save_figure(plots.networks_figure(records, totals), out / "networks.png")
    for t in totals:
        size = f"{t['rows']}x{t['cols']}"
        print(f"{t['network']:<16} {t['dataflow']:>3} {size:>9} {t['total_cycles']:>14,} cycles "
              f"{100 * t['utilization']:6.2f} %")  # fmt: skip


if __name__ == "__main__":
    main()
