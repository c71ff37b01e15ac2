"""Training on small synthetic sets: reproducibility, learning, the history and its hooks,
bad settings and divergence."""

import dataclasses
import re

import numpy as np
import pytest

from nn.network import Network
from nn.train import STEPS, EpochRecord, TrainingDiverged, one_hot, train

SIZES = [8, 6, 2]


def blobs(seed, n=200, features=8):
    """Two Gaussian blobs, centred at -1 and +1 in every feature, labelled 0 and 1."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    centres = np.array([-1.0, 1.0])[:, None] * np.ones(features)
    return centres[labels] + rng.standard_normal((n, features)), labels


def badly_conditioned(seed, n=200):
    """Two features, the label carried by the one ten times smaller than the other."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, 2))
    return u * np.array([0.1, 1.0]), (u[:, 0] > 0).astype(int)


def network(seed=1, sizes=SIZES, **kwargs):
    """A network of ``sizes`` whose weights come from ``default_rng(seed)``."""
    return Network(sizes, np.random.default_rng(seed), **kwargs)


def fit(net, x, labels, seed=2, **settings):
    """``train`` with its shuffling and dropout drawn from ``default_rng(seed)``."""
    return train(net, x, labels, rng=np.random.default_rng(seed), **settings)


def without_seconds(history):
    """The records as dicts, without the wall times, which differ from run to run."""
    return [{k: v for k, v in dataclasses.asdict(r).items() if k != "seconds"} for r in history]


def test_one_hot():
    expected = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    out = one_hot(np.array([1, 0, 2, 1]), 3)
    assert out.dtype == np.float64 and np.array_equal(out, expected)


def test_same_seed_gives_the_same_run_and_another_seed_another():
    x, labels = blobs(0)
    runs = []
    for seed in (5, 5, 6):
        net = network(activation="relu")
        history = fit(net, x, labels, seed=seed, epochs=2, keep=0.8, validation=blobs(1, n=50))
        runs.append((without_seconds(history), net.weights + net.biases))
    (h1, p1), (h2, p2), (h3, p3) = runs
    assert h1 == h2
    assert all(np.array_equal(a, b) for a, b in zip(p1, p2, strict=True))
    assert h1 != h3
    assert not np.array_equal(p1[0], p3[0])


def test_training_lowers_the_cost_and_separates_the_blobs():
    x, labels = blobs(0)
    net = network()
    history = fit(
        net, x, labels, epochs=3, eta=0.5, validation=blobs(1, n=100), test=blobs(3, n=100)
    )
    costs = [r.train_cost for r in history]
    assert costs[-1] < costs[0] / 2
    assert np.all(np.diff(costs) < 0)
    assert history[-1].val_accuracy >= 0.95 and history[-1].test_accuracy >= 0.95
    # accuracies are measured on the trained network, after the epoch
    assert history[-1].test_accuracy == net.accuracy(*blobs(3, n=100))


def test_the_cost_of_one_full_batch_is_measured_before_its_update():
    x, labels = blobs(0, n=40)
    net = network()
    before = net.loss(x, one_hot(labels, 2))
    (record,) = fit(net, x, labels, batch_size=40)
    assert record.train_cost == pytest.approx(before, rel=1e-12)
    assert net.loss(x, one_hot(labels, 2)) < before


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy", "log-likelihood"])
def test_the_epoch_cost_is_the_mean_of_each_batch_cost_measured_before_its_update(cost):
    # the trainer prices an epoch's batches at its end; by hand, each batch is priced as it
    # comes, before its update. 57 samples in batches of 10: the last batch holds 7
    x, labels = blobs(0, n=57)
    net, twin = network(cost=cost), network(cost=cost)
    (record,) = fit(net, x, labels, seed=5, batch_size=10, eta=0.3)
    order = np.random.default_rng(5).permutation(57)
    targets = one_hot(labels, 2)
    costs = []
    for start in range(0, 57, 10):
        chosen = order[start : start + 10]
        zs, activations, masks = twin.forward(x[chosen])
        costs.append(twin.cost.value(activations[-1], targets[chosen]))
        weight_grads, bias_grads = twin.gradients(zs, activations, masks, targets[chosen])
        for param, grad in zip(twin.weights + twin.biases, weight_grads + bias_grads, strict=True):
            param -= 0.3 * grad
    assert record.train_cost == float(np.mean(costs))  # the same numbers, bit for bit
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, twin.weights, strict=True))


