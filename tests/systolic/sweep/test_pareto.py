"""Pareto fronts and best points, on hand-made examples, and the column versions against
plain loops over records."""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from systolic.sweep.pareto import (
    BEST,
    best,
    best_indices,
    distinct,
    front,
    front_indices,
    group_indices,
    record_columns,
    workload_groups,
)


def reference_front(records, x, y):
    """The loop ``front`` ran before it worked on columns: the oracle of ``front_indices``."""
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


#: costs with many ties and duplicates
FEW_INTS = st.integers(0, 4)
#: floats with signed zeros, infinities and near neighbours
FLOATS = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 1.0 + 2**-52, float("inf"), -float("inf")]),
    st.floats(allow_nan=False),
)


def cost_pairs(elements, max_size=40):
    return st.lists(st.tuples(elements, elements), max_size=max_size)


def test_front_of_a_hand_example():
    points = [  # (cycles, energy): the front is a, c, e; b, d and f are each beaten
        ("a", 10, 90), ("b", 20, 95), ("c", 30, 40), ("d", 40, 40), ("e", 50, 10), ("f", 60, 30),
    ]  # fmt: skip
    records = [{"name": n, "c": c, "e": e} for n, c, e in points]
    assert [records[i]["name"] for i in front(records, "c", "e")] == ["a", "c", "e"]
    assert [records[i]["name"] for i in front(records, "e", "c")] == ["e", "c", "a"]


def test_equal_points_are_on_the_front_together_and_ties_in_x_keep_the_lowest():
    records = [{"c": 5, "e": 3}, {"c": 1, "e": 9}, {"c": 5, "e": 3}, {"c": 5, "e": 4},
               {"c": 1, "e": 9}, {"c": 6, "e": 3}]  # fmt: skip
    assert front(records, "c", "e") == [1, 4, 0, 2]
    assert front([], "c", "e") == []


def test_best_per_workload_by_cycles_energy_and_area():
    def point(workload, batch, cycles, energy, area, status="ok"):
        return {"workload": workload, "batch": batch, "status": status,
                "total_cycles": cycles, "energy_pj": energy, "area_mm2": area}  # fmt: skip

    records = [
        point("a", 1, 100, 5.0, 2.0), point("a", 1, 50, 9.0, 3.0), point("a", 1, 50, 8.0, 4.0),
        point("a", 1, 10, 1.0, 1.0, status="failed"), point("a", 2, 70, 7.0, 0.5),
    ]  # fmt: skip
    chosen = [(r["by"], r["batch"], r["total_cycles"], r["energy_pj"]) for r in best(records)]
    assert chosen == [
        ("cycles", 1, 50, 8.0),  # the tie in cycles goes to the lower energy
        ("energy", 1, 100, 5.0),
        ("area", 1, 100, 5.0),
        ("cycles", 2, 70, 7.0), ("energy", 2, 70, 7.0), ("area", 2, 70, 7.0),
    ]  # fmt: skip


@given(cost_pairs(FEW_INTS))
@example([])
@example([(3, 2)])
def test_front_indices_match_the_loop_on_integer_costs_with_ties(pairs):
    records = [{"c": c, "e": e} for c, e in pairs]
    x = np.array([c for c, _ in pairs], dtype=np.int64)
    y = np.array([e for _, e in pairs], dtype=np.int64)
    found = front_indices(x, y)
    assert found.dtype == np.int64
    assert found.tolist() == reference_front(records, "c", "e")
    assert front(records, "c", "e") == reference_front(records, "c", "e")


@given(cost_pairs(FLOATS))
def test_front_indices_match_the_loop_on_float_costs(pairs):
    records = [{"c": c, "e": e} for c, e in pairs]
    x = np.array([c for c, _ in pairs], dtype=np.float64)
    y = np.array([e for _, e in pairs], dtype=np.float64)
    assert front_indices(x, y).tolist() == reference_front(records, "c", "e")


def test_front_indices_of_no_points_and_of_one():
    assert front_indices(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).size == 0
    assert front_indices(np.array([7]), np.array([2.5])).tolist() == [0]


@st.composite
def cost_columns(draw, max_size=30):
    n = draw(st.integers(1, max_size))
    names = dict.fromkeys(cost for costs in BEST.values() for cost in costs)
    ties = st.integers(0, 1)  # often equal in all three costs
    columns = {name: np.array(draw(st.lists(ties, min_size=n, max_size=n))) for name in names}
    columns["area_mm2"] = columns["area_mm2"] / 4  # float costs too
    indices = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    return columns, np.array(indices)


@given(cost_columns())
def test_best_indices_are_pythons_min_over_tuples_first_among_ties(case):
    columns, indices = case
    expected = {
        by: min(indices.tolist(), key=lambda i, costs=costs: tuple(columns[c][i] for c in costs))
        for by, costs in BEST.items()
    }
    assert best_indices(columns, indices) == expected
    every = np.arange(len(columns["total_cycles"]))
    assert best_indices(columns) == best_indices(columns, every)


KEYS = st.tuples(st.sampled_from(["mlp", "conv", "lstm"]), st.sampled_from([None, 1, 8]))


@given(st.lists(KEYS, max_size=40))
def test_group_indices_are_each_workloads_points_in_order_of_first_appearance(keys):
    records = [{"workload": w, "batch": b, "i": i} for i, (w, b) in enumerate(keys)]
    expected = {}
    for record in records:
        expected.setdefault((record["workload"], record["batch"]), []).append(record["i"])
    columns = record_columns(records, ("workload", "batch"))
    found = group_indices(columns["workload"], columns["batch"])
    assert list(found) == list(expected)
    assert {key: chosen.tolist() for key, chosen in found.items()} == expected
    assert workload_groups(records) == {
        key: [records[i] for i in chosen] for key, chosen in expected.items()
    }


def test_group_indices_take_numeric_batches_and_give_python_keys():
    found = group_indices(np.array(["b", "a", "b"], dtype=object), np.array([8, 1, 8]))
    assert {key: chosen.tolist() for key, chosen in found.items()} == {
        ("b", 8): [0, 2],
        ("a", 1): [1],
    }
    assert all(type(batch) is int for _, batch in found)


def test_distinct_values_in_order_of_first_appearance():
    values, codes = distinct(np.array([None, "os", None, "ws"], dtype=object))
    assert values == [None, "os", "ws"]
    assert codes.tolist() == [0, 1, 0, 2]
    values, codes = distinct(np.array([5, 3, 5, 1]))
    assert values == [5, 3, 1]
    assert codes.tolist() == [0, 1, 0, 2]


def test_record_columns_are_numeric_or_objects():
    records = [{"c": 3, "e": 1.5, "m": None, "d": "ws"}, {"c": 4, "e": 2.0, "m": "tpu", "d": "os"}]
    columns = record_columns(records, ("c", "e", "m", "d"))
    assert [columns[name].dtype for name in "cemd"] == [np.int64, np.float64, object, object]
    assert columns["m"].tolist() == [None, "tpu"]


def test_record_columns_round_no_value():
    mixed = record_columns([{"x": 2**53 + 1, "y": 2**70}, {"x": 0.5, "y": 1}], ("x", "y"))
    assert [mixed[name].dtype for name in "xy"] == [object, object]
    assert mixed["x"].tolist() == [2**53 + 1, 0.5] and mixed["y"].tolist() == [2**70, 1]
    flags = record_columns([{"f": True}, {"f": False}], ("f",))["f"]
    assert flags.dtype == np.bool_
