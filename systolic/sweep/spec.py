"""Sweep specs: a TOML file naming workloads and a design space, expanded into points.

::

    spec.toml --load_spec--> Spec (checked; workloads and energy tables loaded)
              --expand-----> points (dicts of parameters, each keyed by its configuration)
                             + skipped (combinations the array or machine refuses)

A spec has up to four top-level keys: ``format`` (the spec format, ``SPEC_FORMAT``),
``[workloads]`` (``mlp`` layer sizes and workload ``files`` or bundled network names),
``[space]`` (lists or ranges of every axis of :data:`AXES`; their cross product) and
``[[points]]`` (points listed one by one). README.md, "Design-space sweeps", documents every
key. A bad spec is refused in one line naming the file, the line and the key, e.g.
``sweep.toml, line 7: space.batch: expected a positive integer, got '10'``; tomllib gives no
line numbers for keys, so :func:`key_line` finds them in the text.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import math
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from systolic.config import ArrayConfig, Dataflow, WeightLoad
from systolic.energy import PRESETS as ENERGY_PRESETS
from systolic.energy import EnergyTable
from systolic.energy import table as energy_table
from systolic.machine.config import MachineConfig
from systolic.numerics import FORMATS
from systolic.sweep.block import Block, array_keys
from systolic.sweep.point import PARAMS, machine_config
from systolic.sweep.vectorized import DATAFLOWS, DTYPES, UNLIMITED, WEIGHT_LOADS, Configs
from systolic.workloads import Layer, load_workload, mlp_gemms

#: the version of the spec and result format; a folder of another version is refused
SPEC_FORMAT = 1
#: the most points a spec may expand to, and the most values one range may give
MAX_POINTS = 1_000_000
MAX_RANGE = 10_000
#: the axes of the design space
AXES = (
    "array", "dataflow", "weight_load", "accumulator_rows", "dtype", "batch", "seed", "energy",
    "machine",
)  # fmt: skip
#: the axes that take ranges (``{from, to, step}``)
RANGED = ("array", "accumulator_rows", "batch", "seed")
#: batches of the workloads that take one, when the spec gives none
DEFAULT_BATCH = {"mlp": 10, "network": 1}
#: the energy table of a point that names none
DEFAULT_ENERGY = "horowitz45"
_TOP_KEYS = ("format", "workloads", "space", "points")
_WORKLOAD_KEYS = ("mlp", "files")
_POINT_KEYS = (*AXES, "mlp", "file")
_RANGE_KEYS = ("from", "to", "step")
#: a table header, ``[name]`` or ``[[name]]`` (not a line of a multi-line array)
_HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")


@dataclass(frozen=True)
class Workload:
    """A workload of a spec: an MLP's training step (``sizes``) or a file or bundled network
    (``source``, resolved against the spec's folder). ``label`` names it in the results."""

    label: str
    sizes: tuple[int, ...] | None = None
    source: str | None = None

    @property
    def takes_batch(self) -> bool:
        """MLPs, bundled networks and ONNX models take a batch; CSV and JSON files fix theirs."""
        return self.source is None or Path(self.source).suffix.lower() not in (".csv", ".json")

    @property
    def default_batch(self) -> int | None:
        """The batch when the spec gives none (None for a file that fixes its own)."""
        if not self.takes_batch:
            return None
        return DEFAULT_BATCH["mlp" if self.sizes is not None else "network"]

    def layers(self, batch: int | None) -> list[Layer]:
        """The workload's layers at ``batch``."""
        if self.sizes is not None:
            return mlp_gemms(self.sizes, batch)
        return load_workload(self.source, batch)


@dataclass
class Spec:
    """A checked spec (:func:`load_spec`): its workloads, its axes (``space``, None without
    ``[space]``), its explicit points (each a dict of single values, with ``"workload"`` None
    for every workload of ``[workloads]``), its energy tables and its workloads' layers by
    ``(label, batch)``."""

    path: Path
    workloads: list[Workload]
    space: dict[str, list] | None
    points: list[dict]
    tables: dict[str, EnergyTable] = field(default_factory=dict)
    layers: dict[tuple[str, int | None], list[Layer]] = field(default_factory=dict)


@dataclass
class Expansion:
    """The points of a spec (:func:`expand`), unique and in order: ``parts``, each a
    :class:`~systolic.sweep.block.Block` (the bare-array points of one run, as columns) or
    one point's dict of ``systolic.sweep.point.PARAMS`` plus ``key`` (a machine preset's);
    the combinations the array or machine refuses as ``(parameters, reason)``; and what a
    worker needs to evaluate them (``context``: ``"layers"`` and ``"tables"``)."""

    parts: list[Block | dict]
    skipped: list[tuple[dict, str]]
    context: dict

    def __len__(self) -> int:
        return sum(len(part) if isinstance(part, Block) else 1 for part in self.parts)

    @property
    def points(self) -> list[dict]:
        """Every point as a dict (made on each call: a million points take seconds; the
        sweep itself reads ``parts``)."""
        return [point for part in self.parts
                for point in (part.piece() if isinstance(part, Block) else [part])]  # fmt: skip


def key_line(text: str, table: str, key: str, index: int | None = None) -> int | None:
    """The line (from 1) where ``key`` is set in ``table`` of the TOML ``text`` (``""``: the
    top level; with ``index``, the index-th ``[[table]]``), or None where it cannot be found.
    A key of the top level also matches its ``[key]`` or ``[[key]]`` header."""
    current, seen = "", {}
    names = [re.escape(part) for part in (*table.split("."), key) if part]
    dotted = r"\s*\.\s*".join(names)
    own = re.escape(key)
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = header[2].replace(" ", "")
            if header[1] == "[[":
                seen[current] = seen.get(current, -1) + 1
            if not table and current.split(".")[0] == key:
                return number
            continue
        here = current == table and (index is None or seen.get(table) == index)
        if here and re.match(rf"\s*(?:{own}|\"{own}\"|'{own}')\s*=", line):
            return number
        if not current and re.match(rf"\s*{dotted}\s*(=|\.)", line):
            return number
    return None


class _Where:
    """Turns a problem with a key into a one-line error naming the file and the line."""

    def __init__(self, path: Path, text: str):
        self.path, self.text = path, text

    def error(self, table: str, key: str, message: str, index: int | None = None) -> ValueError:
        line = key_line(self.text, table, key, index)
        where = f"{self.path}, line {line}" if line is not None else str(self.path)
        name = (
            f"{table}[{index}].{key}" if index is not None else ".".join(filter(None, (table, key)))
        )
        return ValueError(f"{where}: {name}: {message}")


def _integer(value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"expected {what}, got {value!r}")
    return value


def _choice(valid: list[str], what: str):
    def parse(value: object) -> str:
        if not isinstance(value, str) or value not in valid:
            raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(valid)}")
        return value

    return parse


