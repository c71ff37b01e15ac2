"""An LLM's prefill and decode steps on a TensorCore machine, timed from the closed forms.

::

    per layer:  DMA  weights (column blocks)      KV cache: prefill writes it,
                VPU  norm -> rotary -> softmax -> residual -> norm -> GELU/SwiGLU -> residual
                MXU  QKV  ->  QK^T, AV (per sequence and head)  ->  O  ->  FFN up, down
    then the final norm and the LM head (on the last position of each sequence)

Every GEMM runs on the MXUs through the mapping (``systolic.machine.mapping``), every
element-wise op and reduction on the VPU by op class (``systolic.machine.vpu``), and the DMA
moves the weights (in the MXUs' format) and the KV cache between HBM and VMEM, on one
timeline (``systolic.machine.timeline``): the next layer's weights stream in while a layer
computes. Activations stay in VMEM. A layer's attention heads run in groups
(:func:`attention_groups`), so the softmax of one group overlaps the next group's GEMMs.
Prefill runs ``batch`` sequences of ``seq`` tokens and writes their keys and values to the
cache; a decode step runs one token per sequence, reads the cache of ``context`` positions
for every layer and appends one entry. Attention is computed whole (no causal skipping of
the masked half); the VPU's other ops (norms, rotary, activation, residuals) wait for their
whole input, so they do not overlap the MXUs' GEMMs of their layer.

A mixture of experts routes each token to ``experts_per_token`` experts; the routing is
ASSUMED uniform (the experts that receive tokens split them evenly, as many experts as the
tokens' choices reach, at most all), and an expert's weights are read only when it
receives a token. LayerNorm's bias and the linear layers' biases (GPT-2, BERT) are neither
read nor added (a few thousand values per layer); BERT's pooler and token types are not run.
Not modelled: sharding across chips, paged caches, speculative decoding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from systolic.limits import format_bytes
from systolic.llm.config import ModelConfig
from systolic.machine.config import MachineConfig
from systolic.machine.program import StepBuilder
from systolic.machine.timeline import Op, Schedule, schedule

PHASES = ("prefill", "decode")
#: operations per element of the VPU's ops (by class); a reduction's combines are counted
#: apart (``fold``: elements folded per element of the input)
NORM_OPS = {"layernorm": {"add": 6, "divide": 1}, "rmsnorm": {"add": 4, "divide": 1}}
SOFTMAX_OPS = {"add": 2, "transcendental": 1, "divide": 1}
ROTARY_OPS = {"add": 3}  # x * cos + rotate(x) * sin
ACTIVATION_OPS = {"gelu": {"add": 7, "transcendental": 1},
                  "swiglu": {"add": 3, "divide": 1, "transcendental": 1}}  # fmt: skip


@dataclass
class Step:
    """One prefill or decode step: its ops and their placement, and what it moved and did."""

    ops: list[Op]
    schedule: Schedule
    macs: int
    hbm_read_bytes: int
    hbm_write_bytes: int
    vpu_element_ops: dict
    mxu_report: object
    vmem_bytes: int


#: at most this many groups of heads per layer, each group's scores, softmax and weighted
#: values one after another, so the VPU's softmax of a group overlaps the MXUs' next group
ATTENTION_GROUPS = 8


def attention_groups(heads: int, config: MachineConfig) -> list[tuple[int, int]]:
    """The ``batch * heads`` attention heads of a layer cut into at most
    :data:`ATTENTION_GROUPS` groups, each a whole number of ``config.mxu_count`` heads (one
    per MXU) but the last: ``(first, stop)`` per group."""
    size = config.mxu_count * math.ceil(heads / (ATTENTION_GROUPS * config.mxu_count))
    return [(g, min(heads, g + size)) for g in range(0, heads, size)]


def kv_cache_bytes(model: ModelConfig, config: MachineConfig, batch: int, positions: int) -> int:
    """Bytes of the KV cache of ``batch`` sequences of ``positions`` tokens: a key and a value
    of ``kv_heads x head_dim`` per layer and position, in the MXUs' format."""
    return batch * positions * model.layers * 2 * model.kv_dim * config.operand_bytes


def weight_bytes(model: ModelConfig, config: MachineConfig) -> int:
    """Bytes of the model's weights in the MXUs' format."""
    return model.parameters() * config.operand_bytes


def check_fits(model: ModelConfig, config: MachineConfig, batch: int, positions: int) -> None:
    """Refuse, in one line with the sizes, a model and cache that do not fit the machine's
    HBM (no sharding across chips)."""
    weights = weight_bytes(model, config)
    cache = kv_cache_bytes(model, config, batch, positions)
    if weights + cache > config.hbm_bytes:
        raise ValueError(
            f"{model.name}'s weights ({format_bytes(weights)}) and a KV cache of {batch} x "
            f"{positions:,} positions ({format_bytes(cache)}) need "
            f"{format_bytes(weights + cache)}, more than {config.name}'s HBM of "
            f"{format_bytes(config.hbm_bytes)} (one chip: no sharding)"
        )


