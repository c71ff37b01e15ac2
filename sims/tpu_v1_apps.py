"""The TPU v1's six applications (Jouppi et al., ISCA 2017) against the paper's figures.

    python sims/tpu_v1_apps.py [--out results]

Builds MLP0, MLP1, LSTM0, LSTM1, CNN0 and CNN1 from the paper's Table 1 (the assumptions are
documented in systolic/networks/tpu_v1_apps.py), runs them on the tpu_v1 machine, prints the
simulated TOPS and Table 3 cycle shares beside the paper's, and writes
results/tpu_v1_apps.csv, results/tpu_v1_apps.json and results/tpu_v1_apps.png. Then it shows
how much the result depends on the two settings the paper does not publish or that we chose:
the activation unit's latency, and reading whole 64 KiB weight tiles for edge tiles.
"""

import argparse
import csv
import dataclasses
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from systolic import plots  # noqa: E402
from systolic.files import atomic_write  # noqa: E402
from systolic.networks import tpu_v1_apps  # noqa: E402
from systolic.tpu import TPUConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    config = TPUConfig.tpu_v1()
    records = tpu_v1_apps.run(config=config)
    print(tpu_v1_apps.format_table(records))

    def write_csv(handle) -> None:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)

    atomic_write(args.out / "tpu_v1_apps.csv", write_csv)
    atomic_write(args.out / "tpu_v1_apps.json", lambda h: json.dump(records, h, indent=2))
    fig, ax = plt.subplots(figsize=(9, 5))
    plots.tpu_apps(ax, records)
    fig.tight_layout()
    plots.save_figure(fig, args.out / "tpu_v1_apps.png")

    print("\nsensitivity: TOPS per application")
    variants = {
        "as above": config,
        "activation latency 0": dataclasses.replace(config, activation_latency_cycles=0),
        "activation latency 256": dataclasses.replace(config, activation_latency_cycles=256),
        "edge tiles read partially": dataclasses.replace(
            config, memory=dataclasses.replace(config.memory, whole_tile_reads=False)
        ),
    }
    print(f"{'':<28}" + "".join(f"{name:>8}" for name in tpu_v1_apps.APPS))
    for label, variant in variants.items():
        tops = [r["tops"] for r in tpu_v1_apps.run(config=variant)]
        print(f"{label:<28}" + "".join(f"{value:>8.2f}" for value in tops))


if __name__ == "__main__":
    main()
