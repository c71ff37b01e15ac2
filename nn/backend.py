"""Backends: what computes a training step's operations.

A network calls its backend for every operation of a step: the matmuls, the bias add, the
activation and its derivative, the dropout mask, the cost's output error, the bias
gradient's sum, the optimizer's update and the argmax of evaluation. :class:`NumpyBackend`,
the default, is NumPy in float64 (the trainer's own numbers, bit for bit what it computed
before backends existed). A backend that runs the same operations on a machine and counts
what they cost lives with the machine (``systolic.backend``); ``nn`` never imports it.

Every method takes the ``layer`` (numbered from 1) and ``phase`` (``"forward"``,
``"backward"``, ``"gradient"``, ``"update"``, ``"inference"``) it serves, so a backend can
say where its costs go; :meth:`NumpyBackend.begin_step` and :meth:`NumpyBackend.end_step` mark
the start and end of a training step or an evaluation pass.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nn.activations import ACTIVATIONS, GRADS_FROM_OUTPUT, UNGUARDED


class NumpyBackend:
    """NumPy in float64; every matmul through ``matmul`` (default ``np.matmul``).

    A ``matmul`` with the attribute ``accepts_tag = True`` is called as ``matmul(a, b,
    tag=...)`` with tags ``"layer2.forward"``, ``"layer2.backward"``, ``"layer1.gradient"``
    and ``"layer1.inference"``, so it can count each phase (``systolic.SystolicMatmul``
    does); ``np.matmul`` is called as ``matmul(a, b)``.
    """

    def __init__(self, matmul: Callable = np.matmul):
        self.matmul_function = matmul
        self._tagged = getattr(matmul, "accepts_tag", False)
        self._tags: dict[tuple[int, str], str] = {}  # (layer, phase) -> tag, made once

    @property
    def scratch_gradients(self) -> bool:
        """Whether the gradients it returns are new arrays no one else keeps (np.matmul's
        products), so the optimizer may scale its steps in them."""
        return self.matmul_function is np.matmul

    def matmul(self, a: np.ndarray, b: np.ndarray, layer: int, phase: str) -> np.ndarray:
        """``a @ b``; a plain matmul is called without the tag's detour."""
        if self._tagged:
            tag = self._tags.get((layer, phase))
            if tag is None:
                tag = self._tags[layer, phase] = f"layer{layer}.{phase}"
            return self.matmul_function(a, b, tag=tag)
        return self.matmul_function(a, b)

    def linear(self, a, w, b, layer: int, phase: str) -> np.ndarray:
        """``z = a @ w + b  # (batch, n_in) @ (n_in, n_out)``."""
        if self._tagged:
            return self.matmul(a, w, layer, phase) + b
        return self.matmul_function(a, w) + b  # a plain matmul: no detour (every step)

    def activate(self, name: str, z: np.ndarray, layer: int, phase: str) -> np.ndarray:
        """The activation ``name`` of ``z`` (``nn.activations.UNGUARDED``: the caller has
        silenced overflow)."""
        return UNGUARDED[name](z)

    def dropout(self, a: np.ndarray, keep: float, rng: np.random.Generator, layer: int):
        """Inverted dropout: ``(a * mask, mask)`` with ``mask`` 0 or ``1 / keep`` per unit,
        drawn from ``rng``."""
        mask = (rng.random(a.shape) < keep) / keep
        return a * mask, mask

    def output_error(self, cost, z, a, y, layer: int) -> np.ndarray:
        """The output layer's error of the mean cost, ``cost.delta(z, a, y) / batch``:
        scaling delta once scales every gradient."""
        return cost.delta(z, a, y) * (1.0 / len(y))

    def weight_gradient(self, a: np.ndarray, delta: np.ndarray, layer: int) -> np.ndarray:
        """``a.T @ delta  # (n_in, batch) @ (batch, n_out)``."""
        if self._tagged:
            return self.matmul(a.T, delta, layer, "gradient")
        return self.matmul_function(a.T, delta)

    def bias_gradient(self, delta: np.ndarray, layer: int) -> np.ndarray:
        """``delta`` summed over the batch."""
        return delta.sum(axis=0)

    def backpropagate(self, delta, w, activation: str, a, z, mask, layer: int) -> np.ndarray:
        """The error of the layer below: ``(delta @ w.T) * f'(z)`` (``(batch, n_out) @
        (n_out, n_in)``), then times the dropout ``mask`` if there is one. ``f'`` comes
        from the layer's output ``a`` when it is the activation itself, else (dropped out)
        from ``z``."""
        if self._tagged:
            delta = self.matmul(delta, w.T, layer, "backward")
        else:
            delta = self.matmul_function(delta, w.T)
        if mask is None:  # the layer's output is its activation: reuse it
            return delta * GRADS_FROM_OUTPUT[activation](a)
        delta = delta * ACTIVATIONS[activation][1](z)  # the activation before dropout is gone
        return delta * mask  # a dropped unit passes no error back

    def update(self, optimizer, grads: list[np.ndarray], scratch: bool) -> None:
        """One step of ``optimizer`` (``nn.optim.Optimizer``) with ``grads``."""
        optimizer.step(grads, scratch)

    def argmax(self, outputs: np.ndarray) -> np.ndarray:
        """The predicted class of every row of ``outputs``."""
        return np.argmax(outputs, axis=1)

    def begin_step(self, kind: str, size: int) -> None:
        """A training step (``"train"``) or an evaluation pass (``"evaluation"``) over
        ``size`` samples begins (a backend may replay a step like an earlier one)."""

    def end_step(self, kind: str) -> None:
        """A training step (``"train"``) or an evaluation pass (``"evaluation"``) ended."""
