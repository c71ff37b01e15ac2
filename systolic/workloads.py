"""GEMM workloads: named matrix multiplies ``C = A @ B`` read from and written to files.

A workload is a list of :class:`Gemm`, each with ``a`` of shape ``(m, k)`` and ``b`` of shape
``(k, n)``. :func:`load_workload` picks the format from the file's suffix:

``.csv``
    A header, then one GEMM per line. The header is either ``name,m,k,n`` (any column order) or
    SCALE-Sim's GEMM topology header ``Layer Name, M, N, K,``. Both name their columns, so
    SCALE-Sim's order (M rows of A, N columns of B, K the common dimension) needs no special
    case. Cells may carry surrounding spaces; blank lines and the empty cells left by trailing
    commas are ignored.
``.json``
    A list of objects ``{"name": "fc1", "m": 64, "k": 784, "n": 30}``.

Bad input raises :class:`WorkloadError` with a one-line message that names the file, where in it
(``line 4`` for CSV, 1-based; ``entry 3`` for JSON, the 0-based list index) and the field::

    layers.csv, line 4, field 'k': expected a positive integer, got '0'

:func:`mlp_gemms` lists the GEMMs of one training step of a fully connected network, and
:func:`save_workload` writes a workload that :func:`load_workload` reads back unchanged.

>>> mlp_gemms([4, 3], batch=2)
[Gemm(name='layer1.forward', m=2, k=4, n=3), Gemm(name='layer1.gradient', m=4, k=2, n=3)]
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from systolic.config import check_positive_int, set_positive_ints
from systolic.files import atomic_open

SUFFIXES = (".csv", ".json")
#: the largest m, k or n a workload file may give (a larger one could never run)
MAX_DIM = 2**31 - 1
FIELDS = ("name", "m", "k", "n")

# Header cells (stripped, lower-cased) that mean the name column: ours, then SCALE-Sim's two.
_NAME_ALIASES = ("name", "layer name", "layer")
# Columns of SCALE-Sim's convolution topology; any of them in a header means a conv file.
_CONV_COLUMNS = (
    "ifmap height",
    "ifmap width",
    "filter height",
    "filter width",
    "channels",
    "num filter",
    "strides",
)
_DIGITS = re.compile(r"[0-9]+")


class WorkloadError(ValueError):
    """A workload file that cannot be read: missing, not UTF-8, or not in a supported form.

    The message is one line: ``<file>[, line L | , entry E][, field 'F']: <problem>``.
    """


_NAME_RULE = "a non-empty printable name without surrounding whitespace"


def _good_name(name: object) -> bool:
    # printable: no line breaks, tabs or control characters, so that messages stay on one line
    # and the name reads back from CSV as written
    return isinstance(name, str) and name != "" and name == name.strip() and name.isprintable()


@dataclass(frozen=True)
class Gemm:
    """One named matrix multiply ``c = a @ b`` with ``a`` of shape (m, k), ``b`` of (k, n).

    Parameters
    ----------
    name : str
        Label of the GEMM, e.g. ``"layer1.forward"``: not empty, printable (no line breaks,
        tabs or control characters) and without surrounding whitespace, so that it survives a
        round trip through a CSV file.
    m, k, n : int
        Rows of ``a``, the common dimension, and columns of ``b`` (each >= 1).
    """

    name: str
    m: int
    k: int
    n: int

    def __post_init__(self):
        if not _good_name(self.name):
            raise ValueError(f"name must be {_NAME_RULE}, got {self.name!r}")
        set_positive_ints(self, "m", "k", "n")

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the GEMM, m * k * n."""
        return self.m * self.k * self.n


