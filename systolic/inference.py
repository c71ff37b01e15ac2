"""A trained MLP (``nn.model``) run for inference on the array in a chosen number format.

Like ``systolic.training``, a bridge between the machine and the trainer: ``nn`` is imported
only when a run starts. In ``int8`` every layer's input is quantized per tensor and its weights
per output channel (``systolic.numerics.quantize``); the array multiplies the int8 values into
int32 sums, which are scaled back (``z = q_sum * input_scale * weight_scales + b``) before the
activation, in float64. In the float formats the operands are rounded by the array itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.api import SystolicMatmul
from systolic.config import ArrayConfig
from systolic.numerics import FORMATS, quantize
from systolic.report import Report


@dataclass(frozen=True)
class InferenceResult:
    """Accuracy on the array next to the float64 NumPy run of the same network and images."""

    accuracy: float
    reference_accuracy: float
    agreement: float  # share of images given the same class by both runs
    report: Report
    samples: int


def forward(network, x: np.ndarray, config: ArrayConfig, mm: SystolicMatmul) -> np.ndarray:
    """Output activations of ``network`` for ``x``, every matmul on the array in ``config``'s
    format (int8 quantized as the module docstring says)."""
    a = np.asarray(x, dtype=np.float64)
    integer = FORMATS[config.dtype].is_integer
    for layer, (w, b) in enumerate(zip(network.weights, network.biases, strict=True), start=1):
        tag = f"layer{layer}.inference"
        if integer:
            qa, input_scale = quantize(a)
            qw, weight_scale = quantize(w, axis=1)  # one scale per output unit
            z = mm(qa, qw, tag=tag) * (input_scale * weight_scale) + b  # (batch, n_in) @ ...
        else:
            z = mm(a, w, tag=tag) + b  # (batch, n_in) @ (n_in, n_out)
        a = network.output(z) if layer == network.layers else network.hidden(z)
    return a


def run(
    model_path, config: ArrayConfig, limit: int | None = None, batch: int = 1000
) -> InferenceResult:
    """Classify the MNIST test images (the first ``limit``) with the saved model, on the array
    and with NumPy in float64."""
    from nn.data import load_mnist
    from nn.model import load_model

    network, _ = load_model(model_path)
    test = load_mnist().test
    if limit is not None:
        test = test.subset(limit)
    if network.sizes[0] != test.features or network.sizes[-1] != test.classes:
        raise ValueError(f"the model's sizes {network.sizes} do not fit MNIST (784 in, 10 out)")
    mm = SystolicMatmul(config, compare=False, keep_calls=False)
    ours = np.concatenate([
        np.argmax(forward(network, test.x[i : i + batch], config, mm), axis=1)
        for i in range(0, len(test), batch)
    ])  # fmt: skip
    reference = network.predict(test.x)
    return InferenceResult(
        accuracy=float(np.mean(ours == test.y)),
        reference_accuracy=float(np.mean(reference == test.y)),
        agreement=float(np.mean(ours == reference)),
        report=mm.total(),
        samples=len(test),
    )
