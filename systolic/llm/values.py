"""A GPT-2-style decoder with values: its prefill as an ONNX graph run on the machine
(``systolic.onnx``), and the same forward pass in plain NumPy, written apart from it, to
check the machine's outputs against.

The weights are random from a seed (``weights``), shaped as the model's: token and position
embeddings, per layer a LayerNorm, the fused QKV projection, causal multi-head attention, the
output projection, a LayerNorm, a GELU MLP, residual adds; the final LayerNorm and the LM
head tied to the token embedding. The graph takes the token embeddings' rows already
gathered (``x``: the embedding lookup is data movement the timing model prices). Only the
GPT-2 family (learned positions, LayerNorm, GELU) runs with values here.
"""

from __future__ import annotations

import math

import numpy as np

from systolic.llm.config import ModelConfig


def check_gpt2_like(model: ModelConfig) -> None:
    """Refuse a model this module cannot build (see the module docstring)."""
    if (model.norm, model.ffn_kind, model.positions) != ("layernorm", "gelu", "learned") or (
        model.encoder or model.experts or model.kv_heads != model.heads
    ):
        raise ValueError(f"--values runs GPT-2-style decoders only (LayerNorm, GELU, learned "
                         f"positions, full attention); {model.name} is not one")  # fmt: skip


def weights(model: ModelConfig, layers: int, seed: int) -> dict[str, np.ndarray]:
    """Random float32 weights of the first ``layers`` layers (scaled like GPT-2's init)."""
    rng = np.random.default_rng(seed)
    h, f = model.hidden, model.ffn

    def normal(*shape, scale=0.02):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w = {"wte": normal(model.vocab, h), "wpe": normal(model.max_seq, h, scale=0.01),
         "lnf_g": (1 + normal(h)), "lnf_b": normal(h)}  # fmt: skip
    for i in range(layers):
        w |= {
            f"l{i}.ln1_g": 1 + normal(h), f"l{i}.ln1_b": normal(h),
            f"l{i}.qkv_w": normal(h, 3 * h), f"l{i}.qkv_b": normal(3 * h),
            f"l{i}.o_w": normal(h, h), f"l{i}.o_b": normal(h),
            f"l{i}.ln2_g": 1 + normal(h), f"l{i}.ln2_b": normal(h),
            f"l{i}.fc_w": normal(h, f), f"l{i}.fc_b": normal(f),
            f"l{i}.proj_w": normal(f, h), f"l{i}.proj_b": normal(h),
        }  # fmt: skip
    return w


def reference_logits(model: ModelConfig, w: dict, tokens: np.ndarray, layers: int) -> np.ndarray:
    """The logits of every position of ``tokens`` (a 1-D array of ids), in plain float64
    NumPy: the independent reference."""
    h, heads = model.hidden, model.heads
    d = h // heads
    seq = len(tokens)
    x = w["wte"][tokens].astype(np.float64) + w["wpe"][:seq]

    def layer_norm(v, g, b):
        mean = v.mean(-1, keepdims=True)
        var = ((v - mean) ** 2).mean(-1, keepdims=True)
        return (v - mean) / np.sqrt(var + 1e-5) * g + b

    causal = np.triu(np.full((seq, seq), -np.inf), 1)
    for i in range(layers):
        p = f"l{i}."
        a = layer_norm(x, w[p + "ln1_g"], w[p + "ln1_b"])
        q, k, v = np.split(a @ w[p + "qkv_w"] + w[p + "qkv_b"], 3, axis=-1)
        q, k, v = (t.reshape(seq, heads, d).transpose(1, 0, 2) for t in (q, k, v))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d) + causal
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attended = (scores / scores.sum(-1, keepdims=True)) @ v
        x = x + attended.transpose(1, 0, 2).reshape(seq, h) @ w[p + "o_w"] + w[p + "o_b"]
        m = layer_norm(x, w[p + "ln2_g"], w[p + "ln2_b"]) @ w[p + "fc_w"] + w[p + "fc_b"]
        gelu = 0.5 * m * (1 + np.tanh(math.sqrt(2 / math.pi) * (m + 0.044715 * m**3)))
        x = x + gelu @ w[p + "proj_w"] + w[p + "proj_b"]
    return layer_norm(x, w["lnf_g"], w["lnf_b"]) @ w["wte"].T


