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
    priced = bool(records) and "energy_pj" in records[0]
    panels = 3 if priced else 2
    fig, axes = plt.subplots(
        len(sizes), panels, figsize=(3 * panels + 0.9 * layers * panels / 2, 3.6 * len(sizes)),
        squeeze=False,
    )  # fmt: skip
    for (rows, cols), row in zip(sizes, axes, strict=True):
        chosen = [r for r in records if (r["rows"], r["cols"]) == (rows, cols)]
        dataflow_bars(row[0], chosen, "total_cycles", "cycles").set_title(f"{rows}x{cols} array")
        dataflow_bars(row[1], chosen, "utilization", "utilization (MACs / PE-cycles)")
        row[1].set_ylim(0, 1)
        row[1].set_title(f"{rows}x{cols} array")
        if priced:
            energy_bars(row[2], chosen).set_title(f"{rows}x{cols} array: energy")
    fig.tight_layout()
    return fig


def energy_bars(ax, records: Sequence[dict]):
    """Energy per layer (x) and dataflow (bars side by side), each bar stacked by component
    (``systolic.energy.ENERGY_COMPONENTS``), for one array size; records priced by
    ``systolic.compare.compare(..., energy=...)``."""
    from systolic.energy import ENERGY_COMPONENTS

    layers = list(dict.fromkeys(r["layer"] for r in records))
    flows = list(dict.fromkeys(r["dataflow"] for r in records))
    width = 0.8 / len(flows)
    x = np.arange(len(layers))
    colors = plt_colors(len(ENERGY_COMPONENTS))
    hatches = ["", "//", "..", "xx"]
    for index, flow in enumerate(flows):
        by_layer = {r["layer"]: r for r in records if r["dataflow"] == flow}
        bottom = np.zeros(len(layers))
        for part, color in zip(ENERGY_COMPONENTS, colors, strict=True):
            values = np.array([by_layer[layer][part] / 1e6 for layer in layers])
            label = part.removesuffix("_energy_pj") if index == 0 else None
            ax.bar(x + index * width, values, width, bottom=bottom, color=color, label=label,
                   hatch=hatches[index % len(hatches)], edgecolor="white")  # fmt: skip
            bottom += values
    ax.set_xticks(x + width * (len(flows) - 1) / 2, layers, rotation=30, ha="right")
    ax.set_ylabel(f"energy, uJ (bars: {', '.join(f.upper() for f in flows)})")
    ax.legend(fontsize=7, ncols=2)
    return ax


def plt_colors(count: int) -> list:
    """``count`` distinct colours of matplotlib's tab10 cycle."""
    import matplotlib

    return [matplotlib.colormaps["tab10"](i % 10) for i in range(count)]


#: dots per inch of the PNGs written by :func:`save_figure`
DPI = 110


def figure_png(fig, metadata: dict[str, str] | None = None) -> bytes:
    """``fig`` as the bytes of a PNG (with ``metadata`` as PNG text chunks), then closed: for
    a figure drawn in one process and written by another."""
    import io

    import matplotlib.pyplot as plt

    data = io.BytesIO()
    fig.savefig(data, format="png", dpi=DPI, metadata=metadata)
    plt.close(fig)
    return data.getvalue()


def save_figure(fig, path, metadata: dict[str, str] | None = None) -> None:
    """Save ``fig`` as a PNG (with ``metadata`` as PNG text chunks), atomically, and close it."""
    import matplotlib.pyplot as plt

    from systolic.files import atomic_write

    def write(handle) -> None:
        fig.savefig(handle, format="png", dpi=DPI, metadata=metadata)

    atomic_write(path, write, binary=True)
    plt.close(fig)