def test_history_fields():
    x, labels = blobs(0, n=60)
    calls = []

    def collect():
        calls.append(len(calls))
        return {"cycles": 100 * len(calls)}

    history = fit(network(), x, labels, epochs=3, collect=collect, validation=blobs(1, n=30))
    assert [r.epoch for r in history] == [1, 2, 3]
    assert all(isinstance(r, EpochRecord) for r in history)
    assert all(0.0 <= r.val_accuracy <= 1.0 and r.test_accuracy is None for r in history)
    assert all(np.isfinite(r.train_cost) and r.train_cost > 0 for r in history)
    assert all(tuple(r.seconds) == STEPS for r in history)
    assert all(s >= 0.0 for r in history for s in r.seconds.values())
    assert [r.collected for r in history] == [{"cycles": 100}, {"cycles": 200}, {"cycles": 300}]
    assert calls == [0, 1, 2]


def test_without_splits_or_collect_the_record_is_empty_there():
    x, labels = blobs(0, n=30)
    (record,) = fit(network(), x, labels)
    assert record.val_accuracy is None and record.test_accuracy is None
    assert record.collected == {}


def test_on_epoch_sees_each_record_once_as_it_is_finished():
    x, labels = blobs(0, n=40)
    seen = []
    history = fit(network(), x, labels, epochs=4, on_epoch=seen.append)
    assert len(seen) == 4
    assert all(s is r for s, r in zip(seen, history, strict=True))


def test_progress_counts_every_training_sample_once_per_epoch():
    # 451 samples in batches of 2: 226 batches, the last of one sample, reported every 2
    x, labels = blobs(0, n=451)
    events = []
    fit(
        network(),
        x,
        labels,
        epochs=2,
        batch_size=2,
        progress=events.append,
        on_epoch=lambda record: events.append("end"),
    )
    assert events.count("end") == 2
    cut = events.index("end")
    for epoch in (events[:cut], events[cut + 1 : -1]):
        assert sum(epoch) == 451
        assert all(n > 0 for n in epoch)
        assert 50 <= len(epoch) <= 200  # about 100 calls an epoch


def test_momentum_beats_plain_sgd_on_a_badly_conditioned_problem():
    for seed in range(3):
        x, labels = badly_conditioned(seed)
        final = {}
        for optimizer in ("sgd", "momentum"):
            net = network(seed, [2, 2], cost="log-likelihood")
            history = fit(
                net, x, labels, seed=seed + 100, epochs=5, eta=0.3, optimizer=optimizer, mu=0.9
            )
            final[optimizer] = history[-1].train_cost
        assert final["momentum"] < 0.8 * final["sgd"]


def reference_sgd(net, x, labels, seed, epochs, batch_size, eta):
    """Plain mini-batch SGD by hand, with the shuffling ``train`` documents."""
    rng = np.random.default_rng(seed)
    targets = np.eye(net.sizes[-1])[labels]
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            chosen = order[start : start + batch_size]
            weight_grads, bias_grads = net.gradients(*net.forward(x[chosen]), targets[chosen])
            for p, g in zip(net.weights + net.biases, weight_grads + bias_grads, strict=True):
                p -= eta * g


def test_keep_one_is_exactly_sgd_without_dropout():
    x, labels = blobs(0, n=95)
    trained, by_hand, dropped = (network(activation="tanh") for _ in range(3))
    fit(trained, x, labels, seed=4, epochs=2, batch_size=10, keep=1.0)
    reference_sgd(by_hand, x, labels, 4, epochs=2, batch_size=10, eta=0.5)
    for a, b in zip(
        trained.weights + trained.biases, by_hand.weights + by_hand.biases, strict=True
    ):
        np.testing.assert_array_equal(a, b)
    fit(dropped, x, labels, seed=4, epochs=2, batch_size=10, keep=0.5)
    assert not np.allclose(dropped.weights[0], trained.weights[0])