def _array(value: object) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value, value
    match = (
        re.fullmatch(r"\s*([0-9]+)\s*[xX]\s*([0-9]+)\s*", value) if isinstance(value, str) else None
    )
    if match is None or min(int(match[1]), int(match[2])) < 1:
        raise ValueError(f'expected an array size like "32x32" or 32, got {value!r}')
    return int(match[1]), int(match[2])


def _accumulator(value: object) -> int | None:
    if value == "unlimited":
        return None
    if isinstance(value, str):
        raise ValueError(f'expected a positive integer or "unlimited", got {value!r}')
    return _integer(value, 1)


def _energy(value: object) -> str:
    if not isinstance(value, str) or not (value in ENERGY_PRESETS or value.endswith(".toml")):
        raise ValueError(
            f"unknown energy table {value!r}; presets: {', '.join(ENERGY_PRESETS)}, or a .toml"
        )
    return value


def _machine(value: object) -> str:
    from systolic.machine import preset_names

    return _choice(preset_names(), "machine")(value)


#: how each axis reads one of its values
_PARSERS = {
    "array": _array,
    "dataflow": _choice([flow.value for flow in Dataflow], "dataflow"),
    "weight_load": _choice([mode.value for mode in WeightLoad], "weight_load"),
    "accumulator_rows": _accumulator,
    "dtype": _choice(list(FORMATS), "dtype"),
    "batch": lambda value: _integer(value, 1),
    "seed": lambda value: _integer(value, 0),
    "energy": _energy,
    "machine": _machine,
}


