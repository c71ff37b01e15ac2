"""The results of a sweep in a folder, kept point by point so that an interrupted sweep resumes.

::

    DIR/sweep.json     the spec format and the package version of the results
    DIR/points.jsonl   one JSON line per finished point, appended and synced as it arrives
    DIR/columns/N.npz  the finished points of one bulk task, as columns, written whole
    DIR/points.csv     the spec's points, one row each, written whole at the end
    DIR/pareto_*.png   cycles against energy and against area, per workload

A point's line holds its key (``systolic.sweep.spec.expand``), ``status`` (``"ok"`` or
``"failed"``, with ``error``), its parameters and its results (``systolic.sweep.point``). The
last line for a key wins, so a failed point computed again replaces its error. A process
killed while appending leaves at most a truncated last line: readers skip it, and the next
sweep cuts it off before appending. One sweep at a time writes a folder (a lock on
``points.jsonl``).

A task of at least ``block.BULK`` bare-array points without values (``block.Piece``) stores
its finished points in one file of ``columns/`` instead: NumPy's ``.npz`` (read with
``allow_pickle=False``), holding each point's key (two uint64 lanes, ``block.array_keys``),
its configuration codes (``vectorized.Configs``), each result field of :data:`RESULTS` that
varies as an array, and a JSON header with the run's parameters, the fields that do not vary
and the names behind the codes. It is written to a temporary file, synced and renamed, so a
killed sweep leaves whole files only; its failed points still go to ``points.jsonl``. The
points of a ``columns/`` file are finished: a rerun never computes them again.
"""

from __future__ import annotations

import csv
import json
import os
import zipfile
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from systolic.files import atomic_write
from systolic.sweep import block
from systolic.sweep.block import KEY_FIELDS, Piece, hex_keys, point_params
from systolic.sweep.point import FIELDS, RESULTS, Columns
from systolic.sweep.spec import SPEC_FORMAT
from systolic.sweep.vectorized import DATAFLOWS, DTYPES, WEIGHT_LOADS

META = "sweep.json"
POINTS = "points.jsonl"
CSV = "points.csv"
COLUMNS = "columns"
#: the names behind the codes of a ``columns/`` file
_CODES = {"dataflow": [flow.value for flow in DATAFLOWS],
          "weight_load": [load.value for load in WEIGHT_LOADS], "dtype": list(DTYPES)}  # fmt: skip


def package_version() -> str:
    """The installed package's version ("unknown" in a source tree that was never installed)."""
    try:
        return version("systolic")
    except PackageNotFoundError:
        return "unknown"


