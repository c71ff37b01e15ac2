"""Transformer and LLM configurations from their published configs, with parameter counts.

A :class:`ModelConfig` holds what a model's published configuration file gives: layers,
hidden size, attention heads and key/value heads (grouped-query attention when fewer), the
FFN's size and kind (a GELU MLP or a SwiGLU one), the vocabulary, the norm kind, the
positional scheme, the longest sequence, and for a mixture of experts the experts and how
many each token is routed to. :meth:`ModelConfig.parameters` counts the weights from those
numbers alone; the tests hold every preset's count equal to the published one.

Sources (each preset's docstring names its own):

- GPT-2: Radford et al., "Language Models are Unsupervised Multitask Learners", 2019, and
  the released configs (``gpt2``: 12 layers, 768 hidden, 12 heads, 1024 positions, 50257
  tokens; ``gpt2-medium``: 24 layers, 1024 hidden, 16 heads), learned positions, LayerNorm,
  GELU MLP of 4 x hidden, the LM head tied to the token embedding: 124,439,808 and
  354,823,168 parameters.
- BERT-base: Devlin et al., "BERT", NAACL 2019 (``bert-base-uncased``: 12 layers, 768
  hidden, 12 heads, FFN 3072, 30522 tokens, 512 positions, 2 token types, a pooler):
  109,482,240 parameters.
- Llama 2 7B: Touvron et al., "Llama 2", 2023, and its released ``config.json`` (32 layers,
  4096 hidden, 32 heads, FFN 11008 SwiGLU, 32000 tokens, RMSNorm, rotary positions, 4096
  tokens of context, untied LM head): 6,738,415,616 parameters.
- Llama 3 8B: Meta's ``Meta-Llama-3-8B`` ``config.json`` (32 layers, 4096 hidden, 32 heads,
  8 key/value heads, FFN 14336, 128256 tokens, 8192 context): 8,030,261,248 parameters.
- Mixtral 8x7B: Jiang et al., "Mixtral of Experts", 2024, and ``Mixtral-8x7B-v0.1``'s
  ``config.json`` (32 layers, 4096 hidden, 32 heads, 8 key/value heads, 8 experts of FFN
  14336, 2 per token, 32000 tokens, 32768 context): 46,702,792,704 parameters.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from systolic.config import set_positive_ints

FFN_KINDS = ("gelu", "swiglu")
NORM_KINDS = ("layernorm", "rmsnorm")
POSITION_KINDS = ("learned", "rotary")


@dataclass(frozen=True)
class ModelConfig:
    """A transformer (see the module docstring). ``encoder`` marks a bidirectional encoder
    (BERT: no decode phase, a pooler and token types); ``bias``: the linear layers and norms
    have biases (GPT-2, BERT), else none (Llama, Mixtral); ``tied``: the LM head is the
    token embedding; ``experts`` 0 for a dense FFN."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn: int
    ffn_kind: str
    vocab: int
    norm: str
    positions: str
    max_seq: int
    experts: int = 0
    experts_per_token: int = 0
    bias: bool = False
    tied: bool = False
    encoder: bool = False
    source: str = ""

    def __post_init__(self):
        set_positive_ints(self, "layers", "hidden", "heads", "kv_heads", "ffn", "vocab",
                          "max_seq")  # fmt: skip
        for name, valid in (("ffn_kind", FFN_KINDS), ("norm", NORM_KINDS),
                            ("positions", POSITION_KINDS)):  # fmt: skip
            if getattr(self, name) not in valid:
                raise ValueError(f"{self.name}: unknown {name} {getattr(self, name)!r}; valid: "
                                 f"{', '.join(valid)}")  # fmt: skip
        if self.hidden % self.heads:
            raise ValueError(f"{self.name}: {self.heads} heads do not divide the hidden size "
                             f"{self.hidden}")  # fmt: skip
        if self.heads % self.kv_heads:
            raise ValueError(f"{self.name}: {self.kv_heads} key/value heads do not divide the "
                             f"{self.heads} heads")  # fmt: skip
        if self.experts < 0 or (self.experts and not 0 < self.experts_per_token <= self.experts):
            raise ValueError(f"{self.name}: experts {self.experts} with {self.experts_per_token} "
                             "per token: need 0 experts, or 1 to experts per token")  # fmt: skip

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def kv_dim(self) -> int:
        """Width of a layer's keys (and of its values): key/value heads times the head size."""
        return self.kv_heads * self.head_dim

    def layer_parameters(self) -> int:
        """Weights of one transformer layer: attention, FFN (every expert and the router),
        norms."""
        h, b = self.hidden, self.bias
        attention = h * h + 2 * h * self.kv_dim + h * h  # q, k, v, o
        if b:
            attention += h + 2 * self.kv_dim + h
        matrices = 2 if self.ffn_kind == "gelu" else 3  # up, down (and gate for SwiGLU)
        ffn = matrices * h * self.ffn + ((self.ffn + h) if b else 0)
        if self.experts:
            ffn = self.experts * ffn + h * self.experts  # the experts and the router
        norms = 2 * (2 * h if self.norm == "layernorm" else h)
        return attention + ffn + norms

    def parameters(self) -> int:
        """All weights: embeddings (tokens, learned positions, BERT's token types), the
        layers, the final norm (decoders), the LM head (untied) or BERT's pooler."""
        h = self.hidden
        embeddings = self.vocab * h
        if self.positions == "learned":
            embeddings += self.max_seq * h
        norm = 2 * h if self.norm == "layernorm" else h
        total = embeddings + self.layers * self.layer_parameters()
        if self.encoder:  # token types, the embedding norm, the pooler
            total += 2 * h + norm + h * h + h
        else:
            total += norm
            if not self.tied:
                total += self.vocab * h
        return total


