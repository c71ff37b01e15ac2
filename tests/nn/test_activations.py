"""Activations against their formulas, derivatives against central differences."""

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nn.activations import (
    ACTIVATIONS,
    HIDDEN_ACTIVATIONS,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_grad,
    tanh,
    tanh_grad,
)

H = 1e-6
ELEMENTWISE = [(sigmoid, sigmoid_grad), (tanh, tanh_grad), (relu, relu_grad)]


def sample_z(seed=0, shape=(4, 6), scale=3.0):
    """Weighted inputs in float64, none within 1e-2 of relu's kink at 0."""
    z = np.random.default_rng(seed).normal(0.0, scale, shape)
    z[np.abs(z) < 1e-2] += 0.1
    assert np.abs(z).min() >= 1e-2
    return z


def central_difference(f, z):
    """Elementwise ``(f(z + h) - f(z - h)) / 2h``."""
    return (f(z + H) - f(z - H)) / (2 * H)


def test_sigmoid_equals_its_formula_to_1e_15():
    z = np.linspace(-30, 30, 241).reshape(1, -1)
    np.testing.assert_allclose(sigmoid(z), 1.0 / (1.0 + np.exp(-z)), rtol=0, atol=1e-15)
    assert sigmoid(np.zeros((1, 1)))[0, 0] == 0.5


def test_sigmoid_keeps_its_relative_precision_in_the_left_tail():
    # sigmoid(z) for z << 0 is tiny but representable; computing it as 0.5 * (1 + tanh(z / 2))
    # cancels 1 against -1 + tiny and keeps only the absolute error (about 1e-16)
    z = -np.arange(1.0, 700.0, 7.0).reshape(1, -1)
    np.testing.assert_allclose(sigmoid(z), np.exp(z) / (1.0 + np.exp(z)), rtol=1e-12)


def test_tanh_and_relu_equal_their_formulas():
    z = sample_z()
    np.testing.assert_allclose(tanh(z), (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)))
    assert np.array_equal(relu(z), np.where(z > 0, z, 0.0))


def test_softmax_equals_its_formula():
    z = sample_z(scale=2.0)
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax(z), expected, rtol=1e-14)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_nothing_overflows_at_plus_and_minus_1000(name):
    f, f_grad = ACTIVATIONS[name]
    z = np.array([[-1000.0, -1.0, 0.0, 1.0, 1000.0]])
    # exp(-2000) underflowing to 0 is the right answer; overflow or NaN is not
    with np.errstate(all="raise", under="ignore"):
        a, grad = f(z), f_grad(z)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(grad))


def test_saturated_values_at_plus_and_minus_1000():
    z = np.array([[-1000.0, 1000.0]])
    with np.errstate(all="raise", under="ignore"):
        assert np.array_equal(sigmoid(z), [[0.0, 1.0]])
        assert np.array_equal(sigmoid_grad(z), [[0.0, 0.0]])
        assert np.array_equal(tanh(z), [[-1.0, 1.0]])
        assert np.array_equal(tanh_grad(z), [[0.0, 0.0]])
        assert np.array_equal(relu(z), [[0.0, 1000.0]])
        assert np.array_equal(relu_grad(z), [[0.0, 1.0]])


@pytest.mark.parametrize("f, f_grad", ELEMENTWISE, ids=lambda f: f.__name__)
def test_elementwise_derivative_matches_central_differences(f, f_grad):
    z = sample_z(seed=1)
    np.testing.assert_allclose(f_grad(z), central_difference(f, z), rtol=1e-7, atol=1e-9)


def test_relu_grad_is_a_step_with_zero_at_the_kink():
    z = np.array([[-2.0, -1e-300, 0.0, 1e-300, 3.0]])
    assert np.array_equal(relu_grad(z), [[0.0, 0.0, 0.0, 1.0, 1.0]])
    assert relu_grad(z.astype(np.float32)).dtype == np.float32