def test_an_injected_np_matmul_trains_exactly_like_the_default():
    class Tagged:
        accepts_tag = True

        def __call__(self, a, b, tag):
            return np.matmul(a, b)

    x, labels = blobs(0, n=50)
    split = blobs(1, n=20)
    default, injected = network(activation="relu"), network(activation="relu", matmul=Tagged())
    runs = [
        fit(n, x, labels, seed=3, epochs=2, keep=0.7, validation=split) for n in (default, injected)
    ]
    assert without_seconds(runs[0]) == without_seconds(runs[1])
    for a, b in zip(default.weights, injected.weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_one_training_step_makes_exactly_the_matmuls_of_forward_and_backward():
    calls = []

    def recorder(a, b, tag):
        calls.append(tag)
        return np.matmul(a, b)

    recorder.accepts_tag = True
    x, labels = blobs(0, n=7, features=6)
    net = Network([6, 5, 4, 3], np.random.default_rng(0), matmul=recorder)
    fit(net, x, labels, seed=1, batch_size=7)
    assert calls == [
        "layer1.forward",
        "layer2.forward",
        "layer3.forward",
        "layer3.gradient",
        "layer3.backward",
        "layer2.gradient",
        "layer2.backward",
        "layer1.gradient",
    ]
    calls.clear()
    fit(net, x, labels, seed=1, batch_size=7, validation=(x, labels))
    assert calls[-3:] == ["layer1.inference", "layer2.inference", "layer3.inference"]


# ---- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"eta": 0.0}, r"eta must be a finite number > 0, got 0\.0"),
        ({"eta": -1.0}, r"eta must be a finite number > 0, got -1\.0"),
        ({"keep": 0.0}, r"keep probability must be in \(0, 1\], got 0\.0"),
        ({"keep": 1.5}, r"keep probability must be in \(0, 1\], got 1\.5"),
        ({"keep": -0.5}, r"keep probability must be in \(0, 1\], got -0\.5"),
        ({"batch_size": 0}, r"batch_size must be a positive integer, got 0"),
        ({"batch_size": 2.5}, r"batch_size must be a positive integer, got 2\.5"),
        ({"epochs": 0}, r"epochs must be a positive integer, got 0"),
        ({"epochs": -3}, r"epochs must be a positive integer, got -3"),
        ({"mu": 1.0, "optimizer": "momentum"}, r"mu must be in \[0, 1\), got 1\.0"),
        ({"lmbda": -0.1}, r"lmbda must be a finite number >= 0, got -0\.1"),
        ({"optimizer": "adam"}, r"unknown optimizer 'adam'; valid: sgd, momentum"),
    ],
)
def test_bad_settings_are_refused_with_the_value(settings, message):
    x, labels = blobs(0, n=20)
    net = network()
    weights = [w.copy() for w in net.weights]
    with pytest.raises(ValueError, match=message):
        fit(net, x, labels, **settings)
    assert all(np.array_equal(a, b) for a, b in zip(weights, net.weights, strict=True))


def test_inputs_with_the_wrong_number_of_features_are_refused():
    x, labels = blobs(0, n=20, features=7)
    with pytest.raises(ValueError, match=r"training inputs have shape \(20, 7\).* 8 inputs"):
        fit(network(), x, labels)
    with pytest.raises(ValueError, match=r"training inputs have shape \(140,\)"):
        fit(network(), x.ravel(), labels)


def test_labels_of_the_wrong_shape_are_refused():
    x, labels = blobs(0, n=20)
    with pytest.raises(ValueError, match=r"training labels have shape \(19,\), expected \(20,\)"):
        fit(network(), x, labels[:19])


