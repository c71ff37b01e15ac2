"""``systolic train --machine``: the per-epoch table, summary, JSON and Gantt chart of a run on
a TensorCore machine (the ``train`` command's machine half)."""

from __future__ import annotations

import json

from systolic.cli.train import reference_row

#: the per-phase fields of ``--json`` (``systolic.backend.summarize``)
PHASE_FIELDS = ("cycles", "seconds", "mxu_cycles", "vpu_cycles", "hbm_cycles")


def epoch_row(record, reference) -> dict:
    """One epoch on the machine as a JSON-ready dict: accuracy and cost, then the epoch's
    machine summary (``systolic.backend.summarize``) under its stable names."""
    machine = record.collected
    row = {
        "epoch": record.epoch,
        "train_cost": record.train_cost,
        "val_accuracy": record.val_accuracy,
        "test_accuracy": record.test_accuracy,
        "phases": {p: {f: v[f] for f in PHASE_FIELDS} for p, v in machine["phases"].items()},
        **{key: value for key, value in machine.items() if key != "phases"},
        "wall_seconds": record.seconds,
        "reference": reference_row(reference, seconds=False),
    }
    return row


HEADER = (
    f"{'epoch':>5} {'cost':>8} {'val acc':>8} {'test acc':>8} {'ref test':>8} "
    f"{'step cycles':>12} {'sim s':>9} {'MXU %':>6} {'VPU %':>6} {'HBM %':>6} "
    f"{'bound':>5} {'energy J':>9}"
)


def epoch_line(row: dict, pct) -> str:
    """The table line of an epoch row."""
    share = row["unit_share"]
    energy = "-" if row["energy_j"] is None else f"{row['energy_j']:.3g}"
    return (
        f"{row['epoch']:>5} {row['train_cost']:>8.4f} {pct(row['val_accuracy'])} "
        f"{pct(row['test_accuracy'])} {pct((row['reference'] or {}).get('test_accuracy'))} "
        f"{row['step_cycles']:>12,} {row['seconds']:>9.4f} {100 * share['mxu']:>6.1f} "
        f"{100 * share['vpu']:>6.1f} {100 * share['hbm']:>6.1f} {row['bottleneck']:>5} "
        f"{energy:>9}"
    )


def summary(rows: list[dict], config, target: float | None, reference, wall_s: float) -> dict:
    """The run's totals: cycles and seconds per phase and unit, bytes, energy, and the
    simulated seconds and joules until the validation accuracy first reached ``target``
    (``time_to_accuracy_s``, ``energy_to_accuracy_j``: null when it never did, or when no
    target was given)."""
    last = rows[-1]
    phases: dict[str, dict] = {}
    for row in rows:
        for phase, values in row["phases"].items():
            into = phases.setdefault(phase, dict.fromkeys(PHASE_FIELDS, 0))
            for field in PHASE_FIELDS:
                into[field] += values[field]
    total = sum(row["total_cycles"] for row in rows)
    units = {u: sum(row["unit_cycles"][u] for row in rows) for u in last["unit_cycles"]}
    energy = None if last["energy_j"] is None else sum(row["energy_j"] for row in rows)
    reached = None
    seconds = joules = 0.0
    for row in rows:
        seconds += row["seconds"]
        joules += row["energy_j"] or 0.0
        if target is not None and reached is None and row["val_accuracy"] >= target:
            reached = (row["epoch"], seconds, joules if energy is not None else None)
    out = {
        "machine": config.name,
        "dtype": config.dtype,
        "clock_mhz": config.clock_mhz,
        "val_accuracy": last["val_accuracy"],
        "test_accuracy": last["test_accuracy"],
        "total_cycles": total,
        "seconds": config.seconds(total),
        "step_cycles": last["step_cycles"],
        "step_seconds": config.seconds(last["step_cycles"]),
        "phases": phases,
        "unit_cycles": units,
        "unit_share": {u: busy / total if total else 0.0 for u, busy in units.items()},
        "bottleneck": last["bottleneck"],
        "macs": sum(row["macs"] for row in rows),
        "utilization": sum(row["macs"] for row in rows) / (config.pe_count * total),
        "hbm_read_bytes": sum(row["hbm_read_bytes"] for row in rows),
        "hbm_write_bytes": sum(row["hbm_write_bytes"] for row in rows),
        "energy_j": energy,
        "energy_table": last.get("energy_table"),
        "target_accuracy": target,
        "target_epoch": None if reached is None else reached[0],
        "time_to_accuracy_s": None if reached is None else reached[1],
        "energy_to_accuracy_j": None if reached is None else reached[2],
        "wall_s": wall_s,
        "reference": None,
    }
    if reference is not None:
        out["reference"] = {
            "val_accuracy": reference.history[-1].val_accuracy,
            "test_accuracy": reference.history[-1].test_accuracy,
            "wall_s": sum(sum(r.seconds.values()) for r in reference.history),
        }
    return out