def _range(table: dict) -> list[int]:
    """The integers of ``{from, to, step}``: ``step`` an integer added (default 1) or
    ``"xN"``, a factor."""
    for key in table:
        if key not in _RANGE_KEYS:
            raise ValueError(f"unknown range key {key!r}; valid: {', '.join(_RANGE_KEYS)}")
    for key in ("from", "to"):
        if key not in table:
            raise ValueError(
                "a range needs 'from' and 'to', e.g. {from = 8, to = 128, step = \"x2\"}"
            )
        _integer(table[key], 0)
    start, stop, step = table["from"], table["to"], table.get("step", 1)
    factor = re.fullmatch(r"[xX]\s*([0-9]+)", step) if isinstance(step, str) else None
    if (
        factor is not None
        and int(factor[1]) < 2
        or factor is None
        and (isinstance(step, bool) or not isinstance(step, int) or step < 1)
    ):
        raise ValueError(f'step must be a positive integer or "xN" with N >= 2, got {step!r}')
    if stop < start or factor is not None and start == 0:
        raise ValueError(f"empty range from {start} to {stop}")
    values, value = [], start
    while value <= stop:
        if len(values) == MAX_RANGE:
            raise ValueError(f"the range gives more than {MAX_RANGE:,} values")
        values.append(value)
        value = value * int(factor[1]) if factor is not None else value + step
    return values


def _axis(where: _Where, table: str, key: str, value: object, index: int | None = None) -> list:
    """The values of one axis: a list of values or ranges, a range, or one value."""
    parse = _PARSERS[key]
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        raise where.error(table, key, "empty list; give at least one value", index)
    out = []
    try:
        for item in items:
            if isinstance(item, dict) and key not in RANGED:
                raise ValueError(f"ranges apply to {', '.join(RANGED)} only")
            out.extend(map(parse, _range(item)) if isinstance(item, dict) else [parse(item)])
    except ValueError as error:
        raise where.error(table, key, str(error), index) from None
    return list(dict.fromkeys(out))


def _mlp(where: _Where, table: str, key: str, value: object, index: int | None = None) -> Workload:
    """An MLP's layer sizes, ``"784,30,10"`` or ``[784, 30, 10]``."""
    try:
        sizes = value.split(",") if isinstance(value, str) else value
        if not isinstance(sizes, list) or len(sizes) < 2:
            raise ValueError
        sizes = tuple(int(size) if isinstance(size, str) else _integer(size, 1) for size in sizes)
        if min(sizes) < 1:
            raise ValueError
    except ValueError:
        raise where.error(
            table, key, f'expected layer sizes like "784,30,10", got {value!r}', index
        ) from None
    return Workload(f"mlp:{','.join(map(str, sizes))}", sizes=sizes)


def _file(where: _Where, table: str, key: str, value: object, index: int | None = None) -> Workload:
    """A workload file (relative to the spec's folder) or a bundled network's name."""
    if not isinstance(value, str) or not value:
        raise where.error(table, key, f"expected a file or network name, got {value!r}", index)
    path = where.path.parent / value
    source = str(path) if path.exists() or Path(value).suffix else value
    return Workload(value, source=source)


def _check_keys(where: _Where, table: str, data: dict, valid: tuple, index: int | None = None):
    for key in data:
        if key not in valid:
            raise where.error(table, key, f"unknown key; valid: {', '.join(valid)}", index)


