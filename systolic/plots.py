"""Matplotlib helpers. Each takes an ``ax``, draws on it and returns it.

Only the scripts and the command line import this module, so the simulator itself runs
without a display or matplotlib's start-up cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def dataflow_bars(ax, records: Sequence[dict], metric: str, label: str | None = None):
    """Grouped bars of ``metric`` per layer (x) and dataflow (bars), for one array size.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    records : sequence of dict
        Records of ``systolic.compare.compare`` for a single array size.
    metric : str
        Record field to plot, e.g. ``"total_cycles"`` or ``"utilization"``.
    label : str, optional
        Y-axis label (default: the metric's name).
    """
    layers = list(dict.fromkeys(r["layer"] for r in records))
    flows = list(dict.fromkeys(r["dataflow"] for r in records))
    width = 0.8 / len(flows)
    x = np.arange(len(layers))
    for index, flow in enumerate(flows):
        values = {r["layer"]: r[metric] for r in records if r["dataflow"] == flow}
        ax.bar(x + index * width, [values[layer] for layer in layers], width,
               label=flow.upper())  # fmt: skip
    ax.set_xticks(x + width * (len(flows) - 1) / 2, layers, rotation=30, ha="right")
    ax.set_ylabel(label or metric)
    ax.legend(title="dataflow")
    return ax


def sweep_lines(ax, xs: Sequence, series: dict[str, Sequence[float]], xlabel: str, ylabel: str):
    """One line with markers per named series over the same ``xs``."""
    for name, values in series.items():
        ax.plot(xs, values, marker="o", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax


def compare_figure(records: Sequence[dict]):
    """A figure with cycles and utilization per layer and dataflow, one row per array size."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    sizes = list(dict.fromkeys((r["rows"], r["cols"]) for r in records))
    layers = len({r["layer"] for r in records})
    fig, axes = plt.subplots(
        len(sizes), 2, figsize=(6 + 0.9 * layers, 3.6 * len(sizes)), squeeze=False
    )
    for (rows, cols), (left, right) in zip(sizes, axes, strict=True):
        chosen = [r for r in records if (r["rows"], r["cols"]) == (rows, cols)]
        dataflow_bars(left, chosen, "total_cycles", "cycles").set_title(f"{rows}x{cols} array")
        dataflow_bars(right, chosen, "utilization", "utilization (MACs / PE-cycles)")
        right.set_ylim(0, 1)
        right.set_title(f"{rows}x{cols} array")
    fig.tight_layout()
    return fig


def save_figure(fig, path) -> None:
    """Save ``fig`` as a PNG, atomically, and close it."""
    import matplotlib.pyplot as plt

    from systolic.files import atomic_write

    atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=110), binary=True)
    plt.close(fig)
