"""Cost functions, each with its value and its output-layer error side by side.

For a mini-batch, ``a`` is the output activation and ``y`` the one-hot targets, both
``(batch, classes)``; ``z`` is the output layer's weighted input. ``value`` is the mean cost per
sample. ``delta`` is the error ``dC/dz`` of the output layer, per sample (the caller averages the
gradients over the batch).

- quadratic, sigmoid outputs: ``C = 0.5 * ||a - y||^2``; ``delta = (a - y) * sigmoid'(z)``. The
  ``sigmoid'(z)`` factor is why it learns slowly when an output saturates at the wrong end.
- cross-entropy, sigmoid outputs: ``C = -sum(y ln a + (1 - y) ln(1 - a))``;
  ``delta = a - y``: the ``sigmoid'`` factor cancels.
- log-likelihood, softmax outputs: ``C = -ln a_y``; ``delta = a - y``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nn.activations import sigmoid_grad

# a_j in (0, 1) can round to exactly 0 or 1; clip inside the logarithms only
_TINY = 1e-300


def quadratic(a: np.ndarray, y: np.ndarray) -> float:
    """Mean over the batch of ``0.5 * ||a - y||^2``."""
    return 0.5 * float(np.sum((a - y) ** 2)) / len(a)


def quadratic_delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(a - y) * sigmoid'(z)``."""
    return (a - y) * sigmoid_grad(z)


def cross_entropy(a: np.ndarray, y: np.ndarray) -> float:
    """Mean over the batch of ``-sum(y ln a + (1 - y) ln(1 - a))``."""
    total = y * np.log(np.maximum(a, _TINY)) + (1 - y) * np.log(np.maximum(1 - a, _TINY))
    return -float(np.sum(total)) / len(a)


def cross_entropy_delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``a - y``."""
    return a - y


def log_likelihood(a: np.ndarray, y: np.ndarray) -> float:
    """Mean over the batch of ``-ln a_y`` (``y`` one-hot)."""
    return -float(np.sum(y * np.log(np.maximum(a, _TINY)))) / len(a)


def log_likelihood_delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``a - y``."""
    return a - y


@dataclass(frozen=True)
class Cost:
    """A cost, its output-layer error, and the output activation it is defined with."""

    value: Callable[[np.ndarray, np.ndarray], float]
    delta: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    output: str


COSTS = {
    "quadratic": Cost(quadratic, quadratic_delta, "sigmoid"),
    "cross-entropy": Cost(cross_entropy, cross_entropy_delta, "sigmoid"),
    "log-likelihood": Cost(log_likelihood, log_likelihood_delta, "softmax"),
}
