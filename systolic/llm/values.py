"""A decoder with values: its prefill as an ONNX graph run on the machine (``systolic.onnx``),
and the same forward pass in plain NumPy, written apart from it, to check the machine's
outputs against.

The weights are random from a seed (``weights``), shaped as the model's. Two families:

- GPT-2: token and position embeddings, per layer a LayerNorm, the fused QKV projection
  with biases, causal multi-head attention, the output projection, a LayerNorm, a GELU MLP,
  residual adds; the final LayerNorm and the LM head tied to the token embedding;
- Llama: token embeddings, per layer an RMSNorm, the QKV projection (grouped-query: ``kv_heads``
  key and value heads, each shared by ``heads / kv_heads`` query heads), rotary embeddings
  on the queries and keys (rotate-half, base :data:`ROPE_BASE`), causal attention, the output
  projection, an RMSNorm, a SwiGLU FFN, residual adds; the final RMSNorm and an untied LM
  head. No biases.

The graph takes the token embeddings' rows already gathered (``x``: the embedding lookup is
data movement the timing model prices). Encoders and mixtures of experts do not run with
values here.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from systolic.llm.config import ModelConfig

#: the rotary embeddings' base (Llama 2's; Llama 3 publishes 500,000: the values are of
#: random weights either way, checked against a reference with the same base)
ROPE_BASE = 10000.0
#: the families that run with values: (norm, FFN, positions)
FAMILIES = {"gpt2": ("layernorm", "gelu", "learned"), "llama": ("rmsnorm", "swiglu", "rotary")}
RMS_EPS = 1e-5


def family(model: ModelConfig) -> str:
    """``"gpt2"`` or ``"llama"``; refuse a model this module cannot build (see the module
    docstring)."""
    kind = next((name for name, parts in FAMILIES.items()
                 if parts == (model.norm, model.ffn_kind, model.positions)), None)  # fmt: skip
    if kind is None or model.encoder or model.experts:
        raise ValueError(f"--values runs GPT-2- and Llama-style decoders only (no encoders, no "
                         f"experts); {model.name} is not one")  # fmt: skip
    return kind


def weights(model: ModelConfig, layers: int, seed: int) -> dict[str, np.ndarray]:
    """Random float32 weights of the first ``layers`` layers (scaled like GPT-2's init)."""
    rng = np.random.default_rng(seed)
    h, f, kv = model.hidden, model.ffn, model.kv_dim

    def normal(*shape, scale=0.02):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    if family(model) == "gpt2":
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
    w = {"wte": normal(model.vocab, h), "lnf_g": 1 + normal(h), "head_w": normal(h, model.vocab)}
    for i in range(layers):
        w |= {
            f"l{i}.ln1_g": 1 + normal(h), f"l{i}.qkv_w": normal(h, h + 2 * kv),
            f"l{i}.o_w": normal(h, h), f"l{i}.ln2_g": 1 + normal(h),
            f"l{i}.gate_w": normal(h, f), f"l{i}.up_w": normal(h, f), f"l{i}.down_w": normal(f, h),
        }  # fmt: skip
    return w


def rotary_tables(seq: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``cos`` and ``sin`` of the rotary angles, ``(seq, dim)`` float64: position ``p`` and
    pair ``i`` turn by ``p / ROPE_BASE ** (2i / dim)``, the halves repeated (rotate-half)."""
    inv = ROPE_BASE ** (-np.arange(0, dim, 2) / dim)
    angles = np.outer(np.arange(seq), inv)
    angles = np.concatenate([angles, angles], axis=1)
    return np.cos(angles), np.sin(angles)


def reference_logits(model: ModelConfig, w: dict, tokens: np.ndarray, layers: int) -> np.ndarray:
    """The logits of every position of ``tokens`` (a 1-D array of ids), in plain float64
    NumPy: the independent reference."""
    h, heads, kv_heads = model.hidden, model.heads, model.kv_heads
    d = h // heads
    seq = len(tokens)
    llama = family(model) == "llama"
    x = w["wte"][tokens].astype(np.float64)
    if not llama:
        x = x + w["wpe"][:seq]

    def norm(v, g, b=None):
        if llama:
            return v / np.sqrt((v * v).mean(-1, keepdims=True) + RMS_EPS) * g
        mean = v.mean(-1, keepdims=True)
        var = ((v - mean) ** 2).mean(-1, keepdims=True)
        return (v - mean) / np.sqrt(var + 1e-5) * g + b

    def rotate(t):  # (heads, seq, d): each position's pairs turned by its angles
        cos, sin = rotary_tables(seq, d)
        first, second = t[..., : d // 2], t[..., d // 2 :]
        return t * cos + np.concatenate([-second, first], axis=-1) * sin

    causal = np.triu(np.full((seq, seq), -np.inf), 1)
    for i in range(layers):
        p = f"l{i}."
        a = norm(x, w[p + "ln1_g"], w.get(p + "ln1_b"))
        qkv = a @ w[p + "qkv_w"] + w.get(p + "qkv_b", 0)
        q, k, v = np.split(qkv, [h, h + kv_heads * d], axis=-1)
        q = q.reshape(seq, heads, d).transpose(1, 0, 2)
        k, v = (t.reshape(seq, kv_heads, d).transpose(1, 0, 2) for t in (k, v))
        if llama:
            q, k = rotate(q), rotate(k)
        # each key and value head serves heads / kv_heads query heads, in order
        k, v = (np.repeat(t, heads // kv_heads, axis=0) for t in (k, v))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d) + causal
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attended = (scores / scores.sum(-1, keepdims=True)) @ v
        x = x + attended.transpose(1, 0, 2).reshape(seq, h) @ w[p + "o_w"] + w.get(p + "o_b", 0)
        n2 = norm(x, w[p + "ln2_g"], w.get(p + "ln2_b"))
        if llama:
            gate = n2 @ w[p + "gate_w"]
            x = x + (gate / (1 + np.exp(-gate)) * (n2 @ w[p + "up_w"])) @ w[p + "down_w"]
        else:
            m = n2 @ w[p + "fc_w"] + w[p + "fc_b"]
            gelu = 0.5 * m * (1 + np.tanh(math.sqrt(2 / math.pi) * (m + 0.044715 * m**3)))
            x = x + gelu @ w[p + "proj_w"] + w[p + "proj_b"]
    final = norm(x, w["lnf_g"], w.get("lnf_b"))
    return final @ (w["head_w"] if llama else w["wte"].T)


def decoder_onnx(model: ModelConfig, w: dict, seq: int, layers: int):
    """The prefill of ``seq`` tokens through ``layers`` layers as an ONNX graph from the
    embeddings ``x`` (``seq x hidden``: token rows, plus position rows for GPT-2) to the
    logits."""
    from onnx import TensorProto, helper, numpy_helper

    h, heads, kv_heads = model.hidden, model.heads, model.kv_heads
    d = h // heads
    llama = family(model) == "llama"
    inits = [numpy_helper.from_array(v, k) for k, v in w.items() if k not in ("wte", "wpe")]
    constants = {
        "split3": np.array([h, kv_heads * d, kv_heads * d], dtype=np.int64),
        "heads_shape": np.array([seq, heads, d], dtype=np.int64),
        "kv_shape": np.array([seq, kv_heads, d], dtype=np.int64),
        "kv_expand": np.array([kv_heads, heads // kv_heads, seq, d], dtype=np.int64),
        "kv_merge": np.array([heads, seq, d], dtype=np.int64),
        "merge_shape": np.array([seq, h], dtype=np.int64),
        "halves": np.array([d // 2, d // 2], dtype=np.int64),
        "last_axis": np.array([-1], dtype=np.int64),
        "one_axis": np.array([1], dtype=np.int64),
        "eps": np.array(RMS_EPS, dtype=np.float32),
        "scale": np.array(1 / math.sqrt(d), dtype=np.float32),
        "causal": np.triu(np.full((seq, seq), -1e9, dtype=np.float32), 1),
    }
    if llama:
        cos, sin = rotary_tables(seq, d)
        constants |= {"cos": cos.astype(np.float32), "sin": sin.astype(np.float32)}
    else:
        constants["wte_t"] = np.ascontiguousarray(w["wte"].T)
    inits += [numpy_helper.from_array(v, k) for k, v in constants.items()]
    node = helper.make_node
    nodes = []

    def norm(x, g, b, out):
        if not llama:
            nodes.append(node("LayerNormalization", [x, g, b], [out], axis=-1, epsilon=1e-5))
            return
        nodes.extend([
            node("Mul", [x, x], [out + "_sq"]),
            node("ReduceMean", [out + "_sq", "last_axis"], [out + "_ms"], keepdims=1),
            node("Add", [out + "_ms", "eps"], [out + "_mse"]),
            node("Sqrt", [out + "_mse"], [out + "_rms"]),
            node("Div", [x, out + "_rms"], [out + "_n"]),
            node("Mul", [out + "_n", g], [out]),
        ])  # fmt: skip

    def linear(x, p, name, out):
        if llama:
            nodes.append(node("MatMul", [x, p + name + "_w"], [out]))
        else:
            nodes.append(node("Gemm", [x, p + name + "_w", p + name + "_b"], [out]))

    def rotate(t, out):  # (heads, seq, d) with the (seq, d) tables
        nodes.extend([
            node("Split", [t, "halves"], [t + "_1", t + "_2"], axis=-1),
            node("Neg", [t + "_2"], [t + "_2n"]),
            node("Concat", [t + "_2n", t + "_1"], [t + "_rot"], axis=-1),
            node("Mul", [t, "cos"], [t + "_c"]),
            node("Mul", [t + "_rot", "sin"], [t + "_s"]),
            node("Add", [t + "_c", t + "_s"], [out]),
        ])  # fmt: skip

    x = "x"
    for i in range(layers):
        p = f"l{i}."
        norm(x, p + "ln1_g", p + "ln1_b", p + "n1")
        linear(p + "n1", p, "qkv", p + "qkv")
        nodes.append(node("Split", [p + "qkv", "split3"], [p + "q", p + "k", p + "v"], axis=1))
        for t, shape in (("q", "heads_shape"), ("k", "kv_shape"), ("v", "kv_shape")):
            nodes += [node("Reshape", [p + t, shape], [p + t + "3"]),
                      node("Transpose", [p + t + "3"], [p + t + "h"], perm=[1, 0, 2])]  # fmt: skip
        q, k, v = p + "qh", p + "kh", p + "vh"
        if llama:
            rotate(q, p + "qr")
            rotate(k, p + "kr")
            q, k = p + "qr", p + "kr"
        if kv_heads != heads:  # each key and value head serves heads / kv_heads query heads
            for t, name in ((k, "k"), (v, "v")):
                nodes += [
                    node("Unsqueeze", [t, "one_axis"], [p + name + "u"]),
                    node("Expand", [p + name + "u", "kv_expand"], [p + name + "e"]),
                    node("Reshape", [p + name + "e", "kv_merge"], [p + name + "g"]),
                ]
            k, v = p + "kg", p + "vg"
        nodes += [
            node("Transpose", [k], [p + "kt"], perm=[0, 2, 1]),
            node("MatMul", [q, p + "kt"], [p + "s"]),
            node("Mul", [p + "s", "scale"], [p + "ss"]),
            node("Add", [p + "ss", "causal"], [p + "sm"]),
            node("Softmax", [p + "sm"], [p + "pr"], axis=-1),
            node("MatMul", [p + "pr", v], [p + "c"]),
            node("Transpose", [p + "c"], [p + "ct"], perm=[1, 0, 2]),
            node("Reshape", [p + "ct", "merge_shape"], [p + "cm"]),
        ]
        linear(p + "cm", p, "o", p + "o")
        nodes.append(node("Add", [x, p + "o"], [p + "h"]))
        norm(p + "h", p + "ln2_g", p + "ln2_b", p + "n2")
        if llama:
            nodes += [
                node("MatMul", [p + "n2", p + "gate_w"], [p + "gate"]),
                node("Sigmoid", [p + "gate"], [p + "sig"]),
                node("Mul", [p + "gate", p + "sig"], [p + "silu"]),
                node("MatMul", [p + "n2", p + "up_w"], [p + "up"]),
                node("Mul", [p + "silu", p + "up"], [p + "act"]),
                node("MatMul", [p + "act", p + "down_w"], [p + "f"]),
            ]
        else:
            nodes += [
                node("Gemm", [p + "n2", p + "fc_w", p + "fc_b"], [p + "m"]),
                node("Gelu", [p + "m"], [p + "g"], approximate="tanh"),
                node("Gemm", [p + "g", p + "proj_w", p + "proj_b"], [p + "f"]),
            ]
        nodes.append(node("Add", [p + "h", p + "f"], [p + "out"]))
        x = p + "out"
    norm(x, "lnf_g", "lnf_b", "nf")
    nodes.append(node("MatMul", ["nf", "head_w" if llama else "wte_t"], ["logits"]))
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
    from systolic.limits import format_bytes, memory_limit_bytes
    from systolic.onnx.graph import run_graph
    from systolic.onnx.run import TOLERANCE

    kind = family(model)
    if seq > model.max_seq:
        raise ValueError(f"--seq {seq}: {model.name} takes at most {model.max_seq} positions")
    # the LM head is the largest operand; the weights are held as float32 three times (the
    # arrays, the graph's initializers, the run's casts) before any work
    head = model.vocab * model.hidden
    if head > config.mxu.max_elements:
        raise ValueError(f"--values: {model.name}'s LM head holds {head:,} weights, more than an "
                         f"MXU operand's max_elements={config.mxu.max_elements:,}")  # fmt: skip
    reduced = dataclasses.replace(model, layers=layers)
    need = 3 * 4 * (reduced.parameters() + (0 if model.tied else head))
    if need > memory_limit_bytes():
        allowed = format_bytes(memory_limit_bytes())
        raise ValueError(f"--values: {layers} layers of {model.name} need about "
                         f"{format_bytes(need)} of memory, more than the {allowed} allowed; "
                         "use fewer --layers")  # fmt: skip
    w = weights(model, layers, seed)
    tokens = np.random.default_rng(seed + 1).integers(0, model.vocab, seq)
    x = w["wte"][tokens] + (w["wpe"][:seq] if kind == "gpt2" else 0)
    ran = run_graph(decoder_onnx(model, w, seq, layers), {"x": x.astype(np.float32)}, config)
    ours = ran.outputs["logits"].astype(np.float64)
    expected = reference_logits(model, w, tokens, layers)
    error = float(np.abs(ours - expected).max())
    scale = max(1.0, float(np.abs(expected).max()))
    return {"max_abs_error": error, "max_rel_error": error / scale,
            "within_bound": error <= TOLERANCE[config.dtype] * scale,
            "total_cycles": ran.total_cycles, "seconds": config.seconds(ran.total_cycles),
            "layers": layers, "seq": seq}  # fmt: skip