def summary_text(s: dict, pct) -> str:
    """The summary as the lines the command prints."""
    lines = [
        f"final accuracy       validation {pct(s['val_accuracy']).strip()}, test "
        f"{pct(s['test_accuracy']).strip()}",
        f"simulated time       {s['seconds']:.4f} s ({s['total_cycles']:,} cycles at "
        f"{s['clock_mhz']:g} MHz on {s['machine']}, {s['dtype']} MXUs)",
        f"training step        {s['step_cycles']:,} cycles ({1e6 * s['step_seconds']:.2f} us), "
        f"bound by {s['bottleneck']}",
        f"MXU utilization      {100 * s['utilization']:.2f} % of the peak over the run",
    ]
    for phase, v in s["phases"].items():
        lines.append(
            f"  {phase:<18} {v['seconds']:.4f} s; busy MXU {v['mxu_cycles']:,}, VPU "
            f"{v['vpu_cycles']:,}, HBM {v['hbm_cycles']:,} cycles"
        )
    share = s["unit_share"]
    lines.append(
        f"unit busy share      MXU {100 * share['mxu']:.1f} %, VPU {100 * share['vpu']:.1f} %, "
        f"HBM {100 * share['hbm']:.1f} %"
    )
    lines.append(
        f"HBM traffic          {s['hbm_read_bytes'] / 1e6:,.1f} MB read, "
        f"{s['hbm_write_bytes'] / 1e6:,.1f} MB written"
    )
    if s["energy_j"] is not None:
        lines.append(f"energy ({s['energy_table']})  {s['energy_j']:.4g} J")
    if s["target_accuracy"] is not None:
        target = pct(s["target_accuracy"]).strip()
        if s["time_to_accuracy_s"] is None:
            lines.append(f"to {target} validation  not reached")
        else:
            energy = s["energy_to_accuracy_j"]
            lines.append(
                f"to {target} validation  {s['time_to_accuracy_s']:.4f} s"
                + ("" if energy is None else f", {energy:.4g} J")
                + f" (epoch {s['target_epoch']})"
            )
    lines.append(f"wall time            {s['wall_s']:.1f} s")
    ref = s["reference"]
    if ref is not None:
        lines.append(
            f"NumPy reference      validation {pct(ref['val_accuracy']).strip()}, test "
            f"{pct(ref['test_accuracy']).strip()}, {ref['wall_s']:.1f} s"
        )
    return "\n".join(lines)


def plot_timeline(timeline, config, path) -> None:
    """The Gantt chart of one training step (``timeline``: its ops and schedule)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from systolic import plots

    ops, placed = timeline
    fig, ax = plt.subplots(figsize=(10, 3.2))
    plots.gantt(ax, ops, placed, config.clock_mhz)
    ax.set_title(f"one training step on {config.name} ({config.dtype} MXUs)")
    fig.tight_layout()
    plots.save_figure(fig, path)


def dumps(rows: list[dict], summary_: dict) -> str:
    """The ``--json`` document."""
    return json.dumps({"epochs": rows, "summary": summary_}, indent=2)
