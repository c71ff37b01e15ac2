"""Running a sweep: the points a folder lacks go to Dask, results to the folder, a summary back.

::

    Spec --expand--> blocks of points (columns), machine points (dicts)
         --(not in DIR/columns/, DIR/points.jsonl)--> chunks --Dask--> records, columns
                                                                              |
    summary, points.csv, pareto_*.png  <---- every point of the spec <--------+ (stored)
             (systolic.sweep.results: gathered by key, as columns)
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from systolic.files import atomic_write
from systolic.sweep import cluster, results
from systolic.sweep.block import Block, Piece, hex_keys
from systolic.sweep.pareto import FRONTS, best_indices, front_indices, label
from systolic.sweep.point import Columns
from systolic.sweep.results import SUMMARY
from systolic.sweep.spec import Expansion, Spec, expand
from systolic.sweep.store import CSV, POINTS, Store, package_version


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
    missing = _missing(store, expansion)
    run = {"computed": 0, "failed": 0, "threads": 0, "chunk": None, "compute_s": 0.0,
           "evaluate_s": 0.0, "values": values}  # fmt: skip
    if not missing:
        store.begin()
        store.close()
        return _finish(store, expansion, out, run, start, None)
    with cluster.connect(scheduler, workers, connect_timeout_s, fork=not values) as client:
        for worker, found in cluster.prepare_workers(client, values).items():
            if found != version:
                raise ValueError(f"the worker at {worker} runs systolic {found}, this is "
                                 f"{version}; install the same version there")  # fmt: skip
        store.begin()
        try:
            run.update(_compute(client, store, expansion, missing, chunk, progress))
        finally:
            store.close()
        return _finish(store, expansion, out, run, start, client)


def _finish(store: Store, expansion: Expansion, out: Path, run: dict, start: float,
            client) -> dict:  # fmt: skip
    """Write ``points.csv`` and the plots of every point of ``expansion`` in ``store``, and
    return the summary. Each workload's fronts, best points and plot are made on ``client``'s
    workers (here without one) while this process writes ``points.csv``."""
    rows = list(results.segments(expansion.parts, store, results.BulkIndex(store.bulk)))
    if expansion.skipped:
        rows.append(results.Rows(records=[_skipped(params, reason)
                                          for params, reason in expansion.skipped]))  # fmt: skip
    groups = results.groups(rows)
    titles = _titles(groups)
    tasks = [({name: columns[name] for name in PLOTTED}, title)
             for columns, title in zip(groups.values(), titles.values(), strict=True)]  # fmt: skip
    # the workers but one: this process needs a core of its own for points.csv
    gather = cluster.submit_all(client, summarize, tasks, leave_one=True)
    files = [out / POINTS, results.write_csv(out / CSV, rows)]
    made = gather()
    for stem, done in zip(titles, made, strict=True):
        path = out / f"{stem}.png"
        atomic_write(path, lambda handle, data=done["png"]: handle.write(data), binary=True)
        files.append(path)
    seconds = time.perf_counter() - start
    finished = run["computed"] + run["failed"]
    total = len(expansion)
    return {
        "points": total + len(expansion.skipped), "computed": run["computed"],
        "reused": total - finished, "skipped": len(expansion.skipped),
        "failed": run["failed"], "out": str(out), "values": run["values"],
        "workers": run["threads"], "chunk": run["chunk"], "seconds": seconds,
        "compute_seconds": run["compute_s"], "evaluate_seconds": run["evaluate_s"],
        "points_per_second": (finished * run["threads"] / run["evaluate_s"]
                              if run["evaluate_s"] else None),
        "best": _best(groups, made), "pareto": _fronts(groups, made),
        "errors": results.errors(rows), "files": [str(path) for path in files],
    }  # fmt: skip


def _missing(store: Store, expansion: Expansion) -> list:
    """The points of ``expansion`` that ``store`` has not finished: a ``block.Piece`` of
    each block's, and point dicts, in order."""
    index = results.BulkIndex(store.bulk)
    out = []
    for part in expansion.parts:
        if not isinstance(part, Block):
            if not _done(store, part):
                out.append(part)
            continue
        positions = np.flatnonzero(index.find(part.high, part.low) < 0)
        if store.records and len(positions):
            keys = hex_keys(part.high[positions], part.low[positions]).tolist()
            positions = positions[[not _done(store, {"key": key}) for key in keys]]
        if len(positions):
            out.append(part.piece(positions))
    return out


def _done(store: Store, point: dict) -> bool:
    return store.records.get(point["key"], {}).get("status") == "ok"


def _compute(client, store: Store, expansion: Expansion, missing: list, chunk: int | None,
             progress: bool):  # fmt: skip
    """Run the points ``missing`` (see :func:`_missing`) on ``client``; their counts and
    timing."""
    from tqdm import tqdm

    chunks = cluster.Chunks(missing, chunk)
    context = expansion.context
    counts = {"computed": 0, "failed": 0}
    evaluated = {"seconds": 0.0}

    def context_of(points: Sequence[dict]) -> dict:
        if isinstance(points, Piece):
            runs, names = {points.block.run}, {points.block.base["energy"]}
        else:
            runs = {(point["workload"], point["batch"]) for point in points}
            names = {point["energy"] for point in points}
        return {"layers": {run: context["layers"][run] for run in runs},
                "tables": {name: context["tables"][name] for name in names}}  # fmt: skip

    bar = tqdm(total=len(chunks), desc="sweep", unit="pt", file=sys.stderr, disable=not progress,
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


#: what a workload's summary task needs of its points (:func:`summarize`)
PLOTTED = ("total_cycles", "energy_pj", "area_mm2", "machine", "dataflow", "rows", "cols")


def summarize(columns: dict[str, np.ndarray], title: str) -> dict:
    """One workload's Pareto fronts (indices of its points, by cost of ``pareto.FRONTS``), best
    points (an index by ``pareto.BEST``) and plot (PNG bytes): a task for a worker, since a
    plot of a few hundred thousand points takes about a second."""
    from systolic import plots

    figure = plots.pareto_figure(columns, title)
    return {
        "fronts": {cost: front_indices(columns["total_cycles"], columns[cost]) for cost in FRONTS},
        "best": best_indices(columns),
        "png": plots.figure_png(figure, metadata={"Description": f"systolic sweep: {title}"}),
    }


def _titles(groups: dict) -> dict[str, str]:
    """The file stem of each workload's plot with its title, in the order of ``groups``."""
    out = {}
    for workload, batch in groups:
        title = label(workload, batch)
        name = re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_").lower()
        stem, number = f"pareto_{name}", 2
        while stem in out:  # names that differ only in punctuation
            stem, number = f"pareto_{name}_{number}", number + 1
        out[stem] = title
    return out


def _best(groups: dict, made: list[dict]) -> list[dict]:
    """The best point of each workload by cycles, by energy and by area, as the summary shows
    them."""
    out = []
    for columns, done in zip(groups.values(), made, strict=True):
        for by, index in done["best"].items():
            out.append({"by": by, **{name: _value(columns[name][index]) for name in SUMMARY}})
    return out


def _value(value):
    """An array's entry as a Python value."""
    return value.item() if isinstance(value, np.generic) else value


def _fronts(groups: dict, made: list[dict]) -> list[dict]:
    """The keys on each Pareto front (cycles against :data:`FRONTS`) of each workload."""
    out = []
    for (workload, batch), columns, done in zip(groups, groups.values(), made, strict=True):
        entry = {"workload": workload, "batch": batch}
        for cost in FRONTS:
            entry[cost] = columns["key"][done["fronts"][cost]].tolist()
        out.append(entry)
    return out


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
