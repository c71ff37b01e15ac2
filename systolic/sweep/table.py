"""A sweep's result table as CSV, fast, byte for byte what ``csv.DictWriter`` writes.

A table is a dict of columns, each a 1-D NumPy array of one length N: int64, float64, bool
or object (str, None, int, float or bool per entry). :func:`csv_bytes` writes what
``csv.DictWriter(handle, fieldnames=names, lineterminator="\\n", extrasaction="ignore")``
would write for the records ``{name: columns[name][i].tolist()}``, without formatting one
field at a time in Python (a million rows of fifty columns are fifty million fields)::

    int column      -> orjson.dumps: its items are Python's str() of the ints
    float column    -> orjson.dumps: its items are Python's repr() of the floats (the same
                       shortest round-trip digits, the same switch to 1e+16), except for
                       nan and inf (null) and from 1e-10 to 1e-4 (0.00001 and 1e-7 where
                       repr writes 1e-05 and 1e-07): those are read as digits and a
                       decimal point and written again as repr does (_python_floats)
    bool column     -> a code per row into ("False", "True")
    object column   -> a code per row into its distinct values, each written by the csv
                       module itself, so that its quoting is the csv module's; floats or
                       ints with None go the numeric way, None an empty field
    constant column -> one field, written once
                                |
    each column: its text (uint8) and where each row's field starts and ends in it
                                |
    _rows_of (numba): the fields copied into rows, a comma or a newline after each

Rows are made a block at a time, so that the buffers stay small whatever N is, and the
buffers are reused from block to block (memory touched for the first time is slow).
Tests compare the output with ``csv.DictWriter`` on random tables.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence

import numpy as np
import orjson
from numba import njit

from systolic.files import atomic_write

#: rows formatted together (the buffers of a block stay in cache)
BLOCK_ROWS = 1 << 13
#: the most bytes Python's repr of a float64 takes ("-2.2250738585072014e-308")
_FLOAT_WIDTH = 24
#: the bytes to spare at the ends of the buffers of :func:`_rows_of`
_WORD = 16
_PADDING = np.zeros(_WORD, np.uint8)
# the bytes the kernels read and write
_COMMA, _NEWLINE, _MINUS, _PLUS, _POINT, _E, _END, _0 = b",\n-+.e]0"
_NAN, _INF, _MINUS_INF, _ZERO = (
    np.frombuffer(word, np.uint8) for word in (b"nan", b"inf", b"-inf", b"0.0")
)
_NONE_TYPE = type(None)


def csv_bytes(columns: Mapping[str, np.ndarray], names: Sequence[str]) -> bytes:
    """The CSV of a table, UTF-8: a header of ``names``, then one row per index.

    Byte for byte what ``csv.DictWriter(handle, fieldnames=names, lineterminator="\\n",
    extrasaction="ignore")`` writes for the records ``{name: columns[name][i]}`` with each
    entry as a Python object (``.tolist()``), encoded as UTF-8.

    Parameters
    ----------
    columns : mapping of str to ndarray, each (N,)
        The table: int64, float64, bool or object arrays of one length N (other dtypes are
        written entry by entry, slowly). Columns not in ``names`` are left out; a name
        without a column is an empty field in every row.
    names : sequence of str
        The columns to write, in order.

    Returns
    -------
    bytes
        The header line and N rows, each ending in ``\\n``.

    Raises
    ------
    ValueError
        A column that is not 1-D, or of another length than the others.
    """
    header = io.StringIO()
    csv.DictWriter(header, fieldnames=names, lineterminator="\n").writeheader()
    # BytesIO grows its bytes in place and getvalue() hands that over: the rows are copied
    # once, into the result
    out = io.BytesIO()
    out.write(header.getvalue().encode())
    write_rows(columns, names, out)
    return out.getvalue()


def write_rows(columns: Mapping[str, np.ndarray], names: Sequence[str], out) -> np.ndarray:
    """Write the rows of :func:`csv_bytes`, without the header, to ``out`` (a binary file or
    ``BytesIO``) a block at a time; the length of each row in bytes."""
    rows = _rows(columns)
    if rows == 0 or not names:
        out.write(b"\n" * rows)
        return np.ones(rows, dtype=np.int64)
    prepared = [_prepare(columns.get(name)) for name in names]
    lengths = np.empty(rows, dtype=np.int64)
    # reused from block to block: fresh memory is slow to touch
    starts = np.empty((len(names), BLOCK_ROWS), np.int64)
    ends = np.empty_like(starts)
    block = np.empty(0, np.uint8)
    for start in range(0, rows, BLOCK_ROWS):
        n = min(BLOCK_ROWS, rows - start)
        fields = [column(start, start + n) for column in prepared]
        if len(fields) == 1:
            fields = [_quote_empty(*fields[0])]  # csv writes a lone empty field as ""
        base, size = 0, n * len(fields)  # the fields' bytes and a separator after each
        lengths[start : start + n] = len(fields)
        for c, (text, first, last) in enumerate(fields):
            np.add(first, base, out=starts[c, :n])
            np.add(last, base, out=ends[c, :n])
            base += len(text)
            size += int(last.sum() - first.sum())
            lengths[start : start + n] += last - first
        if len(block) < size + _WORD:
            block = np.empty(2 * size + _WORD, np.uint8)
        text = np.concatenate([text for text, _, _ in fields] + [_PADDING])
        _rows_of(_words(text), starts[:, :n], ends[:, :n], _words(block), block)
        out.write(block[:size])
    return lengths


def write_csv(path: str | os.PathLike[str], columns: Mapping[str, np.ndarray],
              names: Sequence[str]) -> None:  # fmt: skip
    """Write :func:`csv_bytes` of ``columns`` to ``path`` whole (``systolic.files``)."""
    data = csv_bytes(columns, names)
    atomic_write(path, lambda handle: handle.write(data), binary=True)


def _rows(columns: Mapping[str, np.ndarray]) -> int:
    """N, the length of every column."""
    lengths = {name: np.shape(column) for name, column in columns.items()}
    for name, shape in lengths.items():
        if len(shape) != 1:
            raise ValueError(f"column {name!r} must be 1-D, got shape {shape}")
    if len({shape[0] for shape in lengths.values()}) > 1:
        raise ValueError(f"columns must have one length, got {lengths}")
    return next(iter(lengths.values()))[0] if lengths else 0


# A prepared column is a function of a block of rows (start, stop) that returns the block's
# fields: (text, starts, ends), field i being text[starts[i]:ends[i]].


def _prepare(column: np.ndarray | None):
    """A column's fields, block by block; None for a column that the table lacks."""
    if column is None:
        return _constant(b"")
    column = np.asarray(column)
    if column.ndim == 1 and len(column) > 1 and column.strides[0] == 0:
        # one entry repeated (np.broadcast_to): its field, written in every row
        text, starts, ends = _prepare(column[:1])(0, 1)
        return _constant(text[starts[0] : ends[0]].tobytes())
    kind = column.dtype.kind
    if kind == "b":
        return _coded([b"False", b"True"], column.view(np.uint8))
    if kind in "iu":
        return _numeric(column, _ints)
    if kind == "f" and column.itemsize <= 8:
        return _numeric(column.astype(np.float64, copy=False), _floats)
    if kind == "U" and (fixed := _plain_text(column)) is not None:
        return fixed
    return _objects(column.tolist())  # object columns, and any other dtype, entry by entry


