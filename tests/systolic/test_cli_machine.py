"""``systolic machines`` and ``systolic train --machine``: the stable JSON names, the time and
energy to a target accuracy, the Gantt chart."""

import json

import pytest

from systolic.cli import main
from systolic.machine.config import MACHINES, PUBLISHED_PEAK_BF16_FLOPS

TRAIN = ["train", "--machine", "tpu_v5e", "--train-limit", "200", "--epochs", "2",
         "--sizes", "784,12,10", "--no-reference"]  # fmt: skip


def test_machines_json_lists_every_preset_with_the_stable_names(capsys):
    assert main(["machines", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in records] == list(MACHINES)
    for r in records:
        for key in ("cores", "mxus", "mxu_rows", "mxu_cols", "clock_mhz", "hbm_bytes",
                    "hbm_bytes_per_second", "vmem_bytes"):  # fmt: skip
            assert r[key] > 0
        assert r["peak_bf16_flops"] == pytest.approx(PUBLISHED_PEAK_BF16_FLOPS[r["name"]],
                                                     rel=0.02)  # fmt: skip


def test_machines_table(capsys):
    assert main(["machines"]) == 0
    out = capsys.readouterr().out
    assert "tpu_v6e" in out and "256x256" in out and "196.6 TF" in out


@pytest.fixture(scope="module")
def machine_run(tmp_path_factory):
    """One short run's JSON, with a target reached in the first epoch, and its chart."""
    tmp = tmp_path_factory.mktemp("machine")
    chart = tmp / "step.png"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main([*TRAIN, "--json", "--target-accuracy", "0.2", "--timeline",
                     str(chart)]) == 0  # fmt: skip
    return json.loads(out.getvalue()), chart


def test_train_machine_json_has_the_stable_names(machine_run):
    document, _ = machine_run
    epoch = document["epochs"][0]
    assert set(epoch["phases"]) == {"forward", "backward", "gradient", "update", "evaluation"}
    for phase in epoch["phases"].values():
        assert set(phase) == {"cycles", "seconds", "mxu_cycles", "vpu_cycles", "hbm_cycles"}
    assert sum(p["cycles"] for p in epoch["phases"].values()) == epoch["total_cycles"]
    assert epoch["step_cycles"] > 0 and epoch["bottleneck"] in ("mxu", "vpu", "hbm")
    assert 0 <= epoch["test_accuracy"] <= 1
    summary = document["summary"]
    assert summary["total_cycles"] == sum(e["total_cycles"] for e in document["epochs"])
    assert summary["energy_j"] == pytest.approx(sum(e["energy_j"] for e in document["epochs"]))


def test_time_and_energy_to_accuracy_are_those_of_the_first_epoch_that_reaches_it(machine_run):
    document, _ = machine_run
    summary, first = document["summary"], document["epochs"][0]
    assert first["val_accuracy"] >= 0.2 and summary["target_epoch"] == 1
    assert summary["time_to_accuracy_s"] == pytest.approx(first["seconds"])
    assert summary["energy_to_accuracy_j"] == pytest.approx(first["energy_j"])


def test_a_target_never_reached_is_null(capsys):
    assert main([*TRAIN, "--epochs", "1", "--json", "--target-accuracy", "1"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["time_to_accuracy_s"] is None and summary["energy_to_accuracy_j"] is None


def test_the_timeline_is_a_png(machine_run):
    _, chart = machine_run
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_machine_table_and_summary(capsys):
    assert main([*TRAIN, "--epochs", "1", "--target-accuracy", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "on tpu_v5e, bf16 MXUs" in out and "step cycles" in out
    assert "to 20.00% validation" in out and "energy (horowitz45)" in out


def test_compare_runs_the_workload_on_each_machine_preset(tmp_path, capsys):
    from systolic import compare, workloads
    from systolic.machine.config import tpu_v5e
    from systolic.machine.program import layer_gemms, run_layers

    argv = ["compare", "--mlp", "784,64,10", "--batch", "32", "--sizes", "8x8", "--dataflows",
            "ws", "--no-values", "--machines", "tpu_v1,tpu_v5e", "--json", "--out",
            str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    v1, v5e = document["machines"]
    assert (v1["machine"], v5e["machine"]) == ("tpu_v1", "tpu_v5e")
    assert v1["dtype"] == "int8" and v5e["dtype"] == "bf16"
    gemms = workloads.mlp_gemms([784, 64, 10], 32)
    assert v5e["total_cycles"] == run_layers(tpu_v5e(), layer_gemms(gemms))["total_cycles"]
    assert compare.machine_records(gemms, ["tpu_v5e"])[0]["bottleneck"] == v5e["bottleneck"]
    assert document["records"][0]["rows"] == 8


def test_compare_runs_a_whole_onnx_model_on_the_training_machines(tmp_path, capsys):
    import onnx

    from systolic.machine.config import tpu_v5e
    from systolic.onnx.graph import run_graph
    from systolic.onnx.models import small_cnn
    from systolic.onnx.run import input_specs, make_inputs

    path = tmp_path / "cnn.onnx"
    onnx.save(small_cnn(batch=1), str(path))
    argv = ["compare", "--workload", str(path), "--sizes", "8x8", "--dataflows", "ws",
            "--no-values", "--machines", "tpu_v5e", "--json", "--out",
            str(tmp_path / "o")]  # fmt: skip
    assert main(argv) == 0
    (v5e,) = json.loads(capsys.readouterr().out)["machines"]
    model = onnx.load(str(path))
    ran = run_graph(model, make_inputs(input_specs(model, 1), {}, 0), tpu_v5e())
    assert v5e["total_cycles"] == ran.total_cycles
    # the pooling, activations and softmax are counted: the VPU was busy
    assert ran.schedule.unit_cycles["vpu"] > 0