@dataclass(frozen=True)
class ConvLayer:
    """A named 2-D convolution layer.

    The convolution is the conventional one (``systolic.conv``): input ``(batch, channels,
    height, width)``, ``filters`` filters of ``channels x kh x kw``, zero padding of ``pad_h``
    rows and ``pad_w`` columns on each side (SCALE-Sim's topology files fold padding into the
    input size instead, and give 0). A
    ``depthwise`` layer (SCALE-Sim marks one by ``DP`` in its name) convolves each channel on
    its own with ``filters`` filters: ``groups = channels``, ``channels * filters`` outputs.
    """

    name: str
    height: int
    width: int
    kh: int
    kw: int
    channels: int
    filters: int
    stride_h: int = 1
    stride_w: int = 1
    batch: int = 1
    depthwise: bool = False
    pad_h: int = 0
    pad_w: int = 0

    def __post_init__(self):
        if not _good_name(self.name):
            raise ValueError(f"name must be {_NAME_RULE}, got {self.name!r}")
        set_positive_ints(
            self, "height", "width", "kh", "kw", "channels", "filters", "stride_h", "stride_w",
            "batch",
        )  # fmt: skip
        for name in ("pad_h", "pad_w"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        for what, size, ifmap, pad in (
            ("height", self.kh, self.height, self.pad_h),
            ("width", self.kw, self.width, self.pad_w),
        ):
            if size > ifmap + 2 * pad:
                raise ValueError(
                    f"the filter {what} {size} is larger than the IFMAP {what} {ifmap}"
                    + (f" padded by {pad} on each side" if pad else "")
                )

    @property
    def shape(self):
        """The convolution as a ``systolic.conv.ConvShape``."""
        from systolic.conv import ConvShape

        groups = self.channels if self.depthwise else 1
        c_out = self.channels * self.filters if self.depthwise else self.filters
        padding = (self.pad_h, self.pad_w, self.pad_h, self.pad_w)
        return ConvShape(self.batch, self.channels, self.height, self.width, c_out, self.kh,
                         self.kw, (self.stride_h, self.stride_w), padding, groups)  # fmt: skip

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the convolution."""
        return self.shape.macs


#: a workload is a list of these
Layer = Gemm | ConvLayer


def _check_mlp(sizes: Sequence[int], batch: int) -> None:
    if len(sizes) < 2:
        raise ValueError(f"sizes must hold at least two layer sizes, got {list(sizes)!r}")
    for i, size in enumerate(sizes):
        check_positive_int(size, f"sizes[{i}]")
    check_positive_int(batch, "batch")


def forward_gemms(sizes: Sequence[int], batch: int) -> list[Gemm]:
    """List the GEMMs of one forward pass (inference) of a fully connected network.

    Layer ``l`` (numbered from 1) has weights of shape ``(sizes[l-1], sizes[l])`` and computes
    ``z = a @ w  # (batch, n_in) @ (n_in, n_out)``, named ``f"layer{l}.forward"``.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first, e.g. ``[784, 30, 10]``; at least two, each >= 1.
    batch : int
        Mini-batch size (>= 1).

    Returns
    -------
    list of Gemm
        One GEMM per layer, first layer first.

    Raises
    ------
    ValueError
        Fewer than two sizes, or a size or ``batch`` that is not a positive integer.
    """
    _check_mlp(sizes, batch)
    return [
        Gemm(f"layer{layer}.forward", m=batch, k=sizes[layer - 1], n=sizes[layer])
        for layer in range(1, len(sizes))
    ]


def mlp_gemms(sizes: Sequence[int], batch: int) -> list[Gemm]:
    """List the GEMMs of one training step of a fully connected network, in execution order.

    First the forward pass (see :func:`forward_gemms`), then backpropagation from the last
    layer to the first. Layer ``l`` with weights ``w`` of shape ``(n_in, n_out)`` runs

    - ``f"layer{l}.gradient"``: ``dw = a.T @ delta  # (n_in, batch) @ (batch, n_out)``,
    - ``f"layer{l}.backward"``: ``delta_prev = delta @ w.T  # (batch, n_out) @ (n_out, n_in)``,
      for every layer except the first, whose input needs no error.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first, e.g. ``[784, 30, 10]``; at least two, each >= 1.
    batch : int
        Mini-batch size (>= 1).

    Returns
    -------
    list of Gemm
        ``3 L - 1`` GEMMs for ``L = len(sizes) - 1`` layers.

    Raises
    ------
    ValueError
        Fewer than two sizes, or a size or ``batch`` that is not a positive integer.
    """
    gemms = forward_gemms(sizes, batch)
    for layer in range(len(sizes) - 1, 0, -1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        gemms.append(Gemm(f"layer{layer}.gradient", m=n_in, k=batch, n=n_out))
        if layer > 1:
            gemms.append(Gemm(f"layer{layer}.backward", m=batch, k=n_out, n=n_in))
    return gemms


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise WorkloadError(
            f"{path}: unsupported file type {path.suffix or '(no suffix)'!r}; "
            f"supported: {', '.join(SUFFIXES)}, .onnx"
        )
    return suffix


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise WorkloadError(f"{path}: no such file") from exc
    except OSError as exc:
        raise WorkloadError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    # spreadsheet programs often start a UTF-8 CSV with a byte-order mark
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise WorkloadError(
            f"{path}, line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x})"
        ) from exc


def _size_from_cell(cell: str, where: str) -> int:
    if not _DIGITS.fullmatch(cell) or int(cell) < 1:
        raise WorkloadError(f"{where}: expected a positive integer, got {cell!r}")
    if int(cell) > MAX_DIM:
        raise WorkloadError(f"{where}: {_too_large(int(cell))}")
    return int(cell)


def _too_large(value: int) -> str:
    shown = f"{value:,}" if value < 10**15 else f"about 10^{len(str(value)) - 1}"
    return f"expected at most {MAX_DIM:,}, got {shown}"


def _csv_columns(header: list[str], where: str) -> dict[str, int]:
    """Map each field to its column in ``header`` (cells already stripped)."""
    while header and not header[-1]:
        header = header[:-1]  # empty cells left by a trailing comma
    keys = [" ".join(cell.lower().split()) for cell in header]
    if any(key in _CONV_COLUMNS for key in keys):
        return _conv_columns(header, keys, where)
    expected = "expected the columns name, m, k, n (or Layer Name, M, N, K)"
    columns: dict[str, int] = {}
    for i, key in enumerate(keys):
        field = "name" if key in _NAME_ALIASES else key
        if field not in FIELDS:
            what = f"unknown column {header[i]!r}" if key else f"column {i + 1} has no name"
            raise WorkloadError(f"{where}: {what}; {expected}")
        if field in columns:
            raise WorkloadError(f"{where}: column {field!r} appears twice; {expected}")
        columns[field] = i
    missing = [field for field in FIELDS if field not in columns]
    if missing:
        raise WorkloadError(f"{where}: missing column {missing[0]!r}; {expected}")
    return columns


# SCALE-Sim's conv topology columns, in its order, by the names its files use
_CONV_FIELDS = {
    "name": ("layer name", "name", "layer"),
    "height": ("ifmap height",),
    "width": ("ifmap width",),
    "kh": ("filter height",),
    "kw": ("filter width",),
    "channels": ("channels",),
    "filters": ("num filter", "num filters"),
    "stride_h": ("strides", "stride height", "stride"),
    "stride_w": ("stride width",),
}


def _conv_columns(header: list[str], keys: list[str], where: str) -> dict[str, int]:
    """Columns of a SCALE-Sim conv topology header (``Layer name, IFMAP Height, IFMAP Width,
    Filter Height, Filter Width, Channels, Num Filter, Strides``, and optionally ``Stride
    width``); marks the result as a conv header with the key ``"conv"``."""
    expected = (
        "expected SCALE-Sim's conv columns Layer name, IFMAP Height, IFMAP Width, Filter "
        "Height, Filter Width, Channels, Num Filter, Strides"
    )
    columns: dict[str, int] = {"conv": -1}
    for i, key in enumerate(keys):
        field = next((f for f, names in _CONV_FIELDS.items() if key in names), None)
        if field is None:
            what = f"unknown column {header[i]!r}" if key else f"column {i + 1} has no name"
            raise WorkloadError(f"{where}: {what}; {expected}")
        if field in columns:
            raise WorkloadError(f"{where}: column {header[i]!r} appears twice; {expected}")
        columns[field] = i
    missing = [f for f in _CONV_FIELDS if f != "stride_w" and f not in columns]
    if missing:
        raise WorkloadError(f"{where}: missing column {_CONV_FIELDS[missing[0]][0]!r}; {expected}")
    return columns


def _parse_conv_rows(
    rows: Iterator[tuple[int, list[str]]], columns: dict[str, int], path: Path
) -> list[tuple[ConvLayer, str]]:
    """Conv layers from the rows of a SCALE-Sim conv topology. As SCALE-Sim does, a row may
    give the column stride after the row stride (else it equals the row stride); a last cell
    starting with ``#`` is a comment."""
    width = len(columns) - 1
    layers = []
    for line, cells in rows:
        where = f"{path}, line {line}"
        cells = [cell for cell in cells if not cell.startswith("#")]
        while cells and not cells[-1]:
            cells = cells[:-1]  # empty cells left by a trailing comma
        extra_stride = "stride_w" not in columns and len(cells) == width + 1
        if len(cells) != width and not extra_stride:
            raise WorkloadError(f"{where}: expected {width} cells, got {len(cells)}")
        name = cells[columns["name"]]
        if not _good_name(name):
            raise WorkloadError(f"{where}, field 'name': expected {_NAME_RULE}, got {name!r}")
        values = {}
        for field, index in columns.items():
            if field in ("conv", "name"):
                continue
            label = _CONV_FIELDS[field][0]
            values[field] = _size_from_cell(cells[index], f"{where}, field {label!r}")
        if extra_stride:
            values["stride_w"] = _size_from_cell(cells[-1], f"{where}, field 'stride width'")
        values.setdefault("stride_w", values["stride_h"])
        try:
            layer = ConvLayer(name, **values, depthwise="DP" in name)
        except ValueError as error:
            raise WorkloadError(f"{where}: {error}") from None
        layers.append((layer, f"line {line}"))
    return layers


def _csv_rows(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, stripped cells)`` of each row that is not blank."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            cells = [cell.strip() for cell in row]
            if any(cells):
                yield reader.line_num, cells
    except csv.Error as exc:
        raise WorkloadError(f"{path}, line {reader.line_num}: not valid CSV: {exc}") from exc


def _parse_csv(text: str, path: Path) -> list[tuple[Layer, str]]:
    rows = _csv_rows(text, path)
    header = next(rows, None)
    if header is None:
        raise WorkloadError(f"{path}: empty file; expected a header such as 'name,m,k,n'")
    line, cells = header
    columns = _csv_columns(cells, f"{path}, line {line}")
    if "conv" in columns:
        return _parse_conv_rows(rows, columns, path)
    width = len(columns)
    gemms = []
    for line, cells in rows:
        where = f"{path}, line {line}"
        used = len(cells)
        while used > width and not cells[used - 1]:
            used -= 1  # empty cells left by a trailing comma
        if used != width:
            raise WorkloadError(f"{where}: expected {width} cells, got {used}")
        name = cells[columns["name"]]
        if not _good_name(name):
            raise WorkloadError(f"{where}, field 'name': expected {_NAME_RULE}, got {name!r}")
        m, k, n = (
            _size_from_cell(cells[columns[f]], f"{where}, field {f!r}") for f in ("m", "k", "n")
        )
        gemms.append((Gemm(name, m, k, n), f"line {line}"))
    return gemms


def _json_type(value: object) -> str:
    for kind, name in ((bool, "boolean"), (dict, "object"), (list, "list"), (str, "string")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else "number"


def _parse_json(text: str, path: Path) -> list[tuple[Gemm, str]]:
    if not text.strip():
        raise WorkloadError(f"{path}: empty file; expected a JSON list of GEMMs")
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkloadError(
            f"{path}, line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}"
        ) from exc
    except RecursionError:
        raise WorkloadError(f"{path}: not a workload: JSON nested too deeply") from None
    if not isinstance(entries, list):
        raise WorkloadError(f"{path}: expected a JSON list of GEMMs, got {_json_type(entries)}")
    gemms = []
    for index, entry in enumerate(entries):
        where = f"{path}, entry {index}"
        if not isinstance(entry, dict):
            raise WorkloadError(
                f"{where}: expected an object with keys name, m, k, n, got {_json_type(entry)}"
            )
        unknown = [key for key in entry if key not in FIELDS]
        if unknown:
            raise WorkloadError(f"{where}: unknown key {unknown[0]!r}; expected name, m, k, n")
        for field in FIELDS:
            if field not in entry:
                raise WorkloadError(f"{where}, field {field!r}: missing")
        name = entry["name"]
        if not _good_name(name):
            raise WorkloadError(
                f"{where}, field 'name': expected {_NAME_RULE}, "
                f"got {json.dumps(name, ensure_ascii=False)}"
            )
        for field in ("m", "k", "n"):
            value = entry[field]
            # bool is an int in Python, and 12.0 is a float: both are refused
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise WorkloadError(
                    f"{where}, field {field!r}: expected a positive integer, "
                    f"got {json.dumps(value, ensure_ascii=False)}"
                )
            if value > MAX_DIM:
                raise WorkloadError(f"{where}, field {field!r}: {_too_large(value)}")
        gemm = Gemm(name, entry["m"], entry["k"], entry["n"])
        gemms.append((gemm, f"entry {index}"))
    return gemms


def load_workload(path: str | os.PathLike[str], batch: int | None = None) -> list[Layer]:
    """Read a list of GEMMs from a ``.csv`` or ``.json`` file (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        The file; its suffix (case-insensitive) picks the format. The name of a bundled
        network (``systolic.networks.NETWORKS``, e.g. ``"resnet18"``) gives its layers, and
        a ``.onnx`` file its Conv, Gemm and MatMul nodes (``systolic.networks.onnx_model``).
    batch : int, optional
        The batch of a bundled network or of an ONNX model's symbolic batch dimension
        (default 1). A CSV or JSON file fixes its own sizes and takes none.

    Returns
    -------
    list of Gemm
        In file order; at least one, with distinct names.

    Raises
    ------
    WorkloadError
        The file is missing or unreadable, not UTF-8, of an unsupported type, empty, holds no
        GEMM, or has a bad header, row, entry or value; the message says where.
    """
    path = Path(path)
    if not path.suffix and not path.exists():
        from systolic.networks import NETWORKS, network

        if str(path) in NETWORKS:
            return network(str(path), 1 if batch is None else batch)
        raise WorkloadError(
            f"{path}: no such file, and not a bundled network ({', '.join(NETWORKS)}); give a "
            f"workload file ({', '.join(SUFFIXES)}, .onnx) or one of those names"
        )
    if path.suffix.lower() == ".onnx":
        from systolic.networks.onnx_model import load_onnx

        return load_onnx(path, 1 if batch is None else batch)
    suffix = _suffix(path)
    if batch is not None:
        raise WorkloadError(
            f"{path}: a {suffix} workload gives its own sizes; a batch applies to MLPs, "
            "bundled networks and ONNX models"
        )
    text = _read_text(path)
    parse = _parse_json if suffix == ".json" else _parse_csv
    located = parse(text, path)
    if not located:
        raise WorkloadError(f"{path}: no layers in the file")
    first_seen: dict[str, str] = {}
    for gemm, place in located:
        if gemm.name in first_seen:
            raise WorkloadError(
                f"{path}, {place}, field 'name': duplicate name {gemm.name!r}, "
                f"already used at {first_seen[gemm.name]}"
            )
        first_seen[gemm.name] = place
    return [gemm for gemm, _ in located]


def _format(gemms: Sequence[Gemm], suffix: str) -> str:
    if suffix == ".json":
        return json.dumps([asdict(gemm) for gemm in gemms], indent=2, ensure_ascii=False) + "\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    writer.writerows((gemm.name, gemm.m, gemm.k, gemm.n) for gemm in gemms)
    return out.getvalue()


def save_workload(gemms: Sequence[Gemm], path: str | os.PathLike[str]) -> None:
    """Write GEMMs to a ``name,m,k,n`` CSV file, or a JSON list if the suffix is ``.json``.

    The text goes to a temporary file in the target's directory first, which then replaces the
    target in one step, so a reader never sees a half-written file.

    Parameters
    ----------
    gemms : sequence of Gemm
        At least one, with distinct names (what :func:`load_workload` accepts).
    path : str or os.PathLike
        Target file, ``.csv`` or ``.json``; overwritten if it exists.

    Raises
    ------
    ValueError
        An empty sequence, an item that is not a Gemm, or a repeated name.
    WorkloadError
        An unsupported suffix.
    """
    path = Path(path)
    suffix = _suffix(path)
    if not gemms:
        raise ValueError("gemms is empty; a workload holds at least one GEMM")
    names = set()
    for i, gemm in enumerate(gemms):
        if not isinstance(gemm, Gemm):
            raise ValueError(f"gemms[{i}] must be a Gemm, got {gemm!r}")
        if gemm.name in names:
            raise ValueError(f"gemms[{i}] repeats the name {gemm.name!r}")
        names.add(gemm.name)
    with atomic_open(path) as handle:
        handle.write(_format(gemms, suffix))