#: the bytes of text that csv never quotes, for :func:`_plain_text`
_PLAIN = np.zeros(256, bool)
_PLAIN[
    np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.:-", np.uint8)
] = True


def _plain_text(column: np.ndarray):
    """Rows of str of one length made of letters, digits and ``_.:-`` (a sweep's keys), which
    csv writes as they are: their bytes, a fixed width each. None for any other text."""
    width = column.dtype.itemsize // 4
    if width == 0 or not column.size:
        return None
    text = np.empty(column.size * width, np.uint8)
    if not _plain_bytes(np.ascontiguousarray(column).view(np.uint32), _PLAIN, text):
        return None

    def block(start, stop):
        first = np.arange(stop - start, dtype=np.int64) * width
        return text[start * width : stop * width], first, first + width

    return block


def _constant(field: bytes):
    """Rows that all hold ``field``."""
    text = np.frombuffer(field, np.uint8)

    def block(start, stop):
        n = stop - start
        return text, np.zeros(n, np.int64), np.full(n, len(text), np.int64)

    return block


def _coded(fields: Sequence[bytes], codes: np.ndarray):
    """Rows that each hold one of a few ``fields``: ``codes`` says which."""
    text = np.frombuffer(b"".join(fields), np.uint8)
    ends = np.cumsum([len(field) for field in fields], dtype=np.int64)
    starts = ends - [len(field) for field in fields]

    def block(start, stop):
        part = codes[start:stop]
        return text, starts[part], ends[part]

    return block


