"""Sweep speed: points per second with and without values, on 1 and 2 workers; SCALE-Sim's
time per point beside it.

Run: ``python bench/bench_sweep.py [--workers 1,2] [--large] [--million [N]]
[--scalesim-python PATH]``.
Each case sweeps a fresh results folder on a new local cluster (``systolic.sweep.run_sweep``)
and prints the points computed, the whole run's wall time (cluster start, expansion, the
points, ``points.csv`` and the plots) and the points per second while computing (from the
first task submitted to the last result stored). The 1,000-point sweep without values also
runs with one task per point (``chunk=1``), which shows what chunking buys, and in one
process without Dask (``point.evaluate_chunk``), the ceiling of one core. With
``--scalesim-python`` (the Python of a virtual environment holding the ``scalesim``
package), SCALE-Sim runs the same workload (the MNIST MLP's training-step GEMMs) as a GEMM
topology on WS arrays of the sizes given, and its time per run is one point's. With
``--million``, ``systolic sweep --no-values --json`` runs end to end as a command (start-up,
expansion, the points, every result written) on a GEMM workload (the 784-30-10 MLP's
training step) and on a conv workload (LeNet-5), each a spec of 999,900 points (or about
``N``): the wall time, the summary's ``points_per_second`` (the evaluation itself) and the
points per second of the whole command. Timing here never decides a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_networks import CONFIG, RUN_SCALESIM
from blas import blas_line

from systolic.sweep import expand, load_spec, run_sweep
from systolic.sweep.point import evaluate_chunk
from systolic.sweep.store import package_version
from systolic.workloads import mlp_gemms

#: 50 sizes x (WS and IS in two loading modes, OS serial) x 2 batches x 2 formats
NO_VALUES = """\
[workloads]
mlp = ["784,30,10"]
[space]
array = {from = 4, to = 200, step = 4}
weight_load = ["serial", "double_buffered"]
batch = [10, 100]
dtype = ["fp32", "int8"]
"""
#: 20 sizes x 5 dataflow and loading modes, every value computed and checked
VALUES = """\
[workloads]
mlp = ["784,30,10"]
[space]
array = {from = 4, to = 80, step = 4}
weight_load = ["serial", "double_buffered"]
batch = [10]
"""
#: 100 sizes x 5 modes x 5 batches x 4 formats
LARGE = """\
[workloads]
mlp = ["784,30,10"]
[space]
array = {from = 2, to = 200, step = 2}
weight_load = ["serial", "double_buffered"]
batch = [1, 8, 64, 512, 4096]
dtype = ["fp32", "int8", "bf16", "fp16"]
"""


#: a design space of 300 points per array size: WS and IS, three loads, two accumulator
#: depths, five formats, five batches (999,900 points over sizes 1 to 3,333)
MILLION = """\
[workloads]
{workload}
[space]
array = {{from = 1, to = {sizes}}}
dataflow = ["ws", "is"]
weight_load = ["serial", "double_buffered", "segmented"]
accumulator_rows = ["unlimited", 256]
dtype = ["int8", "fp16", "bf16", "fp32", "fp64"]
batch = [1, 8, 64, 512, 4096]
"""
#: the workloads of ``--million``: GEMMs, and convolutions (lowered to GEMMs)
MILLION_WORKLOADS = {"gemm (mlp 784-30-10)": 'mlp = ["784,30,10"]',
                     "conv (lenet5)": 'files = ["lenet5"]'}  # fmt: skip


def command_sweep(text: str) -> dict:
    """``systolic sweep --no-values --json`` of ``text`` as a command, into a fresh folder:
    its summary plus ``wall_s``, the command's whole time."""
    with tempfile.TemporaryDirectory() as work:
        spec = Path(work) / "sweep.toml"
        spec.write_text(text)
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "systolic", "sweep", str(spec), "--out",
                              str(Path(work) / "out"), "--no-values", "--json"], check=True,
                             capture_output=True, text=True)  # fmt: skip
        return {**json.loads(run.stdout), "wall_s": time.perf_counter() - start}


def sweep(text: str, values: bool, workers: int, chunk: int | None = None) -> dict:
    """One sweep of ``text`` into a fresh folder; its summary plus ``wall_s``."""
    with tempfile.TemporaryDirectory() as work:
        spec = Path(work) / "sweep.toml"
        spec.write_text(text)
        start = time.perf_counter()
        summary = run_sweep(load_spec(spec), Path(work) / "out", values=values, workers=workers,
                            chunk=chunk, progress=False)  # fmt: skip
        return {**summary, "wall_s": time.perf_counter() - start}


