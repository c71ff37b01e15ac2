"""Where the energy goes: per dataflow and number format, on the MNIST MLP and a conv net.

    python sims/energy_dataflows.py [--size 32x32] [--energy horowitz45] [--network lenet5]
                                    [--out results]

Costs one training step of the 784-30-10 MLP (mini-batch 10: forward, backward and gradient
GEMMs) and one batch-8 inference of a bundled convolutional network on every dataflow, in
int8, bf16 and fp32, from the closed forms (no values), and prices each run with an energy
table (``systolic.energy``). Writes results/energy_dataflows.csv and
results/energy_dataflows.png: stacked bars of energy by component per dataflow and format.
"""

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from systolic import compare, energy, plots, workloads  # noqa: E402
from systolic.files import atomic_write  # noqa: E402
from systolic.networks import network  # noqa: E402

FORMATS = ("int8", "bf16", "fp32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="32x32")
    parser.add_argument("--energy", default="horowitz45")
    parser.add_argument("--network", default="lenet5")
    parser.add_argument("--out", default="results", type=Path)
    args = parser.parse_args()
    table = energy.table(args.energy)
    sizes = compare.parse_sizes(args.size)
    args.out.mkdir(parents=True, exist_ok=True)
    workloads_by_name = {
        "MLP 784-30-10, one training step": workloads.mlp_gemms([784, 30, 10], 10),
        f"{args.network}, batch 8": network(args.network, 8),
    }
    rows = []
    for name, layers in workloads_by_name.items():
        for dtype in FORMATS:
            records = compare.compare(layers, sizes, values=False, dtype=dtype, energy=table)
            for total in compare.totals(records):
                rows.append({"workload": name, "dtype": dtype, **total})
    fields = ["workload", "dataflow", "dtype", "total_cycles", "macs", "energy_pj",
              "pj_per_mac", *energy.ENERGY_COMPONENTS]  # fmt: skip

    def write(handle) -> None:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n",
                                extrasaction="ignore")  # fmt: skip
        writer.writeheader()
        writer.writerows(rows)

    atomic_write(args.out / "energy_dataflows.csv", write)
    print(f"{'workload':<36} {'flow':>4} {'dtype':>5} {'cycles':>10} {'uJ':>9} {'pJ/MAC':>7}  "
          "largest component")  # fmt: skip
    for r in rows:
        parts = {name: r[name] for name in energy.ENERGY_COMPONENTS}
        largest = max(parts, key=parts.get)
        share = 100 * parts[largest] / r["energy_pj"]
        print(f"{r['workload']:<36} {r['dataflow']:>4} {r['dtype']:>5} {r['total_cycles']:>10,} "
              f"{r['energy_pj'] / 1e6:>9.3f} {r['pj_per_mac']:>7.2f}  "
              f"{largest.removesuffix('_energy_pj')} {share:.0f} %")  # fmt: skip

    fig, axes = plt.subplots(1, len(workloads_by_name), figsize=(12, 4.5))
    colors = plots.plt_colors(len(energy.ENERGY_COMPONENTS))
    for ax, name in zip(axes, workloads_by_name, strict=True):
        chosen = [r for r in rows if r["workload"] == name]
        labels = [f"{r['dataflow'].upper()}\n{r['dtype']}" for r in chosen]
        bottom = np.zeros(len(chosen))
        for part, color in zip(energy.ENERGY_COMPONENTS, colors, strict=True):
            values = np.array([r[part] / 1e6 for r in chosen])
            ax.bar(range(len(chosen)), values, bottom=bottom, color=color,
                   label=part.removesuffix("_energy_pj"))  # fmt: skip
            bottom += values
        ax.set_xticks(range(len(chosen)), labels, fontsize=7)
        ax.set_ylabel("energy, uJ")
        ax.set_title(f"{name} ({args.size}, {table.name})", fontsize=9)
    axes[0].legend(fontsize=7, ncols=2)
    fig.tight_layout()
    plots.save_figure(fig, args.out / "energy_dataflows.png")
    print(f"wrote {args.out / 'energy_dataflows.csv'} and {args.out / 'energy_dataflows.png'}")


if __name__ == "__main__":
    main()