def _numeric(column: np.ndarray, fields, empty: np.ndarray | None = None):
    """Rows of numbers; ``empty`` marks the rows whose field is empty (None)."""
    bits = column.view(np.int64) if column.dtype == np.float64 else column  # -0.0 is not 0.0
    if empty is None and (bits == bits[0]).all():
        text, starts, ends = fields(column[:1])
        return _constant(text[starts[0] : ends[0]].tobytes())

    def block(start, stop):
        text, starts, ends = fields(np.ascontiguousarray(column[start:stop]))
        if empty is not None:
            ends = np.where(empty[start:stop], starts, ends)
        return text, starts, ends

    return block


def _ints(values: np.ndarray):
    """orjson's items of ``values`` ("[1,-2,3]"), which are Python's str() of ints."""
    text = np.frombuffer(orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY), np.uint8)
    commas = np.flatnonzero(text == _COMMA)
    starts = np.concatenate(([1], commas + 1))
    ends = np.concatenate((commas, [len(text) - 1]))
    return text, starts, ends


def _floats(values: np.ndarray):
    """Python's repr of ``values``: orjson's items, which are repr's text but for nan and
    inf (null) and from 1e-10 to 1e-4 (orjson writes 0.00001 and 1e-7 for repr's 1e-05
    and 1e-07); those are written again by :func:`_python_floats`."""
    text, starts, ends = _ints(values)
    size = np.abs(values)
    again = np.flatnonzero(~np.isfinite(values) | ((size >= 1e-10) & (size < 1e-4)))
    if len(again):
        digits = orjson.dumps(values[again], option=orjson.OPT_SERIALIZE_NUMPY)
        fixed = np.empty(len(again) * _FLOAT_WIDTH, np.uint8)
        offsets = np.empty(len(again) + 1, np.int64)
        _python_floats(np.frombuffer(digits, np.uint8), values[again], fixed, offsets)
        starts[again], ends[again] = offsets[:-1] + len(text), offsets[1:] + len(text)
        text = np.concatenate((text, fixed[: offsets[-1]]))
    return text, starts, ends


