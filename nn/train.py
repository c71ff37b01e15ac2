"""Mini-batch stochastic gradient descent over a training set, with a per-epoch history.

Randomness (shuffling, dropout) comes only from the ``rng`` argument, so the same seed gives
the same run. Training never prints: it returns the history and calls the optional
``on_epoch`` and ``progress`` hooks, and the caller decides what to show.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nn.backend import NumpyBackend
from nn.costs import CHUNK_VALUES
from nn.network import Network
from nn.optim import Optimizer

STEPS = ("data", "forward", "backward", "update", "evaluation")


class TrainingDiverged(ValueError):
    """The cost of a mini-batch became NaN or infinite."""


@dataclass
class EpochRecord:
    """What one epoch did.

    ``train_cost`` is the mean over the epoch's mini-batches of their mean cost per sample
    (plus the L2 term), measured as they were trained; accuracies are fractions in [0, 1], or
    None for a split not given; ``seconds`` is wall time per step (``STEPS``: data preparation,
    forward pass, backward pass and gradients, parameter update, evaluation); ``collected`` is
    what the ``collect`` hook returned at the end of the epoch (e.g. simulated cycles).
    """

    epoch: int
    train_cost: float
    val_accuracy: float | None
    test_accuracy: float | None
    seconds: dict[str, float]
    collected: dict = field(default_factory=dict)


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    """``(N, classes)`` float64 targets from integer labels."""
    out = np.zeros((len(labels), classes))
    out[np.arange(len(labels)), labels] = 1.0
    return out


def train(
    network: Network,
    x: np.ndarray,
    labels: np.ndarray,
    *,
    rng: np.random.Generator,
    epochs: int = 1,
    batch_size: int = 10,
    eta: float = 0.5,
    optimizer: str = "sgd",
    mu: float = 0.9,
    lmbda: float = 0.0,
    keep: float = 1.0,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    collect: Callable[[], dict] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[EpochRecord]:
    """Train ``network`` in place by mini-batch SGD (or momentum); return the history.

    Parameters
    ----------
    network : Network
    x : numpy.ndarray, shape (N, sizes[0])
        Training inputs.
    labels : numpy.ndarray, shape (N,)
        Integer class labels in ``0 .. sizes[-1] - 1``.
    rng : numpy.random.Generator
        Shuffling and dropout.
    epochs, batch_size : int
        Passes over the data, and samples per mini-batch (the last one may be smaller).
    eta, optimizer, mu, lmbda
        See ``nn.optim.Optimizer``.
    keep : float
        Dropout keep probability of hidden units, in (0, 1]; 1 means no dropout.
    validation, test : (x, labels), optional
        Splits whose accuracy is measured after every epoch.
    collect : callable, optional
        Called after each epoch; its dict is stored in the epoch's record.
    on_epoch : callable, optional
        Called with each finished ``EpochRecord``.
    progress : callable, optional
        Called with the number of samples trained since its last call, about 100 times an epoch.

    Raises
    ------
    ValueError
        Bad settings or data that does not fit the network.
    TrainingDiverged
        A mini-batch cost became NaN or infinite; the message names the epoch and batch.
    """
    _check(network, x, labels, epochs, batch_size, keep)
    for name, split in (("validation", validation), ("test", test)):
        if split is not None:
            _check_data(network, *split, name)
    labels = np.asarray(labels)
    params = network.weights + network.biases
    regularised = [True] * network.layers + [False] * network.layers
    opt = Optimizer(params, regularised, optimizer, eta, mu, lmbda, len(x))
    targets = one_hot(labels, network.sizes[-1])
    # the inputs keep their own type (MNIST's float32: half the bytes to gather at random);
    # each mini-batch is converted to float64, the parameters' type, once gathered: every
    # real type converts exactly or rounds the same, so the numbers are those of converting
    # the whole set first, without its float64 copy
    x = np.asarray(x)
    l2 = 0.5 * lmbda / len(x)
    batches = -(-len(x) // batch_size)
    report_every = max(1, batches // 100)
    history = []
    # the outputs of the epoch's mini-batches, in training order, are priced a chunk at a
    # time (CHUNK_VALUES): the same numbers as pricing each batch as it comes, in a few array
    # passes. A non-finite cost ends the run naming its batch; the batches trained after it,
    # at most a chunk, are lost work only
    outputs = np.empty_like(targets)
    chunk = max(1, CHUNK_VALUES // outputs[:batch_size].size)
    forward, gradients = network.forward_unguarded, network.gradients
    backend = network.backend
    update, begin_step, end_step = backend.update, backend.begin_step, backend.end_step
    # NumPy's step hooks do nothing: not called at all (25,000 calls an epoch)
    hooks = not isinstance(backend, NumpyBackend)
    # np.matmul's products are new arrays, the gradients the trainer's own: the optimizer may
    # scale its steps in them (any other matmul might hand out an array it keeps)
    scratch = backend.scratch_gradients
    for epoch in range(1, epochs + 1):
        seconds = dict.fromkeys(STEPS, 0.0)
        data_s = forward_s = backward_s = update_s = 0.0
        order = rng.permutation(len(x))
        ordered = targets[order]  # a batch's targets are a slice of these, not a gather
        costs = _Costs(network.cost, outputs, ordered, batch_size, epoch, eta)
        stored = reported = 0  # batches whose outputs are stored

        # overflow is detected below and reported as divergence, not as numpy warnings
        with np.errstate(over="ignore", invalid="ignore"):
            for batch in range(batches):
                t = time.perf_counter()
                rows = slice(batch * batch_size, (batch + 1) * batch_size)
                chosen = order[rows]
                xb, yb = x[chosen].astype(np.float64, copy=False), ordered[rows]
                t0 = time.perf_counter()
                try:
                    if hooks:
                        begin_step("train", len(chosen))
                    zs, activations, masks = forward(xb, keep, rng)
                    outputs[rows] = activations[-1]
                    stored = batch + 1
                    t1 = time.perf_counter()
                    weight_grads, bias_grads = gradients(zs, activations, masks, yb)
                    t2 = time.perf_counter()
                    update(opt, weight_grads + bias_grads, scratch)
                    if hooks:
                        end_step("train")
                    t3 = time.perf_counter()
                except ValueError as error:  # e.g. a matmul that refuses non-finite operands
                    costs.price(stored)  # a cost that went non-finite first is the cause
                    if all(np.isfinite(p).all() for p in params):
                        raise
                    message = "the weights became non-finite"
                    raise TrainingDiverged(
                        _diverged(message, epoch, batch, batches, eta)
                    ) from error
                data_s += t0 - t
                forward_s += t1 - t0
                backward_s += t2 - t1
                update_s += t3 - t2
                if stored - costs.priced >= chunk or stored == batches:
                    t = time.perf_counter()
                    costs.price(stored)
                    forward_s += time.perf_counter() - t  # the costs belong to the forward
                if progress is not None and (
                    (batch + 1) % report_every == 0 or batch + 1 == batches
                ):
                    done = min((batch + 1) * batch_size, len(x))
                    progress(done - reported)
                    reported = done
        seconds.update(data=data_s, forward=forward_s, backward=backward_s, update=update_s)
        # the next mini-batch would catch weights made non-finite by the last update; the
        # epoch's last update is caught here, before evaluation could report NaN accuracies
        if not all(np.isfinite(p).all() for p in params):
            message = "the weights became non-finite"
            raise TrainingDiverged(_diverged(message, epoch, batches - 1, batches, eta))
        start = time.perf_counter()
        val = network.accuracy(*validation) if validation is not None else None
        tst = network.accuracy(*test) if test is not None else None
        seconds["evaluation"] = time.perf_counter() - start
        train_cost = float(costs.values.mean())
        if l2:  # not 0 * sum: huge weights would make that NaN
            train_cost += l2 * sum(float(np.sum(w * w)) for w in network.weights)
        record = EpochRecord(epoch, train_cost, val, tst, seconds, collect() if collect else {})
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history


class _Costs:
    """The mini-batch costs of epoch ``epoch``, priced from the outputs stored in training
    order a chunk of batches at a time (``Cost.batch_values``: the same numbers as pricing
    each batch as it comes). ``values[:priced]`` are known."""

    def __init__(self, cost, outputs, targets, batch_size: int, epoch: int, eta: float):
        self.cost, self.outputs, self.targets = cost, outputs, targets
        self.batch_size, self.epoch, self.eta = batch_size, epoch, eta
        self.values = np.empty(-(-len(outputs) // batch_size))
        self.priced = 0

    def price(self, upto: int) -> None:
        """Price batches ``priced .. upto - 1``. Raises TrainingDiverged naming the first
        whose cost is not finite."""
        if upto <= self.priced:
            return
        rows = slice(self.priced * self.batch_size, upto * self.batch_size)
        values = self.cost.batch_values(self.outputs[rows], self.targets[rows], self.batch_size)
        self.values[self.priced : upto] = values
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            batch = self.priced + int(bad[0])
            message = f"the cost became {values[bad[0]]}"
            raise TrainingDiverged(
                _diverged(message, self.epoch, batch, len(self.values), self.eta)
            )
        self.priced = upto


def _diverged(what: str, epoch: int, batch: int, batches: int, eta: float) -> str:
    return (
        f"{what} in epoch {epoch}, mini-batch {batch + 1} of {batches}; "
        f"try a smaller eta (now {eta}) or another init"
    )


def _check_data(network: Network, x: object, labels: object, name: str) -> None:
    """Refuse data the network cannot train or be scored on, naming the set and the problem:
    inputs must be a real (int or float) 2-D array of finite values, labels integers."""
    x, labels = np.asarray(x), np.asarray(labels)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"{name} inputs must hold real numbers, got dtype {x.dtype}")
    if len(x) == 0:
        raise ValueError(f"the {name} set is empty")
    if x.ndim != 2 or x.shape[1] != network.sizes[0]:
        raise ValueError(
            f"{name} inputs have shape {x.shape}, but the network takes {network.sizes[0]} inputs"
        )
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(
            f"{name} inputs hold {int((~np.isfinite(x)).sum())} non-finite value(s) (NaN or "
            f"inf), the first in row {bad[0]}, column {bad[1]}"
        )
    if labels.dtype.kind not in "iu":
        example = labels.ravel()[0] if labels.size else None
        raise ValueError(
            f"{name} labels must be integers (class indices), got dtype {labels.dtype}"
            + (f", e.g. {example!r}" if example is not None else "")
        )
    if labels.shape != (len(x),):
        raise ValueError(f"{name} labels have shape {labels.shape}, expected ({len(x)},)")
    outside = (labels < 0) | (labels >= network.sizes[-1])
    if outside.any():
        raise ValueError(
            f"{name} labels must be in 0..{network.sizes[-1] - 1} for {network.sizes[-1]} outputs, "
            f"got {labels[outside][0]} at index {np.flatnonzero(outside)[0]}"
            f" ({outside.sum()} out of range)"
        )


def _check(network, x, labels, epochs, batch_size, keep) -> None:
    _check_data(network, x, labels, "training")  # refuses an empty set too
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not 0 < keep <= 1:
        raise ValueError(f"dropout keep probability must be in (0, 1], got {keep!r}")
