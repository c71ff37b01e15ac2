"""Initial weight and bias distributions, and why the scale matters for sigmoid units."""

import numpy as np
import pytest

from nn.activations import sigmoid_grad
from nn.init import INITS, he, large, scaled, xavier

N_IN, N_OUT = 784, 300
WEIGHT_STD = {
    "large": 1.0,
    "scaled": 1.0 / np.sqrt(N_IN),
    "xavier": np.sqrt(2.0 / (N_IN + N_OUT)),
    "he": np.sqrt(2.0 / N_IN),
}


def test_registry_names_every_scheme():
    assert INITS == {"large": large, "scaled": scaled, "xavier": xavier, "he": he}


@pytest.mark.parametrize("name", list(INITS))
def test_shapes(name):
    w, b = INITS[name](np.random.default_rng(0), 7, 3)
    assert w.shape == (7, 3) and b.shape == (3,)
    assert w.dtype == np.float64 and b.dtype == np.float64


@pytest.mark.parametrize("name", list(INITS))
def test_weight_std_is_the_documented_one(name):
    w, _ = INITS[name](np.random.default_rng(1), N_IN, N_OUT)
    assert w.std() == pytest.approx(WEIGHT_STD[name], rel=0.05)
    assert abs(w.mean()) < 0.01 * WEIGHT_STD[name]


@pytest.mark.parametrize("name", ["large", "scaled"])
def test_biases_are_standard_normal(name):
    _, b = INITS[name](np.random.default_rng(2), 3, 20_000)
    assert b.std() == pytest.approx(1.0, rel=0.05)
    assert abs(b.mean()) < 0.05


@pytest.mark.parametrize("name", ["xavier", "he"])
def test_biases_are_zero(name):
    _, b = INITS[name](np.random.default_rng(2), N_IN, N_OUT)
    assert np.array_equal(b, np.zeros(N_OUT))


@pytest.mark.parametrize("name", list(INITS))
def test_same_seed_same_weights_other_seed_other_weights(name):
    w1, b1 = INITS[name](np.random.default_rng(5), 6, 4)
    w2, b2 = INITS[name](np.random.default_rng(5), 6, 4)
    w3, _ = INITS[name](np.random.default_rng(6), 6, 4)
    assert np.array_equal(w1, w2) and np.array_equal(b1, b2)
    assert not np.array_equal(w1, w3)


def test_large_init_saturates_sigmoid_units_and_scaled_init_does_not():
    rng = np.random.default_rng(3)
    # MNIST-like inputs: about half of the 784 pixels on
    x = (rng.random((100, N_IN)) < 0.5).astype(np.float64)
    z = {}
    for name in ("large", "scaled"):
        w, b = INITS[name](np.random.default_rng(4), N_IN, N_OUT)
        z[name] = x @ w + b  # (100, 784) @ (784, 300)
    # about sqrt(392 + 1) = 19.8 against sqrt(392 / 784 + 1) = 1.22
    assert z["large"].std() > 5 * z["scaled"].std()
    assert z["large"].std() == pytest.approx(np.sqrt(N_IN / 2 + 1), rel=0.1)
    saturated = {name: np.mean(sigmoid_grad(zn) < 1e-3) for name, zn in z.items()}
    assert saturated["large"] > 0.5
    assert saturated["scaled"] < 0.01
