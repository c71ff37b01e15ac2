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
#: values priced at once by :meth:`Cost.batch_values` (whole batches of them): its
#: temporaries stay in the cache, where a whole epoch's would be fresh memory, several times
#: slower
CHUNK_VALUES = 2**15


def _mean(scale: float, terms: np.ndarray, samples: int) -> float:
    """``scale * sum(terms) / samples``: a cost's mean per sample from its terms."""
    return scale * float(np.sum(terms)) / samples


def quadratic_terms(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(a - y)**2``, elementwise; :func:`quadratic` is half their sum per sample."""
    return (a - y) ** 2


def quadratic(a: np.ndarray, y: np.ndarray) -> float:
    """Mean over the batch of ``0.5 * ||a - y||^2``."""
    return _mean(0.5, quadratic_terms(a, y), len(a))


def quadratic_delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(a - y) * sigmoid'(z)``."""
    return (a - y) * sigmoid_grad(z)


def cross_entropy_terms(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y ln a + (1 - y) ln(1 - a)``, elementwise; :func:`cross_entropy` is minus their sum
    per sample."""
    return y * np.log(np.maximum(a, _TINY)) + (1 - y) * np.log(np.maximum(1 - a, _TINY))


def cross_entropy(a: np.ndarray, y: np.ndarray) -> float:
    """Mean over the batch of ``-sum(y ln a + (1 - y) ln(1 - a))``."""
    return _mean(-1.0, cross_entropy_terms(a, y), len(a))


def cross_entropy_delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``a - y``."""
    return a - y


def log_likelihood_terms(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y ln a``, elementwise (``y`` one-hot); :func:`log_likelihood` is minus their sum per
    sample."""
    return y * np.log(np.maximum(a, _TINY))


def log_likelihood(a: np.ndarray, y: np.ndarray) -> float:
    """Mean over the batch of ``-ln a_y`` (``y`` one-hot)."""
    return _mean(-1.0, log_likelihood_terms(a, y), len(a))


def log_likelihood_delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``a - y``."""
    return a - y


@dataclass(frozen=True)
class Cost:
    """A cost, its output-layer error, and the output activation it is defined with.

    ``value(a, y)`` is ``scale * sum(terms(a, y)) / len(a)``: ``terms`` and ``scale`` let
    :meth:`batch_values` price many mini-batches at once.
    """

    value: Callable[[np.ndarray, np.ndarray], float]
    delta: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    output: str
    terms: Callable[[np.ndarray, np.ndarray], np.ndarray]
    scale: float

    def batch_values(self, a: np.ndarray, y: np.ndarray, batch_size: int) -> np.ndarray:
        """``value`` of every run of ``batch_size`` consecutive rows of ``a`` and ``y`` (the
        last run may be shorter), as float64: the same numbers as calling ``value`` on each,
        in a few array passes instead of a dozen small ones per batch. A trainer keeps its
        outputs and prices an epoch's mini-batches at once."""
        samples = len(a)
        values = np.empty(-(-samples // batch_size))
        step = batch_size * max(1, CHUNK_VALUES // max(1, batch_size * a[0].size))
        for start in range(0, samples, step):
            stop = min(start + step, samples)
            terms = self.terms(a[start:stop], y[start:stop])
            full = (stop - start) // batch_size
            first = start // batch_size
            sums = values[first : first + full]
            # a row of the reshape is one batch's terms, contiguous as in the batch's own
            # array, so its sum adds the same numbers in the same (pairwise) order
            np.sum(terms[: full * batch_size].reshape(full, -1), axis=1, out=sums)
            sums *= self.scale
            sums /= batch_size
            if full * batch_size < stop - start:  # the last, shorter batch
                values[first + full] = _mean(
                    self.scale, terms[full * batch_size :], stop - start - full * batch_size
                )
        return values


COSTS = {
    "quadratic": Cost(quadratic, quadratic_delta, "sigmoid", quadratic_terms, 0.5),
    "cross-entropy": Cost(cross_entropy, cross_entropy_delta, "sigmoid", cross_entropy_terms, -1.0),
    "log-likelihood": Cost(
        log_likelihood, log_likelihood_delta, "softmax", log_likelihood_terms, -1.0
    ),
}