@pytest.mark.parametrize("bad", [2, 7, -1])
def test_labels_out_of_range_are_refused_with_the_value(bad):
    x, labels = blobs(0, n=20)
    labels[5] = bad
    with pytest.raises(ValueError, match=r"training labels must be in 0\.\.1") as err:
        fit(network(), x, labels)
    # the valid range alone does not say which label is wrong
    rest = str(err.value).replace("0..1", "").replace("2 outputs", "")
    assert re.search(rf"(?<![\w.]){bad}(?![\w.])", rest), f"{bad} not shown in: {err.value}"


def test_an_empty_training_set_is_refused():
    with pytest.raises(ValueError, match="the training set is empty"):
        fit(network(), np.empty((0, 8)), np.empty(0, int))


@pytest.mark.parametrize("name", ["validation", "test"])
def test_bad_splits_are_refused_with_their_name(name):
    x, labels = blobs(0, n=20)
    split = blobs(1, n=5, features=3)
    with pytest.raises(ValueError, match=rf"{name} inputs have shape \(5, 3\)"):
        fit(network(), x, labels, **{name: split})
    x_split, labels_split = blobs(1, n=5)
    labels_split[0] = 2
    with pytest.raises(ValueError, match=rf"{name} labels must be in 0\.\.1"):
        fit(network(), x, labels, **{name: (x_split, labels_split)})


@pytest.mark.parametrize("name", ["validation", "test"])
def test_an_empty_split_is_refused_before_training(name):
    x, labels = blobs(0, n=20)
    net = network()
    weights = [w.copy() for w in net.weights]
    with pytest.raises(ValueError, match=rf"{name} set is empty"):
        fit(net, x, labels, **{name: (np.empty((0, 8)), np.empty(0, int))})
    assert all(np.array_equal(a, b) for a, b in zip(weights, net.weights, strict=True))


# ---- divergence ------------------------------------------------------------------------


@pytest.mark.parametrize("cost, eta", [("cross-entropy", 1e6), ("log-likelihood", 1e3)])
def test_a_huge_learning_rate_on_relu_units_raises_training_diverged(cost, eta):
    x, labels = blobs(0)
    net = network(activation="relu", cost=cost, init="large")
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged) as err:
        fit(net, x, labels, epochs=5, eta=eta)
    found = re.search(r"in epoch (\d+), mini-batch (\d+) of 20", str(err.value))
    assert found and 1 <= int(found[1]) <= 5 and 1 <= int(found[2]) <= 20
    assert f"eta (now {eta})" in str(err.value)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy", "log-likelihood"])
@pytest.mark.parametrize("eta", [1e3, 1e200])
def test_a_run_either_diverges_loudly_or_returns_finite_numbers(cost, eta):
    x, labels = blobs(0)
    net = network(activation="relu", cost=cost, init="large")
    try:
        with np.errstate(all="ignore"):
            history = fit(net, x, labels, epochs=3, eta=eta, validation=blobs(1, n=50))
    except TrainingDiverged as err:
        assert re.search(r"in epoch \d+, mini-batch \d+ of 20", str(err))
    else:
        assert all(np.isfinite(r.train_cost) for r in history), [r.train_cost for r in history]
        assert all(0.0 <= r.val_accuracy <= 1.0 for r in history)
        assert all(np.isfinite(p).all() for p in net.weights + net.biases)


def test_weights_made_non_finite_by_the_last_update_are_reported():
    # one mini-batch in one epoch: no later cost can reveal what the update did
    x, labels = blobs(0, n=40)
    net = network(activation="relu", cost="cross-entropy", init="large")
    with (
        np.errstate(all="ignore"),
        pytest.raises(TrainingDiverged, match="epoch 1, mini-batch 1 of 1"),
    ):
        fit(net, x, labels, batch_size=40, eta=1e308)


def refusing_matmul(a, b):
    """A matmul that, like the simulator, refuses non-finite operands."""
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("operand holds a non-finite value")
    return np.matmul(a, b)