def read_points(path: Path) -> tuple[dict[str, dict], int]:
    """The records of a ``points.jsonl``, the last one per key, and the length in bytes of
    its whole lines (a truncated last line, left by a killed write, is not read).

    Raises
    ------
    ValueError
        A whole line that is not a record (the file was edited or is not a sweep's).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, 0
    whole = data.rfind(b"\n") + 1
    records = {}
    for number, line in enumerate(data[:whole].splitlines(), start=1):
        try:
            record = json.loads(line)
            records[record["key"]] = record
        except (ValueError, TypeError, KeyError):
            raise ValueError(f"{path}, line {number}: not a sweep point's record") from None
    return records, whole


def json_lines(records: Iterable[dict]) -> str:
    """The lines of ``records`` in ``points.jsonl``, ``json.dumps`` of each."""
    return "".join(json.dumps(record, allow_nan=True) + "\n" for record in records)


class Store:
    """A sweep's results folder: :meth:`open` reads it, :meth:`begin` makes it ready to take
    points, :meth:`append` stores them, :meth:`close` releases it.

    Parameters
    ----------
    folder : Path
        The results folder; it is made by :meth:`begin` if missing.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.records: dict[str, dict] = {}
        #: the ``columns/`` files read and written, in order (:class:`Bulk`)
        self.bulk: list[Bulk] = []
        self._handle = None

    @classmethod
    def open(cls, folder: str | Path) -> Store:
        """Read what ``folder`` holds (nothing is written).

        Raises
        ------
        ValueError
            Results of another spec format, or a ``points.jsonl`` without ``sweep.json``.
        """
        store = cls(Path(folder))
        store._check()
        store.records, _ = read_points(store.folder / POINTS)
        store.bulk = read_bulk(store.folder / COLUMNS)
        return store

    def _check(self) -> None:
        meta, points = self.folder / META, self.folder / POINTS
        if not meta.exists():
            if points.exists():
                raise ValueError(f"{self.folder} holds {POINTS} but no {META}: not a sweep's")
            return
        try:
            found = json.loads(meta.read_text(encoding="utf-8"))["format"]
        except (ValueError, TypeError, KeyError):
            raise ValueError(f"{meta}: not a sweep's metadata") from None
        if found != SPEC_FORMAT:
            raise ValueError(
                f"{self.folder} holds results of spec format {found!r}, this is format "
                f"{SPEC_FORMAT}; give another --out (results are never mixed)"
            )

    def begin(self) -> None:
        """Make the folder, write ``sweep.json``, take the lock, read what was stored since
        :meth:`open` and cut off a truncated last line.

        Raises
        ------
        ValueError
            Another sweep is writing the folder.
        """
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        self._check()
        handle = open(self.folder / POINTS, "ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ValueError(f"{self.folder} is being written by another sweep") from None
        self._handle = handle
        self.records, whole = read_points(self.folder / POINTS)
        self.bulk = read_bulk(self.folder / COLUMNS)
        handle.truncate(whole)  # a killed append's partial line; appends go after it
        meta = {"format": SPEC_FORMAT, "package_version": package_version()}
        atomic_write(self.folder / META, lambda out: json.dump(meta, out, indent=2))

    def append(self, records: Iterable[dict]) -> None:
        """Store finished points: their lines are written together, flushed and synced before
        this returns (one sync for the points of one task); the finished points of a bulk
        task as one ``columns/`` file (see the module docstring)."""
        if (isinstance(records, Columns) and isinstance(records.points, Piece)
                and len(records.points) >= block.BULK):  # fmt: skip
            bulk = Bulk.of_columns(records)
            folder = self.folder / COLUMNS
            folder.mkdir(exist_ok=True)
            number = max((int(path.stem) for path in _bulk_files(folder)), default=-1) + 1
            atomic_write(folder / f"{number:08d}.npz", bulk.write, binary=True)
            self.bulk.append(bulk)
            records = records.others
        records = list(records)  # Columns: a dict per point from here on
        self._handle.write(json_lines(records).encode())
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.records.update((record["key"], record) for record in records)

    def close(self) -> None:
        """Release the folder (the lock goes with the file)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def write_csv(self, rows: Sequence[dict]) -> Path:
        """Write ``rows`` (records, in the spec's order) as ``points.csv``, whole; return its
        path."""
        path = self.folder / CSV

        def write(handle) -> None:
            writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n",
                                    extrasaction="ignore")  # fmt: skip
            writer.writeheader()
            writer.writerows(rows)

        atomic_write(path, write)
        return path


class Bulk:
    """The finished points of one bulk task (a ``columns/`` file): their key lanes
    (``high``, ``low``), configuration codes (``configs``: arrays by ``block.KEY_FIELDS``),
    the run's parameters (``base``) and the results (``results``: an array or one value per
    field of :data:`RESULTS`)."""

    def __init__(self, high, low, configs: dict, base: dict, results: dict):
        self.high, self.low, self.configs, self.base, self.results = (
            high,
            low,
            configs,
            base,
            results,
        )

    def __len__(self) -> int:
        return len(self.high)

    @classmethod
    def of_columns(cls, records: Columns) -> Bulk:
        piece = records.points
        configs = piece.configs()
        high, low = piece.key_lanes()
        return cls(high, low, {name: getattr(configs, name) for name in KEY_FIELDS},
                   piece.block.base, dict(records.results))  # fmt: skip

    def write(self, handle) -> None:
        """Write the file: arrays at the narrowest integer type that holds them."""
        arrays = {"high": self.high, "low": self.low}
        arrays.update({f"config.{name}": _narrow(value) for name, value in self.configs.items()})
        scalars = {}
        for name, value in self.results.items():
            if isinstance(value, np.ndarray):
                arrays[f"result.{name}"] = _narrow(value)
            else:
                scalars[name] = value
        header = {"base": self.base, "scalars": scalars, "codes": _CODES}
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        np.savez(handle, **arrays)

    @classmethod
    def read(cls, path: Path) -> Bulk:
        """Read a ``columns/`` file.

        Raises
        ------
        ValueError
            A file that is not a sweep's, or of other codes.
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            header = json.loads(arrays.pop("header").tobytes())
            if header["codes"] != _CODES:
                raise ValueError
            configs = {name: arrays.pop(f"config.{name}").astype(np.int64)
                       for name in KEY_FIELDS}  # fmt: skip
            results = dict(header["scalars"])
            for name in RESULTS:
                if f"result.{name}" in arrays:
                    value = arrays[f"result.{name}"]
                    results[name] = value.astype(np.int64) if value.dtype.kind in "iu" else value
            if set(results) != set(RESULTS):
                raise ValueError
            return cls(arrays["high"], arrays["low"], configs, header["base"], results)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
            raise ValueError(f"{path}: not a sweep's columns file") from None

    def records(self) -> list[dict]:
        """Its points' records, a dict each (as ``point.evaluate`` gives them)."""
        keys = hex_keys(self.high, self.low).tolist()
        names = ("rows", "cols", "dataflow", "weight_load", "accumulator_rows", "dtype")
        params = zip(*(self.configs[name].tolist() for name in names), strict=True)
        columns = [self.results[name].tolist() if isinstance(self.results[name], np.ndarray)
                   else [self.results[name]] * len(self) for name in RESULTS]  # fmt: skip
        out = []
        for key, point, values in zip(keys, params, zip(*columns, strict=True), strict=True):
            record = {"key": key, "status": "ok", "error": None}
            record.update(point_params(self.base, *point))
            record.update(zip(RESULTS, values, strict=True))
            out.append(record)
        return out


def _narrow(values: np.ndarray) -> np.ndarray:
    """An integer array at the narrowest signed type that holds it (others as they are)."""
    if values.dtype.kind not in "iu" or not len(values):
        return values
    low, high = int(values.min()), int(values.max())
    for kind in (np.int8, np.int16, np.int32):
        info = np.iinfo(kind)
        if info.min <= low and high <= info.max:
            return values.astype(kind)
    return values


def _bulk_files(folder: Path) -> list[Path]:
    """The ``columns/`` files of ``folder`` in order (temporary files of a killed write are
    not among them)."""
    return sorted(path for path in folder.glob("*.npz") if path.stem.isdigit())


def read_bulk(folder: Path) -> list[Bulk]:
    """Every ``columns/`` file of a results folder, in order."""
    return [Bulk.read(path) for path in _bulk_files(folder)] if folder.is_dir() else []


def all_records(store: Store) -> dict[str, dict]:
    """Every stored record by key: ``points.jsonl``'s, then the ``columns/`` files' (a point
    there is finished, and replaces a failed record of an earlier run)."""
    out = dict(store.records)
    for bulk in store.bulk:
        out.update((record["key"], record) for record in bulk.records())
    return out
