"""Training the MLP on the simulated array, next to the same run on NumPy.

This is the bridge between the machine and the trainer: the trainer (``nn``) knows nothing of
hardware and takes any ``matmul``; here it gets a :class:`systolic.SystolicMatmul`, and the
cycles of every forward, backward, gradient and inference matmul are summed per epoch. The
same network is also trained with ``np.matmul`` from the same seed (the reference), so the two
runs can be compared epoch by epoch and in their final weights. ``nn`` is imported only here,
and only when a run starts.

Tolerance: with ``dtype="fp64"`` the array adds in another order than NumPy's BLAS, so the
runs differ by rounding only (final weights within about 1e-9 after a few epochs on small
sets). With ``"fp32"`` every matmul rounds to float32 (about 1e-7 relative), and the two runs
drift apart slowly as training amplifies the differences; accuracies stay within a few tenths
of a percent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from systolic.api import SystolicMatmul
from systolic.backend import MachineBackend, check_fits
from systolic.config import ArrayConfig
from systolic.limits import check_memory
from systolic.machine.config import MachineConfig
from systolic.report import Report

#: samples an evaluation pass takes at once (``nn.network.Network.predict``'s chunks)
EVALUATION_BATCH = 10_000

PHASES = ("forward", "backward", "gradient", "inference")


@dataclass(frozen=True)
class Settings:
    """Everything that defines a training run (the command line's options).

    ``keep`` is the dropout keep probability of hidden units (1: no dropout);
    ``train_limit`` uses the first that many training samples (``None``: all 50,000).
    """

    sizes: tuple[int, ...] = (784, 30, 10)
    cost: str = "cross-entropy"
    init: str = "scaled"
    activation: str = "sigmoid"
    optimizer: str = "sgd"
    eta: float = 0.5
    mu: float = 0.9
    lmbda: float = 0.0
    keep: float = 1.0
    batch: int = 10
    epochs: int = 2
    train_limit: int | None = None
    seed: int = 0


@dataclass
class Run:
    """One training run: its per-epoch history, final network and, on the array, the cost."""

    history: list = field(default_factory=list)
    network: object = None
    reports: list[dict[str, Report]] = field(default_factory=list)  # per epoch, per phase
    #: on a machine: the ops and schedule of the first training step (a Gantt chart's)
    timeline: tuple | None = None


def _epoch_summary(mm: SystolicMatmul, reports: list) -> Callable[[], dict]:
    """A ``collect`` hook: sum this epoch's Reports per phase, then forget the calls."""

    def collect() -> dict:
        phases = {}
        for tag, report in mm.by_tag().items():  # tags are "layer2.forward" and so on
            phase = tag.rsplit(".", 1)[-1]
            phases[phase] = phases[phase] + report if phase in phases else report
        mm.reset()
        reports.append(phases)
        total = sum(phases.values())
        return {
            "total_cycles": total.total_cycles if phases else 0,
            "utilization": total.utilization if phases else 0.0,
            "macs": total.macs if phases else 0,
            "cycles_by_phase": {p: phases[p].total_cycles for p in PHASES if p in phases},
            "utilization_by_phase": {p: phases[p].utilization for p in PHASES if p in phases},
        }

    return collect


def run(
    settings: Settings,
    config: ArrayConfig | MachineConfig | None,
    *,
    on_epoch: Callable | None = None,
    progress: Callable[[int], None] | None = None,
    energy=None,
) -> Run:
    """Train on bundled MNIST, on the array or a training machine (``config``) or on NumPy
    (``config=None``).

    Parameters
    ----------
    settings : Settings
    config : ArrayConfig, MachineConfig or None
        The simulated array (every matmul on it), a TensorCore machine (every op of the step
        on its units, ``systolic.backend``), or None for the NumPy reference.
    on_epoch, progress
        Passed to ``nn.train.train``.
    energy : EnergyTable, optional
        On a machine, prices every epoch (``systolic.backend.summarize``).

    Raises
    ------
    ValueError
        Bad settings, sizes that do not fit MNIST (784 inputs, 10 classes), or a diverged run.
    """
    from nn.data import load_mnist
    from nn.network import Network
    from nn.train import train

    check(settings, config)
    splits = load_mnist()
    data = splits.train
    if settings.train_limit is not None:
        data = data.subset(settings.train_limit)
    result = Run()
    matmul, backend = np.matmul, None
    collect = None
    if isinstance(config, MachineConfig):
        backend = MachineBackend(config)
        collect = _machine_summary(backend, result, energy)
    elif config is not None:
        matmul = SystolicMatmul(config, compare=False, keep_calls=False)
        collect = _epoch_summary(matmul, result.reports)
    network = Network(
        list(settings.sizes),
        np.random.default_rng(settings.seed),
        activation=settings.activation,
        cost=settings.cost,
        init=settings.init,
        matmul=matmul,
        backend=backend,
    )
    result.history = train(
        network,
        data.x,
        data.y,
        rng=np.random.default_rng(settings.seed + 1),
        epochs=settings.epochs,
        batch_size=settings.batch,
        eta=settings.eta,
        optimizer=settings.optimizer,
        mu=settings.mu,
        lmbda=settings.lmbda,
        keep=settings.keep,
        validation=(splits.validation.x, splits.validation.y),
        test=(splits.test.x, splits.test.y),
        collect=collect,
        on_epoch=on_epoch,
        progress=progress,
    )
    result.network = network
    return result


def _machine_summary(backend: MachineBackend, result: Run, energy) -> Callable[[], dict]:
    """A ``collect`` hook: price this epoch's steps on the machine (into ``result.reports``),
    keep the first step's timeline, then forget them."""

    def collect() -> dict:
        summary = backend.summary(energy)
        if result.timeline is None:
            result.timeline = backend.first_step()
        backend.reset()
        result.reports.append(summary)
        return summary

    return collect


def check(settings: Settings, config: ArrayConfig | MachineConfig | None = None) -> None:
    """Refuse, before any data is loaded or network made, settings whose sizes do not fit
    MNIST or whose run would not fit in memory (or, on a machine, its HBM and VMEM:
    ``systolic.backend.check_fits``)."""
    from nn.data import MNIST_CLASSES, MNIST_FEATURES, MNIST_SIZES

    sizes = ",".join(map(str, settings.sizes))
    if settings.sizes[0] != MNIST_FEATURES or settings.sizes[-1] != MNIST_CLASSES:
        raise ValueError(
            f"sizes {sizes} do not fit MNIST: the first must be {MNIST_FEATURES} (pixels) and "
            f"the last {MNIST_CLASSES} (digits)"
        )
    evaluated = max(MNIST_SIZES["val"], MNIST_SIZES["test"])  # scored in one pass each
    check_memory(training_bytes(settings.sizes, settings.batch, evaluated),
                 f"training a {sizes} network")  # fmt: skip
    if isinstance(config, MachineConfig):
        check_fits(config, settings.sizes, settings.batch, EVALUATION_BATCH)


def training_bytes(sizes: Sequence[int], batch: int, evaluated: int) -> int:
    """Bytes a training run of an MLP allocates, estimated from above: four copies of every
    parameter (weights, gradients, momentum, the copy a caller keeps) and the activations of a
    mini-batch and of an evaluation pass over ``evaluated`` samples, each twice (z and a)."""
    parameters = sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))
    return 8 * (4 * parameters + 2 * (batch + evaluated) * sum(sizes))


def collapsed(accuracy: float, classes: int) -> bool:
    """Whether an accuracy is no better than guessing among ``classes`` (within 2 points): a
    run that learned nothing, though its cost stayed finite."""
    return accuracy <= 1 / classes + 0.02


def epoch_row(record) -> dict:
    """An epoch of a run on the array as a flat dict with the stable field names: ``epoch``,
    ``train_cost``, ``val_accuracy``, ``test_accuracy``, ``total_cycles``, ``utilization``."""
    return {
        "epoch": record.epoch,
        "train_cost": record.train_cost,
        "val_accuracy": record.val_accuracy,
        "test_accuracy": record.test_accuracy,
        "total_cycles": record.collected["total_cycles"],
        "utilization": record.collected["utilization"],
    }


def max_weight_difference(first: Run, second: Run) -> float:
    """Largest absolute difference between the two runs' final weights and biases."""
    pairs = zip(
        first.network.weights + first.network.biases,
        second.network.weights + second.network.biases,
        strict=True,
    )
    return max(float(np.max(np.abs(x - y))) for x, y in pairs)
