"""A result table as CSV: byte for byte what csv.DictWriter writes, for random tables of every
dtype and the floats whose text is hard to get right, a small table written out by hand, and
the file written whole."""

import csv
import io
import math
import os
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from systolic.sweep import table
from systolic.sweep.table import csv_bytes, write_csv

INT64 = np.iinfo(np.int64)
#: floats whose text is easy to get wrong: where repr switches to an exponent, zeros, the
#: ends of the range, subnormals, integral floats
EDGE_FLOATS = [
    1e16, 1e15, 9999999999999998.0, 1e-5, 1e-4, 0.0001, 9.999999999999999e-05, 1e-10,
    9.999999999999999e-11, 1e-9, 123456789012345.0, 123456789012345678.0, -0.0, 0.0,
    math.nan, math.inf, -math.inf, 5e-324, -5e-324, 2.2250738585072014e-308,
    2.225073858507201e-308, 1.7976931348623157e308, 1.0, -1.0, 100.0, 0.1, 2.5e-07, 1e22,
    1e100, 1e-100, 1e-300,
]  # fmt: skip

floats = st.one_of(
    st.sampled_from(EDGE_FLOATS),
    st.floats(),
    st.integers(-330, 308).map(lambda e: 10.0**e),
    st.integers(0, 2**64 - 1).map(lambda bits: float(np.uint64(bits).view(np.float64))),
)
ints = st.one_of(st.sampled_from([INT64.min, INT64.max, 0, -1]), st.integers(INT64.min, INT64.max))
texts = st.one_of(
    st.sampled_from(["mlp:784,30,10", "", " ", 'say "hi"', "a\nb", "a\rb", "\r\n", ",", "é€"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    st.text(alphabet=',"\n\r ab', max_size=6),
)
#: entries of object columns: each kind alone (with None), and all of them mixed
objects = st.sampled_from(
    [
        st.one_of(st.none(), texts),
        st.one_of(st.none(), floats),
        st.one_of(st.none(), ints),
        st.one_of(st.none(), st.booleans()),
        st.one_of(st.none(), texts, floats, st.integers(), st.booleans()),
        st.sampled_from([None, 1, 1.0, True, 0, 0.0, -0.0, False, 2**64]),
        st.sampled_from([1, 1.0, True]),  # equal, and written otherwise
        st.sampled_from([0, 0.0, -0.0, False]),
    ]
)


@st.composite
def columns(draw, rows):
    """A column of ``rows`` entries: int64, float64, bool or object, at times constant."""
    kind = draw(st.sampled_from(["int", "float", "bool", "object"]))
    if kind == "object":
        entries = draw(objects)
    else:
        entries = {"int": ints, "float": floats, "bool": st.booleans()}[kind]
    if draw(st.booleans()):
        values = [draw(entries)] * rows
    else:
        values = [draw(entries) for _ in range(rows)]
    if kind == "object":
        column = np.empty(rows, dtype=object)
        column[:] = values
        return column
    return np.array(values, dtype={"int": np.int64, "float": np.float64, "bool": bool}[kind])


@st.composite
def tables(draw, max_rows=12):
    """``(columns, names)``: a few columns, the names of some of them (one of them perhaps
    not in the table) in random order."""
    rows = draw(st.sampled_from([0, 1, draw(st.integers(0, max_rows))]))
    count = draw(st.integers(1, 6))
    drawn = {f"c{i}": draw(columns(rows)) for i in range(count)}
    names = draw(st.permutations([*drawn, "missing"]))
    return drawn, names[: draw(st.integers(0, len(names)))]


def dict_writer(columns, names):
    """The reference: csv.DictWriter on the table's records, as UTF-8."""
    rows = len(next(iter(columns.values()))) if columns else 0
    entries = {name: column.tolist() for name, column in columns.items()}
    records = [{name: entries[name][i] for name in entries} for i in range(rows)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


@given(tables())
def test_random_tables_are_written_as_dict_writer_writes_them(case):
    columns, names = case
    assert csv_bytes(columns, names) == dict_writer(columns, names)


@given(tables(max_rows=30))
def test_tables_of_several_blocks_are_written_whole(case):
    columns, names = case
    with mock.patch.object(table, "BLOCK_ROWS", 4):
        assert csv_bytes(columns, names) == dict_writer(columns, names)


@given(objects.flatmap(lambda entries: st.lists(entries, min_size=2, max_size=12)))
def test_object_columns_of_each_kind(values):
    column = np.empty(len(values), dtype=object)
    column[:] = values
    columns = {"x": column, "y": np.arange(len(values))}
    assert csv_bytes(columns, ["x", "y"]) == dict_writer(columns, ["x", "y"])


@given(st.lists(floats, max_size=20), st.sampled_from([["x"], ["x", "y"]]))
def test_floats_alone_and_beside_another_column(values, names):
    columns = {"x": np.array(values, dtype=np.float64)}
    columns["y"] = np.zeros(len(values), np.int64)
    assert csv_bytes(columns, names) == dict_writer(columns, names)


def test_floats_of_every_exponent_are_reprs():
    rng = np.random.default_rng(7)
    decades = 10.0 ** np.arange(-330, 309)
    values = np.concatenate(
        [
            rng.integers(0, 2**64, 20_000, dtype=np.uint64).view(np.float64),
            decades,
            np.nextafter(decades, 0.0),
            np.nextafter(decades, np.inf),
            -decades,
            rng.integers(-(10**6), 10**6, 5_000) / 10.0 ** rng.integers(0, 25, 5_000),
        ]
    )
    expected = "x\n" + "".join(repr(value) + "\n" for value in values.tolist())
    assert csv_bytes({"x": values}, ["x"]).decode() == expected


def test_a_small_table_by_hand():
    columns = {
        "workload": np.array(["mlp:784,30,10", 'say "x"', None], dtype=object),
        "rows": np.array([8, -9223372036854775808, 128]),
        "energy_pj": np.array([1e16, 1e-05, -0.0]),
        "exact": np.array([True, False, True]),
        "error": np.array([None, 0.0001, math.nan], dtype=object),
        "ignored": np.array([1, 2, 3]),
    }
    names = ["workload", "rows", "energy_pj", "exact", "error", "seconds"]
    expected = (
        "workload,rows,energy_pj,exact,error,seconds\n"
        '"mlp:784,30,10",8,1e+16,True,,\n'
        '"say ""x""",-9223372036854775808,1e-05,False,0.0001,\n'
        ",128,-0.0,True,nan,\n"
    )
    assert csv_bytes(columns, names).decode() == expected
    assert csv_bytes(columns, names) == dict_writer(columns, names)


def test_zeros_of_both_signs_and_equal_numbers_of_other_types_are_told_apart():
    columns = {
        "zeros": np.array([0.0, -0.0, 0.0]),
        "numbers": np.array([1, 1.0, True], dtype=object),
        "falsy": np.array([0, -0.0, False], dtype=object),
    }
    expected = "zeros,numbers,falsy\n0.0,1,0\n-0.0,1.0,-0.0\n0.0,True,False\n"
    assert csv_bytes(columns, list(columns)).decode() == expected


def test_a_lone_empty_field_is_quoted():
    columns = {"error": np.array([None, "", "E: x"], dtype=object)}
    assert csv_bytes(columns, ["error"]) == b'error\n""\n""\nE: x\n'
    assert csv_bytes(columns, ["missing"]) == b'missing\n""\n""\n""\n'
    assert csv_bytes(columns, []) == b"\n\n\n\n"


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match="1-D"):
        csv_bytes({"x": np.zeros((2, 2))}, ["x"])
    with pytest.raises(ValueError, match="one length"):
        csv_bytes({"x": np.zeros(2), "y": np.zeros(3)}, ["x"])


def test_write_csv_writes_the_bytes_whole_keeping_the_mode(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("old\n")
    os.chmod(path, 0o600)
    columns = {"key": np.array(["a", "b"], dtype=object), "cycles": np.array([3, 4])}
    write_csv(path, columns, ["key", "cycles"])
    assert path.read_bytes() == b"key,cycles\na,3\nb,4\n"
    assert path.stat().st_mode & 0o777 == 0o600


@given(st.lists(st.text(alphabet='0123456789abcdef,"\n x', min_size=0, max_size=5), max_size=30))
def test_text_columns_of_one_width_are_written_as_csv_does(words):
    """Fixed-width str arrays (a sweep's keys) take a path of their own when plain."""
    for column in (np.array(words, dtype="U5"), np.array([w.ljust(5, "a") for w in words])):
        if not len(column):
            continue
        table = {"key": column, "n": np.arange(len(column))}
        assert csv_bytes(table, ["key", "n"]) == dict_writer(table, ["key", "n"])


@given(tables())
def test_rows_alone_and_where_each_ends(case):
    columns, names = case
    whole = csv_bytes(columns, names)
    out = io.BytesIO()
    lengths = table.write_rows(columns, names, out)
    rows, ends = out.getvalue(), np.cumsum(lengths)
    assert whole == whole[: whole.index(b"\n") + 1] + rows
    assert len(ends) == table._rows(columns) and (not len(ends) or ends[-1] == len(rows))
    starts = [0, *ends[:-1].tolist()][: len(ends)]
    for start, end in zip(starts, ends.tolist(), strict=True):
        assert rows[end - 1 : end] == b"\n" and end > start


@pytest.mark.parametrize("value", [7, -0.0, 1e-5, None, "ok", 'a "b", c', True, 2**70])
def test_a_column_of_one_entry_repeated_is_written_as_its_copies_are(value):
    """np.broadcast_to (stride 0), the sweep's columns of one value, takes a path of its own."""
    one = np.array([value], dtype=object if value is None or isinstance(value, str) else None)
    table = {"repeated": np.broadcast_to(one, (5,)), "n": np.arange(5)}
    assert table["repeated"].strides == (0,)
    expected = dict_writer({"repeated": np.repeat(one, 5), "n": np.arange(5)}, ["n", "repeated"])
    assert csv_bytes(table, ["n", "repeated"]) == expected