def gpt2() -> ModelConfig:
    """GPT-2 small (124M): see the module docstring."""
    return ModelConfig("gpt2", 12, 768, 12, 12, 3072, "gelu", 50257, "layernorm", "learned",
                       1024, bias=True, tied=True,
                       source="Radford et al. 2019; gpt2 config")  # fmt: skip


def gpt2_medium() -> ModelConfig:
    """GPT-2 medium (355M)."""
    return ModelConfig("gpt2-medium", 24, 1024, 16, 16, 4096, "gelu", 50257, "layernorm",
                       "learned", 1024, bias=True, tied=True,
                       source="Radford et al. 2019; gpt2-medium config")  # fmt: skip


def bert_base() -> ModelConfig:
    """BERT-base, uncased (110M)."""
    return ModelConfig("bert-base", 12, 768, 12, 12, 3072, "gelu", 30522, "layernorm",
                       "learned", 512, bias=True, encoder=True,
                       source="Devlin et al. 2019; bert-base-uncased config")  # fmt: skip


def llama2_7b() -> ModelConfig:
    """Llama 2 7B."""
    return ModelConfig("llama-2-7b", 32, 4096, 32, 32, 11008, "swiglu", 32000, "rmsnorm",
                       "rotary", 4096,
                       source="Touvron et al. 2023; Llama-2-7b config.json")  # fmt: skip


def llama3_8b() -> ModelConfig:
    """Llama 3 8B (grouped-query attention: 8 key/value heads)."""
    return ModelConfig("llama-3-8b", 32, 4096, 32, 8, 14336, "swiglu", 128256, "rmsnorm",
                       "rotary", 8192, source="Meta-Llama-3-8B config.json")  # fmt: skip


def mixtral_8x7b() -> ModelConfig:
    """Mixtral 8x7B (8 experts, 2 per token)."""
    return ModelConfig("mixtral-8x7b", 32, 4096, 32, 8, 14336, "swiglu", 32000, "rmsnorm",
                       "rotary", 32768, experts=8, experts_per_token=2,
                       source="Jiang et al. 2024; Mixtral-8x7B-v0.1 config.json")  # fmt: skip


#: the bundled models by name
MODELS = {
    "gpt2": gpt2,
    "gpt2-medium": gpt2_medium,
    "bert-base": bert_base,
    "llama-2-7b": llama2_7b,
    "llama-3-8b": llama3_8b,
    "mixtral-8x7b": mixtral_8x7b,
}

#: the published parameter counts the tests hold the presets to
PUBLISHED_PARAMETERS = {
    "gpt2": 124_439_808,
    "gpt2-medium": 354_823_168,
    "bert-base": 109_482_240,
    "llama-2-7b": 6_738_415_616,
    "llama-3-8b": 8_030_261_248,
    "mixtral-8x7b": 46_702_792_704,
}


def model(name: str) -> ModelConfig:
    """A bundled model by name, or a JSON config file with :class:`ModelConfig`'s keys
    (validated field by field); an unknown name lists the bundled ones."""
    if name in MODELS:
        return MODELS[name]()
    if name.endswith(".json"):
        return load_config(name)
    raise ValueError(f"unknown model {name!r}; bundled: {', '.join(MODELS)}, or a .json config")


def load_config(path: str | Path) -> ModelConfig:
    """A user's model from a JSON file with :class:`ModelConfig`'s keys (``name`` optional:
    the file's stem); a missing or unknown key, or a bad value, is one line naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read: {error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of a model's keys")
    keys = [f.name for f in dataclasses.fields(ModelConfig)]
    for key in data:
        if key not in keys:
            raise ValueError(f"{path}: unknown key {key!r}; valid: {', '.join(keys)}")
    data.setdefault("name", path.stem)
    try:
        return ModelConfig(**data)
    except TypeError as error:
        raise ValueError(f"{path}: {error}") from None
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
