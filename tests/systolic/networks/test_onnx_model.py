"""ONNX models built here with onnx.helper (no downloads) read as workloads."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from systolic.networks.onnx_model import load_onnx
from systolic.workloads import ConvLayer, Gemm, WorkloadError, load_workload


def _save(tmp_path, nodes, inputs, outputs, initializers, name="model.onnx"):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def _weight(name, shape):
    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def conv_net(tmp_path):
    """A small conv net with a symbolic batch: conv 3x3/2, depthwise 3x3, pool, flatten, fc."""
    nodes = [
        helper.make_node(
            "Conv", ["x", "w1"], ["c1"], name="stem", strides=[2, 2], pads=[1, 1, 1, 1]
        ),  # fmt: skip
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="dw", group=8, pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c2"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "w3"], ["y"], name="fc", transB=1),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])
    weights = [_weight("w1", (8, 3, 3, 3)), _weight("w2", (8, 1, 3, 3)), _weight("w3", (10, 8))]
    return _save(tmp_path, nodes, [x], [y], weights)


def test_a_conv_net_with_a_symbolic_batch(tmp_path):
    path = conv_net(tmp_path)
    stem, dw, fc = load_onnx(path, batch=4)
    assert isinstance(stem, ConvLayer) and (stem.batch, stem.channels, stem.filters) == (4, 3, 8)
    assert (stem.height, stem.kh, stem.stride_h, stem.pad_h) == (32, 3, 2, 1)
    assert stem.shape.out_h == 16
    assert dw.depthwise and dw.channels == 8 and dw.filters == 1 and dw.shape.groups == 8
    assert fc == Gemm("fc", 4, 8, 10)
    assert load_workload(path)[0].batch == 1  # a file given as a workload: batch 1


def test_a_transformer_block_with_batched_matmuls(tmp_path):
    # x (B, L, 64) @ wq (64, 64); scores: q4 (B, 2, L, 32) @ k4t (B, 2, 32, L) -> 2B GEMMs
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"], name="q_proj"),
        helper.make_node("Reshape", ["q", "shape4"], ["q4"]),
        helper.make_node("Transpose", ["q4"], ["qh"], perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["q4"], ["kt"], perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["qh", "kt"], ["s"], name="scores"),
        helper.make_node("MatMul", ["s", "qh"], ["ctx"], name="context"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 16, 64])
    out = helper.make_tensor_value_info("ctx", TensorProto.FLOAT, None)
    shape4 = numpy_helper.from_array(np.array([0, 16, 2, 32], np.int64), "shape4")
    path = _save(tmp_path, nodes, [x], [out], [_weight("wq", (64, 64)), shape4])
    layers = load_onnx(path, batch=3)
    # (3, 16, 64) @ (64, 64): a weight, so one GEMM over every token of the batch
    assert layers[0] == Gemm("q_proj", 3 * 16, 64, 64)
    scores = [g for g in layers if g.name.startswith("scores")]
    assert len(scores) == 3 * 2 and scores[0] == Gemm("scores[0]", 16, 32, 16)
    context = [g for g in layers if g.name.startswith("context")]
    assert len(context) == 6 and (context[0].m, context[0].k, context[0].n) == (16, 16, 32)


def test_the_conv_net_runs_through_compare(tmp_path, capsys):
    import json

    from systolic.cli import main

    path = conv_net(tmp_path)
    argv = ["compare", "--workload", str(path), "--batch", "2", "--sizes", "4x4", "--json",
            "--dataflows", "ws,os", "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["layer"] for r in records[:3]] == ["stem", "dw", "fc"]
    assert all(r["max_abs_error"] < 1e-4 and r["scalesim_cycles"] > 0 for r in records)


def test_bad_models_are_one_line(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\x01 not a protobuf \xff" * 10)
    with pytest.raises(WorkloadError, match=r"junk\.onnx: not an ONNX model"):
        load_workload(junk)
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    path = _save(tmp_path, nodes, [x], [y], [], name="relu.onnx")
    with pytest.raises(WorkloadError, match=r"relu\.onnx: no Conv, Gemm or MatMul node"):
        load_workload(path)
    with pytest.raises(WorkloadError, match=r"missing\.onnx: no such file"):
        load_workload(tmp_path / "missing.onnx")
