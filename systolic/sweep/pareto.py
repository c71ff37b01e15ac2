"""The best points of a sweep and its Pareto fronts, per workload.

A point is on the Pareto front of two costs (cycles and energy, say) when no other point is
at most as costly in both and cheaper in one. Equal points are on the front together.

>>> front([{"c": 1, "e": 9}, {"c": 2, "e": 9}, {"c": 3, "e": 2}, {"c": 4, "e": 5}], "c", "e")
[0, 2]
"""

from __future__ import annotations

from collections.abc import Sequence

#: what "best" means: the cost minimised, then the costs that break a tie
BEST = {
    "cycles": ("total_cycles", "energy_pj", "area_mm2"),
    "energy": ("energy_pj", "total_cycles", "area_mm2"),
    "area": ("area_mm2", "total_cycles", "energy_pj"),
}
#: the Pareto fronts drawn and reported: cycles against each of these
FRONTS = ("energy_pj", "area_mm2")


def front(records: Sequence[dict], x: str, y: str) -> list[int]:
    """Indices of the records on the Pareto front of minimising ``x`` and ``y``, in order
    of ``x``."""
    order = sorted(range(len(records)), key=lambda i: (records[i][x], records[i][y]))
    out, lowest = [], None
    for position, i in enumerate(order):
        cost = (records[i][x], records[i][y])
        previous = order[position - 1] if position else None
        if previous is not None and (records[previous][x], records[previous][y]) == cost:
            if out and out[-1] == previous:  # the same costs as a point on the front
                out.append(i)
            continue
        if lowest is None or cost[1] < lowest:
            out.append(i)
            lowest = cost[1]
    return out


def workload_groups(records: Sequence[dict]) -> dict[tuple[str, int | None], list[dict]]:
    """The records of each ``(workload, batch)``, in their order."""
    groups: dict[tuple[str, int | None], list[dict]] = {}
    for record in records:
        groups.setdefault((record["workload"], record["batch"]), []).append(record)
    return groups


def label(workload: str, batch: int | None) -> str:
    """A workload's name with its batch, for titles and tables."""
    return workload if batch is None else f"{workload}, batch {batch}"


def best(records: Sequence[dict]) -> list[dict]:
    """The best finished point of each workload by cycles, by energy and by area
    (:data:`BEST`): ``{"by": ..., **record}`` each, workload by workload."""
    out = []
    for group in workload_groups(r for r in records if r["status"] == "ok").values():
        for by, costs in BEST.items():
            winner = min(group, key=lambda record: tuple(record[cost] for cost in costs))
            out.append({"by": by, **winner})
    return out


def front_indices(x, y):  # TEMPORARY shim
    import numpy as np

    records = [{"x": a, "y": b} for a, b in zip(x.tolist(), y.tolist(), strict=True)]
    return np.array(front(records, "x", "y"), dtype=np.int64)


def best_indices(columns):  # TEMPORARY shim
    n = len(columns["key"])
    return {
        by: min(range(n), key=lambda i: tuple(columns[c][i] for c in costs))
        for by, costs in BEST.items()
    }