def training_curves(
    ax,
    series: dict[str, Sequence[float]],
    ylabel: str,
    labels: dict[str, str] | None = None,
):
    """One line with markers per named series against the epoch (1, 2, ...).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    series : dict of str to sequence of float
        Per-epoch values (e.g. validation accuracy or training cost) of each run, by name.
    ylabel : str
    labels : dict of str to str, optional
        Legend text per name (default: the name), e.g. with the run's hardware cost.
    """
    for name, values in series.items():
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, marker="o", markersize=3, label=(labels or {}).get(name, name))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def activation_curves(ax, z: Sequence[float], curves: dict[str, Sequence[float]], ylabel: str):
    """Named functions of ``z`` (e.g. activations or their derivatives), one line each.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    z : sequence of float, shape (points,)
        Weighted inputs.
    curves : dict of str to sequence of float
        Values at ``z`` of each function, by name; each of shape (points,).
    ylabel : str
    """
    for name, values in curves.items():
        ax.plot(z, values, label=name)
    ax.axhline(0.0, color="gray", linewidth=0.5)
    ax.axvline(0.0, color="gray", linewidth=0.5)
    ax.set_xlabel("z (weighted input)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax


def roofline(ax, records: Sequence[dict], peak_tops: float, bandwidth_gb_s: float):
    """Achieved TOPS of each run against its operations per weight byte, over the roofline
    ``min(peak, intensity * bandwidth)`` (log-log)."""
    intensities = [r["ops_per_weight_byte"] for r in records]
    xs = np.logspace(np.log10(min(intensities) / 2), np.log10(max(intensities) * 4), 200)
    ax.plot(xs, np.minimum(peak_tops, xs * bandwidth_gb_s / 1e3), color="black",
            label=f"roofline: {peak_tops:.1f} TOPS peak, {bandwidth_gb_s:g} GB/s")  # fmt: skip
    for layer in dict.fromkeys(r["name"].split(" ")[0] for r in records):
        chosen = [r for r in records if r["name"].split(" ")[0] == layer]
        ax.plot([r["ops_per_weight_byte"] for r in chosen], [r["tops"] for r in chosen],
                marker="o", linestyle=":", label=f"{layer} at batch {chosen[0]['m']} to "
                f"{chosen[-1]['m']}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (operations per weight byte from DRAM)")
    ax.set_ylabel("achieved TOPS")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


def pe_heatmap(ax, report):
    """Share of the run's cycles in which each PE did a useful MAC (``report.pe_active_cycles
    / total_cycles``), one cell per PE, row 0 at the top."""
    share = report.pe_active_cycles / max(report.total_cycles, 1)
    image = ax.imshow(share, vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label="useful MACs per cycle")
    ax.set_xlabel("PE column")
    ax.set_ylabel("PE row")
    ax.set_title(f"per-PE utilization ({100 * report.utilization:.1f} % overall)")
    return ax


def breakdown_bars(ax, reports: dict):
    """One stacked bar per named Report: where its cycles went (``Report``'s breakdown)."""
    from systolic.report import BREAKDOWN

    names = list(reports)
    bottom = np.zeros(len(names))
    for part in BREAKDOWN:
        values = np.array([getattr(reports[name], part) for name in names], dtype=float)
        if values.any():
            ax.bar(names, values, bottom=bottom, label=part.removesuffix("_cycles"))
            bottom += values
    ax.set_ylabel("cycles")
    ax.legend()
    ax.tick_params(axis="x", rotation=30)
    return ax


def wavefront(ax, useful, cycle: int):
    """The PEs that did a useful MAC in one cycle (a mask from a golden model's history)."""
    ax.imshow(useful, vmin=0, vmax=1, cmap="Greys", interpolation="nearest")
    ax.set_title(f"cycle {cycle}: {int(np.count_nonzero(useful))} PEs busy")
    ax.set_xticks(range(useful.shape[1]))
    ax.set_yticks(range(useful.shape[0]))
    ax.set_xlabel("PE column")
    ax.set_ylabel("PE row")
    return ax


def save_wavefront_animation(history, path, interval_ms: int = 200) -> None:
    """A GIF of the busy PEs cycle by cycle, from a golden model's ``history`` (saved whole:
    to a temporary file, then renamed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    from systolic.files import atomic_path

    fig, ax = plt.subplots(figsize=(4, 4))

    def draw(cycle):
        ax.clear()
        wavefront(ax, history[cycle], cycle)

    animation = FuncAnimation(fig, draw, frames=len(history), interval=interval_ms)
    try:
        with atomic_path(path) as temporary:
            animation.save(temporary, writer=PillowWriter(fps=max(1, 1000 // interval_ms)))
    finally:
        plt.close(fig)


def accuracy_with_cycles(ax, epochs: Sequence[int], accuracy: dict, cycles: Sequence[int]):
    """Accuracy per epoch, one line per named run, with the cumulative simulated cycles on a
    second y-axis (so the hardware cost of each epoch is read off the same picture)."""
    for name, values in accuracy.items():
        ax.plot(epochs, [100 * v for v in values], marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    twin = ax.twinx()
    twin.plot(epochs, np.cumsum(cycles) / 1e6, color="gray", linestyle="--", marker=".")
    twin.set_ylabel("simulated cycles so far (millions, dashed)")
    return ax


def waveforms(ax, signals: dict[str, Sequence[float]], title: str = ""):
    """Signals as stacked step traces, one row each, the first at the top, like a waveform
    viewer: signals that hold only 0 and 1 as bits, others scaled to their row with the value
    written at each change. ``signals`` maps a label to the value after each cycle
    (``waveform.read_vcd``)."""
    names = list(signals)
    for row, name in enumerate(names):
        values = np.asarray(signals[name], dtype=float)
        base = len(names) - 1 - row
        low, high = min(values.min(initial=0.0), 0.0), max(values.max(initial=1.0), 1.0)
        scaled = (values - low) / (high - low)
        cycles = np.arange(len(values) + 1)
        ax.stairs(base + 0.8 * scaled, cycles, baseline=None, linewidth=1.5)
        if not np.isin(values, (0.0, 1.0)).all():  # a value, not a bit: write it at changes
            for cycle in np.flatnonzero(np.diff(values, prepend=np.nan)):
                ax.text(cycle + 0.1, base + 0.85, f"{values[cycle]:g}", fontsize=7)
    ax.set_yticks(np.arange(len(names))[::-1] + 0.4, names)
    ax.set_xlabel("cycle")
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def network_totals(records: Sequence[dict]) -> list[dict]:
    """Per network, dataflow and array size: summed cycles and MACs, and the utilization of
    the whole network (``compare.totals`` of each network's records)."""
    from systolic.compare import totals

    out = []
    for name in dict.fromkeys(r["network"] for r in records):
        for total in totals([r for r in records if r["network"] == name]):
            out.append({"network": name, **total})
    return out


def networks_figure(records: Sequence[dict], totals: Sequence[dict]):
    """Total cycles (log scale) and utilization per network and dataflow, one row per array
    size, and a last row with the utilization of every layer of the first network."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(dict.fromkeys((t["rows"], t["cols"]) for t in totals))
    names = list(dict.fromkeys(t["network"] for t in totals))
    flows = list(dict.fromkeys(t["dataflow"] for t in totals))
    fig, axes = plt.subplots(len(sizes) + 1, 2, figsize=(13, 3.4 * (len(sizes) + 1)),
                             squeeze=False)  # fmt: skip
    width = 0.8 / len(flows)
    for (rows, cols), (left, right) in zip(sizes, axes, strict=False):
        for i, flow in enumerate(flows):
            chosen = {t["network"]: t for t in totals
                      if (t["rows"], t["cols"], t["dataflow"]) == (rows, cols, flow)}  # fmt: skip
            xs = np.arange(len(names)) + (i - (len(flows) - 1) / 2) * width
            left.bar(xs, [chosen[n]["total_cycles"] for n in names], width, label=flow)
            right.bar(xs, [chosen[n]["utilization"] for n in names], width, label=flow)
        for ax, label in ((left, "total cycles"), (right, "utilization")):
            ax.set_xticks(range(len(names)), names, rotation=20)
            ax.set_ylabel(label)
            ax.set_title(f"{rows}x{cols} array")
            ax.legend()
        left.set_yscale("log")
        right.set_ylim(0, 1)
    first = names[0]
    bottom = axes[-1][0]
    for rows, cols in sizes:
        for flow in flows:
            chosen = [r for r in records if r["network"] == first and r["dataflow"] == flow
                      and (r["rows"], r["cols"]) == (rows, cols)]  # fmt: skip
            bottom.plot([r["utilization"] for r in chosen], marker=".",
                        label=f"{flow} {rows}x{cols}")  # fmt: skip
    bottom.set_xlabel(f"layer of {first}")
    bottom.set_ylabel("utilization")
    bottom.set_ylim(0, 1)
    bottom.legend(ncol=2, fontsize=8)
    axes[-1][1].axis("off")
    fig.tight_layout()
    return fig


def tpu_apps(ax, records: Sequence[dict]):
    """Per application, stacked bars of the Table 3 cycle shares: the simulation (left) and
    the paper's counters (right), with the achieved and measured TOPS above them."""
    parts = [
        ("useful_macs_pct", "useful MACs"),
        ("unused_macs_pct", "unused MACs"),
        ("weight_stall_pct", "weight stall"),
        ("weight_shift_pct", "weight shift"),
        ("non_matrix_pct", "non-matrix (idle)"),
    ]
    colors = ["tab:green", "tab:olive", "tab:red", "tab:orange", "tab:gray"]
    width = 0.38
    for i, record in enumerate(records):
        for offset, prefix, tops in ((-width / 2, "", record["tops"]),
                                     (width / 2, "paper_", record["paper_tops"])):  # fmt: skip
            bottom = 0.0
            for (key, label), color in zip(parts, colors, strict=True):
                value = record[prefix + key]
                ax.bar(i + offset, value, width * 0.95, bottom=bottom, color=color,
                       hatch="//" if prefix else None, edgecolor="white",
                       label=label if i == 0 and not prefix else None)  # fmt: skip
                bottom += value
            ax.text(i + offset, bottom + 1, f"{tops:.1f}", ha="center", fontsize=7)
    ax.set_xticks(range(len(records)), [r["app"] for r in records])
    ax.set_ylabel("% of cycles (left: simulated, right, hatched: paper's counters)")
    ax.set_ylim(0, 125)
    ax.legend(fontsize=7, loc="upper center", ncols=5)
    ax.set_title("TPU v1 applications: cycle shares and TOPS (above the bars)")
    return ax


#: a panel of more points than this draws one of each kind per cell of a THIN_GRID x
#: THIN_GRID grid on its log axes, finer than a pixel of the saved PNG
THIN_ABOVE = 20_000
THIN_GRID = 512
#: the opacity of one dot; a drawn dot that stands for k points is 1 - (1 - ALPHA) ** k
ALPHA = 0.7


def _thinned(xs: np.ndarray, ys: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """How many points each point's dot stands for (0: not drawn). In a small panel each
    stands for itself; in a large one (:data:`THIN_ABOVE`) the first of each kind
    (``codes``) in each cell of the log axes stands for all of its kind there, as they
    would cover the same pixels. A cost that log axes do not show is left as it is."""
    stands = np.ones(len(xs), dtype=np.int64)
    if len(xs) <= THIN_ABOVE:
        return stands
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(xs.astype(np.float64)), np.log10(ys.astype(np.float64))
    shown = np.flatnonzero(np.isfinite(logs[0]) & np.isfinite(logs[1]))
    if len(shown) == 0:
        return stands
    cells = codes[shown].astype(np.int64)
    for values in (logs[0][shown], logs[1][shown]):
        low, span = values.min(), np.ptp(values)
        place = (values - low) / (span or 1.0) * THIN_GRID
        cells = cells * THIN_GRID + np.minimum(place, THIN_GRID - 1).astype(np.int64)
    _, first, counts = np.unique(cells, return_index=True, return_counts=True)
    stands[shown] = 0
    stands[shown[first]] = counts
    return stands


def pareto_scatter(ax, columns: dict[str, np.ndarray], x: str, y: str, xlabel: str, ylabel: str):
    """Sweep points as dots, coloured by dataflow (machine presets by name), on log axes,
    with the Pareto front of minimising ``x`` and ``y`` drawn as a line through circled
    points (``systolic.sweep.pareto.front_indices``). Of more than :data:`THIN_ABOVE`
    points, those that would hide behind another of their kind are left out, and that one
    is drawn as opaque as they would be together. Each kind's lines have its name as gid.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    columns : dict of str to numpy.ndarray, each of shape (points,)
        The points of one workload: ``x``, ``y``, ``machine`` (None for a bare array),
        ``dataflow``, ``rows`` and ``cols``.
    x, y : str
        The costs drawn, e.g. ``"total_cycles"`` and ``"energy_pj"``.
    xlabel, ylabel : str
    """
    from systolic.sweep.pareto import distinct, front_indices

    machine, dataflow = columns["machine"], columns["dataflow"]
    kinds, codes = distinct(np.where(np.equal(machine, None), dataflow, machine))
    xs, ys = np.asarray(columns[x]), np.asarray(columns[y])
    stands = _thinned(xs, ys, codes)
    for code, (kind, color) in enumerate(zip(kinds, plt_colors(len(kinds)), strict=True)):
        mine = codes == code
        for copies in (1, 2, 3):  # as opaque as one, two, and three or more stacked dots
            chosen = mine & ((stands == copies) if copies < 3 else (stands >= copies))
            if copies > 1 and not chosen.any():
                continue
            # Line2D markers are stamped, far faster than a scatter's PathCollection; the
            # sizes are those of scatter's s=14 and s=60 (points squared)
            ax.plot(xs[chosen], ys[chosen], linestyle="none", marker="o", markersize=14**0.5,
                    markeredgewidth=1, color=color, alpha=1 - (1 - ALPHA) ** copies,
                    label=kind if copies == 1 else "_nolegend_", gid=kind)  # fmt: skip
    best = front_indices(xs, ys)
    ax.plot(xs[best], ys[best], color="black", linewidth=1, drawstyle="steps-post", zorder=3)
    ax.plot(xs[best], ys[best], linestyle="none", marker="o", markersize=60**0.5,
            markeredgewidth=1, markerfacecolor="none", markeredgecolor="black", zorder=4,
            label=f"Pareto front ({len(best)})")  # fmt: skip
    if len(best) <= 12:  # more names than that would hide the points
        for i in best.tolist():
            if machine[i] is not None:
                name = machine[i]
            else:
                name = f"{columns['rows'][i]}x{columns['cols'][i]} {dataflow[i]}"
            ax.annotate(name, (xs[i], ys[i]), textcoords="offset points", xytext=(4, 4),
                        fontsize=6)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis, values in ((ax.xaxis, xs), (ax.yaxis, ys)):
        _decades(axis, values)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.2)
    ax.legend(fontsize=7, loc="upper right")  # a fixed place: "best" scans every point
    return ax


#: a log axis over at least this many decades is marked at its decades only
WIDE_DECADES = 2
_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _decades(axis, values: np.ndarray) -> None:
    """Mark a wide log ``axis`` (:data:`WIDE_DECADES`) at its decades, labelled 10ⁿ in
    plain text, without minor ticks: a sweep's costs span up to a dozen decades, and laying
    out their minor ticks and typeset labels took longer than drawing the points."""
    import matplotlib.ticker as ticker

    shown = np.asarray(values, dtype=np.float64)
    shown = shown[np.isfinite(shown) & (shown > 0)]
    if not len(shown) or np.log10(shown.max() / shown.min()) < WIDE_DECADES:
        return

    def label(value: float, _position) -> str:
        exponent = round(np.log10(value))
        if not np.isclose(value, 10.0**exponent):
            return f"{value:g}"
        return "10" + str(exponent).translate(_SUPERSCRIPTS)

    axis.set_minor_locator(ticker.NullLocator())
    axis.set_major_formatter(ticker.FuncFormatter(label))


def pareto_figure(columns: dict[str, np.ndarray], title: str):
    """A sweep's points of one workload: cycles against energy and against area, each with
    its Pareto front (:func:`pareto_scatter`).

    Parameters
    ----------
    columns : dict of str to numpy.ndarray, each of shape (points,)
        ``total_cycles``, ``energy_pj``, ``area_mm2``, ``machine``, ``dataflow``, ``rows``
        and ``cols`` of one workload's points.
    title : str
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # at the saved resolution, so text is laid out once for the layout and the file
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), dpi=DPI)
    pareto_scatter(left, columns, "total_cycles", "energy_pj", "total cycles", "energy, pJ")
    pareto_scatter(right, columns, "total_cycles", "area_mm2", "total cycles", "area, mm²")
    fig.suptitle(f"{title}: {len(columns['total_cycles'])} points")
    # fixed margins that fit the labels: tight_layout measures every tick label first, which
    # took longer than drawing a few hundred thousand points
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.9, wspace=0.2)
    return fig


#: the colour of each phase in a Gantt chart
PHASE_COLOURS = {
    "forward": "tab:blue",
    "backward": "tab:orange",
    "gradient": "tab:green",
    "update": "tab:red",
    "evaluation": "tab:purple",
}


def gantt(ax, ops, placed, clock_mhz: float | None = None):
    """A step's timeline as a Gantt chart: one lane per unit (MXU, VPU, DMA), every op a bar
    from its start to its end, coloured by phase. ``ops`` are
    ``systolic.machine.timeline.Op``s and ``placed`` their ``Schedule``; with
    ``clock_mhz`` the x-axis is in microseconds, else in cycles."""
    from matplotlib.patches import Patch

    from systolic.machine.timeline import UNITS

    scale = 1.0 if clock_mhz is None else 1.0 / clock_mhz  # cycles -> microseconds
    lanes = {unit: len(UNITS) - 1 - i for i, unit in enumerate(UNITS)}
    for op, start, end in zip(ops, placed.starts, placed.ends, strict=True):
        if end > start:
            ax.broken_barh([(start * scale, (end - start) * scale)], (lanes[op.unit] - 0.4, 0.8),
                           facecolors=PHASE_COLOURS[op.phase], edgecolor="white",
                           linewidth=0.3)  # fmt: skip
    ax.set_yticks(list(lanes.values()), [unit.upper() for unit in lanes])
    ax.set_xlabel("cycles" if clock_mhz is None else "microseconds")
    ax.set_xlim(0, max(placed.total_cycles, 1) * scale)
    used = [phase for phase in PHASE_COLOURS if any(op.phase == phase for op in ops)]
    ax.legend(handles=[Patch(color=PHASE_COLOURS[p], label=p) for p in used], ncol=len(used),
              loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False)  # fmt: skip
    return ax


def stacked_bars(ax, values: dict[str, dict[str, float]], ylabel: str):
    """One bar per name of ``values``, stacked from its parts (``{part: value}``), each part
    in the same colour in every bar (phases in :data:`PHASE_COLOURS`' colours)."""
    names = list(values)
    parts = list(dict.fromkeys(part for bar in values.values() for part in bar))
    bottom = np.zeros(len(names))
    for part in parts:
        heights = np.array([values[name].get(part, 0.0) for name in names])
        ax.bar(names, heights, bottom=bottom, label=part, color=PHASE_COLOURS.get(part))
        bottom += heights
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    ax.grid(True, axis="y", alpha=0.3)
    return ax


#: the colour of each unit in per-node charts
UNIT_COLOURS = {"mxu": "tab:blue", "vpu": "tab:orange", "dma": "tab:green"}


def node_cycles(ax, nodes: list[dict]):
    """Each node's cycles (``systolic.onnx.graph.GraphRun.nodes``) as a bar in graph order,
    coloured by the unit that runs it."""
    from matplotlib.patches import Patch

    heights = [node["cycles"] for node in nodes]
    colours = [UNIT_COLOURS[node["unit"]] for node in nodes]
    ax.bar(range(len(nodes)), heights, color=colours, width=0.8)
    ax.set_xlabel("node (graph order)")
    ax.set_ylabel("cycles")
    if max(heights, default=0) > 0:
        ax.set_yscale("log")
    used = [unit for unit in UNIT_COLOURS if any(node["unit"] == unit for node in nodes)]
    ax.legend(handles=[Patch(color=UNIT_COLOURS[u], label=u.upper()) for u in used])
    return ax


def batch_sweep(ax, sweep: list[dict]):
    """Tokens per second (left axis, solid) and seconds per token (right axis, dashed)
    against batch, log-log, from ``systolic.llm.run_phase`` records; each point marked with
    its bottleneck's initial."""
    batches = [f["batch"] for f in sweep]
    ax.loglog(batches, [f["tokens_per_second"] for f in sweep], marker="o", color="tab:blue")
    ax.set_xlabel("batch (sequences)")
    ax.set_ylabel("tokens per second", color="tab:blue")
    for f in sweep:
        ax.annotate(f["bottleneck"].upper(), (f["batch"], f["tokens_per_second"]),
                    textcoords="offset points", xytext=(4, 4), fontsize=8)  # fmt: skip
    twin = ax.twinx()
    twin.loglog(batches, [f["seconds_per_token"] for f in sweep], marker=".", linestyle="--",
                color="tab:orange")  # fmt: skip
    twin.set_ylabel("seconds per token (dashed)", color="tab:orange")
    ax.grid(True, which="both", alpha=0.3)
    return ax
