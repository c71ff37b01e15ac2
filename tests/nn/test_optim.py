"""SGD and momentum steps worked out by hand, L2 on weights only, and bad settings."""

import numpy as np
import pytest

from nn.optim import OPTIMIZERS, Optimizer


def params_and_grads(seed=0):
    """A weight matrix and a bias vector, with two rounds of gradients for them."""
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    g1 = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    g2 = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    return w, b, g1, g2


def test_sgd_step_is_w_minus_eta_g_in_place():
    w, b, g, _ = params_and_grads()
    w0, b0 = w.copy(), b.copy()
    Optimizer([w, b], [True, False], "sgd", eta=0.3).step(g)
    np.testing.assert_array_equal(w, w0 - 0.3 * g[0])
    np.testing.assert_array_equal(b, b0 - 0.3 * g[1])


def test_gradients_are_not_modified():
    w, b, g, _ = params_and_grads()
    g_copy = [x.copy() for x in g]
    Optimizer([w, b], [True, False], "momentum", eta=0.3, lmbda=2.0, n=4).step(g)
    assert all(np.array_equal(x, y) for x, y in zip(g, g_copy, strict=True))


def test_l2_decays_weights_and_not_biases():
    w, b, g, _ = params_and_grads()
    w0, b0 = w.copy(), b.copy()
    eta, lmbda, n = 0.3, 5.0, 50
    Optimizer([w, b], [True, False], "sgd", eta=eta, lmbda=lmbda, n=n).step(g)
    np.testing.assert_allclose(w, w0 - eta * (g[0] + lmbda / n * w0), rtol=1e-15)
    np.testing.assert_array_equal(b, b0 - eta * g[1])


def test_l2_alone_shrinks_weights_by_a_constant_factor():
    w, b, _, _ = params_and_grads()
    w0 = w.copy()
    zero = [np.zeros_like(w), np.zeros_like(b)]
    Optimizer([w, b], [True, False], "sgd", eta=0.5, lmbda=2.0, n=10).step(zero)
    np.testing.assert_allclose(w, (1 - 0.5 * 2.0 / 10) * w0, rtol=1e-15)


def test_momentum_two_steps_by_hand():
    w, b, g1, g2 = params_and_grads()
    w0, b0 = w.copy(), b.copy()
    eta, mu = 0.2, 0.7
    opt = Optimizer([w, b], [True, False], "momentum", eta=eta, mu=mu)
    opt.step(g1)
    opt.step(g2)
    for p, p0, a, c in ((w, w0, g1[0], g2[0]), (b, b0, g1[1], g2[1])):
        v1 = -eta * a
        v2 = mu * v1 - eta * c
        np.testing.assert_allclose(p, p0 + v1 + v2, rtol=1e-14)
        # plain SGD would have ended elsewhere
        assert not np.allclose(p, p0 - eta * a - eta * c)


def test_momentum_with_mu_zero_is_sgd():
    w1, b1, g1, g2 = params_and_grads()
    w2, b2 = w1.copy(), b1.copy()
    sgd = Optimizer([w1, b1], [True, False], "sgd", eta=0.4, lmbda=1.0, n=3)
    momentum = Optimizer([w2, b2], [True, False], "momentum", eta=0.4, mu=0.0, lmbda=1.0, n=3)
    for g in (g1, g2):
        sgd.step(g)
        momentum.step(g)
    np.testing.assert_allclose(w2, w1, rtol=1e-14)
    np.testing.assert_allclose(b2, b1, rtol=1e-14)


def test_step_refuses_a_wrong_number_of_gradients():
    w, b, g, _ = params_and_grads()
    with pytest.raises(ValueError):
        Optimizer([w, b], [True, False]).step(g[:1])


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"eta": 0.0}, r"eta must be a finite number > 0, got 0\.0"),
        ({"eta": -0.5}, r"eta must be a finite number > 0, got -0\.5"),
        ({"eta": float("nan")}, r"eta must be a finite number > 0, got nan"),
        ({"mu": -0.1}, r"mu must be in \[0, 1\), got -0\.1"),
        ({"mu": 1.0}, r"mu must be in \[0, 1\), got 1\.0"),
        ({"lmbda": -1.0}, r"lmbda must be a finite number >= 0, got -1\.0"),
        ({"lmbda": float("inf")}, r"lmbda must be a finite number >= 0, got inf"),
        ({"eta": float("inf")}, r"eta must be a finite number > 0, got inf"),
        ({"name": "adam"}, r"unknown optimizer 'adam'; valid: sgd, momentum"),
    ],
)
def test_bad_settings_are_refused_with_the_value(settings, message):
    w, b, _, _ = params_and_grads()
    with pytest.raises(ValueError, match=message):
        Optimizer([w, b], [True, False], **settings)


def test_names():
    assert OPTIMIZERS == ("sgd", "momentum")


@pytest.mark.parametrize("name, lmbda", [("sgd", 0.0), ("momentum", 0.0), ("sgd", 2.0)])
def test_scratch_gradients_give_the_same_update_and_float32_ones_stay_untouched(name, lmbda):
    rng = np.random.default_rng(3)
    w, b = rng.standard_normal((5, 4)), rng.standard_normal(4)
    grads = [rng.standard_normal((5, 4)), rng.standard_normal(4).astype(np.float32)]
    kept = [g.copy() for g in grads]
    plain = [w.copy(), b.copy()]
    Optimizer(plain, [True, False], name, eta=0.3, lmbda=lmbda, n=7).step([g.copy() for g in grads])
    scratched = [w.copy(), b.copy()]
    Optimizer(scratched, [True, False], name, eta=0.3, lmbda=lmbda, n=7).step(grads, scratch=True)
    for got, want in zip(scratched, plain, strict=True):
        assert np.array_equal(got, want)  # the same bits
    # the float64 weight gradient is scaled in place only without L2; the float32 one never is
    assert np.array_equal(grads[0], kept[0]) == bool(lmbda)
    assert np.array_equal(grads[1], kept[1])
