"""Cost values on cases worked out by hand, and output errors against central differences."""

import math

import numpy as np
import pytest

from nn.activations import ACTIVATIONS, sigmoid, sigmoid_grad, softmax
from nn.costs import (
    COSTS,
    cross_entropy,
    cross_entropy_delta,
    log_likelihood,
    log_likelihood_delta,
    quadratic,
    quadratic_delta,
)

# two samples, two classes: targets 0 and 1
A = np.array([[0.8, 0.2], [0.4, 0.6]])
Y = np.array([[1.0, 0.0], [0.0, 1.0]])


def test_quadratic_by_hand():
    # 0.5 * (0.2^2 + 0.2^2 + 0.4^2 + 0.4^2) / 2 samples
    assert quadratic(A, Y) == pytest.approx(0.1, rel=1e-14)


def test_cross_entropy_by_hand():
    # sample 1: -(ln 0.8 + ln(1 - 0.2)); sample 2: -(ln(1 - 0.4) + ln 0.6)
    expected = -(2 * math.log(0.8) + 2 * math.log(0.6)) / 2
    assert cross_entropy(A, Y) == pytest.approx(expected, rel=1e-14)


def test_log_likelihood_by_hand():
    expected = -(math.log(0.8) + math.log(0.6)) / 2
    assert log_likelihood(A, Y) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("value", [quadratic, cross_entropy, log_likelihood])
def test_values_are_means_over_the_batch(value):
    assert value(np.tile(A, (3, 1)), np.tile(Y, (3, 1))) == pytest.approx(value(A, Y), rel=1e-14)
    assert value(A[:1], Y[:1]) != pytest.approx(value(A, Y))


@pytest.mark.parametrize("value", [quadratic, cross_entropy, log_likelihood])
def test_perfect_outputs_cost_nothing(value):
    assert value(Y, Y) == 0.0


def test_cross_entropy_of_outputs_rounded_to_0_or_1_stays_finite():
    wrong = np.array([[0.0, 1.0]])
    with np.errstate(all="raise"):
        assert np.isfinite(cross_entropy(wrong, Y[:1])) and cross_entropy(wrong, Y[:1]) > 100
        assert np.isfinite(log_likelihood(wrong, Y[:1])) and log_likelihood(wrong, Y[:1]) > 100


def test_deltas_by_hand():
    z = np.array([[1.5, -0.5], [0.0, 2.0]])
    a = sigmoid(z)
    np.testing.assert_array_equal(quadratic_delta(z, a, Y), (a - Y) * sigmoid_grad(z))
    np.testing.assert_array_equal(cross_entropy_delta(z, a, Y), a - Y)
    s = softmax(z)
    np.testing.assert_array_equal(log_likelihood_delta(z, s, Y), s - Y)


@pytest.mark.parametrize("name", list(COSTS))
def test_delta_is_the_derivative_of_the_cost_per_sample(name):
    cost = COSTS[name]
    output = ACTIVATIONS[cost.output][0]
    rng = np.random.default_rng(4)
    z = rng.normal(0.0, 1.5, (3, 4))
    y = np.eye(4)[rng.integers(0, 4, 3)]
    h = 1e-6
    numeric = np.empty_like(z)
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = h
        plus, minus = cost.value(output(z + step), y), cost.value(output(z - step), y)
        numeric[index] = (plus - minus) / (2 * h)
    # value is the mean over the batch, delta is per sample
    delta = cost.delta(z, output(z), y)
    np.testing.assert_allclose(delta, numeric * len(z), rtol=1e-6, atol=1e-9)


def test_quadratic_learns_slowly_from_a_saturated_wrong_output_and_cross_entropy_does_not():
    z = np.array([[-10.0]])
    a, y = sigmoid(z), np.array([[1.0]])
    slow = quadratic_delta(z, a, y)[0, 0]
    fast = cross_entropy_delta(z, a, y)[0, 0]
    # sigmoid'(-10) = 4.54e-5 scales the quadratic error down; cross-entropy cancels it
    assert sigmoid_grad(z)[0, 0] == pytest.approx(4.5396e-5, rel=1e-4)
    assert -1e-4 < slow < 0
    assert slow == pytest.approx((a[0, 0] - 1.0) * sigmoid_grad(z)[0, 0], rel=1e-12)
    assert fast == pytest.approx(-1.0, abs=1e-4)
    assert abs(fast) > 2e4 * abs(slow)


def test_cross_entropy_of_a_saturated_wrong_sigmoid_grows_like_its_input():
    # -ln sigmoid(z) = ln(1 + exp(-z)), about -z for z << 0; sigmoid(-50) = 1.9e-22 is a
    # normal float64, so the cost must come out near 50, not at the clip of ln(1e-300)
    for z in (-20.0, -35.0, -50.0):
        a = sigmoid(np.array([[z]]))
        assert cross_entropy(a, np.array([[1.0]])) == pytest.approx(np.log1p(np.exp(-z)), rel=1e-9)


def test_registry_fixes_the_output_activation():
    assert {name: cost.output for name, cost in COSTS.items()} == {
        "quadratic": "sigmoid",
        "cross-entropy": "sigmoid",
        "log-likelihood": "softmax",
    }
    assert COSTS["quadratic"].value is quadratic and COSTS["quadratic"].delta is quadratic_delta
    assert COSTS["cross-entropy"].delta is cross_entropy_delta
    assert COSTS["log-likelihood"].value is log_likelihood


@pytest.mark.parametrize("name", list(COSTS))
@pytest.mark.parametrize("batch_size", [1, 7, 10, 33])
def test_batch_values_equal_the_value_of_each_batch_bit_for_bit(name, batch_size):
    cost = COSTS[name]
    rng = np.random.default_rng(11)
    # 5003 samples: the last batch is shorter, and the values come in two chunks of 2**15
    z = rng.normal(0.0, 5.0, (5003, 10))
    a = ACTIVATIONS[cost.output][0](z)
    a[rng.random(a.shape) < 0.02] = 0.0  # outputs that rounded to the ends of (0, 1)
    a[rng.random(a.shape) < 0.02] = 1.0
    y = np.eye(10)[rng.integers(0, 10, 5003)]
    each = [
        cost.value(a[i : i + batch_size], y[i : i + batch_size]) for i in range(0, 5003, batch_size)
    ]
    assert cost.batch_values(a, y, batch_size).tolist() == each
