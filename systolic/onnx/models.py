"""Small ONNX models built with ``onnx.helper`` (random weights from a seed), for trying the
backend on the graphs people bring: a CNN and a transformer encoder block."""

from __future__ import annotations

import numpy as np


def _init(rng, name: str, shape, scale: float = 0.1):
    from onnx import numpy_helper

    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def transformer_block(seq: int = 16, d_model: int = 64, heads: int = 4, d_ff: int = 128,
                      seed: int = 0):  # fmt: skip
    """A pre-norm transformer encoder block on ``x`` of shape ``(seq, d_model)``:
    ``h = x + Wo(attention(LN(x)))``, ``y = h + W2(gelu(W1(LN(h))))``, with ``heads``
    scaled dot-product attention heads (MatMul, Softmax, Transpose, Reshape)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    d_head = d_model // heads
    inits = [
        _init(rng, "ln1_scale", (d_model,), 1.0), _init(rng, "ln1_bias", (d_model,)),
        _init(rng, "wq", (d_model, d_model)), _init(rng, "wk", (d_model, d_model)),
        _init(rng, "wv", (d_model, d_model)), _init(rng, "wo", (d_model, d_model)),
        _init(rng, "ln2_scale", (d_model,), 1.0), _init(rng, "ln2_bias", (d_model,)),
        _init(rng, "w1", (d_model, d_ff)), _init(rng, "b1", (d_ff,)),
        _init(rng, "w2", (d_ff, d_model)), _init(rng, "b2", (d_model,)),
        numpy_helper.from_array(np.array([seq, heads, d_head], dtype=np.int64), "split_heads"),
        numpy_helper.from_array(np.array([seq, d_model], dtype=np.int64), "merge_heads"),
        numpy_helper.from_array(np.array(1 / np.sqrt(d_head), dtype=np.float32), "scale"),
    ]  # fmt: skip
    node = helper.make_node
    nodes = [
        node("LayerNormalization", ["x", "ln1_scale", "ln1_bias"], ["n1"], name="ln1", axis=-1),
        node("MatMul", ["n1", "wq"], ["q2"], name="q"),
        node("MatMul", ["n1", "wk"], ["k2"], name="k"),
        node("MatMul", ["n1", "wv"], ["v2"], name="v"),
    ]
    for name in ("q", "k", "v"):  # (seq, d_model) -> (heads, seq, d_head)
        nodes.append(node("Reshape", [f"{name}2", "split_heads"], [f"{name}3"],
                          name=f"{name}_split"))  # fmt: skip
        nodes.append(node("Transpose", [f"{name}3"], [f"{name}h"], name=f"{name}_heads",
                          perm=[1, 0, 2]))  # fmt: skip
    nodes += [
        node("Transpose", ["kh"], ["kt"], name="k_t", perm=[0, 2, 1]),
        node("MatMul", ["qh", "kt"], ["scores"], name="qk"),
        node("Mul", ["scores", "scale"], ["scaled"], name="scale_scores"),
        node("Softmax", ["scaled"], ["weights"], name="softmax", axis=-1),
        node("MatMul", ["weights", "vh"], ["context"], name="av"),
        node("Transpose", ["context"], ["context_t"], name="merge_t", perm=[1, 0, 2]),
        node("Reshape", ["context_t", "merge_heads"], ["merged"], name="merge"),
        node("MatMul", ["merged", "wo"], ["attended"], name="o"),
        node("Add", ["x", "attended"], ["h"], name="residual1"),
        node("LayerNormalization", ["h", "ln2_scale", "ln2_bias"], ["n2"], name="ln2", axis=-1),
        node("MatMul", ["n2", "w1"], ["f1"], name="ffn1"),
        node("Add", ["f1", "b1"], ["f1b"], name="ffn1_bias"),
        node("Gelu", ["f1b"], ["g"], name="gelu"),
        node("MatMul", ["g", "w2"], ["f2"], name="ffn2"),
        node("Add", ["f2", "b2"], ["f2b"], name="ffn2_bias"),
        node("Add", ["h", "f2b"], ["y"], name="residual2"),
    ]
    graph = helper.make_graph(
        nodes, "transformer_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [seq, d_model])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [seq, d_model])], inits,
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def small_cnn(batch: int = 2, seed: int = 0):
    """A small CNN on ``(batch, 1, 28, 28)`` images: Conv-Relu-MaxPool twice, then a Gemm to 10
    classes and a Softmax."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "c1_w", (8, 1, 3, 3), 0.3), _init(rng, "c1_b", (8,)),
        _init(rng, "c2_w", (16, 8, 3, 3), 0.1), _init(rng, "c2_b", (16,)),
        _init(rng, "fc_w", (16 * 6 * 6, 10), 0.05), _init(rng, "fc_b", (10,)),
        numpy_helper.from_array(np.array([batch, -1], dtype=np.int64), "flat_shape"),
    ]  # fmt: skip
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "c1_w", "c1_b"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        node("Relu", ["c1"], ["r1"], name="relu1"),
        node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        node("Conv", ["p1", "c2_w", "c2_b"], ["c2"], name="conv2"),
        node("Relu", ["c2"], ["r2"], name="relu2"),
        node("MaxPool", ["r2"], ["p2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
        node("Reshape", ["p2", "flat_shape"], ["flat"], name="flatten"),
        node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc"),
        node("Softmax", ["logits"], ["y"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "small_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 1, 28, 28])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 10])], inits,
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
