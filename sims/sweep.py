"""What the sweep scripts share: write their totals as CSV and plot them against the swept value."""

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from systolic import plots  # noqa: E402
from systolic.files import atomic_write  # noqa: E402


def save_sweep(rows: list[dict], x: str, xlabel: str, stem: Path, title: str) -> None:
    """Write ``stem``.csv (one row per swept value and dataflow) and ``stem``.png (utilization
    and total cycles against ``x``, one line per dataflow, log-scaled x)."""

    def write(handle):
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    atomic_write(stem.with_suffix(".csv"), write)
    flows = list(dict.fromkeys(r["dataflow"] for r in rows))
    xs = list(dict.fromkeys(r[x] for r in rows))

    def series(metric):
        return {f.upper(): [r[metric] for r in rows if r["dataflow"] == f] for f in flows}

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    plots.sweep_lines(left, xs, series("utilization"), xlabel, "utilization (MACs / PE-cycles)")
    plots.sweep_lines(right, xs, series("total_cycles"), xlabel, "cycles")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
    right.set_yscale("log")
    fig.suptitle(title)
    fig.tight_layout()
    plots.save_figure(fig, stem.with_suffix(".png"))
    print(f"wrote {stem.with_suffix('.csv')} and {stem.with_suffix('.png')}")
