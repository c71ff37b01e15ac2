"""Activation functions, each with its derivative beside it, collected by name.

Every function takes ``z`` of shape ``(batch, units)``. The derivatives of sigmoid, tanh and
relu are elementwise; softmax couples the units of a sample, so its derivative is the Jacobian
``(batch, units, units)`` (training never needs it: the log-likelihood cost's output error is
simply ``a - y``, see ``nn.costs``).
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))``, accurate in both tails.

    For ``z`` below about -709, ``exp(-z)`` overflows to inf and the result is exactly 0, the
    nearest float to the true value; that overflow is expected, so it is not warned about.
    """
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def sigmoid_unguarded(z: np.ndarray) -> np.ndarray:
    """:func:`sigmoid` of a float array, for a caller that silences overflow itself
    (``np.errstate``), as the trainer does once an epoch: the same numbers, in one new array
    rather than four, without entering a guard per call."""
    s = np.negative(z)
    np.exp(s, out=s)
    s += 1.0
    return np.divide(1.0, s, out=s)


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    """``sigmoid(z) * (1 - sigmoid(z))``: at most 1/4, and near 0 once ``|z|`` is large."""
    s = sigmoid(z)
    return s * (1.0 - s)


def sigmoid_grad_from_output(a: np.ndarray) -> np.ndarray:
    """:func:`sigmoid_grad` from ``a = sigmoid(z)``: ``a * (1 - a)``, the same numbers without
    computing the sigmoid again."""
    return a * (1.0 - a)


def tanh(z: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent."""
    return np.tanh(z)


def tanh_grad(z: np.ndarray) -> np.ndarray:
    """``1 - tanh(z)**2``: 1 at 0, near 0 once ``|z|`` is large."""
    t = np.tanh(z)
    return 1.0 - t * t


def tanh_grad_from_output(a: np.ndarray) -> np.ndarray:
    """:func:`tanh_grad` from ``a = tanh(z)``: ``1 - a**2``."""
    return 1.0 - a * a


def relu(z: np.ndarray) -> np.ndarray:
    """``max(z, 0)``."""
    return np.maximum(z, 0.0)


def relu_grad(z: np.ndarray) -> np.ndarray:
    """1 where ``z > 0`` (however large), else 0."""
    return (z > 0).astype(z.dtype)


def relu_grad_from_output(a: np.ndarray) -> np.ndarray:
    """:func:`relu_grad` from ``a = relu(z)``: ``a > 0`` exactly where ``z > 0``."""
    return (a > 0).astype(a.dtype)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise ``exp(z) / sum(exp(z))``, shifted by the row maximum so it cannot overflow."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_grad(z: np.ndarray) -> np.ndarray:
    """Jacobian ``d softmax(z)_i / d z_j = s_i (delta_ij - s_j)``, shape (batch, units, units)."""
    s = softmax(z)
    return s[:, :, None] * (np.eye(z.shape[1]) - s[:, None, :])


ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "softmax": (softmax, softmax_grad),
}
# softmax's derivative is not elementwise: it serves as an output layer only
HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu")
#: the hidden activations' derivatives from their outputs (the same numbers as from ``z``):
#: backpropagation has the outputs already
GRADS_FROM_OUTPUT = {
    "sigmoid": sigmoid_grad_from_output,
    "tanh": tanh_grad_from_output,
    "relu": relu_grad_from_output,
}

#: the activations to use where the caller has silenced floating-point overflow already: only
#: the sigmoid guards itself, the others cannot overflow
UNGUARDED = {name: function for name, (function, _) in ACTIVATIONS.items()}
UNGUARDED["sigmoid"] = sigmoid_unguarded
