"""Speed of one training epoch of [784, 30, 10], mini-batch 10, on the full 50,000 images.

Run: ``python bench/bench_train.py [--epochs 3]``. Trains with ``np.matmul`` (float64), then
with every matmul on simulated 32x32 and 128x128 weight-stationary arrays (fp32), from the same
seed, and prints the median epoch time of each (data preparation, forward, backward and update;
evaluation is not part of an epoch here) and its ratio to the NumPy epoch measured in the same
run. A minimal hand-vectorised NumPy loop of the same epoch is timed first, to show what this
machine allows any float64 NumPy trainer. Timing here never decides a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numba
import numpy as np

import systolic
from nn.data import load_mnist
from nn.network import Network
from nn.train import train

TARGETS = {"numpy": 0.5, "32x32": 10.0}  # seconds for NumPy; ratio for the 32x32 array


def epoch_seconds(matmul, data, epochs: int) -> list[float]:
    """Wall time of each training epoch (all steps but evaluation)."""
    network = Network([784, 30, 10], np.random.default_rng(0), matmul=matmul)
    history = train(network, data.x, data.y, rng=np.random.default_rng(1), epochs=epochs,
                    batch_size=10, eta=0.5)  # fmt: skip
    return [sum(r.seconds[step] for step in ("data", "forward", "backward", "update"))
            for r in history]  # fmt: skip


def minimal_loop_seconds(data, epochs: int) -> list[float]:
    """The same epoch as the smallest hand-vectorised NumPy loop: sigmoid, cross-entropy, SGD,
    no bookkeeping. It calibrates the machine: what any float64 NumPy trainer costs here."""
    rng = np.random.default_rng(0)
    x = np.asarray(data.x, dtype=np.float64)
    targets = np.eye(10)[data.y]
    w1, b1 = rng.standard_normal((784, 30)) / np.sqrt(784), rng.standard_normal(30)
    w2, b2 = rng.standard_normal((30, 10)) / np.sqrt(30), rng.standard_normal(10)
    seconds = []
    for _ in range(epochs):
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
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per backend (median)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numba {numba.__version__} "
          f"with {numba.get_num_threads()} threads, numpy {np.__version__}")  # fmt: skip
    data = load_mnist().train
    minimal_s = statistics.median(minimal_loop_seconds(data, args.epochs))
    numpy_s = statistics.median(epoch_seconds(np.matmul, data, args.epochs))
    print(f"{'backend':<26} {'epoch s (median)':>17} {'ratio to NumPy':>15}")
    print(f"{'minimal NumPy loop':<26} {minimal_s:>17.3f} {minimal_s / numpy_s:>15.2f}")
    print(f"{'nn, np.matmul (float64)':<26} {numpy_s:>17.3f} {1.0:>15.1f}")
    ratios = {}
    for side in (32, 128):
        mm = systolic.SystolicMatmul(systolic.ArrayConfig(side, side), compare=False,
                                     keep_calls=False)  # fmt: skip
        mm(np.ones((1, 1)), np.ones((1, 1)))  # compile or load the kernels first
        seconds = statistics.median(epoch_seconds(mm, data, args.epochs))
        ratios[f"{side}x{side}"] = seconds / numpy_s
        label = f"nn, {side}x{side} array (fp32)"
        print(f"{label:<26} {seconds:>17.3f} {seconds / numpy_s:>15.1f}")
    verdict = "met" if numpy_s <= TARGETS["numpy"] else "NOT met"
    print(f"target: NumPy epoch <= {TARGETS['numpy']} s: {verdict} ({numpy_s:.3f} s)")
    verdict = "met" if ratios["32x32"] <= TARGETS["32x32"] else "NOT met"
    print(
        f"target: 32x32 epoch <= {TARGETS['32x32']:.0f}x NumPy: {verdict} ({ratios['32x32']:.1f}x)"
    )


if __name__ == "__main__":
    main()