def load_spec(path: str | Path) -> Spec:
    """Read and check a sweep spec; load its workloads and energy tables.

    Raises
    ------
    ValueError
        An unreadable file, bad TOML, an unknown key, an empty list or range, a value of the
        wrong type, a workload or energy table that cannot be loaded, or a spec of another
        format; one line naming the file, the line and the key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not TOML: {error}") from None
    where = _Where(path, text)
    _check_keys(where, "", data, _TOP_KEYS)
    version = data.get("format", SPEC_FORMAT)
    if version != SPEC_FORMAT:
        raise where.error("", "format", f"this is spec format {SPEC_FORMAT}, got {version!r}")
    for key, kind, expected in (("workloads", dict, "a table [workloads]"),
                                ("space", dict, "a table [space]"),
                                ("points", list, "tables [[points]]")):  # fmt: skip
        if key in data and not isinstance(data[key], kind):
            raise where.error("", key, f"expected {expected}")
    workloads = _workloads(where, data.get("workloads", {}))
    space = None
    if "space" in data:
        _check_keys(where, "space", data["space"], AXES)
        space = {key: _axis(where, "space", key, value) for key, value in data["space"].items()}
        if "array" not in space and "machine" not in space:
            raise where.error("", "space", "give array (bare arrays), machine (presets) or both")
    points = [_point(where, index, entry) for index, entry in enumerate(data.get("points", []))]
    if space is None and not points:
        raise ValueError(f"{path}: no points: give a [space] or [[points]]")
    if not workloads and (space is not None or any(p["workload"] is None for p in points)):
        raise where.error("", "workloads", "no workload: give mlp or files")
    spec = Spec(path, workloads, space, points)
    _load(where, spec)
    return spec


def _workloads(where: _Where, table: dict) -> list[Workload]:
    _check_keys(where, "workloads", table, _WORKLOAD_KEYS)
    out = []
    for key, parse in (("mlp", _mlp), ("files", _file)):
        value = table.get(key, [])
        for item in value if isinstance(value, list) else [value]:
            out.append(parse(where, "workloads", key, item))
    return list(dict.fromkeys(out))


def _point(where: _Where, index: int, entry: object) -> dict:
    """One ``[[points]]`` table: single values, and at most one workload."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where.path}: points[{index}]: expected a table [[points]]")
    _check_keys(where, "points", entry, _POINT_KEYS, index)
    point = {}
    for key, value in entry.items():
        if key in ("mlp", "file"):
            continue
        if isinstance(value, list | dict):
            raise where.error("points", key, "a point takes one value; lists and ranges "
                              "belong in [space]", index)  # fmt: skip
        (point[key],) = _axis(where, "points", key, value, index)
    if "mlp" in entry and "file" in entry:
        raise where.error("points", "file", "a point runs one workload: mlp or file", index)
    if "array" in point and "machine" in point:
        raise where.error("points", "machine", "a point is an array or a machine, not both", index)
    if "array" not in point and "machine" not in point:
        raise where.error("points", "array", "missing: give array or machine", index)
    point["workload"] = None
    if "mlp" in entry:
        point["workload"] = _mlp(where, "points", "mlp", entry["mlp"], index)
    elif "file" in entry:
        point["workload"] = _file(where, "points", "file", entry["file"], index)
    return point


def _load(where: _Where, spec: Spec) -> None:
    """Load every energy table and every workload at every batch the spec runs it at."""
    names = {(name, None) for name in (spec.space or {}).get("energy", [DEFAULT_ENERGY])}
    names |= {
        (point["energy"], index) for index, point in enumerate(spec.points) if "energy" in point
    }
    if any("energy" not in point for point in spec.points):
        names.add((DEFAULT_ENERGY, None))
    for name, index in sorted(names, key=lambda item: (item[0], item[1] is None)):
        if name in spec.tables:
            continue
        try:
            source = name if name in ENERGY_PRESETS else str(where.path.parent / name)
            spec.tables[name] = energy_table(source)
        except ValueError as error:
            table = "space" if index is None else "points"
            raise where.error(table, "energy", str(error), index) from None
    # each run of a workload with the key that named it, for errors
    runs = [(workload, _batches(workload, spec.space), "workloads", None)
            for workload in (spec.workloads if spec.space is not None else [])]  # fmt: skip
    for index, point in enumerate(spec.points):
        if point["workload"] is not None:
            runs.append((point["workload"], _batches(point["workload"], point), "points", index))
        else:
            runs += [(workload, _batches(workload, point), "workloads", None)
                     for workload in spec.workloads]  # fmt: skip
    for workload, batches, table, index in runs:
        for batch in batches:
            if (workload.label, batch) in spec.layers:
                continue
            try:
                spec.layers[workload.label, batch] = workload.layers(batch)
            except ValueError as error:
                if workload.sizes is not None:
                    key = "mlp"
                else:
                    key = "files" if table == "workloads" else "file"
                raise where.error(table, key, str(error), index) from None


def _batches(workload: Workload, axes: dict) -> list[int | None]:
    """The batches a workload runs at: the axis's, or its default; None for a file that
    fixes its own sizes."""
    if not workload.takes_batch:
        return [None]
    batches = axes.get("batch", workload.default_batch)
    return batches if isinstance(batches, list) else [batches]


