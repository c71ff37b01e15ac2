"""Speed of one training epoch of [784, 30, 10], mini-batch 10, on the full 50,000 images.

Run: ``python bench/bench_train.py [--epochs 3]``. Trains with ``np.matmul`` (float64), then
with every matmul on simulated 32x32 and 128x128 weight-stationary arrays (fp32), from the same
seed, and prints the median epoch time of each (data preparation, forward, backward and update;
evaluation is not part of an epoch here) and its ratio to the NumPy epoch measured in the same
run. Timing here never decides a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per backend (median)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numba {numba.__version__} "
          f"with {numba.get_num_threads()} threads, numpy {np.__version__}")  # fmt: skip
    data = load_mnist().train
    numpy_s = statistics.median(epoch_seconds(np.matmul, data, args.epochs))
    print(f"{'backend':<22} {'epoch s (median)':>17} {'ratio to NumPy':>15}")
    print(f"{'np.matmul (float64)':<22} {numpy_s:>17.3f} {1.0:>15.1f}")
    ratios = {}
    for side in (32, 128):
        mm = systolic.SystolicMatmul(systolic.ArrayConfig(side, side), compare=False,
                                     keep_calls=False)  # fmt: skip
        mm(np.ones((1, 1)), np.ones((1, 1)))  # compile or load the kernels first
        seconds = statistics.median(epoch_seconds(mm, data, args.epochs))
        ratios[f"{side}x{side}"] = seconds / numpy_s
        print(f"{f'{side}x{side} array (fp32)':<22} {seconds:>17.3f} {seconds / numpy_s:>15.1f}")
    verdict = "met" if numpy_s <= TARGETS["numpy"] else "NOT met"
    print(f"target: NumPy epoch <= {TARGETS['numpy']} s: {verdict} ({numpy_s:.3f} s)")
    verdict = "met" if ratios["32x32"] <= TARGETS["32x32"] else "NOT met"
    print(
        f"target: 32x32 epoch <= {TARGETS['32x32']:.0f}x NumPy: {verdict} ({ratios['32x32']:.1f}x)"
    )


if __name__ == "__main__":
    main()