def decoder_onnx(model: ModelConfig, w: dict, seq: int, layers: int):
    """The prefill of ``seq`` tokens through ``layers`` layers as an ONNX graph from the
    embeddings ``x`` (``seq x hidden``, token plus position rows) to the logits."""
    from onnx import TensorProto, helper, numpy_helper

    h, heads = model.hidden, model.heads
    d = h // heads
    inits = [numpy_helper.from_array(v, k) for k, v in w.items() if k not in ("wte", "wpe")]
    constants = {
        "split3": np.array([h, h, h], dtype=np.int64),
        "heads_shape": np.array([seq, heads, d], dtype=np.int64),
        "merge_shape": np.array([seq, h], dtype=np.int64),
        "scale": np.array(1 / math.sqrt(d), dtype=np.float32),
        "causal": np.triu(np.full((seq, seq), -1e9, dtype=np.float32), 1),
        "wte_t": np.ascontiguousarray(w["wte"].T),
    }
    inits += [numpy_helper.from_array(v, k) for k, v in constants.items()]
    node = helper.make_node
    nodes, x = [], "x"
    for i in range(layers):
        p = f"l{i}."
        nodes += [
            node(
                "LayerNormalization",
                [x, p + "ln1_g", p + "ln1_b"],
                [p + "n1"],
                axis=-1,
                epsilon=1e-5,
            ),  # fmt: skip
            node("Gemm", [p + "n1", p + "qkv_w", p + "qkv_b"], [p + "qkv"]),
            node("Split", [p + "qkv", "split3"], [p + "q", p + "k", p + "v"], axis=1),
        ]
        for t in ("q", "k", "v"):
            nodes += [node("Reshape", [p + t, "heads_shape"], [p + t + "3"]),
                      node("Transpose", [p + t + "3"], [p + t + "h"], perm=[1, 0, 2])]  # fmt: skip
        nodes += [
            node("Transpose", [p + "kh"], [p + "kt"], perm=[0, 2, 1]),
            node("MatMul", [p + "qh", p + "kt"], [p + "s"]),
            node("Mul", [p + "s", "scale"], [p + "ss"]),
            node("Add", [p + "ss", "causal"], [p + "sm"]),
            node("Softmax", [p + "sm"], [p + "pr"], axis=-1),
            node("MatMul", [p + "pr", p + "vh"], [p + "c"]),
            node("Transpose", [p + "c"], [p + "ct"], perm=[1, 0, 2]),
            node("Reshape", [p + "ct", "merge_shape"], [p + "cm"]),
            node("Gemm", [p + "cm", p + "o_w", p + "o_b"], [p + "o"]),
            node("Add", [x, p + "o"], [p + "h"]),
            node(
                "LayerNormalization",
                [p + "h", p + "ln2_g", p + "ln2_b"],
                [p + "n2"],
                axis=-1,
                epsilon=1e-5,
            ),  # fmt: skip
            node("Gemm", [p + "n2", p + "fc_w", p + "fc_b"], [p + "m"]),
            node("Gelu", [p + "m"], [p + "g"], approximate="tanh"),
            node("Gemm", [p + "g", p + "proj_w", p + "proj_b"], [p + "f"]),
            node("Add", [p + "h", p + "f"], [p + "out"]),
        ]
        x = p + "out"
    nodes += [
        node("LayerNormalization", [x, "lnf_g", "lnf_b"], ["nf"], axis=-1, epsilon=1e-5),
        node("MatMul", ["nf", "wte_t"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes, f"{model.name}_prefill",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [seq, h])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [seq, model.vocab])], inits,
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def run_values(model: ModelConfig, config, seq: int, layers: int, seed: int) -> dict:
    """The prefill of ``seq`` random tokens on the machine with values, checked against
    :func:`reference_logits`: ``max_abs_error``, ``max_rel_error`` (of the logits' scale),
    ``within_bound`` (``systolic.onnx.run.TOLERANCE`` of the format), and the run's
    ``total_cycles`` and ``seconds``."""
    from systolic.onnx.graph import run_graph
    from systolic.onnx.run import TOLERANCE

    check_gpt2_like(model)
    if seq > model.max_seq:
        raise ValueError(f"--seq {seq}: {model.name} takes at most {model.max_seq} positions")
    w = weights(model, layers, seed)
    tokens = np.random.default_rng(seed + 1).integers(0, model.vocab, seq)
    x = (w["wte"][tokens] + w["wpe"][:seq]).astype(np.float32)
    ran = run_graph(decoder_onnx(model, w, seq, layers), {"x": x}, config)
    ours = ran.outputs["logits"].astype(np.float64)
    expected = reference_logits(model, w, tokens, layers)
    error = float(np.abs(ours - expected).max())
    scale = max(1.0, float(np.abs(expected).max()))
    return {"max_abs_error": error, "max_rel_error": error / scale,
            "within_bound": error <= TOLERANCE[config.dtype] * scale,
            "total_cycles": ran.total_cycles, "seconds": config.seconds(ran.total_cycles),
            "layers": layers, "seq": seq}  # fmt: skip
