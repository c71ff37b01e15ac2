"""Networks people bring: bundled classic ones by name, and ONNX models.

``network(name, batch=1)`` builds a bundled network's layers (``systolic.networks.classic``,
each from its published shapes); :data:`NETWORKS` names them. ``workloads.load_workload``
accepts these names wherever it accepts a file.
"""

from __future__ import annotations

from collections.abc import Callable

from systolic.networks import classic
from systolic.workloads import ConvLayer, Layer, WorkloadError

#: bundled networks by name: their builders, each taking the batch
NETWORKS: dict[str, Callable[..., list[Layer]]] = {
    "lenet5": classic.lenet5,
    "alexnet": classic.alexnet,
    "vgg16": classic.vgg16,
    "resnet18": classic.resnet18,
    "resnet50": classic.resnet50,
    "mobilenet_v1": classic.mobilenet_v1,
    "bert_base_layer": classic.bert_base_layer,
}


def network(name: str, batch: int = 1) -> list[Layer]:
    """The layers of a bundled network at ``batch``; an unknown name lists the valid ones."""
    if name not in NETWORKS:
        raise WorkloadError(f"unknown network {name!r}; bundled: {', '.join(NETWORKS)}")
    check_batch(batch)
    return NETWORKS[name](batch)


def check_batch(batch: object) -> None:
    """Refuse a batch that is not an integer from 1 to 4096 (bundled networks, ONNX models)."""
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 4096:
        raise WorkloadError(f"batch must be an integer from 1 to 4096, got {batch!r}")


def weights(layers: list[Layer]) -> int:
    """Weights of a network's layers: filters of every convolution, the ``(k, n)`` matrix of
    every fully connected layer; not biases, and not the attention GEMMs, whose operands are
    both activations (``classic.ACTIVATION_GEMMS``)."""
    total = 0
    for layer in layers:
        if isinstance(layer, ConvLayer):
            shape = layer.shape
            total += shape.c_out * (shape.c_in // shape.groups) * shape.kh * shape.kw
        elif not layer.name.startswith(classic.ACTIVATION_GEMMS):
            total += layer.k * layer.n
    return total
