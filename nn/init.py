"""Weight initialisations, by name. Weights of a layer have shape ``(n_in, n_out)``.

- ``large``: weights and biases N(0, 1). Sums over many inputs then have a standard deviation
  near ``sqrt(n_in)``, so sigmoid units start saturated and learn slowly.
- ``scaled`` (default): weights N(0, 1/n_in), biases N(0, 1): weighted inputs start near
  N(0, 1 + 1), out of saturation.
- ``xavier``: weights N(0, 2/(n_in + n_out)), biases 0 (Glorot and Bengio, 2010).
- ``he``: weights N(0, 2/n_in), biases 0, for relu units (He et al., 2015).
"""

from __future__ import annotations

import numpy as np


def _normal(rng, n_in, n_out, std, biases):
    weights = rng.standard_normal((n_in, n_out)) * std
    return weights, (rng.standard_normal(n_out) if biases else np.zeros(n_out))


def large(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights and biases N(0, 1)."""
    return _normal(rng, n_in, n_out, 1.0, True)


def scaled(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights N(0, 1/n_in), biases N(0, 1)."""
    return _normal(rng, n_in, n_out, 1.0 / np.sqrt(n_in), True)


def xavier(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights N(0, 2/(n_in + n_out)), biases 0."""
    return _normal(rng, n_in, n_out, np.sqrt(2.0 / (n_in + n_out)), False)


def he(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights N(0, 2/n_in), biases 0."""
    return _normal(rng, n_in, n_out, np.sqrt(2.0 / n_in), False)


INITS = {"large": large, "scaled": scaled, "xavier": xavier, "he": he}