def digest(value: object) -> str:
    """A short hash of a JSON-ready value (its canonical JSON): stable across runs and
    machines, for keys."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def expand(spec: Spec, values: bool, version: str) -> Expansion:
    """The points of ``spec`` (``values``: computed and checked, or closed forms only), each
    keyed by a hash of its whole configuration: its parameters, its workload's layers, its
    energy table, its machine's settings, ``SPEC_FORMAT`` and the package ``version``.
    Points are unique: one listed twice, or both listed and in the space, runs once. They
    come workload by workload, the space's before the listed ones; within a workload, by
    batch, seed and energy table, then array, dataflow, weight loading, accumulator rows
    and number format (the last varying fastest), then the machine presets.

    Raises
    ------
    ValueError
        More than ``MAX_POINTS`` points.
    """
    combos = []
    if spec.space is not None:
        for workload in spec.workloads:
            combos.append((workload, {**spec.space, "batch": _batches(workload, spec.space)}))
    space_runs = len(combos)
    for point in spec.points:
        # a listed point is one point: its dataflow, unless named, is the TPU's
        axes = {"dataflow": ["ws"], **{k: [v] for k, v in point.items() if k != "workload"}}
        for workload in [point["workload"]] if point["workload"] else spec.workloads:
            combos.append((workload, {**axes, "batch": _batches(workload, point)}))
    total = sum(_count(axes) for _, axes in combos)
    if total > MAX_POINTS:
        raise ValueError(
            f"{spec.path}: the spec expands to {total:,} points, more than {MAX_POINTS:,}"
        )
    layer_keys = {key: digest([_layer_dict(layer) for layer in layers])
                  for key, layers in spec.layers.items()}  # fmt: skip
    table_keys = {name: digest(dataclasses.asdict(table)) for name, table in spec.tables.items()}

    def shared(workload: Workload, params: dict) -> dict:
        return {"format": SPEC_FORMAT, "version": version, "point": params,
                "layers": layer_keys[workload.label, params["batch"]],
                "energy": table_keys[params["energy"]]}  # fmt: skip

    parts, skipped, seen = [], [], set()
    space_blocks = []
    for number, (workload, axes) in enumerate(combos):
        listed = number >= space_runs
        for part in _combinations(workload, axes, values, skipped):
            if isinstance(part, Block):
                part.high, part.low = array_keys(digest(shared(workload, part.base)),
                                                 part.configs)  # fmt: skip
                if listed:  # a listed point may also be in the space, or listed twice
                    if _seen_in(part, space_blocks) or (part.high[0], part.low[0]) in seen:
                        continue
                    seen.add((part.high[0], part.low[0]))
                else:
                    space_blocks.append(part)
                parts.append(part)
                continue
            params, settings = part
            key = digest({**shared(workload, params), "settings": settings})
            if key not in seen:
                seen.add(key)
                parts.append({"key": key, **params})
    context = {"layers": spec.layers, "tables": spec.tables}
    return Expansion(parts, skipped, context)


def _seen_in(point: Block, blocks: list[Block]) -> bool:
    """Whether the one point of ``point`` has the key of a point of ``blocks``."""
    high, low = point.high[0], point.low[0]
    return any(bool(((block.high == high) & (block.low == low)).any()) for block in blocks)


def _count(axes: dict) -> int:
    """How many combinations :func:`_combinations` gives for ``axes``."""
    shared = math.prod(len(axes.get(key, [None])) for key in ("batch", "seed", "energy", "dtype"))
    array = (
        math.prod(
            len(axes.get(key, [None])) for key in ("array", "weight_load", "accumulator_rows")
        )
        * len(axes.get("dataflow", Dataflow))
        if "array" in axes
        else 0
    )
    return shared * (array + len(axes.get("machine", [])))


def _combinations(
    workload: Workload, axes: dict, values: bool, skipped: list
) -> Iterator[Block | tuple[dict, dict]]:
    """Every combination of one workload's axes: per run (batch, seed, energy table) a
    :class:`Block` of its bare-array points (keys still to set), then ``(parameters,
    settings)`` of each machine preset, ``settings`` what of the configuration the
    parameters do not say (its memories). A combination the array or machine refuses goes
    to ``skipped`` as ``(parameters, reason)`` instead."""
    flows = axes.get("dataflow", [flow.value for flow in Dataflow])
    shared = itertools.product(
        axes["batch"], axes.get("seed", [0]), axes.get("energy", [DEFAULT_ENERGY])
    )
    for batch, seed, energy in shared:
        base = {"workload": workload.label, "batch": batch, "seed": seed, "energy": energy,
                "values": values}  # fmt: skip
        if axes.get("array"):
            block = _array_block(base, axes["array"], flows, axes, skipped)
            if len(block):
                yield block
        for name, dtype in itertools.product(axes.get("machine", []), axes.get("dtype", [None])):
            try:
                config = machine_config(name, dtype)
            except ValueError as error:
                params = _params(base, machine=name, rows=None, cols=None, dataflow="ws",
                                 weight_load="double_buffered", accumulator_rows=None,
                                 dtype=dtype)  # fmt: skip
                skipped.append((params, " ".join(str(error).split())))
                continue
            if isinstance(config, MachineConfig):  # a TensorCore machine: its MXUs' shape
                rows, cols, acc = config.mxu_rows, config.mxu_cols, config.accumulator_rows
            else:
                rows, cols, acc = config.rows, config.cols, config.memory.accumulator_rows
            params = _params(
                base, machine=name, rows=rows, cols=cols, dataflow="ws",
                weight_load="double_buffered", accumulator_rows=acc, dtype=config.dtype,
            )  # fmt: skip
            yield params, dataclasses.asdict(config)


def _array_block(base: dict, arrays: list, flows: list, axes: dict, skipped: list) -> Block:
    """The bare-array points of one run: every array, dataflow, weight load, accumulator
    depth and format (the last varying fastest) that ``ArrayConfig`` takes; the others go to
    ``skipped`` with its reason. Its checks of the array's size and of the mode do not
    depend on each other, so each is made once per size and once per mode."""
    loads = axes.get("weight_load", [WeightLoad.SERIAL.value])
    accs = axes.get("accumulator_rows", [None])
    dtypes = axes.get("dtype", ["fp32"])
    size_errors = [_refusal(rows=rows, cols=cols) for rows, cols in arrays]
    modes = list(itertools.product(flows, loads, accs, dtypes))
    mode_errors = [_refusal(dataflow=flow, weight_load=load, accumulator_rows=acc, dtype=dtype)
                   for flow, load, acc, dtype in modes]  # fmt: skip
    grid = np.meshgrid(np.arange(len(arrays)), np.arange(len(modes)), indexing="ij")
    size, mode = (index.ravel() for index in grid)
    ok = (np.array([e is None for e in size_errors])[size]
          & np.array([e is None for e in mode_errors])[mode])  # fmt: skip
    for i in np.flatnonzero(~ok).tolist():
        (rows, cols), (flow, load, acc, dtype) = arrays[size[i]], modes[mode[i]]
        params = _params(base, machine=None, rows=rows, cols=cols, dataflow=flow,
                         weight_load=load, accumulator_rows=acc, dtype=dtype)  # fmt: skip
        skipped.append((params, size_errors[size[i]] or mode_errors[mode[i]]))
    size, mode = size[ok], mode[ok]
    shape = np.array(arrays, dtype=np.int64).reshape(len(arrays), 2)
    codes = np.array(
        [(DATAFLOWS.index(Dataflow(flow)), WEIGHT_LOADS.index(WeightLoad(load)),
          UNLIMITED if acc is None else acc, DTYPES.index(dtype))
         for flow, load, acc, dtype in modes], dtype=np.int64,
    ).reshape(len(modes), 4)[mode]  # fmt: skip
    segments = np.full(len(size), ArrayConfig().segment_rows, dtype=np.int64)
    configs = Configs(shape[size, 0], shape[size, 1], codes[:, 2], codes[:, 0], codes[:, 1],
                      segments, codes[:, 3])  # fmt: skip
    empty = np.zeros(0, dtype=np.uint64)
    return Block({**base, "machine": None}, configs, empty, empty)


@functools.cache  # the same sizes and modes come again in every run of a spec
def _refusal(**fields) -> str | None:
    """Why ``ArrayConfig`` refuses ``fields`` (on one line), or None."""
    try:
        ArrayConfig(**fields)
    except ValueError as error:
        return " ".join(str(error).split())
    return None


def _params(base: dict, **values) -> dict:
    merged = {**base, **values}
    return {name: merged[name] for name in PARAMS}


def _layer_dict(layer: Layer) -> dict:
    return {"type": type(layer).__name__, **dataclasses.asdict(layer)}
