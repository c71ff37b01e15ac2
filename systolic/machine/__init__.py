"""The TensorCore machine (TPU v2 to v6e): its config and presets (``config``), vector unit
(``vpu``), the mapping of a GEMM onto its MXUs (``mapping``), the timeline of a step's ops
(``timeline``) and a workload's inference pass (``program``); the training step on it is
``systolic.backend``. :func:`preset` names every machine of the package, the TPU v1's
presets (``systolic.tpu``) too."""

from __future__ import annotations

import dataclasses


def preset_names() -> list[str]:
    """Every machine preset: the TPU v1's (``systolic.tpu.PRESETS``), then the training
    machines (``systolic.machine.config.MACHINES``)."""
    from systolic.machine.config import MACHINES
    from systolic.tpu import PRESETS

    return [*PRESETS, *MACHINES]


def preset(name: str, dtype: str | None = None):
    """The machine preset ``name`` in ``dtype`` (None: the preset's own): a
    ``systolic.tpu.TPUConfig`` or a ``MachineConfig``; an unknown name lists them all."""
    from systolic.machine.config import MACHINES
    from systolic.tpu import PRESETS

    if name in MACHINES:
        return MACHINES[name]().with_dtype(dtype)
    if name not in PRESETS:
        raise ValueError(f"unknown machine {name!r}; valid: {', '.join(preset_names())}")
    config = PRESETS[name]()
    return config if dtype is None else dataclasses.replace(config, dtype=dtype)
