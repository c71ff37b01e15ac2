"""Pareto fronts and best points, on hand-made examples."""

from systolic.sweep.pareto import best, front


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
