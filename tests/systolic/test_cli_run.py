"""``systolic run``: an ONNX model on the machine, checked against the reference runtime."""

import json

import numpy as np
import onnx
import pytest

from systolic.cli import main
from systolic.onnx.run import file_name
from tests.systolic.onnx.test_graph import mlp_model


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "mlp.onnx"
    onnx.save(mlp_model(), str(path))
    return path


def test_json_has_the_stable_names_and_every_output_checked(model_file, capsys):
    assert main(["run", str(model_file), "--dtype", "fp32", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {n["name"] for n in document["nodes"]} == {"fc", "bias", "relu", "flat"}
    for node in document["nodes"]:
        assert {"name", "op", "unit", "cycles"} <= set(node)
    cycles = [n["cycles"] for n in document["nodes"]]
    assert cycles == sorted(cycles, reverse=True)  # the slowest first
    (output,) = document["outputs"]
    assert output["name"] == "y" and output["within_bound"] and output["max_abs_error"] < 1e-5
    # onnxruntime (the optional extra, installed with the test extra) checks it too
    assert output["onnxruntime_max_abs_error"] < 1e-5
    assert document["total_cycles"] > 0 and document["energy_j"] > 0
    assert document["energy_j"] == pytest.approx(sum(n["energy_j"] for n in document["nodes"]))
    assert document["seconds"] == pytest.approx(document["total_cycles"] / 1.5e9)


def test_out_writes_outputs_and_inputs_and_a_given_input_is_used(model_file, tmp_path, capsys):
    x = np.arange(48, dtype=np.float32).reshape(6, 8) / 10
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    argv = ["run", str(model_file), "--input", f"x={tmp_path / 'x.npy'}", "--out", str(out),
            "--plot", str(tmp_path / "nodes.png")]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "within the bf16 bound" in text and "fc" in text
    assert np.array_equal(np.load(out / "inputs" / "x.npy"), x)
    assert np.load(out / "y.npy").shape == (30,)
    assert (tmp_path / "nodes.png").read_bytes()[:4] == b"\x89PNG"


def test_file_names_are_made_safe():
    assert file_name("gpu_0/softmax:1") == "gpu_0_softmax_1"
    assert file_name("..") == "_.." and file_name("") == "_"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--input", "nope=x.npy"], "--input nope: x.npy: cannot read a .npy array"),
        (["--input", "x"], "--input 'x': expected NAME=FILE.npy"),
        (["--machine", "tpu_v9"], "unknown machine 'tpu_v9'"),
    ],
)
def test_bad_input_is_one_line(model_file, tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert main(["run", str(model_file), *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and not out.exists()


def test_an_unsupported_op_is_refused_naming_op_and_node(model_file, tmp_path, capsys):
    model = onnx.load(str(model_file))
    model.graph.node.append(onnx.helper.make_node("TopK", ["y", "shape"], ["v", "i"], name="k"))
    onnx.save(model, str(tmp_path / "topk.onnx"))
    assert main(["run", str(tmp_path / "topk.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert "unsupported op 'TopK' in node 'k'; supported: Abs" in err and "\n" not in err


def test_a_file_that_is_not_a_model(tmp_path, capsys):
    (tmp_path / "bad.onnx").write_bytes(b"\x00not a protobuf")
    assert main(["run", str(tmp_path / "bad.onnx")]) == 2
    assert "bad.onnx: not an ONNX model" in capsys.readouterr().err
