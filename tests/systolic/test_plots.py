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
