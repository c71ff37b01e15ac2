"""The bare-array points of one workload run as columns: a block, its keys, and slices of it.

::

    spec.expand --> Block (one run: workload, batch, seed, energy table, values;
                           Configs: rows, cols, dataflow, weight load, accumulator rows,
                           format, one entry per point; keys as two uint64 lanes)
                --> Piece (some of a block's points, by position) --> one Dask task

A sweep of a million points cannot afford a dict and a SHA-256 per point before it starts,
so the points of a ``[space]`` on bare arrays stay as arrays from expansion to the result
files. A point's key is the run's SHA-256 digest (its workload's layers, energy table,
parameters shared by the run, spec format and package version) mixed with the point's own
configuration by a 128-bit integer hash (:func:`array_keys`), vectorized; one point or a
million take the same function, so a point listed in ``[[points]]`` and the same point of
the space share their key. A :class:`Piece` is a sequence of point dicts like any chunk of
points (made one by one when read), so everything that takes a chunk takes a piece; the
fast path reads its arrays instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from systolic.sweep.vectorized import DATAFLOWS, DTYPES, UNLIMITED, WEIGHT_LOADS, Configs

#: the configuration fields mixed into a point's key, in order
KEY_FIELDS = ("rows", "cols", "accumulator_rows", "dataflow", "weight_load", "segment_rows",
              "dtype")  # fmt: skip
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _mix(state: np.ndarray, value: np.ndarray) -> np.ndarray:
    """One step of the key hash: ``value`` folded into ``state`` by SplitMix64's finalizer
    (uint64 arithmetic wraps, as the hash intends)."""
    z = (state ^ value) + _GOLDEN
    z = (z ^ (z >> _SHIFTS[0])) * _MIX[0]
    z = (z ^ (z >> _SHIFTS[1])) * _MIX[1]
    return z ^ (z >> _SHIFTS[2])


def array_keys(run_digest: str, configs: Configs) -> tuple[np.ndarray, np.ndarray]:
    """The keys of the points ``configs`` of one run, whose shared configuration hashes to
    ``run_digest`` (32 hex digits, ``spec.digest``): two uint64 lanes per point, seeded with
    the digest's halves and the lane's number, each folding in :data:`KEY_FIELDS` in
    turn."""
    lanes = []
    for lane, half in enumerate((run_digest[:16], run_digest[16:32])):
        state = np.full(len(configs), int(half, 16), dtype=np.uint64)
        state = _mix(state, np.uint64(lane))  # lanes differ even where the halves do not
        for name in KEY_FIELDS:
            state = _mix(state, getattr(configs, name).astype(np.uint64))
        lanes.append(state)
    return lanes[0], lanes[1]


def hex_keys(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Keys as 32 hex digits each (a str array of dtype ``U32``)."""
    raw = np.stack([high, low], axis=1).astype(">u8").view(np.uint8)
    # written as the code points of the str array itself: a bytes array's conversion to
    # str took longer than the digits
    digits = np.empty((len(high), 32), dtype=np.uint32)
    digits[:, 0::2], digits[:, 1::2] = _HEX[raw >> 4], _HEX[raw & 15]
    return digits.view("U32").reshape(len(high))


@dataclass
class Block:
    """The bare-array points of one run (see the module docstring): ``base`` (the run's
    parameters: workload, batch, seed, energy, values, machine None), ``configs`` and each
    point's key (``high`` and ``low`` lanes)."""

    base: dict
    configs: Configs
    high: np.ndarray
    low: np.ndarray

    def __len__(self) -> int:
        return len(self.configs)

    @property
    def run(self) -> tuple[str, int | None]:
        """The ``(workload, batch)`` of the points."""
        return self.base["workload"], self.base["batch"]

    def piece(self, positions: np.ndarray | None = None) -> Piece:
        """The points at ``positions`` (all of them by default)."""
        if positions is None:
            positions = np.arange(len(self), dtype=np.int64)
        return Piece(self, np.asarray(positions, dtype=np.int64))


