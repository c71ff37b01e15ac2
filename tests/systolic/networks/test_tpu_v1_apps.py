"""The TPU v1's six applications: built as Table 1 describes them, run on the tpu_v1 machine,
reported beside Table 3."""

import json
import math

import pytest

from systolic.cli import main
from systolic.networks import tpu_v1_apps as apps
from systolic.report import BREAKDOWN
from systolic.tpu import TPU, MatrixOp, TPUConfig, VectorOp


@pytest.mark.parametrize("name", list(apps.APPS))
def test_each_application_has_table_1s_layers_weights_and_intensity(name):
    program, paper = apps.APPS[name](), apps.PAPER[name]
    counts = apps.layer_counts(program)
    assert counts == {"fc": paper.fc, "conv": paper.conv, "vector": paper.vector,
                      "pool": paper.pool}  # fmt: skip
    # Table 1 rounds weights to millions: within 5 % of its figure
    assert apps.weights(program) == pytest.approx(paper.weights_m * 1e6, rel=0.05)
    intensity = apps.macs_per_weight_byte(program)
    if name == "CNN1":  # C and S rounded to integers
        assert intensity == pytest.approx(paper.macs_per_weight_byte, rel=0.03)
    else:  # a fully connected layer's is its batch; CNN0's 8 x 19 x 19
        assert intensity == paper.macs_per_weight_byte
    batches = {op.m for op in program if isinstance(op, MatrixOp) and not op.name.startswith("c")}
    assert batches <= {paper.batch}


def test_the_shapes_the_paper_names():
    # LSTM1's 600 x 600 matrices (section 7), CNN0 on the 19 x 19 board at batch 8
    assert {(op.k, op.n) for op in apps.lstm1() if isinstance(op, MatrixOp)} == {(600, 600)}
    assert sum(op.count for op in apps.lstm1() if isinstance(op, MatrixOp)) == 94
    assert {op.m for op in apps.cnn0()} == {8 * 19 * 19}
    assert apps._cnn1_sizes() == (225, 13)


@pytest.fixture(scope="module")
def records():
    return apps.run()


def test_records_hold_the_papers_figures_and_shares_that_sum(records):
    assert [r["app"] for r in records] == list(apps.APPS)
    config = TPUConfig.tpu_v1()
    for r in records:
        paper = apps.PAPER[r["app"]]
        assert r["paper_tops"] == paper.tops and r["ratio"] == r["tops"] / paper.tops
        clock = config.clock_mhz * 1e6
        assert r["tops"] == pytest.approx(2 * r["macs"] * clock / r["total_cycles"] / 1e12)
        rows = ("array_active_pct", "weight_stall_pct", "weight_shift_pct", "non_matrix_pct")
        assert sum(r[key] for key in rows) == pytest.approx(100)
        assert sum(r["paper_" + key] for key in rows) == pytest.approx(100, abs=0.15)
        assert r["useful_macs_pct"] + r["unused_macs_pct"] == pytest.approx(r["array_active_pct"])
        assert sum(r[key] for key in BREAKDOWN) == r["total_cycles"]
    assert [r["paper_tops"] for r in records] == [12.3, 9.7, 3.7, 2.8, 86.0, 14.1]


def test_memory_bound_applications_wait_for_weights_and_cnn0_computes(records):
    by_app = {r["app"]: r for r in records}
    for name in ("MLP0", "MLP1", "LSTM0", "LSTM1"):  # intensity far below the ridge point
        assert by_app[name]["weight_stall_pct"] > 30 and by_app[name]["tops"] < 15
    assert by_app["CNN0"]["array_active_pct"] > 75 and by_app["CNN0"]["weight_stall_pct"] < 1
    # LSTM1's 600 x 600 matrices fill 360,000 / (9 x 65,536) = 61 % of their tiles
    share = by_app["LSTM1"]["useful_macs_pct"] / by_app["LSTM1"]["array_active_pct"]
    assert share == pytest.approx(360_000 / (9 * 65_536))


def test_the_same_inputs_op_does_not_wait_by_hand():
    # one PE, weights at once, no latency: op 0 streams 1-3; op 1 reads the same inputs and
    # streams 4-6 without waiting; the unit turns op 0's rows 4-6 and op 1's 7-9: 10 cycles
    from systolic.tpu import MemoryConfig

    memory = MemoryConfig(dram_bytes_per_cycle=math.inf, weight_fifo_bytes=16)
    machine = TPU(TPUConfig(rows=1, cols=1, memory=memory))
    total, _ = machine.run([MatrixOp(3, 1, 1), MatrixOp(3, 1, 1, same_inputs=True)], True)
    assert (total.total_cycles, total.raw_stall_cycles, total.non_matrix_cycles) == (10, 0, 3)
    chained, _ = machine.run([MatrixOp(3, 1, 1), MatrixOp(3, 1, 1)], True)
    assert chained.raw_stall_cycles == 3 and chained.total_cycles == 13
    with pytest.raises(ValueError, match="same_inputs must be True or False"):
        MatrixOp(1, 1, 1, same_inputs="yes")
    assert isinstance(apps.lstm0()[4], VectorOp)


def test_unknown_names_and_a_machine_too_small_are_refused():
    with pytest.raises(ValueError, match="unknown application 'GPT'; valid: MLP0, MLP1"):
        apps.run(["GPT"])
    with pytest.raises(ValueError, match="CNN1 on this machine: .* unified buffer"):
        apps.run(["cnn1"], TPUConfig.teaching())
    assert apps.check_names(["cnn0", "MLP0"]) == ["MLP0", "CNN0"]  # the paper's order


def test_tpu_apps_command_json_and_plot(tmp_path, capsys):
    plot = tmp_path / "apps.png"
    assert main(["tpu-apps", "MLP0", "LSTM1", "--json", "--plot", str(plot)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["app"] for r in records] == ["MLP0", "LSTM1"]
    for key in ("app", "tops", "paper_tops", "total_cycles", *apps.CATEGORIES,
                "raw_stall_cycles", "weight_stall_cycles"):  # fmt: skip
        assert key in records[0]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["tpu-apps", "cnn0"]) == 0
    table = capsys.readouterr().out
    assert "CNN0" in table and "86.0" in table and "MLP0" not in table


def test_tpu_apps_priced_with_an_energy_table(capsys):
    assert main(["tpu-apps", "CNN0", "--energy", "tpu_v1_28nm", "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    parts = sum(v for k, v in record.items() if k.endswith("_energy_pj"))
    assert parts == pytest.approx(record["energy_pj"])
    assert record["energy_table"] == "tpu_v1_28nm" and 20 < record["power_w"] < 80
    assert record["tops_per_w"] == pytest.approx(record["tops"] / record["power_w"])