def test_relu_does_not_saturate_where_sigmoid_and_tanh_do():
    z = np.array([[20.0, 50.0, 100.0]])
    assert np.all(sigmoid_grad(z) < 1e-6)
    assert np.all(tanh_grad(z) < 1e-6)
    assert np.array_equal(relu_grad(z), np.ones_like(z))


def test_derivatives_peak_where_documented():
    z = np.zeros((1, 1))
    assert sigmoid_grad(z)[0, 0] == 0.25
    assert tanh_grad(z)[0, 0] == 1.0
    z = np.linspace(-10, 10, 201).reshape(1, -1)
    assert sigmoid_grad(z).max() <= 0.25 and tanh_grad(z).max() <= 1.0


def test_softmax_grad_is_the_jacobian():
    z = sample_z(seed=2, shape=(3, 5), scale=1.5)
    jacobian = softmax_grad(z)
    assert jacobian.shape == (3, 5, 5)
    numeric = np.empty_like(jacobian)
    for j in range(z.shape[1]):
        step = np.zeros_like(z)
        step[:, j] = H
        numeric[:, :, j] = (softmax(z + step) - softmax(z - step)) / (2 * H)
    np.testing.assert_allclose(jacobian, numeric, rtol=1e-7, atol=1e-10)


def test_softmax_rows_sum_to_one_and_survive_large_inputs():
    z = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1000.0], [1.0, 2.0, 3.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = softmax(z)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-15)
    assert np.array_equal(s[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(s[1], 1 / 3, rtol=1e-15)


def test_softmax_ignores_a_shift_of_each_row():
    z = sample_z(seed=3)
    shift = np.array([[-50.0], [0.0], [7.0], [300.0]])
    np.testing.assert_allclose(softmax(z + shift), softmax(z), rtol=1e-12)


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
        elements=st.floats(-1e4, 1e4),
    )
)
def test_softmax_rows_are_distributions_that_keep_the_order(z):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = softmax(z)
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-12)
    # the largest input gets the largest probability (ties may round either way)
    rows = np.arange(len(z))
    assert np.array_equal(s[rows, np.argmax(z, axis=1)], s.max(axis=1))


@given(st.floats(-1e300, 1e300), st.floats(0, 1e300))
def test_sigmoid_is_a_monotone_map_into_the_unit_interval(z, gap):
    with np.errstate(all="raise", under="ignore"):
        lo, hi = sigmoid(np.array([[z, z + gap]]))[0]
    assert 0.0 <= lo <= 1.0 and 0.0 <= hi <= 1.0
    assert lo <= hi + 1e-15  # non-decreasing, to rounding
    # 1 - sigmoid(z) = sigmoid(-z), to rounding
    assert abs(sigmoid(np.array([[-z]]))[0, 0] - (1.0 - lo)) <= 1e-15


def test_registry_pairs_each_function_with_its_derivative():
    assert set(ACTIVATIONS) == {"sigmoid", "tanh", "relu", "softmax"}
    assert ACTIVATIONS["sigmoid"] == (sigmoid, sigmoid_grad)
    assert ACTIVATIONS["tanh"] == (tanh, tanh_grad)
    assert ACTIVATIONS["relu"] == (relu, relu_grad)
    assert ACTIVATIONS["softmax"] == (softmax, softmax_grad)
    assert set(HIDDEN_ACTIVATIONS) == {"sigmoid", "tanh", "relu"}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_unguarded_activations_give_the_same_bits_and_only_the_sigmoid_differs(dtype):
    from nn.activations import UNGUARDED, sigmoid_unguarded

    z = np.concatenate([sample_z(5, (3, 40), 300.0).ravel(), [-800.0, 800.0, 0.0, -0.0, 1e-320]])
    z = z.astype(dtype).reshape(1, -1)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(sigmoid_unguarded(z), sigmoid(z))
        assert sigmoid_unguarded(z).dtype == sigmoid(z).dtype
    assert UNGUARDED["sigmoid"] is sigmoid_unguarded
    assert all(UNGUARDED[name] is ACTIVATIONS[name][0] for name in ("tanh", "relu", "softmax"))
