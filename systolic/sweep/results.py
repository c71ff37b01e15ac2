"""A sweep's results in the spec's order, as columns: what ``points.csv``, the summary and the
Pareto plots are made of.

::

    Expansion.parts (blocks, point dicts) + Store (columns/ files, points.jsonl records)
        -> segments, in order: Rows of columns (a run of a block's points found in the
           columns/ files) or Rows of records (everything else), then the skipped points

A million points never become a million dicts: a block's points found in the ``columns/``
files become columns of the Report fields, gathered by key (:class:`BulkIndex`); only points
stored one by one (machines, values, failed points, small tasks) are records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from systolic.sweep.block import Block, PointColumns, filled, hex_keys
from systolic.sweep.pareto import record_columns
from systolic.sweep.point import RESULTS
from systolic.sweep.store import Bulk, Store


class BulkIndex:
    """The points of every ``columns/`` file of a store, found by key."""

    def __init__(self, bulks: Sequence[Bulk]):
        self.bulks = list(bulks)
        empty = np.zeros(0, dtype=np.uint64)
        self.high = np.concatenate([bulk.high for bulk in bulks]) if bulks else empty
        self.low = np.concatenate([bulk.low for bulk in bulks]) if bulks else empty
        self._order = np.argsort(self.high, kind="stable")
        self._sorted = self.high[self._order]
        self._columns: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.high)

    def find(self, high: np.ndarray, low: np.ndarray) -> np.ndarray:
        """The row of each key (its lanes ``high`` and ``low``), -1 where it is not stored."""
        if not len(self):
            return np.full(len(high), -1, dtype=np.int64)
        place = np.minimum(np.searchsorted(self._sorted, high), len(self) - 1)
        row = self._order[place]
        out = np.where((self._sorted[place] == high) & (self.low[row] == low), row, -1)
        # keys that share a high lane (one in 2^64 pairs) are told apart by their low lanes
        stop = np.searchsorted(self._sorted, high, side="right")
        for i in np.flatnonzero((out < 0) & (stop - place > 1)).tolist():
            rows = self._order[place[i] : stop[i]]
            match = rows[self.low[rows] == low[i]]
            out[i] = match[0] if len(match) else -1
        return out

    def column(self, name: str) -> np.ndarray:
        """The result ``name`` of every stored point, in row order."""
        if name not in self._columns:
            values = [bulk.results[name] for bulk in self.bulks]
            if values and _same(values):  # one value for all: a view, written once
                self._columns[name] = filled(values[0], len(self))
            else:
                parts = [
                    filled(value, len(bulk)) for value, bulk in zip(values, self.bulks, strict=True)
                ]
                self._columns[name] = np.concatenate(parts) if parts else np.zeros(0)
        return self._columns[name]


def _same(values: list) -> bool:
    """Whether ``values`` are all one value of one type, none an array (by repr: 0.0 is not
    -0.0, which the CSV writes apart)."""
    first = values[0]
    return not isinstance(first, np.ndarray) and all(
        type(value) is type(first) and repr(value) == repr(first) for value in values
    )


class Rows:
    """Consecutive rows of the results: ``columns`` (a mapping of arrays by field of
    ``point.FIELDS``, all ``ok``) or ``records`` (a list of dicts)."""

    def __init__(self, columns=None, records: list[dict] | None = None):
        self.columns, self.records = columns, records

    def __len__(self) -> int:
        return len(self.records) if self.columns is None else len(self.columns["rows"])

    def ok(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """The fields ``names`` of the finished points, as arrays."""
        if self.columns is not None:
            return {name: self.columns[name] for name in names}
        done = [record for record in self.records if record["status"] == "ok"]
        out = record_columns(done, names)
        if "key" in out:
            out["key"] = out["key"].astype("U32")
        return out


def segments(parts: Sequence, store: Store, index: BulkIndex) -> Iterator[Rows]:
    """The rows of ``parts`` (an expansion's), in order, from ``store``."""
    pending: list[dict] = []
    for part in parts:
        if not isinstance(part, Block):
            pending.append(store.records[part["key"]])
            continue
        rows = index.find(part.high, part.low)
        found = rows >= 0
        edges = [0, *(np.flatnonzero(found[1:] != found[:-1]) + 1).tolist(), len(part)]
        for start, stop in zip(edges, edges[1:], strict=False):
            if found[start]:
                if pending:
                    yield Rows(records=pending)
                    pending = []
                where = slice(start, stop)
                columns = PointColumns(part.base, part.configs.taken(where), part.high[where],
                                       part.low[where], _Gathered(index, rows[where]))  # fmt: skip
                yield Rows(columns=columns)
            else:
                keys = hex_keys(part.high[start:stop], part.low[start:stop])
                pending += [store.records[key] for key in keys.tolist()]
    if pending:
        yield Rows(records=pending)


class _Gathered(Mapping):
    """The results of the points at ``rows`` of ``index``, gathered when first read."""

    def __init__(self, index: BulkIndex, rows: np.ndarray):
        self.index = index
        # a fresh sweep stores a block's points in order: a run of rows is a view, not a copy
        run = len(rows) > 0 and rows[-1] - rows[0] == len(rows) - 1
        self.rows = slice(rows[0], rows[-1] + 1) if run and (np.diff(rows) == 1).all() else rows

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in RESULTS:
            raise KeyError(name)
        return self.index.column(name)[self.rows]

    def __iter__(self):
        return iter(RESULTS)

    def __len__(self) -> int:
        return len(RESULTS)


#: the fields of the finished points that the summary and the plots read
SUMMARY = ("key", "workload", "batch", "machine", "rows", "cols", "dataflow", "weight_load",
           "accumulator_rows", "dtype", "energy", "total_cycles", "utilization", "energy_pj",
           "area_mm2", "max_abs_error")  # fmt: skip


def groups(rows: Sequence[Rows]) -> dict[tuple[str, int | None], dict[str, np.ndarray]]:
    """The finished points of each ``(workload, batch)``, in order, as arrays of
    :data:`SUMMARY`."""
    pieces: dict[tuple, list[dict]] = {}
    for part in rows:
        if part.columns is not None:
            run = (part.columns.base["workload"], part.columns.base["batch"])
            pieces.setdefault(run, []).append(part.ok(SUMMARY))
            continue
        runs: dict[tuple, list[dict]] = {}
        for record in part.records:
            if record["status"] == "ok":
                runs.setdefault((record["workload"], record["batch"]), []).append(record)
        for run, records in runs.items():
            pieces.setdefault(run, []).append(Rows(records=records).ok(SUMMARY))
    return {run: {name: _joined([piece[name] for piece in parts]) for name in SUMMARY}
            for run, parts in pieces.items()}  # fmt: skip


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    """Arrays one after another: numeric if all are of one numeric kind, text if all are
    text, else of objects."""
    if len(arrays) == 1:
        return arrays[0]
    kinds = {array.dtype.kind for array in arrays}
    if len(kinds) == 1 and kinds <= set("iufbSU"):
        return np.concatenate(arrays)
    return np.concatenate([array.astype(object) for array in arrays])


def write_csv(path, rows: Sequence[Rows]):
    """Write ``rows`` as ``points.csv`` (``point.FIELDS``, one row each), whole; its path."""
    import csv
    import io

    from systolic.files import EarlyWriteback, atomic_write
    from systolic.sweep.point import FIELDS
    from systolic.sweep.table import write_rows

    def write(handle) -> None:
        handle = EarlyWriteback(handle)  # hundreds of megabytes: on to the disk as they come
        text = io.StringIO()
        csv.DictWriter(text, fieldnames=FIELDS, lineterminator="\n").writeheader()
        handle.write(text.getvalue().encode())
        for part in rows:
            if part.columns is not None:
                write_rows(part.columns, FIELDS, handle)
                continue
            text = io.StringIO()
            writer = csv.DictWriter(text, fieldnames=FIELDS, lineterminator="\n",
                                    extrasaction="ignore")  # fmt: skip
            writer.writerows(part.records)
            handle.write(text.getvalue().encode())

    atomic_write(path, write, binary=True)
    return path


def errors(rows: Sequence[Rows]) -> dict[str, int]:
    """Each distinct error of the failed points with how many points it stopped."""
    out: dict[str, int] = {}
    for part in rows:
        for record in part.records or ():
            if record["status"] == "failed":
                out[record["error"]] = out.get(record["error"], 0) + 1
    return out
