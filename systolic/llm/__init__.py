"""Transformers and LLMs on a TensorCore machine: bundled configurations (``config``) and
their prefill and decode steps (``phases``), summarized per token (:func:`run_phase`)."""

from __future__ import annotations

from systolic.llm.config import MODELS, ModelConfig, model
from systolic.llm.phases import build_step, check_fits, kv_cache_bytes, weight_bytes
from systolic.machine.config import MachineConfig


def run_phase(lm: ModelConfig, config: MachineConfig, phase: str, batch: int, length: int,
              tokens: int = 1, layers: int | None = None, energy=None) -> dict:  # fmt: skip
    """The figures of a phase, by their stable names.

    ``prefill``: ``batch`` sequences of ``length`` tokens; ``seconds`` is the time to first
    token, ``tokens_per_second`` the prompt tokens processed per second, ``seconds_per_token``
    the time per prompt position (``seconds / length``). ``decode``: ``tokens`` steps of one
    token per sequence from a cache of ``length`` positions; ``seconds_per_token`` is one
    step's time (the latency of each sequence's next token, the mean over the steps) and
    ``tokens_per_second`` the batch's tokens per second. Also ``hbm_bytes_per_token`` and
    ``energy_per_token_j`` (per token produced or processed, over the batch), ``unit_cycles``
    and ``unit_share`` per unit, ``bottleneck``, ``total_cycles``.
    """
    from systolic.energy import price_machine

    if phase == "encoder" or (lm.encoder and phase == "decode"):
        raise ValueError(f"{lm.name} is an encoder: it has a prefill (encode) phase only")
    if length > lm.max_seq or (phase == "decode" and length + tokens > lm.max_seq):
        end = length if phase == "prefill" else length + tokens
        raise ValueError(f"{lm.name} takes at most {lm.max_seq:,} positions; {phase} would reach "
                         f"{end:,}")  # fmt: skip
    check_fits(lm, config, batch, length + (tokens if phase == "decode" else 0))
    steps = [build_step(lm, config, phase, batch, length + i, layers)
             for i in range(tokens if phase == "decode" else 1)]  # fmt: skip
    cycles = sum(step.schedule.total_cycles for step in steps)
    units = {"mxu": 0, "vpu": 0, "hbm": 0}
    for step in steps:
        for unit, busy in step.schedule.unit_cycles.items():
            units["hbm" if unit == "dma" else unit] += busy
    produced = batch * len(steps) if phase == "decode" else batch * length
    moved = sum(step.hbm_read_bytes + step.hbm_write_bytes for step in steps)
    seconds = config.seconds(cycles)
    energy_j = None
    if energy is not None:
        energy_j = 0.0
        for step in steps:
            counts = {"mxu_report": step.mxu_report, "vpu_element_ops": step.vpu_element_ops,
                      "vmem_bytes": step.vmem_bytes,
                      "hbm_bytes": step.hbm_read_bytes + step.hbm_write_bytes}  # fmt: skip
            energy_j += price_machine(counts, energy, config.dtype)["energy_j"]
    per_step = seconds / len(steps)
    return {
        "model": lm.name, "machine": config.name, "dtype": config.dtype, "phase": phase,
        "batch": batch, "length": length, "steps": len(steps), "total_cycles": cycles,
        "seconds": seconds,
        "seconds_per_token": per_step if phase == "decode" else seconds / length,
        "tokens_per_second": produced / seconds,
        "hbm_bytes_per_token": moved / produced,
        "energy_per_token_j": None if energy_j is None else energy_j / produced,
        "unit_cycles": units,
        "unit_share": {u: c / cycles for u, c in units.items()},
        "bottleneck": max(units, key=units.get),
        "macs": sum(step.macs for step in steps),
        "utilization": sum(step.macs for step in steps) / (config.pe_count * cycles),
        "weight_bytes": weight_bytes(lm, config),
        "kv_cache_bytes": kv_cache_bytes(lm, config, batch, length),
    }  # fmt: skip


__all__ = ["MODELS", "ModelConfig", "model", "run_phase"]
