"""A fully connected network in mini-batch matrix form, with every matmul injected.

Layer ``l`` (numbered from 1) holds ``w`` of shape ``(n_in, n_out)`` and ``b`` of ``(n_out,)``.
For a mini-batch ``a`` of shape ``(batch, n_in)`` it computes, through ``matmul``:

- forward: ``z = matmul(a, w) + b  # (batch, n_in) @ (n_in, n_out)``, then ``a' = f(z)``;
- backward: ``delta_prev = matmul(delta, w.T) * f'(z_prev)  # (batch, n_out) @ (n_out, n_in)``;
- gradient: ``dw = matmul(a.T, delta) / batch  # (n_in, batch) @ (batch, n_out)``.

Every operation goes through the network's backend (``nn.backend``): by default NumPy with
the given ``matmul``; a machine's backend (``systolic.backend.MachineBackend``) runs and
prices each one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nn.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from nn.backend import NumpyBackend
from nn.costs import COSTS
from nn.init import INITS


def _choice(name: str, valid: Sequence[str], what: str) -> str:
    if name not in valid:
        raise ValueError(f"unknown {what} {name!r}; valid: {', '.join(valid)}")
    return name


class Network:
    """Weights, biases and the three matrix passes of a fully connected network.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first, e.g. ``[784, 30, 10]`` (at least two, each >= 1).
    rng : numpy.random.Generator
        Source of the initial weights (and of nothing else).
    activation : {"sigmoid", "tanh", "relu"}
        Activation of the hidden layers.
    cost : {"quadratic", "cross-entropy", "log-likelihood"}
        The cost, which fixes the output activation (sigmoid, sigmoid, softmax).
    init : {"large", "scaled", "xavier", "he"}
        Weight initialisation (``nn.init``).
    matmul : callable
        ``matmul(a, b)`` for 2-D arrays; default ``np.matmul``.
    backend : object, optional
        What computes the step's operations (``nn.backend``); default
        ``NumpyBackend(matmul)``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        rng: np.random.Generator,
        activation: str = "sigmoid",
        cost: str = "cross-entropy",
        init: str = "scaled",
        matmul: Callable = np.matmul,
        backend=None,
    ):
        if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1
                                 for s in sizes):  # fmt: skip
            raise ValueError(f"sizes must be at least two positive integers, got {list(sizes)}")
        self.sizes = list(sizes)
        self.activation = _choice(activation, HIDDEN_ACTIVATIONS, "activation")
        self.cost_name = _choice(cost, list(COSTS), "cost")
        self.init = _choice(init, list(INITS), "init")
        self.cost = COSTS[cost]
        self.hidden, self.hidden_grad = ACTIVATIONS[activation]
        self.output = ACTIVATIONS[self.cost.output][0]
        self.weights, self.biases = [], []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            w, b = INITS[init](rng, n_in, n_out)
            self.weights.append(w)
            self.biases.append(b)
        self.matmul = matmul
        self.backend = NumpyBackend(matmul) if backend is None else backend

    @property
    def layers(self) -> int:
        """Number of weight layers."""
        return len(self.weights)

    def forward(
        self,
        x: np.ndarray,
        keep: float = 1.0,
        rng: np.random.Generator | None = None,
        phase: str = "forward",
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray | None]]:
        """Weighted inputs and activations of every layer for a mini-batch.

        Parameters
        ----------
        x : numpy.ndarray, shape (batch, sizes[0])
        keep : float
            Dropout keep probability of the hidden layers (1: no dropout). Kept units are
            scaled by ``1 / keep`` (inverted dropout), so evaluation needs no rescaling.
        rng : numpy.random.Generator
            Source of the dropout masks (needed when ``keep < 1``).
        phase : str
            Tag of the matmuls: ``"forward"`` in training, ``"inference"`` in evaluation.

        Returns
        -------
        zs : list of (batch, n_out) arrays, one per layer
        activations : list of arrays, the input first, then one per layer (dropped out)
        masks : list, one per layer: the dropout factor (0 or ``1 / keep``) of each hidden
            unit, or None where no dropout applies
        """
        with np.errstate(over="ignore"):  # the sigmoid's expected overflow, see its doc
            return self.forward_unguarded(x, keep, rng, phase)

    def forward_unguarded(
        self,
        x: np.ndarray,
        keep: float = 1.0,
        rng: np.random.Generator | None = None,
        phase: str = "forward",
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray | None]]:
        """:meth:`forward` for a caller that silences floating-point overflow itself
        (``np.errstate``), as the trainer does once an epoch: the same numbers, without a
        guard entered per activation."""
        activations, zs, masks = [x], [], []
        last, backend = len(self.weights), self.backend
        a = x
        for layer, (w, b) in enumerate(zip(self.weights, self.biases, strict=True), start=1):
            z = backend.linear(a, w, b, layer, phase)  # (batch, n_in) @ (n_in, n_out) + b
            zs.append(z)
            mask = None
            if layer == last:
                a = backend.activate(self.cost.output, z, layer, phase)
            else:
                a = backend.activate(self.activation, z, layer, phase)
                if keep < 1.0:
                    a, mask = backend.dropout(a, keep, rng, layer)
            activations.append(a)
            masks.append(mask)
        return zs, activations, masks

    def gradients(
        self,
        zs: list[np.ndarray],
        activations: list[np.ndarray],
        masks: list[np.ndarray | None],
        y: np.ndarray,
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Gradients of the mean mini-batch cost by backpropagation.

        Parameters
        ----------
        zs, activations, masks
            From :meth:`forward` on the same mini-batch.
        y : numpy.ndarray, shape (batch, sizes[-1])
            One-hot targets.

        Returns
        -------
        weight_grads, bias_grads : lists of arrays shaped like the weights and biases
        """
        backend, layers = self.backend, len(self.weights)
        delta = backend.output_error(self.cost, zs[-1], activations[-1], y, layers)
        weight_grads, bias_grads = [None] * layers, [None] * layers
        for layer in range(layers, 0, -1):
            i = layer - 1
            weight_grads[i] = backend.weight_gradient(activations[i], delta, layer)
            bias_grads[i] = backend.bias_gradient(delta, layer)
            if layer > 1:  # the error of layer i's output, from this layer's
                delta = backend.backpropagate(
                    delta, self.weights[i], self.activation, activations[i], zs[i - 1],
                    masks[i - 1], layer,
                )  # fmt: skip
        return weight_grads, bias_grads

    def predict(self, x: np.ndarray, batch: int = 10_000) -> np.ndarray:
        """Predicted class of every sample, evaluated in chunks of ``batch`` samples."""
        labels = []
        for i in range(0, len(x), batch):
            chunk = x[i : i + batch]
            self.backend.begin_step("evaluation", len(chunk))
            outputs = self.forward(chunk, phase="inference")[1][-1]
            labels.append(self.backend.argmax(outputs))
            self.backend.end_step("evaluation")
        return np.concatenate(labels) if labels else np.empty(0, dtype=np.intp)

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        """Fraction of samples whose predicted class equals the label ``y``."""
        return float(np.mean(self.predict(x) == y))

    def loss(self, x: np.ndarray, y: np.ndarray, lmbda: float = 0.0, n: int = 1) -> float:
        """Mean cost per sample of a batch (one-hot ``y``), plus ``lmbda / (2 n) * sum(w**2)``."""
        self.backend.begin_step("evaluation", len(x))
        value = self.cost.value(self.forward(x, phase="inference")[1][-1], y)
        self.backend.end_step("evaluation")
        if lmbda:  # not 0 * sum: huge weights would make that NaN
            value += 0.5 * lmbda / n * sum(float(np.sum(w * w)) for w in self.weights)
        return value
