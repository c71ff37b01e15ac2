"""The results of a sweep in a folder, kept point by point so that an interrupted sweep resumes.

::

    DIR/sweep.json     the spec format and the package version of the results
    DIR/points.jsonl   one JSON line per finished point, appended and synced as it arrives
    DIR/points.csv     the spec's points, one row each, written whole at the end
    DIR/pareto_*.png   cycles against energy and against area, per workload

A point's line holds its key (``systolic.sweep.spec.expand``), ``status`` (``"ok"`` or
``"failed"``, with ``error``), its parameters and its results (``systolic.sweep.point``). The
last line for a key wins, so a failed point computed again replaces its error. A process
killed while appending leaves at most a truncated last line: readers skip it, and the next
sweep cuts it off before appending. One sweep at a time writes a folder (a lock on
``points.jsonl``).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from systolic.files import atomic_write
from systolic.sweep.point import FIELDS
from systolic.sweep.spec import SPEC_FORMAT

META = "sweep.json"
POINTS = "points.jsonl"
CSV = "points.csv"


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
        handle.truncate(whole)  # a killed append's partial line; appends go after it
        meta = {"format": SPEC_FORMAT, "package_version": package_version()}
        atomic_write(self.folder / META, lambda out: json.dump(meta, out, indent=2))

    def append(self, records: Iterable[dict]) -> None:
        """Store finished points: their lines are written together, flushed and synced before
        this returns (one sync for the points of one task)."""
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
