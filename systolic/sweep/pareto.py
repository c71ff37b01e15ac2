"""The best points of a sweep and its Pareto fronts, per workload.

A point is on the Pareto front of two costs (cycles and energy, say) when no other point is
at most as costly in both and cheaper in one. Equal points are on the front together.

The work is done on columns (one 1-D numpy array per field, :func:`front_indices`,
:func:`best_indices`, :func:`group_indices`); :func:`front`, :func:`best` and
:func:`workload_groups` are the same over lists of records.

>>> front([{"c": 1, "e": 9}, {"c": 2, "e": 9}, {"c": 3, "e": 2}, {"c": 4, "e": 5}], "c", "e")
[0, 2]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: what "best" means: the cost minimised, then the costs that break a tie
BEST = {
    "cycles": ("total_cycles", "energy_pj", "area_mm2"),
    "energy": ("energy_pj", "total_cycles", "area_mm2"),
    "area": ("area_mm2", "total_cycles", "energy_pj"),
}
#: the Pareto fronts drawn and reported: cycles against each of these
FRONTS = ("energy_pj", "area_mm2")


def front_indices(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points on the Pareto front of minimising ``x`` and ``y``, in order of
    ``(x, y)`` (points of equal costs in their given order).

    Going through the points in that order, a point is on the front when its ``y`` is below
    every earlier point's, and a point with the same costs as the one before it goes with
    it, on the front or off.

    Parameters
    ----------
    x, y : numpy.ndarray, shape (n,)
        The two costs of each point (not NaN).

    Returns
    -------
    numpy.ndarray of int64, shape (points on the front,)
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of one length, got shapes {x.shape} and {y.shape}")
    order = np.lexsort((y, x))  # stable: equal points keep their order
    xs, ys = x[order], y[order]
    starts = np.ones(len(order), dtype=bool)  # where a run of equal costs begins
    starts[1:] = (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1])
    first = ys[starts]  # the y of each run
    on = np.ones(len(first), dtype=bool)
    on[1:] = first[1:] < np.minimum.accumulate(first)[:-1]
    return order[on[np.cumsum(starts) - 1]].astype(np.int64)


def front(records: Sequence[dict], x: str, y: str) -> list[int]:
    """Indices of the records on the Pareto front of minimising ``x`` and ``y``, in order
    of ``x`` (:func:`front_indices`)."""
    costs = record_columns(records, (x, y))
    return front_indices(costs[x], costs[y]).tolist()


def record_columns(records: Sequence[dict], names: Sequence[str]) -> dict[str, np.ndarray]:
    """The named fields of ``records`` as columns: int64 where every entry is an int that
    fits, float64 where every one is a float, bool where every one is a bool, else (names,
    None, a mix) an array of the objects themselves, so that no value is rounded.

    Returns
    -------
    dict of str to numpy.ndarray, each of shape (len(records),)
    """
    return {name: _column([record[name] for record in records]) for name in names}


def _column(values: list) -> np.ndarray:
    kinds = set(map(type, values))
    for kind, dtype in ((int, np.int64), (float, np.float64), (bool, np.bool_)):
        if kinds == {kind}:
            try:
                return np.array(values, dtype=dtype)
            except OverflowError:  # ints beyond int64 stay Python ints
                break
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def best_indices(columns: dict[str, np.ndarray], indices: np.ndarray | None = None) -> dict:
    """The index of the best point by each entry of :data:`BEST`, among ``indices``.

    The best has the least tuple of costs, and of equal ones the first in ``indices``, as
    Python's ``min`` picks.

    Parameters
    ----------
    columns : dict of str to numpy.ndarray, each of shape (n,)
        At least the costs named in :data:`BEST`.
    indices : numpy.ndarray of int, shape (points,), optional
        The points to choose from, in order (default all ``n``).

    Returns
    -------
    dict of str to int
        ``{"cycles": i, "energy": j, "area": k}``.
    """
    if indices is None:
        indices = np.arange(len(columns[BEST["cycles"][0]]))
    indices = np.asarray(indices, dtype=np.int64)
    if len(indices) == 0:
        raise ValueError("no points to choose the best of")
    out = {}
    for by, costs in BEST.items():
        chosen = indices
        for cost in costs:  # keep the least of each cost in turn, in their order
            values = columns[cost][chosen]
            chosen = chosen[values == values.min()]
            if len(chosen) == 1:
                break
        out[by] = int(chosen[0])
    return out


def group_indices(workload: np.ndarray, batch: np.ndarray) -> dict[tuple, np.ndarray]:
    """The indices of the points of each ``(workload, batch)``, in order, the groups in the
    order they first appear.

    Parameters
    ----------
    workload, batch : numpy.ndarray, shape (n,)
        Object arrays (``batch`` may hold None) or numeric ones.

    Returns
    -------
    dict of tuple to numpy.ndarray of int64
    """
    workload, batch = np.asarray(workload), np.asarray(batch)
    if workload.shape != batch.shape or workload.ndim != 1:
        raise ValueError(f"workload and batch must be 1-D of one length, got shapes "
                         f"{workload.shape} and {batch.shape}")  # fmt: skip
    names, name_codes = distinct(workload)
    batches, batch_codes = distinct(batch)
    pairs, pair_codes = distinct(name_codes * len(batches) + batch_codes)
    if not pairs:
        return {}
    order = np.argsort(pair_codes, kind="stable")
    splits = np.cumsum(np.bincount(pair_codes, minlength=len(pairs)))[:-1]
    keys = [(names[p // len(batches)], batches[p % len(batches)]) for p in pairs]
    return dict(zip(keys, np.split(order, splits), strict=True))


def distinct(values: np.ndarray) -> tuple[list, np.ndarray]:
    """The distinct values in the order they first appear, and each value's place among
    them.

    Parameters
    ----------
    values : numpy.ndarray, shape (n,)
        Hashable objects (None too) or numbers.

    Returns
    -------
    distinct : list
    codes : numpy.ndarray of int64, shape (n,)
    """
    if values.dtype == object:  # not sortable in general (None beside ints): a dict
        lookup = {value: i for i, value in enumerate(dict.fromkeys(values.tolist()))}
        found = np.fromiter(map(lookup.__getitem__, values.tolist()), np.int64, len(values))
        return list(lookup), found
    found, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    seen = np.argsort(first)
    rank = np.empty(len(found), dtype=np.int64)
    rank[seen] = np.arange(len(found))
    return found[seen].tolist(), rank[inverse.reshape(-1)]


def workload_groups(records: Sequence[dict]) -> dict[tuple[str, int | None], list[dict]]:
    """The records of each ``(workload, batch)``, in their order (:func:`group_indices`)."""
    records = list(records)
    keys = record_columns(records, ("workload", "batch"))
    groups = group_indices(keys["workload"], keys["batch"])
    return {key: [records[i] for i in chosen] for key, chosen in groups.items()}


def label(workload: str, batch: int | None) -> str:
    """A workload's name with its batch, for titles and tables."""
    return workload if batch is None else f"{workload}, batch {batch}"


def best(records: Sequence[dict]) -> list[dict]:
    """The best finished point of each workload by cycles, by energy and by area
    (:data:`BEST`): ``{"by": ..., **record}`` each, workload by workload."""
    finished = [record for record in records if record["status"] == "ok"]
    names = dict.fromkeys(cost for costs in BEST.values() for cost in costs)
    columns = record_columns(finished, ("workload", "batch", *names))
    out = []
    for chosen in group_indices(columns["workload"], columns["batch"]).values():
        for by, i in best_indices(columns, chosen).items():
            out.append({"by": by, **finished[i]})
    return out
