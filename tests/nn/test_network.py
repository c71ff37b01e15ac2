"""The network: shapes, validation, backpropagation against central differences, and the
injected matmul with its tags."""

import itertools

import numpy as np
import pytest

from nn.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from nn.costs import COSTS
from nn.network import Network

H = 1e-6


def batch(sizes, seed, samples=4):
    """Inputs ``(samples, sizes[0])`` and one-hot targets ``(samples, sizes[-1])``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (samples, sizes[0]))
    return x, np.eye(sizes[-1])[rng.integers(0, sizes[-1], samples)]


def numeric_gradients(params, loss):
    """Central differences of ``loss()`` with respect to every entry of every array in
    ``params``, each perturbed in place and restored."""
    grads = []
    for p in params:
        g = np.empty_like(p)
        for index in np.ndindex(p.shape):
            saved = p[index]
            p[index] = saved + H
            plus = loss()
            p[index] = saved - H
            minus = loss()
            p[index] = saved
            g[index] = (plus - minus) / (2 * H)
        grads.append(g)
    return grads


def assert_gradients_match(analytic, numeric):
    for a, n in zip(analytic, numeric, strict=True):
        assert a.shape == n.shape
        np.testing.assert_allclose(a, n, rtol=1e-6, atol=1e-9)


class Recorder:
    """A matmul that records ``(tag, a.shape, b.shape)`` of every call."""

    accepts_tag = True

    def __init__(self):
        self.calls = []

    def __call__(self, a, b, tag):
        self.calls.append((tag, a.shape, b.shape))
        return np.matmul(a, b)


# ---- construction ----------------------------------------------------------------------


def test_parameter_shapes():
    net = Network([6, 5, 4, 3], np.random.default_rng(0))
    assert net.layers == 3
    assert [w.shape for w in net.weights] == [(6, 5), (5, 4), (4, 3)]
    assert [b.shape for b in net.biases] == [(5,), (4,), (3,)]
    assert net.sizes == [6, 5, 4, 3]


def test_same_seed_same_weights():
    a = Network([4, 3, 2], np.random.default_rng(7), init="he")
    b = Network([4, 3, 2], np.random.default_rng(7), init="he")
    c = Network([4, 3, 2], np.random.default_rng(8), init="he")
    assert all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights, strict=True))
    assert not np.array_equal(a.weights[0], c.weights[0])


@pytest.mark.parametrize("sizes", [[], [5], [5, 0], [5, -2, 3], [5, 2.0], [5, True], [5, "3"]])
def test_bad_sizes_are_refused_with_the_value(sizes):
    with pytest.raises(ValueError, match="sizes must be at least two positive integers") as err:
        Network(sizes, np.random.default_rng(0))
    assert repr(list(sizes)) in str(err.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"activation": "softmax"}, "unknown activation 'softmax'; valid: sigmoid, tanh, relu"),
        ({"activation": "gelu"}, "unknown activation 'gelu'; valid: sigmoid, tanh, relu"),
        ({"cost": "hinge"}, "unknown cost 'hinge'; valid: quadratic, cross-entropy, log-likeli"),
        ({"init": "orthogonal"}, "unknown init 'orthogonal'; valid: large, scaled, xavier, he"),
    ],
)
def test_unknown_names_list_the_valid_ones(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Network([3, 2], np.random.default_rng(0), **kwargs)


# ---- forward ---------------------------------------------------------------------------


@pytest.mark.parametrize("cost", list(COSTS))
def test_forward_shapes_and_output_activation(cost):
    sizes = [6, 5, 4, 3]
    net = Network(sizes, np.random.default_rng(0), "tanh", cost)
    x, _ = batch(sizes, 1, samples=7)
    zs, activations, masks = net.forward(x)
    assert [z.shape for z in zs] == [(7, 5), (7, 4), (7, 3)]
    assert [a.shape for a in activations] == [(7, 6), (7, 5), (7, 4), (7, 3)]
    assert activations[0] is x and masks == [None, None, None]
    output = ACTIVATIONS[COSTS[cost].output][0]
    np.testing.assert_array_equal(activations[-1], output(zs[-1]))
    np.testing.assert_array_equal(activations[1], np.tanh(zs[0]))
    np.testing.assert_array_equal(zs[0], x @ net.weights[0] + net.biases[0])


def test_dropout_masks_hidden_units_only_and_rescales_the_kept_ones():
    sizes = [6, 50, 40, 3]
    net = Network(sizes, np.random.default_rng(0), "sigmoid")
    x, _ = batch(sizes, 1, samples=20)
    zs, activations, masks = net.forward(x, keep=0.25, rng=np.random.default_rng(2))
    assert masks[-1] is None
    for z, a, mask in zip(zs[:-1], activations[1:-1], masks[:-1], strict=True):
        assert set(np.unique(mask)) == {0.0, 4.0}
        assert 0.15 < np.mean(mask > 0) < 0.35
        np.testing.assert_array_equal(a, net.hidden(z) * mask)


def test_predict_and_accuracy():
    sizes = [4, 6, 3]
    net = Network(sizes, np.random.default_rng(3), cost="log-likelihood")
    x, _ = batch(sizes, 4, samples=11)
    expected = np.argmax(net.forward(x)[1][-1], axis=1)
    for chunk in (1, 3, 11, 10_000):
        np.testing.assert_array_equal(net.predict(x, batch=chunk), expected)
    labels = expected.copy()
    labels[:3] = (labels[:3] + 1) % 3
    assert net.accuracy(x, labels) == pytest.approx(8 / 11, rel=1e-15)


def test_predict_of_no_samples_is_no_labels():
    net = Network([4, 6, 3], np.random.default_rng(3))
    labels = net.predict(np.empty((0, 4)))
    assert labels.shape == (0,) and labels.dtype.kind == "i"


def test_loss_adds_the_l2_term():
    sizes = [4, 3, 2]
    net = Network(sizes, np.random.default_rng(3))
    x, y = batch(sizes, 4)
    plain = net.cost.value(net.forward(x)[1][-1], y)
    assert net.loss(x, y) == plain
    squares = sum(float(np.sum(w**2)) for w in net.weights)
    assert net.loss(x, y, lmbda=3.0, n=10) == pytest.approx(plain + 3.0 / 20 * squares, rel=1e-14)


def test_loss_without_l2_ignores_the_size_of_the_weights():
    # a huge weight from an input that is always 0 changes nothing, and without L2 it must not
    # reach the loss either (0 * sum(w**2) is NaN once sum(w**2) overflows)
    sizes = [2, 3, 2]
    net = Network(sizes, np.random.default_rng(3))
    x, y = batch(sizes, 4)
    x[:, 1] = 0.0
    before = net.loss(x, y)
    net.weights[0][1, 0] = 1e200
    with np.errstate(over="ignore", invalid="ignore"):
        assert net.loss(x, y) == before


# ---- gradients -------------------------------------------------------------------------


GRAD_CASES = list(itertools.product(list(COSTS), HIDDEN_ACTIVATIONS, [[5, 4, 3], [4, 5, 3, 3]]))


@pytest.mark.parametrize(
    "cost, activation, sizes", GRAD_CASES, ids=[f"{c}-{a}-{len(s)}" for c, a, s in GRAD_CASES]
)
def test_gradients_match_central_differences(cost, activation, sizes):
    net = Network(sizes, np.random.default_rng(11), activation, cost)
    x, y = batch(sizes, 12)
    zs, activations, masks = net.forward(x)
    if activation == "relu":  # finite differences are only valid away from the kink
        assert min(np.abs(z).min() for z in zs[:-1]) > 1e-3
    weight_grads, bias_grads = net.gradients(zs, activations, masks, y)
    numeric = numeric_gradients(net.weights + net.biases, lambda: net.loss(x, y))
    assert_gradients_match(weight_grads + bias_grads, numeric)
    assert max(np.abs(g).max() for g in weight_grads) > 1e-3  # not trivially zero


def masked_loss(net, x, y, masks):
    """The cost of ``net`` on ``x`` with fixed dropout ``masks``, from the forward formulas."""
    a = x
    for w, b, mask in zip(net.weights, net.biases, masks, strict=True):
        z = a @ w + b
        if mask is None:
            a = net.output(z)
        else:
            a = net.hidden(z) * mask
    return net.cost.value(a, y)


@pytest.mark.parametrize("cost", list(COSTS))
def test_gradients_with_a_fixed_dropout_mask_match_central_differences(cost):
    sizes = [5, 6, 6, 3]
    net = Network(sizes, np.random.default_rng(13), "tanh", cost)
    x, y = batch(sizes, 14, samples=5)
    zs, activations, masks = net.forward(x, keep=0.5, rng=np.random.default_rng(15))
    assert all(np.any(m == 0) and np.any(m > 0) for m in masks[:-1])
    assert masked_loss(net, x, y, masks) == net.cost.value(activations[-1], y)
    weight_grads, bias_grads = net.gradients(zs, activations, masks, y)
    numeric = numeric_gradients(net.weights + net.biases, lambda: masked_loss(net, x, y, masks))
    assert_gradients_match(weight_grads + bias_grads, numeric)
    # the mask matters: without it the gradient is another one
    plain = net.gradients(*net.forward(x), y)[0]
    assert not np.allclose(plain[0], weight_grads[0])


def test_gradients_are_batch_means():
    sizes = [4, 3, 2]
    net = Network(sizes, np.random.default_rng(5), "relu")
    x, y = batch(sizes, 6, samples=3)
    full = net.gradients(*net.forward(x), y)
    singles = [net.gradients(*net.forward(x[i : i + 1]), y[i : i + 1]) for i in range(3)]
    for part in (0, 1):
        for layer in range(net.layers):
            mean = sum(s[part][layer] for s in singles) / 3
            np.testing.assert_allclose(full[part][layer], mean, rtol=1e-12, atol=1e-15)


# ---- the injected matmul ---------------------------------------------------------------


def test_a_tagged_matmul_sees_every_call_of_a_training_step():
    sizes = [6, 5, 4, 3]
    recorder = Recorder()
    net = Network(sizes, np.random.default_rng(0), matmul=recorder)
    x, y = batch(sizes, 1, samples=7)
    zs, activations, masks = net.forward(x)
    net.gradients(zs, activations, masks, y)
    assert recorder.calls == [
        ("layer1.forward", (7, 6), (6, 5)),
        ("layer2.forward", (7, 5), (5, 4)),
        ("layer3.forward", (7, 4), (4, 3)),
        ("layer3.gradient", (4, 7), (7, 3)),
        ("layer3.backward", (7, 3), (3, 4)),
        ("layer2.gradient", (5, 7), (7, 4)),
        ("layer2.backward", (7, 4), (4, 5)),
        ("layer1.gradient", (6, 7), (7, 5)),
    ]


def test_evaluation_uses_inference_tags():
    sizes = [6, 5, 4, 3]
    recorder = Recorder()
    net = Network(sizes, np.random.default_rng(0), matmul=recorder)
    x, y = batch(sizes, 1, samples=7)
    net.predict(x, batch=4)
    assert recorder.calls == [
        ("layer1.inference", (4, 6), (6, 5)),
        ("layer2.inference", (4, 5), (5, 4)),
        ("layer3.inference", (4, 4), (4, 3)),
        ("layer1.inference", (3, 6), (6, 5)),
        ("layer2.inference", (3, 5), (5, 4)),
        ("layer3.inference", (3, 4), (4, 3)),
    ]
    recorder.calls.clear()
    net.loss(x, y)
    assert [tag for tag, _, _ in recorder.calls] == [f"layer{i}.inference" for i in (1, 2, 3)]


@pytest.mark.parametrize("accepts_tag", [None, False])
def test_a_matmul_without_tags_gets_two_positional_arguments(accepts_tag):
    calls = []

    def plain(*args, **kwargs):
        calls.append((len(args), kwargs))
        return np.matmul(*args)

    if accepts_tag is not None:
        plain.accepts_tag = accepts_tag
    sizes = [6, 5, 4, 3]
    net = Network(sizes, np.random.default_rng(0), matmul=plain)
    x, y = batch(sizes, 1, samples=7)
    net.gradients(*net.forward(x), y)
    net.predict(x)
    assert calls == [(2, {})] * (3 + 5 + 3)


def test_an_injected_np_matmul_gives_exactly_the_default_results():
    sizes = [6, 5, 4, 3]
    default = Network(sizes, np.random.default_rng(0), "relu", "log-likelihood")
    injected = Network(sizes, np.random.default_rng(0), "relu", "log-likelihood", matmul=Recorder())
    x, y = batch(sizes, 1, samples=7)
    keep, seed = 0.8, 9
    out_d = default.forward(x, keep, np.random.default_rng(seed))
    out_i = injected.forward(x, keep, np.random.default_rng(seed))
    grads_d = default.gradients(*out_d, y)
    grads_i = injected.gradients(*out_i, y)
    for d, i in zip(
        out_d[1] + grads_d[0] + grads_d[1], out_i[1] + grads_i[0] + grads_i[1], strict=True
    ):
        np.testing.assert_array_equal(d, i)
    np.testing.assert_array_equal(default.predict(x), injected.predict(x))
    assert default.loss(x, y) == injected.loss(x, y)
