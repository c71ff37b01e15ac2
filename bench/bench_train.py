"""Speed of one training epoch of [784, 30, 10], mini-batch 10, on the full 50,000 images.

Run: ``python bench/bench_train.py [--epochs 3] [--busy N]``. Trains with ``np.matmul``
(float64), with every matmul on simulated 32x32 and 128x128 weight-stationary arrays (fp32),
and with every op of the step on the tpu_v5e training machine (bf16 MXUs), from the same
seed, and prints the median epoch time of each (data preparation, forward,
backward and update; evaluation is not part of an epoch here) and its ratio to the NumPy
epoch. A minimal hand-vectorised NumPy loop of the same epoch shows what this machine allows
any float64 NumPy trainer. The backends take turns, an epoch each. Timing here never decides a
test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numba
import numpy as np
from blas import blas_line  # bench/blas.py, beside this script
from busy import add_busy_option, cpu_load  # bench/busy.py, beside this script

import systolic
from nn.data import load_mnist
from nn.network import Network
from nn.train import train
from systolic.backend import MachineBackend
from systolic.machine.config import tpu_v5e

#: the nn NumPy epoch against the minimal loop; the simulated epochs against the nn NumPy epoch
TARGETS = {
    "nn, np.matmul (float64)": 1.2,
    "nn, 32x32 array (fp32)": 2.0,
    "nn, 128x128 array (fp32)": 2.5,
    "nn, tpu_v5e machine (bf16)": 3.0,
}


def nn_epochs(matmul, data, backend=None):
    """An endless run of training epochs with ``nn`` (on ``backend`` if given): each ``next``
    trains one more epoch of the same network and returns its wall time (all steps but
    evaluation)."""
    network = Network([784, 30, 10], np.random.default_rng(0), matmul=matmul, backend=backend)
    rng = np.random.default_rng(1)
    while True:
        (record,) = train(network, data.x, data.y, rng=rng, epochs=1, batch_size=10, eta=0.5)
        yield sum(record.seconds[step] for step in ("data", "forward", "backward", "update"))


def minimal_epochs(data):
    """The same epochs as the smallest hand-vectorised NumPy loop: sigmoid, cross-entropy,
    SGD, no bookkeeping. It calibrates the machine: what any float64 NumPy trainer costs
    here."""
    rng = np.random.default_rng(0)
    x = np.asarray(data.x, dtype=np.float64)
    targets = np.eye(10)[data.y]
    w1, b1 = rng.standard_normal((784, 30)) / np.sqrt(784), rng.standard_normal(30)
    w2, b2 = rng.standard_normal((30, 10)) / np.sqrt(30), rng.standard_normal(10)
    while True:
        start = time.perf_counter()
        order = rng.permutation(len(x))
        for i in range(0, len(x), 10):
            chosen = order[i : i + 10]
            xb, yb = x[chosen], targets[chosen]
            a1 = 1 / (1 + np.exp(-(xb @ w1 + b1)))
            a2 = 1 / (1 + np.exp(-(a1 @ w2 + b2)))
            d2 = (a2 - yb) * (0.5 / len(xb))
            d1 = (d2 @ w2.T) * a1 * (1 - a1)
            w2 -= a1.T @ d2
            b2 -= d2.sum(axis=0)
            w1 -= xb.T @ d1
            b1 -= d1.sum(axis=0)
        yield time.perf_counter() - start


def backends(data, epochs: int) -> dict[str, float]:
    """Median epoch seconds of each backend. The backends take turns, one epoch each, so that
    a change in the machine's speed during the run (a shared VM drifts) reaches them all
    alike and their ratios stay fair."""
    runs = {"minimal NumPy loop": minimal_epochs(data),
            "nn, np.matmul (float64)": nn_epochs(np.matmul, data)}  # fmt: skip
    for side in (32, 128):
        mm = systolic.SystolicMatmul(systolic.ArrayConfig(side, side), compare=False,
                                     keep_calls=False)  # fmt: skip
        mm(np.ones((1, 1)), np.ones((1, 1)))  # compile or load the kernels first
        runs[f"nn, {side}x{side} array (fp32)"] = nn_epochs(mm, data)
    machine = MachineBackend(tpu_v5e())
    machine.matmul(np.ones((1, 1)), np.ones((1, 1)), 1, "forward")  # compile the kernels first
    machine.end_step("train")
    machine.reset()
    runs["nn, tpu_v5e machine (bf16)"] = nn_epochs(np.matmul, data, machine)
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(epochs):
        for name, run in runs.items():
            seconds[name].append(next(run))
    return {name: statistics.median(values) for name, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per backend (median)")
    add_busy_option(parser)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numba {numba.__version__} "
          f"with {numba.get_num_threads()} threads, numpy {np.__version__}")  # fmt: skip
    print(blas_line())
    data = load_mnist().train
    quiet = backends(data, args.epochs)
    numpy_s = quiet["nn, np.matmul (float64)"]
    print(f"{'backend':<26} {'epoch s (median)':>17} {'ratio to NumPy':>15}")
    for name, seconds in quiet.items():
        print(f"{name:<26} {seconds:>17.3f} {seconds / numpy_s:>15.2f}")
    minimal_s = quiet["minimal NumPy loop"]
    for name, target in TARGETS.items():
        value = quiet[name] / (minimal_s if name.startswith("nn, np") else numpy_s)
        verdict = "met" if value <= target else "NOT met"
        base = "the minimal loop" if name.startswith("nn, np") else "the nn NumPy epoch"
        print(f"target: {name} <= {target}x {base}: {verdict} ({value:.2f}x)")
    if args.busy:
        with cpu_load(args.busy):
            busy = backends(data, args.epochs)
        print(f"\nwith {args.busy} CPU-bound processes beside (bench/busy.py):")
        print(f"{'backend':<26} {'epoch s (median)':>17} {'slowdown':>15}")
        for name, seconds in busy.items():
            print(f"{name:<26} {seconds:>17.3f} {seconds / quiet[name]:>14.2f}x")


if __name__ == "__main__":
    main()