def _objects(values: list):
    """Rows of Python objects, written as csv writes them."""
    # one str or None repeated: list.count compares identity first, so it is quick, but
    # then equality, which is why numbers (1 == 1.0 == True) are left to the codes below
    first = values[0]
    sample = values[:: 1 + len(values) // 64]  # most columns that vary do so in a sample
    if (
        (first is None or type(first) is str)
        and sample.count(first) == len(sample)
        and values.count(first) == len(values)
    ):
        table = {first: 0}
        return _coded(_fields(table), np.zeros(len(values), np.uint8))
    table = _Codes()
    codes = _codes(values, table)
    if not all(key is None or type(key) is str for key in table):
        # numbers: equal ones of other types (1, 1.0, True) or zeros of other signs share a
        # key, so the types of every entry decide
        kinds = set(map(type, values))
        if kinds <= {float, _NONE_TYPE}:
            return _numbers_or_none(values, np.float64, _floats)
        if kinds <= {int, _NONE_TYPE}:
            try:
                return _numbers_or_none(values, np.int64, _ints)
            except OverflowError:
                pass  # ints beyond int64
        if not kinds <= {bool, _NONE_TYPE}:
            # csv writes repr() of a float, so a float's key holds that text
            keys = [(type(v), repr(v) if isinstance(v, float) else v) for v in values]
            table = _Codes()
            codes = _codes(keys, table)
            return _coded(_fields(key[1] for key in table), codes)
    return _coded(_fields(table), codes)


def _numbers_or_none(values: list, dtype, fields):
    """Rows of numbers of ``dtype`` or None (raises OverflowError for ints past int64)."""
    column = np.array(values, dtype=object)
    empty = np.equal(column, None)
    column[empty] = 0
    return _numeric(column.astype(dtype), fields, empty)


def _fields(values) -> list[bytes]:
    """Each of ``values`` as the csv module writes it in a row of more than one field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    fields = []
    for value in values:
        writer.writerow((value, None))
        fields.append(out.getvalue()[:-2].encode())  # less the "," of the empty field and "\n"
        out.seek(0)
        out.truncate()
    return fields


class _Codes(dict):
    """Value -> code, a new value getting the next code."""

    def __missing__(self, key):
        self[key] = code = len(self)
        return code


def _codes(values: list, table: _Codes) -> np.ndarray:
    """The code in ``table`` of each of ``values`` (``table`` takes in the new ones)."""
    try:  # bytes() of the codes is the quickest way from Python ints to an array
        return np.frombuffer(bytes(map(table.__getitem__, values)), np.uint8)
    except ValueError:  # codes past 255
        return np.fromiter(map(table.__getitem__, values), np.int64, count=len(values))


def _words(buffer: np.ndarray) -> np.ndarray:
    """``buffer`` (uint8) seen as overlapping 8-byte words: item s is ``buffer[s:s + 8]``."""
    return np.ndarray((len(buffer) - 7,), np.uint64, buffer=buffer, strides=(1,))


def _quote_empty(text, starts, ends):
    """The fields with each empty one made '""'."""
    text = np.concatenate((text, np.frombuffer(b'""', np.uint8)))
    empty = starts == ends
    return text, np.where(empty, len(text) - 2, starts), np.where(empty, len(text), ends)


@njit(cache=True)
def _rows_of(text, starts, ends, out, out_bytes):
    """Write rows: row i is the bytes ``starts[c, i]`` to ``ends[c, i]`` of ``text`` for
    each column c, comma-separated, then a newline.

    ``text`` and ``out`` are :func:`_words` views: a field is copied 8 bytes at a time, its
    first 16 bytes always (most fields are shorter), without a branch per byte. What a copy
    writes past the field's end is overwritten by the comma and the fields after it, so
    rows are written in order, and ``text`` and ``out`` have :data:`_WORD` bytes to spare
    at their ends. ``out_bytes`` is ``out``'s buffer as bytes, for the commas."""
    columns, rows = starts.shape
    k = 0
    for i in range(rows):
        for c in range(columns):
            start, length = starts[c, i], ends[c, i] - starts[c, i]
            out[k] = text[start]
            out[k + 8] = text[start + 8]
            for j in range(16, length, 8):
                out[k + j] = text[start + j]
            out_bytes[k + length] = _COMMA
            k += length + 1
        out_bytes[k - 1] = _NEWLINE


@njit(cache=True)
def _python_floats(digits, values, out, offsets):
    """Rewrite orjson's floats (``digits``: "[1e+16,0.00001,null]") as Python's repr of
    ``values`` into ``out``, field i at ``out[offsets[i]:offsets[i + 1]]``.

    orjson and Python both write the shortest digits that read back as the same float
    (the nearest such); they differ in where they switch to an exponent and how they write
    it. So each item is read as a sign, its significant digits and a decimal point, and
    written again the way ``float.__repr__`` does (``format_float_short`` in CPython).
    """
    significant = np.empty(32, np.uint8)
    i = 1  # past "["
    k = 0
    for n in range(len(values)):
        offsets[n] = k
        x = values[n]
        if not np.isfinite(x):  # orjson writes null
            i += 5
            word = _NAN if np.isnan(x) else _INF if x > 0 else _MINUS_INF
            k = _put(out, k, word, 0, len(word))
            continue
        if digits[i] == _MINUS:
            out[k] = _MINUS
            k += 1
            i += 1
        # the digits d1 d2 ... and the point: x = 0.d1d2... * 10**point
        count = 0
        point = 0
        seen_point = False
        while digits[i] != _COMMA and digits[i] != _END and digits[i] != _E:
            c = digits[i]
            i += 1
            if c == _POINT:
                seen_point = True
            elif count == 0 and c == _0:
                if seen_point:
                    point -= 1  # a leading zero after the point
            else:
                significant[count] = c
                count += 1
                if not seen_point:
                    point += 1
        if digits[i] == _E:
            i += 1
            sign = 1
            if digits[i] == _MINUS or digits[i] == _PLUS:
                sign = -1 if digits[i] == _MINUS else 1
                i += 1
            exponent = 0
            while digits[i] != _COMMA and digits[i] != _END:
                exponent = exponent * 10 + int(digits[i]) - _0
                i += 1
            point += sign * exponent
        i += 1  # past "," or "]"
        while count > 0 and significant[count - 1] == _0:
            count -= 1  # "100.0" is the digit 1
        if count == 0:  # zero
            k = _put(out, k, _ZERO, 0, 3)
        elif point <= -4 or point > 16:  # d.ddde+XX, at least two exponent digits
            out[k] = significant[0]
            k += 1
            if count > 1:
                out[k] = _POINT
                k = _put(out, k + 1, significant, 1, count)
            e = point - 1
            out[k] = _E
            out[k + 1] = _MINUS if e < 0 else _PLUS
            k += 2
            e = abs(e)
            if e >= 100:
                out[k] = _0 + e // 100
                k += 1
            out[k] = _0 + e // 10 % 10
            out[k + 1] = _0 + e % 10
            k += 2
        elif point <= 0:  # 0.000ddd
            out[k] = _0
            out[k + 1] = _POINT
            k = _zeros(out, k + 2, -point)
            k = _put(out, k, significant, 0, count)
        elif count > point:  # ddd.ddd
            k = _put(out, k, significant, 0, point)
            out[k] = _POINT
            k = _put(out, k + 1, significant, point, count)
        else:  # ddd000.0
            k = _put(out, k, significant, 0, count)
            k = _zeros(out, k, point - count)
            out[k] = _POINT
            out[k + 1] = _0
            k += 2
    offsets[len(values)] = k


@njit(cache=True)
def _plain_bytes(codes, plain, out):
    """Copy the code points ``codes`` into the bytes ``out`` while each is one of ``plain``
    (a table of the 256 bytes); whether all were (NUL, a shorter entry's end, is not)."""
    for i in range(len(codes)):
        code = codes[i]
        if code >= 256 or not plain[code]:
            return False
        out[i] = code
    return True


@njit(cache=True)
def _put(out, k, source, start, stop):
    """Copy ``source[start:stop]`` to ``out[k:]``; return where it ends."""
    for j in range(start, stop):
        out[k] = source[j]
        k += 1
    return k


@njit(cache=True)
def _zeros(out, k, count):
    """Write ``count`` "0" to ``out[k:]``; return where they end."""
    for _ in range(count):
        out[k] = _0
        k += 1
    return k
