"""Running a sweep: the points a folder lacks go to Dask, results to the folder, a summary back.

::

    Spec --expand--> points --(not in DIR/points.jsonl)--> chunks --Dask--> records
                                                                              |
    summary, points.csv, pareto_*.png  <------ every point of the spec <-------+ (appended)
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from systolic.sweep import cluster
from systolic.sweep.pareto import (
    FRONTS,
    best,
    front_indices,
    label,
    record_columns,
    workload_groups,
)
from systolic.sweep.point import Columns
from systolic.sweep.spec import Expansion, Spec, expand
from systolic.sweep.store import POINTS, Store, package_version


def run_sweep(
    spec: Spec,
    out: str | Path,
    *,
    values: bool = True,
    scheduler: str | None = None,
    workers: int | None = None,
    chunk: int | None = None,
    connect_timeout_s: float = cluster.CONNECT_TIMEOUT_S,
    progress: bool = True,
) -> dict:
    """Run the points of ``spec`` that ``out`` lacks, store each as it finishes, then write
    ``points.csv`` and the Pareto plots and return the summary.

    Parameters
    ----------
    spec : Spec
        From ``systolic.sweep.load_spec``.
    out : path-like
        The results folder (made if missing); results of earlier runs there are reused.
    values : bool
        Compute every value and check it against NumPy; False: closed forms only.
    scheduler : str, optional
        Address of a running Dask scheduler; default a local cluster of ``workers``
        processes (default one per core).
    chunk : int, optional
        Points per task; default as many as take about 0.1 s (``cluster.Chunks``).
    connect_timeout_s : float
        Seconds to wait for the scheduler.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    dict
        ``points`` (all the spec's) = ``skipped`` (combinations the array or machine refuses)
        + ``reused`` (found in ``out``) + ``computed`` + ``failed`` (their errors are stored;
        a rerun tries them again); ``out``, ``values``, ``workers`` (threads), ``chunk``
        (the most points of a task), ``seconds`` (all of it), ``compute_seconds`` (from the
        first task submitted to the last result stored), ``evaluate_seconds`` (the tasks'
        own time evaluating their points, summed over the workers) and ``points_per_second``
        (the workers' rate of evaluating together: points finished per second of
        ``evaluate_seconds``, times the worker threads), ``best`` (per
        workload by cycles, energy and area), ``pareto`` (keys on each front per workload),
        ``errors`` (distinct errors with their counts) and ``files``.

    Raises
    ------
    ValueError
        A folder of another spec format or in use, an unreachable scheduler, workers of
        another package version, or a scheduler lost on the way (the points finished by
        then are stored).
    """
    start = time.perf_counter()
    out = Path(out)
    store = Store.open(out)
    version = package_version()
    expansion = expand(spec, values, version)
    reused = sum(_done(store, point) for point in expansion.points)
    run = {"computed": 0, "failed": 0, "threads": 0, "chunk": None, "compute_s": 0.0,
           "evaluate_s": 0.0}  # fmt: skip
    if reused < len(expansion.points):
        with cluster.connect(scheduler, workers, connect_timeout_s) as client:
            for worker, found in cluster.prepare_workers(client, values).items():
                if found != version:
                    raise ValueError(f"the worker at {worker} runs systolic {found}, this is "
                                     f"{version}; install the same version there")  # fmt: skip
            store.begin()
            try:
                run.update(_compute(client, store, expansion, chunk, progress))
            finally:
                store.close()
    else:
        store.begin()
        store.close()
    records = [store.records[point["key"]] for point in expansion.points]
    rows = records + [_skipped(params, reason) for params, reason in expansion.skipped]
    files = [out / POINTS, store.write_csv(rows), *_plots(records, out)]
    seconds = time.perf_counter() - start
    finished = run["computed"] + run["failed"]
    return {
        "points": len(rows), "computed": run["computed"],
        "reused": len(records) - finished, "skipped": len(expansion.skipped),
        "failed": run["failed"], "out": str(out), "values": values, "workers": run["threads"],
        "chunk": run["chunk"], "seconds": seconds, "compute_seconds": run["compute_s"],
        "evaluate_seconds": run["evaluate_s"],
        "points_per_second": (finished * run["threads"] / run["evaluate_s"]
                              if run["evaluate_s"] else None),
        "best": [_brief(record) for record in best(records)], "pareto": _fronts(records),
        "errors": _errors(records), "files": [str(path) for path in files],
    }  # fmt: skip


def _done(store: Store, point: dict) -> bool:
    return store.records.get(point["key"], {}).get("status") == "ok"


def _compute(client, store: Store, expansion: Expansion, chunk: int | None, progress: bool):
    """Run the points ``store`` lacks on ``client``; their counts and timing."""
    from tqdm import tqdm

    missing = [point for point in expansion.points if not _done(store, point)]
    chunks = cluster.Chunks(missing, chunk)
    context = expansion.context
    counts = {"computed": 0, "failed": 0}
    evaluated = {"seconds": 0.0}

    def context_of(points: list[dict]) -> dict:
        runs = {(point["workload"], point["batch"]) for point in points}
        names = {point["energy"] for point in points}
        return {"layers": {run: context["layers"][run] for run in runs},
                "tables": {name: context["tables"][name] for name in names}}  # fmt: skip

    bar = tqdm(total=len(missing), desc="sweep", unit="pt", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, postfix={"failed": 0})  # fmt: skip

    def done(records: Sequence[dict]) -> None:
        store.append(records)
        others = records
        if isinstance(records, Columns):  # its points are ok
            counts["computed"] += len(records.points)
            others = records.others
        for record in others:
            counts["computed" if record["status"] == "ok" else "failed"] += 1
        evaluated["seconds"] += cluster.record_seconds(records)[0]
        bar.set_postfix(failed=counts["failed"], refresh=False)
        bar.update(len(records))

    begin = time.perf_counter()
    with bar:
        lost = cluster.run_chunks(client, chunks, context_of, done)
    if lost:
        raise ValueError(
            f"lost the Dask scheduler with {lost:,} points to go; the {sum(counts.values()):,} "
            f"finished are stored in {store.folder}; run the sweep again for the rest"
        )
    compute_s = time.perf_counter() - begin
    threads = cluster.threads(client)
    return {**counts, "threads": threads, "chunk": chunks.largest, "compute_s": compute_s,
            "evaluate_s": evaluated["seconds"]}  # fmt: skip


def _skipped(params: dict, reason: str) -> dict:
    return {"key": None, "status": "skipped", "error": reason, **params}


def _brief(record: dict) -> dict:
    """A best point as the summary shows it."""
    names = ("by", "key", "workload", "batch", "machine", "rows", "cols", "dataflow",
             "weight_load", "accumulator_rows", "dtype", "energy", "total_cycles",
             "utilization", "energy_pj", "area_mm2", "max_abs_error")  # fmt: skip
    return {name: record.get(name) for name in names}


def _fronts(records: list[dict]) -> list[dict]:
    """The keys on each Pareto front (cycles against :data:`FRONTS`) of each workload."""
    out = []
    finished = [record for record in records if record["status"] == "ok"]
    for (workload, batch), group in workload_groups(finished).items():
        entry = {"workload": workload, "batch": batch}
        costs = record_columns(group, ("total_cycles", *FRONTS))
        for cost in FRONTS:
            on = front_indices(costs["total_cycles"], costs[cost])
            entry[cost] = [group[i]["key"] for i in on.tolist()]
        out.append(entry)
    return out


def _errors(records: list[dict]) -> dict[str, int]:
    """Each distinct error of the failed points with how many points it stopped."""
    errors: dict[str, int] = {}
    for record in records:
        if record["status"] == "failed":
            errors[record["error"]] = errors.get(record["error"], 0) + 1
    return errors


#: the fields of a point that the Pareto plots draw (``plots.pareto_figure``)
PLOTTED = ("total_cycles", "energy_pj", "area_mm2", "machine", "dataflow", "rows", "cols")


def _plots(records: list[dict], out: Path) -> list[Path]:
    """One PNG per workload: cycles against energy and against area, fronts highlighted."""
    from systolic import plots

    paths, used = [], set()
    finished = [record for record in records if record["status"] == "ok"]
    for (workload, batch), group in workload_groups(finished).items():
        title = label(workload, batch)
        name = re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_").lower()
        stem, number = f"pareto_{name}", 2
        while stem in used:  # names that differ only in punctuation
            stem, number = f"pareto_{name}_{number}", number + 1
        used.add(stem)
        path = out / f"{stem}.png"
        figure = plots.pareto_figure(record_columns(group, PLOTTED), title)
        plots.save_figure(figure, path, metadata={"Description": f"systolic sweep: {title}"})
        paths.append(path)
    return paths


def format_summary(summary: dict) -> str:
    """The summary as text: counts, then per workload its best points and Pareto fronts."""
    rate = summary["points_per_second"]
    speed = f", {rate:,.0f} points/s evaluated on {summary['workers']} workers" if rate else ""
    lines = [
        f"sweep: {summary['points']:,} points: {summary['computed']:,} computed, "
        f"{summary['reused']:,} reused, {summary['skipped']:,} skipped, "
        f"{summary['failed']:,} failed ({summary['seconds']:.1f} s{speed})"
    ]
    for error, count in summary["errors"].items():
        lines.append(f"  {count:,} failed: {error}")
    head = (f"  {'':<14}{'array':<18}{'flow':<5}{'weight load':<16}{'acc rows':>9} "
            f"{'dtype':<6}{'cycles':>14}{'util %':>8}{'energy uJ':>12}{'area mm2':>10}"
            f"{'max abs err':>12}")  # fmt: skip
    keys = {}
    for entry in summary["best"]:
        keys.setdefault((entry["workload"], entry["batch"]), []).append(entry)
    fronts = {(entry["workload"], entry["batch"]): entry for entry in summary["pareto"]}
    for (workload, batch), entries in keys.items():
        lines += ["", label(workload, batch), head]
        names = {"cycles": "fastest", "energy": "least energy", "area": "smallest"}
        lines += [_row(names[entry["by"]], entry) for entry in entries]
        sizes = [len(fronts[workload, batch][cost]) for cost in FRONTS]
        lines.append(f"  Pareto fronts: {sizes[0]} points of cycles and energy, {sizes[1]} of "
                     "cycles and area")  # fmt: skip
    return "\n".join(lines)


def _row(name: str, record: dict) -> str:
    if record["machine"] is not None:
        array = f"{record['machine']} {record['rows']}x{record['cols']}"
    else:
        array = f"{record['rows']}x{record['cols']}"
    acc = "-" if record["accumulator_rows"] is None else f"{record['accumulator_rows']:,}"
    error = record["max_abs_error"]
    return (
        f"  {name:<14}{array:<18}{record['dataflow']:<5}{record['weight_load']:<16}{acc:>9} "
        f"{record['dtype']:<6}{record['total_cycles']:>14,}{100 * record['utilization']:>8.2f}"
        f"{record['energy_pj'] / 1e6:>12.4f}{record['area_mm2']:>10.4f}"
        f"{'-' if error is None else f'{error:.2e}':>12}"
    )
