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


def _save(model, path):
    onnx.save(model, str(path))
    return str(path)


def test_more_bad_models_and_inputs_are_refused_before_any_node_runs(tmp_path, capsys):
    from onnx import TensorProto
    from onnx.external_data_helper import set_external_data

    out = tmp_path / "out"
    # a model onnx.checker rejects: a node reading a value nothing makes
    broken = mlp_model()
    broken.graph.node[1].input[0] = "nowhere"
    # a free batch dimension without --batch
    free = mlp_model()
    free.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    # external data outside the model's folder
    outside = mlp_model()
    weights = outside.graph.initializer[0]
    set_external_data(weights, location="../secret.bin")
    weights.data_location = TensorProto.EXTERNAL
    weights.ClearField("raw_data")
    np.save(tmp_path / "x.npy", np.ones((6, 9), dtype=np.float32))
    np.save(tmp_path / "x64.npy", np.ones((6, 8)))
    cases = [
        ([_save(broken, tmp_path / "broken.onnx")], "fails onnx.checker"),
        ([_save(free, tmp_path / "free.onnx")], "input x has a free dimension at axis 0: give "
         "--batch"),
        ([_save(outside, tmp_path / "outside.onnx")], "keeps its data at ../secret.bin, outside "
         "the model's folder; refused"),
        ([_save(mlp_model(), tmp_path / "m.onnx"), "--input", f"x={tmp_path / 'x.npy'}"],
         "--input x: a float32 array of shape (6, 9); the model takes float32 of shape 6x8"),
        ([str(tmp_path / "m.onnx"), "--input", f"x={tmp_path / 'x64.npy'}"],
         "--input x: a float64 array"),
        ([str(tmp_path / "m.onnx"), "--input", f"y={tmp_path / 'x.npy'}"],
         "--input y: the model has no such input; its inputs: x"),
    ]  # fmt: skip
    for argv, message in cases:
        assert main(["run", *argv, "--out", str(out)]) == 2, message
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, (message, err)
        assert not out.exists()
    # with --batch the free dimension is given
    assert main(["run", str(tmp_path / "free.onnx"), "--batch", "6", "--json"]) == 0
    capsys.readouterr()


def test_a_model_too_large_for_hbm_is_refused(tmp_path, capsys, monkeypatch):
    import dataclasses

    from systolic.machine import config as machine_config

    real = machine_config.machine

    def tiny(name, dtype=None):  # the preset with an HBM of 100 bytes
        return dataclasses.replace(real(name, dtype), hbm_bytes=100)

    monkeypatch.setattr(machine_config, "machine", tiny)
    out = tmp_path / "out"
    assert main(["run", _save(mlp_model(), tmp_path / "m.onnx"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "need 380 B, more than tpu_v5e's HBM of 100 B" in err and not out.exists()


def test_a_graph_that_would_make_a_huge_value_is_refused_before_running(tmp_path, capsys):
    from onnx import TensorProto, helper, numpy_helper

    shape = numpy_helper.from_array(np.array([100_000, 100_000, 100], dtype=np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("ConstantOfShape", ["shape"], ["y"], name="huge")], "huge", [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [100_000, 100_000, 100])], [shape],
    )  # fmt: skip
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
                 tmp_path / "huge.onnx")  # fmt: skip
    out = tmp_path / "out"
    assert main(["run", path, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "running the model would need" in err and "\n" not in err and not out.exists()


def test_an_op_that_would_allocate_too_much_is_refused_when_its_size_is_known():
    from systolic.onnx.ops import OPS

    with pytest.raises(ValueError, match="ConstantOfShape of shape .* would need"):
        OPS["ConstantOfShape"].run({}, [np.array([10**6, 10**6], dtype=np.int64)], None)
    with pytest.raises(ValueError, match="Range: delta must not be 0"):
        OPS["Range"].run({}, [np.array(0), np.array(5), np.array(0)], None)