def build_step(model: ModelConfig, config: MachineConfig, phase: str, batch: int,
               length: int, layers: int | None = None) -> Step:  # fmt: skip
    """One step: ``prefill`` of ``batch`` sequences of ``length`` tokens, or ``decode`` of one
    token per sequence with ``length`` positions already in the cache. ``layers`` runs that
    many of the model's layers (default all)."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; valid: {', '.join(PHASES)}")
    b = StepBuilder(config)
    h, operand = model.hidden, config.operand_bytes
    q_len = length if phase == "prefill" else 1
    kv_len = length if phase == "prefill" else length + 1
    tokens = batch * q_len
    kv = model.kv_dim
    norm = NORM_OPS[model.norm]
    # the embedding rows of the tokens (and learned positions), gathered from HBM
    x = b.dma(tokens * h * operand * (2 if model.positions == "learned" else 1), (), "embed")
    for layer in range(layers or model.layers):
        name = f"layer{layer}"
        weights1 = b.dma(h * operand, (), f"{name} norm1 weights")
        n1 = b.vector((tokens, h), norm, (x, weights1), f"{name} norm1", fold=1)
        qkv = b.gemm(tokens, h, h + 2 * kv, (n1,), f"{name} qkv")
        if model.positions == "rotary":
            qkv = b.vector((tokens, h + kv), ROTARY_OPS, (qkv,), f"{name} rotary")
        cache = (b.dma(kv_cache_bytes(model, config, batch, length) // model.layers, (),
                       f"{name} kv read") if phase == "decode" else None)  # fmt: skip
        b.dma(batch * q_len * 2 * kv * operand, (qkv,), f"{name} kv write", write=True)
        contexts = []
        for g0, g1 in attention_groups(batch * model.heads, config):
            heads = g1 - g0
            scores = b.gemm(q_len, model.head_dim, kv_len, (qkv, cache), f"{name} qk",
                            count=heads, weights=False)  # fmt: skip
            probs = b.vector((heads * q_len, kv_len), SOFTMAX_OPS, (scores,),
                             f"{name} softmax", fold=2)  # fmt: skip
            contexts.append(b.gemm(q_len, kv_len, model.head_dim, (probs,), f"{name} av",
                                   count=heads, weights=False))  # fmt: skip
        attended = b.gemm(tokens, h, h, tuple(contexts), f"{name} o")
        h1 = b.vector((tokens, h), {"add": 1}, (attended, x), f"{name} residual1", operands=2)
        weights2 = b.dma(h * operand, (), f"{name} norm2 weights")
        n2 = b.vector((tokens, h), norm, (h1, weights2), f"{name} norm2", fold=1)
        width = 2 * model.ffn if model.ffn_kind == "swiglu" else model.ffn
        activation = ACTIVATION_OPS[model.ffn_kind]
        if model.experts:
            route = b.gemm(tokens, h, model.experts, (n2,), f"{name} router")
            route = b.vector((tokens, model.experts), SOFTMAX_OPS, (route,), f"{name} top-k",
                             fold=2)  # fmt: skip
            active = min(model.experts, tokens * model.experts_per_token)
            share = math.ceil(tokens * model.experts_per_token / active)
            outs = []
            for expert in range(active):
                up = b.gemm(share, h, width, (route,), f"{name} expert{expert} up")
                act = b.vector((share, model.ffn), activation, (up,), f"{name} expert{expert} act")
                outs.append(b.gemm(share, model.ffn, h, (act,), f"{name} expert{expert} down"))
            down = b.vector((tokens, h), {"add": model.experts_per_token}, tuple(outs),
                            f"{name} combine")  # fmt: skip
        else:
            up = b.gemm(tokens, h, width, (n2,), f"{name} ffn up")
            act = b.vector((tokens, model.ffn), activation, (up,), f"{name} {model.ffn_kind}")
            down = b.gemm(tokens, model.ffn, h, (act,), f"{name} ffn down")
        x = b.vector((tokens, h), {"add": 1}, (down, h1), f"{name} residual2", operands=2)
    final_weights = b.dma(h * operand, (), "final norm weights")
    final = b.vector((batch, h), norm, (x, final_weights), "final norm", fold=1)
    b.gemm(batch, h, model.vocab, (final,), "lm head")
    placed = schedule(b.ops)
    return Step(b.ops, placed, b.macs, b.read, b.write, dict(b.element_ops), b.report, b.vmem)