def test_non_finite_weights_refused_by_the_matmul_are_reported_as_divergence():
    x, labels = blobs(0, n=30)
    net = network(matmul=refusing_matmul)
    net.weights[1][0, 0] = np.inf
    with pytest.raises(
        TrainingDiverged, match="weights became non-finite in epoch 1, mini-batch 1"
    ):
        fit(net, x, labels)


def poisoning_matmul(batch, refuse=False):
    """A matmul whose output layer's product is NaN in mini-batch ``batch`` (from 1), and
    that, with ``refuse``, refuses non-finite operands like the simulator."""
    calls = []

    def matmul(a, b):
        if refuse and not (np.isfinite(a).all() and np.isfinite(b).all()):
            raise ValueError("operand holds a non-finite value")
        product = np.matmul(a, b)
        if b.shape == (SIZES[1], SIZES[2]):  # the output layer's forward product
            calls.append(1)
            if len(calls) == batch:
                product[:] = np.nan
        return product

    return matmul


@pytest.mark.parametrize("refuse", [False, True])
def test_a_cost_gone_nan_is_reported_at_its_own_batch(refuse):
    # costs are priced a chunk of batches at a time: the report still names the batch whose
    # cost went NaN, whether the run went on (NaN weights) or the matmul refused them next
    x, labels = blobs(0)
    net = network(matmul=poisoning_matmul(3, refuse))
    with pytest.raises(
        TrainingDiverged, match="the cost became nan in epoch 1, mini-batch 3 of 20"
    ):
        fit(net, x, labels, epochs=2)


def test_other_matmul_errors_pass_through():
    def too_small(a, b):
        raise ValueError("the array is too small")

    x, labels = blobs(0, n=30)
    with pytest.raises(ValueError, match="the array is too small") as err:
        fit(network(matmul=too_small), x, labels)
    assert not isinstance(err.value, TrainingDiverged)


def test_the_epoch_cost_without_l2_ignores_the_size_of_the_weights():
    # a weight from an input that is always 0 gets no gradient and changes nothing; without L2
    # its size must not reach the cost either (0 * sum(w**2) is NaN once sum(w**2) overflows)
    x, labels = blobs(0, n=40, features=2)
    x[:, 1] = 0.0
    plain, huge = network(sizes=[2, 3, 2]), network(sizes=[2, 3, 2])
    huge.weights[0][1, :] = 1e200
    runs = []
    with np.errstate(over="ignore", invalid="ignore"):
        for net in (plain, huge):
            runs.append(fit(net, x, labels, epochs=2))
    assert np.array_equal(huge.weights[1], plain.weights[1])
    assert [r.train_cost for r in runs[1]] == [r.train_cost for r in runs[0]]


@pytest.mark.parametrize(
    "labels, message",
    [
        (
            np.full(20, 0.5),
            r"training labels must be integers \(class indices\), got dtype "
            r"float64, e\.g\. np\.float64\(0\.5\)",
        ),
        (np.full(20, np.nan), "training labels must be integers"),
        (np.ones(20, dtype=bool), "training labels must be integers .* got dtype bool"),
        (np.array(["0", "1"] * 10), "training labels must be integers .* got dtype <U1"),
    ],
)
def test_labels_that_are_not_integers_are_refused(labels, message):
    x, _ = blobs(0, n=20)
    with pytest.raises(ValueError, match=message):
        fit(network(), x, labels)


def test_labels_as_a_list_of_ints_are_fine():
    x, labels = blobs(0, n=20)
    assert fit(network(), x, labels.tolist(), epochs=1, batch_size=5)


def test_non_finite_or_complex_inputs_are_refused_naming_the_set():
    x, labels = blobs(0, n=20)
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"training inputs hold 1 non-finite value\(s\) \(NaN or "
                       r"inf\), the first in row 3, column 2"):  # fmt: skip
        fit(network(), bad, labels)
    with pytest.raises(ValueError, match="validation inputs hold 1 non-finite"):
        fit(network(), x, labels, validation=(bad, labels))
    with pytest.raises(ValueError, match="training inputs must hold real numbers, got dtype "
                       "complex128"):  # fmt: skip
        fit(network(), x + 0j, labels)
