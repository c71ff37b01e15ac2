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
