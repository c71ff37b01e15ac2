"""Speed of the fast engine against np.matmul on the same float32 operands.

Run: ``python bench/bench_gemm.py [--repeats N] [--dataflows ws,os,is]``. Prints, per GEMM,
dataflow and weight-loading mode (WS and IS; OS has nothing to load) on a 128 x 128 array, the
median wall time of ``systolic.matmul`` (without the NumPy comparison) and of ``np.matmul``
measured in the same process right after it, their ratio, simulated PE-cycles per second
(``rows * cols * total_cycles / wall seconds``), and the share of the machine's peak the
GEMM's useful MACs reach: ``m * k * n / seconds`` over the peak rate of multiply-add pairs
measured by ``bench/peak.c`` (NumPy's line: its fused multiply-adds over their peak).
Timing here never decides a test.
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
from peak import peak  # bench/peak.py, beside this script

import systolic

CASES = [(10, 784, 30), (256, 256, 256), (4096, 1024, 1024)]
TARGETS = {(4096, 1024, 1024): 4.0, (256, 256, 256): 6.0}  # largest ratio, every mode
#: OpenBLAS's threads keep spinning for a while after each call, and a parallel kernel run
#: right after them shares the cores with them (bench/README.md, "An outlier"); each engine
#: is timed at its best, so the simulator waits this long after NumPy's runs
SETTLE_SECONDS = 0.5


def median_seconds(repeats: int, fn, *args, **kwargs) -> float:
    """Median wall time of ``fn(*args, **kwargs)`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(args, label: str = "", pairs_peak: float | None = None) -> dict[tuple, float]:
    """Time every case; print one line each; return the seconds per (GEMM, dataflow, mode)."""
    rng = np.random.default_rng(0)
    seconds: dict[tuple, float] = {}
    for m, k, n in CASES:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        runs = [
            (flow, mode)
            for flow in args.dataflows.split(",")
            for mode in (("serial",) if flow == "os" else ("serial", "double_buffered"))
        ]
        beside = []
        for flow, mode in runs:
            config = systolic.ArrayConfig(args.size, args.size, dataflow=flow, weight_load=mode)
            _, report = systolic.matmul(a, b, config, compare=False)  # compile, warm caches
            sim_s = median_seconds(args.repeats, systolic.matmul, a, b, config, compare=False)
            # NumPy right beside each case: the VM's speed drifts within a run, and a ratio
            # of two timings minutes apart measured the drift as much as the simulator
            numpy_s = median_seconds(max(args.repeats, 20), np.matmul, a, b)
            time.sleep(SETTLE_SECONDS)
            seconds[((m, k, n), flow, mode)] = sim_s
            seconds[((m, k, n), "numpy", f"{flow} {mode}")] = numpy_s
            beside.append(numpy_s)
            rate = report.pe_count * report.total_cycles / sim_s
            of_peak = share(m * k * n / sim_s, pairs_peak)
            print(
                f"{str((m, k, n)):<20} {flow:<9} {mode:<16} {sim_s:>11.4f} {numpy_s:>12.5f} "
                f"{sim_s / numpy_s:>7.1f} {rate / 1e9:>14.2f} {of_peak}{label}"
            )
        seconds[((m, k, n), "numpy", "")] = statistics.median(beside)
    return seconds


def share(rate: float, of: float | None) -> str:
    """``rate`` as a percentage of the peak ``of`` (blank where the peak is unknown)."""
    return f"{100 * rate / of:>9.0f}%" if of else f"{'':>10}"


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
    measured = peak()
    print(measured.line() if measured else "peak unknown: no C compiler (cc) for bench/peak.c")
    pairs_peak = measured.pairs if measured else None
    print(
        f"{'GEMM (m, k, n)':<20} {'dataflow':<9} {'weight load':<16} {'systolic s':>11} "
        f"{'np.matmul s':>12} "
        f"{'ratio':>7} {'G PE-cycles/s':>14} {'of peak':>10}"
    )
    quiet = measure(args, pairs_peak=pairs_peak)
    for m, k, n in CASES:
        if measured:
            numpy_rate = m * k * n / quiet[((m, k, n), "numpy", "")]
            print(f"np.matmul {(m, k, n)}: {numpy_rate / 1e9:.1f} G fused multiply-adds/s, "
                  f"{100 * numpy_rate / measured.fused:.0f}% of their peak")  # fmt: skip
    for shape, limit in TARGETS.items():
        for flow in args.dataflows.split(","):
            ratios = [value / quiet[(shape, "numpy", f"{each} {mode}")]
                      for (case, each, mode), value in quiet.items()
                      if case == shape and each == flow]  # fmt: skip
            verdict = "met" if max(ratios) <= limit else "NOT met"
            print(f"target: ratio <= {limit:.0f} for {shape} ({flow}, every mode): {verdict} "
                  f"(worst mode {max(ratios):.1f})")  # fmt: skip
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