def in_process(text: str) -> tuple[int, float]:
    """Points of ``text`` (no values) evaluated in this process, and the seconds it took."""
    with tempfile.TemporaryDirectory() as work:
        spec = Path(work) / "sweep.toml"
        spec.write_text(text)
        expansion = expand(load_spec(spec), False, package_version())
    evaluate_chunk(expansion.points[:10], expansion.context)  # imports and caches warm
    start = time.perf_counter()
    evaluate_chunk(expansion.points, expansion.context)
    return len(expansion.points), time.perf_counter() - start


def time_scalesim(python: str, size: int) -> tuple[float, float]:
    """SCALE-Sim on the MLP's training-step GEMMs on a ``size x size`` WS array: the seconds
    of its run and of the whole process (interpreter and imports included)."""
    rows = ["Layer Name, M, N, K,"]
    rows += [f"{g.name}, {g.m}, {g.n}, {g.k}," for g in mlp_gemms([784, 30, 10], 10)]
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "gemms.csv").write_text("\n".join(rows) + "\n")
        (work / "scale.cfg").write_text(CONFIG.format(size=size, dataflow="ws"))
        start = time.perf_counter()
        run = subprocess.run([python, "-c", RUN_SCALESIM, str(work / "scale.cfg"),
                              str(work / "gemms.csv"), str(work / "out"), "gemm"], check=True,
                             capture_output=True, text=True)  # fmt: skip
        return float(run.stdout.split()[-1]), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="worker counts (default 1,2)")
    parser.add_argument("--large", action="store_true", help="also a 10,000-point sweep")
    parser.add_argument("--million", type=int, nargs="?", const=1_000_000, metavar="N",
                        help="also whole 1,000,000-point sweeps (or about N points) of a GEMM "
                        "and a conv workload, as commands")  # fmt: skip
    parser.add_argument("--scalesim-python", help="python of a venv with scalesim installed")
    parser.add_argument("--scalesim-sizes", default="8,32,128", help="default 8,32,128")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    print(blas_line())
    if args.million:
        print(f"{'whole sweep, no values':<34} {'points':>9} {'wall s':>7} {'eval s':>7} "
              f"{'points/s eval':>13} {'points/s wall':>13}")  # fmt: skip
        for name, workload in MILLION_WORKLOADS.items():
            text = MILLION.format(workload=workload, sizes=max(1, args.million // 300))
            s = command_sweep(text)
            print(f"{name:<34} {s['computed']:>9,} {s['wall_s']:>7.2f} "
                  f"{s['evaluate_seconds']:>7.2f} {s['points_per_second']:>13,.0f} "
                  f"{s['computed'] / s['wall_s']:>13,.0f}")  # fmt: skip
    cases = [("1,000 points, no values", NO_VALUES, False, None),
             ("1,000 points, no values, chunk 1", NO_VALUES, False, 1),
             ("100 points, values", VALUES, True, None)]  # fmt: skip
    if args.large:
        cases.insert(1, ("10,000 points, no values", LARGE, False, None))
    print(f"{'case':<34} {'workers':>7} {'points':>7} {'chunk':>6} {'wall s':>7} "
          f"{'compute s':>9} {'points/s':>9} {'points/s wall':>13}")  # fmt: skip
    for workers in (int(w) for w in args.workers.split(",")):
        for name, text, values, chunk in cases:
            s = sweep(text, values, workers, chunk)
            rate, wall_rate = s["points_per_second"], s["computed"] / s["wall_s"]
            print(f"{name:<34} {workers:>7} {s['computed']:>7,} {s['chunk']:>6} "
                  f"{s['wall_s']:>7.2f} {s['compute_seconds']:>9.2f} {rate:>9,.0f} "
                  f"{wall_rate:>13,.0f}")  # fmt: skip
    points, seconds = in_process(NO_VALUES)
    print(f"{'1,000 points, no values, no Dask':<34} {'-':>7} {points:>7,} {'-':>6} "
          f"{seconds:>7.2f} {seconds:>9.2f} {points / seconds:>9,.0f}")  # fmt: skip
    if args.scalesim_python:
        for size in (int(s) for s in args.scalesim_sizes.split(",")):
            run, process = time_scalesim(args.scalesim_python, size)
            print(f"SCALE-Sim 3.0.0, {size}x{size} ws, one point: {run:.2f} s run, "
                  f"{process:.2f} s with start-up")  # fmt: skip
    print(f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
