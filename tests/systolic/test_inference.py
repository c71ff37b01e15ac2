"""A saved model classified on the array in each number format, next to NumPy."""

import json

import numpy as np
import pytest

from nn.data import load_mnist
from nn.model import save_model
from nn.network import Network
from nn.train import train
from systolic.cli import main
from systolic.config import ArrayConfig
from systolic.inference import run


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    data = load_mnist().train.subset(2000)
    network = Network([784, 16, 10], np.random.default_rng(0))
    train(network, data.x, data.y, rng=np.random.default_rng(1), epochs=2, eta=0.5)
    path = tmp_path_factory.mktemp("model") / "model.npz"
    save_model(path, network)
    return path


def test_fp64_inference_agrees_with_numpy_on_every_image(model):
    result = run(model, ArrayConfig(16, 16, dtype="fp64"), limit=500)
    assert result.agreement == 1.0 and result.accuracy == result.reference_accuracy
    assert result.samples == 500 and result.accuracy > 0.8
    assert result.report.macs == 500 * (784 * 16 + 16 * 10)


@pytest.mark.parametrize("dtype, agreement", [("int8", 0.97), ("bf16", 0.98), ("fp16", 0.99)])
def test_narrow_formats_stay_close_to_float64(model, dtype, agreement):
    result = run(model, ArrayConfig(16, 16, dtype=dtype), limit=500)
    assert result.agreement >= agreement
    assert abs(result.accuracy - result.reference_accuracy) <= 0.02


def test_a_model_that_does_not_fit_mnist_is_refused(tmp_path):
    path = tmp_path / "small.npz"
    save_model(path, Network([5, 3], np.random.default_rng(0)))
    with pytest.raises(ValueError, match=r"sizes \[5, 3\] do not fit MNIST"):
        run(path, ArrayConfig(4, 4), limit=10)


def test_infer_command_prints_json(model, capsys):
    argv = ["infer", str(model), "--dtype", "int8", "--rows", "8", "--cols", "8", "--limit",
            "200", "--json"]  # fmt: skip
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["dtype"] == "int8" and record["samples"] == 200
    assert 0.8 < record["test_accuracy"] <= 1 and record["total_cycles"] > 0


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _int8_forward_by_hand(weights, biases, x):
    """The documented int8 scheme, written out here independently: each layer's input is
    quantized with one scale max|a| / 127, each weight column with its own max|w[:, j]| / 127,
    the integer product is exact, and the sums are scaled back before the sigmoid."""
    a = x
    for w, b in zip(weights, biases, strict=True):
        input_scale = np.abs(a).max() / 127
        qa = np.rint(a / input_scale)
        column_scales = np.abs(w).max(axis=0) / 127
        qw = np.rint(w / column_scales)
        exact = qa.astype(np.int64) @ qw.astype(np.int64)
        a = _sigmoid(exact * input_scale * column_scales + b)
    return a


def test_int8_inference_equals_an_independent_per_channel_computation(model, tmp_path):
    from nn.model import load_model
    from systolic.api import SystolicMatmul
    from systolic.inference import forward

    network, _ = load_model(model)
    # columns of very different sizes: per-tensor quantization would lose the small ones
    network.weights[1] = network.weights[1] * np.geomspace(0.01, 10, 10)
    x = load_mnist().test.x[:300]
    config = ArrayConfig(8, 8, dtype="int8")
    ours = forward(network, x, config, SystolicMatmul(config, compare=False))
    expected = _int8_forward_by_hand(network.weights, network.biases, x)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-15)
    # the same network with per-tensor weight scales gives other outputs: the check can fail
    coarse = np.abs(network.weights[1]).max() / 127
    assert not np.allclose(np.rint(network.weights[1] / coarse) * coarse, network.weights[1],
                           atol=1e-3)  # fmt: skip


def test_the_reference_is_float64_numpy_and_the_agreement_is_counted(model):
    from nn.model import load_model

    network, _ = load_model(model)
    test = load_mnist().test.subset(2000)
    a = test.x
    for w, b in zip(network.weights, network.biases, strict=True):
        a = _sigmoid(a @ w + b)
    reference = np.argmax(a, axis=1)
    quantized = np.argmax(_int8_forward_by_hand(network.weights, network.biases, test.x), axis=1)
    agreement = float(np.mean(quantized == reference))
    assert agreement < 1  # int8 changes a few answers here, so the two runs can be told apart
    result = run(model, ArrayConfig(16, 16, dtype="int8"), limit=2000)
    assert result.reference_accuracy == float(np.mean(reference == test.y))
    assert result.accuracy == float(np.mean(quantized == test.y))
    assert result.agreement == agreement
