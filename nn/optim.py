"""Parameter updates: plain SGD and momentum, both with optional L2 regularisation.

With gradient ``g`` of the mean cost over a mini-batch, learning rate ``eta``, L2 strength
``lmbda`` and ``n`` training samples, a weight's regularised gradient is ``g + (lmbda / n) * w``
(biases are not regularised). Then

- SGD: ``w = w - eta * g``;
- momentum: ``v = mu * v - eta * g``; ``w = w + v`` (``v`` starts at zero; ``mu = 0`` is SGD).
"""

from __future__ import annotations

import math

import numpy as np

OPTIMIZERS = ("sgd", "momentum")


class Optimizer:
    """Updates a network's parameters in place from their gradients.

    Parameters
    ----------
    params : list of numpy.ndarray
        The arrays to update, in a fixed order (weights and biases).
    regularised : list of bool
        Which of ``params`` take the L2 term (the weights).
    name : {"sgd", "momentum"}
    eta : float
        Learning rate, > 0.
    mu : float
        Momentum coefficient in [0, 1), used by ``"momentum"``.
    lmbda : float
        L2 strength, >= 0.
    n : int
        Number of training samples (the L2 term is ``lmbda / n``).
    """

    def __init__(self, params, regularised, name="sgd", eta=0.1, mu=0.9, lmbda=0.0, n=1):
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")
        # finite, too: an infinite rate or L2 strength would only surface as a divergence
        if not (eta > 0 and math.isfinite(eta)):
            raise ValueError(f"eta must be a finite number > 0, got {eta!r}")
        if not 0 <= mu < 1:
            raise ValueError(f"mu must be in [0, 1), got {mu!r}")
        if not (lmbda >= 0 and math.isfinite(lmbda)):
            raise ValueError(f"lmbda must be a finite number >= 0, got {lmbda!r}")
        self.params, self.regularised = params, regularised
        self.eta, self.mu, self.decay = eta, mu, lmbda / n
        self.velocity = [np.zeros_like(p) for p in params] if name == "momentum" else None
        self._steps = [np.empty_like(p) for p in params]
        # per parameter, what an update needs, looked up once rather than at every step
        self._slots = [
            (param, self._steps[i], regularised[i],
             None if self.velocity is None else self.velocity[i])
            for i, param in enumerate(params)
        ]  # fmt: skip

    def step(self, grads: list[np.ndarray], scratch: bool = False) -> None:
        """Apply one update with the mini-batch gradients ``grads`` (same order as params).

        The scaled step is computed in a buffer kept per parameter (the same numbers as
        ``eta * grad``, without allocating one per step), and the gradients are left as they
        are. With ``scratch`` the caller says the gradients are its own temporaries: a step
        without L2 is then scaled in the gradient itself where it has the parameter's type,
        the same numbers with one array less to stream through the cache.
        """
        eta, decay, mu = self.eta, self.decay, self.mu
        for (param, step, regularised, velocity), grad in zip(self._slots, grads, strict=True):
            if decay and regularised:
                np.multiply(param, decay, out=step)
                step += grad  # grad + decay * param: addition commutes exactly
                step *= eta
            else:
                if scratch and grad.dtype == step.dtype:
                    step = grad
                np.multiply(grad, eta, out=step)
            if velocity is None:
                param -= step
            else:
                velocity *= mu
                velocity -= step
                param += velocity