class Piece(Sequence):
    """Some points of a :class:`Block`, by ``positions`` in it: a sequence of point dicts
    (``spec.expand``'s, made when read) whose arrays :meth:`configs` and :meth:`keys` give
    without making them."""

    def __init__(self, block: Block, positions: np.ndarray):
        self.block, self.positions = block, positions

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.taken(index)
        return self._points(self.positions[[index]])[0]

    def __iter__(self):
        yield from self._points(self.positions)

    def __reduce__(self):
        # a task carries its own points, not the whole block they came from
        compact = Block(self.block.base, self.configs(), *self.key_lanes())
        return Piece, (compact, np.arange(len(self), dtype=np.int64))

    def taken(self, index: np.ndarray | slice) -> Piece:
        """The points at ``index`` of this piece."""
        return Piece(self.block, self.positions[index])

    def configs(self) -> Configs:
        return self.block.configs.taken(self.positions)

    def key_lanes(self) -> tuple[np.ndarray, np.ndarray]:
        return self.block.high[self.positions], self.block.low[self.positions]

    def _points(self, positions: np.ndarray) -> list[dict]:
        configs = self.block.configs.taken(positions)
        keys = hex_keys(self.block.high[positions], self.block.low[positions])
        names = ("rows", "cols", "dataflow", "weight_load", "accumulator_rows", "dtype")
        lists = [getattr(configs, name).tolist() for name in names]
        columns = zip(keys.tolist(), *lists, strict=True)
        return [
            {"key": key, **point_params(self.block.base, rows, cols, flow, load, acc, dtype)}
            for key, rows, cols, flow, load, acc, dtype in columns
        ]


def point_params(base: dict, rows, cols, flow, load, acc, dtype) -> dict:
    """A bare-array point's parameters (``point.PARAMS``) from its run's and its codes."""
    from systolic.sweep.point import PARAMS

    values = {**base, "machine": None, "rows": rows, "cols": cols,
              "dataflow": DATAFLOWS[flow].value, "weight_load": WEIGHT_LOADS[load].value,
              "accumulator_rows": None if acc == UNLIMITED else acc,
              "dtype": DTYPES[dtype]}  # fmt: skip
    return {name: values[name] for name in PARAMS}


#: the fewest points of a task stored as columns (``store``)
BULK = 1024


class PointColumns(Mapping):
    """Every field of ``point.FIELDS`` of some finished bare-array points of one run, made
    when first read: ``base`` (the run's parameters), their ``configs``, keys (lanes
    ``high`` and ``low``) and ``results`` (by name of ``point.RESULTS``: an array of one
    entry per point, or one value for all)."""

    def __init__(self, base: dict, configs: Configs, high, low, results: Mapping):
        self.base, self.configs, self.high, self.low = base, configs, high, low
        self.results = results
        self._made: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        from systolic.sweep.point import FIELDS

        return len(FIELDS)

    def __iter__(self):
        from systolic.sweep.point import FIELDS

        return iter(FIELDS)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._made:
            self._made[name] = self._column(name)
        return self._made[name]

    def _column(self, name: str) -> np.ndarray:
        count = len(self.configs)
        if name == "key":
            return hex_keys(self.high, self.low)
        if name in ("rows", "cols"):
            return getattr(self.configs, name)
        if name in _NAMES:
            return _NAMES[name][getattr(self.configs, name)]
        if name == "accumulator_rows":
            acc = self.configs.accumulator_rows.astype(object)
            acc[self.configs.accumulator_rows == UNLIMITED] = None
            return acc
        fixed = {"status": "ok", "error": None, "machine": None}
        value = fixed[name] if name in fixed else self.base.get(name, self.results.get(name))
        return filled(value, count)


def filled(value, count: int) -> np.ndarray:
    """A result field of ``count`` points as an array: ``value`` itself if it is one, else
    ``value`` repeated ``count`` times (of objects for None and text), a read-only view of
    one entry (stride 0), which ``table`` writes once."""
    if isinstance(value, np.ndarray):
        return value
    one = np.asarray(value, dtype=object if value is None or isinstance(value, str) else None)
    return np.broadcast_to(one, (count,))


#: the names behind the codes of :class:`~systolic.sweep.vectorized.Configs`
_NAMES = {
    "dataflow": np.array([flow.value for flow in DATAFLOWS], dtype=object),
    "weight_load": np.array([load.value for load in WEIGHT_LOADS], dtype=object),
    "dtype": np.array(DTYPES, dtype=object),
}
