"""Plot helpers draw what they are given, return their ax, and save whole files."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from systolic import plots  # noqa: E402
from systolic.cli import main  # noqa: E402
from systolic.config import ArrayConfig  # noqa: E402
from systolic.dataflows import weight_stationary as ws  # noqa: E402
from tests.reference import prepared  # noqa: E402


def golden_4x4():
    a, b = prepared(np.ones((5, 6)), np.ones((6, 3)))
    return ws.simulate_golden(a, b, ArrayConfig(4, 4), record=True)


def test_heatmap_shows_each_pes_share_of_the_cycles():
    run = golden_4x4()
    fig, ax = plt.subplots()
    assert plots.pe_heatmap(ax, run.report) is ax
    shown = ax.images[0].get_array()
    assert np.allclose(shown, run.report.pe_active_cycles / run.report.total_cycles)
    plt.close(fig)


def test_breakdown_bars_stack_to_the_total():
    run = golden_4x4()
    fig, ax = plt.subplots()
    assert plots.breakdown_bars(ax, {"a": run.report}) is ax
    heights = sum(patch.get_height() for patch in ax.patches)
    assert heights == run.report.total_cycles
    plt.close(fig)


def test_wavefront_animation_is_a_gif_of_every_cycle(tmp_path):
    run = golden_4x4()
    path = tmp_path / "wave.gif"
    plots.save_wavefront_animation(run.array.history, path, interval_ms=100)
    data = path.read_bytes()
    assert data[:6] == b"GIF89a"
    from PIL import Image

    with Image.open(path) as image:
        assert image.n_frames == len(run.array.history) == run.report.total_cycles
    assert [p.name for p in tmp_path.iterdir()] == ["wave.gif"]


def test_gemm_plot_option(tmp_path, capsys):
    path = tmp_path / "g.png"
    assert main(["gemm", "20", "10", "6", "--rows", "4", "--cols", "4", "--plot", str(path)]) == 0
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_train_plot_option(tmp_path, capsys):
    path = tmp_path / "t.png"
    argv = ["train", "--sizes", "784,6,10", "--train-limit", "40", "--epochs", "2", "--rows", "4",
            "--cols", "4", "--plot", str(path)]  # fmt: skip
    assert main(argv) == 0
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_accuracy_with_cycles_draws_cumulative_cycles_on_a_second_axis():
    fig, ax = plt.subplots()
    plots.accuracy_with_cycles(ax, [1, 2, 3], {"run": [0.5, 0.6, 0.7]}, [10e6, 10e6, 10e6])
    twin = [other for other in fig.axes if other is not ax][0]
    assert list(twin.lines[0].get_ydata()) == [10.0, 20.0, 30.0]
    assert list(ax.lines[0].get_ydata()) == [50.0, 60.0, 70.0]
    plt.close(fig)


def test_waveforms_draw_one_row_per_signal():
    fig, ax = plt.subplots()
    signals = {"valid": [0, 1, 1, 0], "psum": [0, 5, -3, -3]}
    assert plots.waveforms(ax, signals, "pe") is ax
    assert [label.get_text() for label in ax.get_yticklabels()] == ["valid", "psum"]
    # values are written where they change, bits are not
    assert sorted(text.get_text() for text in ax.texts) == ["-3", "0", "5"]
    plt.close(fig)


def pareto_columns(n, seed=0):
    """``n`` points of one workload: arrays of three dataflows and one machine preset."""
    rng = np.random.default_rng(seed)
    machine = np.array([None, None, None, "tpu_v1"], dtype=object)[np.arange(n) % 4]
    dataflow = np.array(["ws", "os", "is", "ws"], dtype=object)[np.arange(n) % 4]
    return {
        "total_cycles": rng.integers(100, 110, n),  # ties: points shared between kinds
        "energy_pj": rng.integers(1, 6, n).astype(np.float64),
        "area_mm2": rng.uniform(0.5, 2.0, n),
        "machine": machine, "dataflow": dataflow,
        "rows": np.full(n, 8), "cols": np.full(n, 4),
    }  # fmt: skip


def test_pareto_scatter_draws_every_point_of_each_kind_and_the_front():
    from systolic.sweep.pareto import front_indices

    columns = pareto_columns(50)
    fig, ax = plt.subplots()
    assert plots.pareto_scatter(ax, columns, "total_cycles", "energy_pj", "c", "e") is ax
    kinds = {line.get_label(): line for line in ax.lines if not line.get_label().startswith("_")}
    best = front_indices(columns["total_cycles"], columns["energy_pj"])
    assert list(kinds) == ["ws", "os", "is", "tpu_v1", f"Pareto front ({len(best)})"]
    assert len(ax.lines) == 6
    for kind, chosen in (("ws", [0, 4]), ("os", [1]), ("is", [2]), ("tpu_v1", [3])):
        expected = np.arange(50)[np.isin(np.arange(50) % 4, chosen)]
        assert np.array_equal(kinds[kind].get_xdata(), columns["total_cycles"][expected])
        assert np.array_equal(kinds[kind].get_ydata(), columns["energy_pj"][expected])
    for line in ax.lines[-2:]:  # the steps through the front, and its circles
        assert np.array_equal(line.get_xdata(), columns["total_cycles"][best])
        assert np.array_equal(line.get_ydata(), columns["energy_pj"][best])
    assert ax.lines[-2].get_drawstyle() == "steps-post"
    assert len(ax.texts) == len(best) <= 12  # each point of a short front is named
    assert {text.get_text() for text in ax.texts} <= {"8x4 ws", "8x4 os", "8x4 is", "tpu_v1"}
    assert ax.get_xscale() == ax.get_yscale() == "log"
    plt.close(fig)


def test_pareto_scatter_of_many_points_draws_one_of_each_kind_per_place():
    n = 3 * (plots.THIN_ABOVE // 3 + 4)
    columns = pareto_columns(n)
    columns["total_cycles"] = np.tile([10, 1000, 10**5], n // 3)
    columns["area_mm2"] = np.full(n, 2.0)
    columns["area_mm2"][-1] = 3.0  # one point alone: the last (os, at 10**5 cycles)
    assert (n - 1) % 4 == 1 and (n - 1) % 3 == 2
    fig, ax = plt.subplots()
    plots.pareto_scatter(ax, columns, "total_cycles", "area_mm2", "c", "a")
    drawn = {}
    for line in ax.lines[:-2]:
        drawn.setdefault(line.get_gid(), []).append(
            (line.get_alpha(), line.get_xdata().tolist(), line.get_ydata().tolist())
        )
    # each kind once in each of the three places, in the order it first comes there, as
    # opaque as the points it stands for; the lone point as one dot
    stacked = 1 - (1 - plots.ALPHA) ** 3
    assert drawn == {
        "ws": [(0.7, [], []), (stacked, [10, 1000, 10**5], [2.0] * 3)],
        "os": [(0.7, [10**5], [3.0]), (stacked, [1000, 10**5, 10], [2.0] * 3)],
        "is": [(0.7, [], []), (stacked, [10**5, 10, 1000], [2.0] * 3)],
        "tpu_v1": [(0.7, [], []), (stacked, [10, 1000, 10**5], [2.0] * 3)],
    }
    assert ax.lines[-1].get_label() == f"Pareto front ({n // 3})"  # every point at 10 cycles
    plt.close(fig)


def test_pareto_figure_draws_both_fronts_and_saves_a_png(tmp_path):
    columns = pareto_columns(30)
    fig = plots.pareto_figure(columns, "mlp, batch 8")
    left, right = fig.axes
    assert left.get_ylabel() == "energy, pJ" and right.get_ylabel() == "area, mm²"
    assert fig._suptitle.get_text() == "mlp, batch 8: 30 points"
    path = tmp_path / "p.png"
    plots.save_figure(fig, path, metadata={"Description": "test"})
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_a_wide_log_axis_is_marked_at_its_decades_and_a_narrow_one_as_matplotlib_marks_it():
    columns = pareto_columns(40)
    columns["energy_pj"] = np.geomspace(1e-3, 1e9, 40)  # twelve decades
    fig, ax = plt.subplots()
    plots.pareto_scatter(ax, columns, "total_cycles", "energy_pj", "c", "e")
    fig.canvas.draw()
    wide, narrow = ax.yaxis, ax.xaxis  # 100 to 110 cycles: not a decade
    assert len(wide.get_minorticklocs()) == 0
    labels = {tick.get_text() for tick in wide.get_ticklabels()}
    assert {"10⁻³", "10⁹"} <= labels
    assert all(text.startswith("10") and set(text[2:]) <= set("⁻⁰¹²³⁴⁵⁶⁷⁸⁹") for text in labels)
    assert len(narrow.get_minorticklocs()) > 0
    assert narrow.get_major_formatter() is not wide.get_major_formatter()
    plt.close(fig)
