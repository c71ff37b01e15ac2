"""Speed of the fast engine against np.matmul on the same float32 operands.

Run: ``python bench/bench_gemm.py [--repeats N] [--dataflows ws,os,is]``. Prints, per GEMM,
dataflow and weight-loading mode (WS and IS; OS has nothing to load) on a 128 x 128 array, the
median wall time of ``systolic.matmul`` (without the NumPy comparison)
and of ``np.matmul`` measured in the same process, their ratio, and simulated PE-cycles per
second (``rows * cols * total_cycles / wall seconds``). Timing here never decides a test.
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

CASES = [(10, 784, 30), (256, 256, 256), (4096, 1024, 1024)]
TARGET = ((4096, 1024, 1024), 6.0)  # largest allowed ratio for this GEMM


def median_seconds(repeats: int, fn, *args, **kwargs) -> float:
    """Median wall time of ``fn(*args, **kwargs)`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(args, label: str = "") -> dict[tuple, float]:
    """Time every case; print one line each; return the seconds per (GEMM, dataflow, mode)."""
    rng = np.random.default_rng(0)
    seconds: dict[tuple, float] = {}
    for m, k, n in CASES:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        numpy_s = median_seconds(max(args.repeats, 20), np.matmul, a, b)
        runs = [
            (flow, mode)
            for flow in args.dataflows.split(",")
            for mode in (("serial",) if flow == "os" else ("serial", "double_buffered"))
        ]
        for flow, mode in runs:
            config = systolic.ArrayConfig(args.size, args.size, dataflow=flow, weight_load=mode)
            _, report = systolic.matmul(a, b, config, compare=False)  # compile, warm caches
            sim_s = median_seconds(args.repeats, systolic.matmul, a, b, config, compare=False)
            seconds[((m, k, n), flow, mode)] = sim_s
            seconds[((m, k, n), "numpy", "")] = numpy_s
            rate = report.pe_count * report.total_cycles / sim_s / 1e9
            print(
                f"{str((m, k, n)):<20} {flow:<9} {mode:<16} {sim_s:>11.4f} {numpy_s:>12.5f} "
                f"{sim_s / numpy_s:>7.1f} {rate:>14.2f}{label}"
            )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (median)")
    parser.add_argument("--size", type=int, default=128, help="array rows and cols")
    parser.add_argument("--dataflows", default="ws,os,is", help="default ws,os,is")
    add_busy_option(parser)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"numba {numba.__version__} with {numba.get_num_threads()} threads, "
        f"numpy {np.__version__}"
    )
    print(blas_line())
    print(
        f"{'GEMM (m, k, n)':<20} {'dataflow':<9} {'weight load':<16} {'systolic s':>11} "
        f"{'np.matmul s':>12} "
        f"{'ratio':>7} {'G PE-cycles/s':>14}"
    )
    quiet = measure(args)
    worst: dict[str, float] = {}
    for (shape, flow, _mode), value in quiet.items():
        if shape == TARGET[0] and flow != "numpy":
            worst[flow] = max(worst.get(flow, 0.0), value / quiet[(shape, "numpy", "")])
    for flow, ratio in worst.items():
        verdict = "met" if ratio <= TARGET[1] else "NOT met"
        print(
            f"target: ratio <= {TARGET[1]:.0f} for {TARGET[0]} ({flow}): {verdict} "
            f"(worst mode {ratio:.1f})"
        )
    if args.busy:
        print(f"\nwith {args.busy} CPU-bound processes beside (bench/busy.py); last column: "
              "slowdown against the quiet run")  # fmt: skip
        with cpu_load(args.busy):
            busy = measure(args, label="")
        for key, value in busy.items():
            if key[1] != "numpy":
                print(f"{str(key[0]):<20} {key[1]:<9} {key[2]:<16} slowdown "
                      f"{value / quiet[key]:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
