"""Speed of an ONNX model with values: the light ResNet-50 at batch 1 on the machine's 128x128
MXUs, against ONNX's reference runtime and onnxruntime on the same inputs, in one run.

Run: ``python bench/bench_onnx.py [--repeats 3] [--model NAME]`` (NAME a light model of the
onnx wheel, default resnet50). Prints the median seconds of each and the ratios; the
machine's run is ``systolic.onnx.graph.run_graph`` on tpu_v5e (bf16 MXUs, its own format).
Timing here never decides a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import onnx
from blas import blas_line  # bench/blas.py, beside this script

from systolic.machine.config import machine
from systolic.onnx.graph import run_graph
from systolic.onnx.run import (
    compare,
    input_specs,
    make_inputs,
    onnxruntime_outputs,
    reference_outputs,
)


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="resnet50")
    args = parser.parse_args()
    path = Path(onnx.__file__).parent / "backend/test/data/light" / f"light_{args.model}.onnx"
    model = onnx.load(str(path))
    inputs = make_inputs(input_specs(model, 1), {}, 0)
    config = machine("tpu_v5e")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"onnx {onnx.__version__}")  # fmt: skip
    print(blas_line())
    run_graph(model, inputs, config)  # compile the kernels first
    ours = median_seconds(lambda: run_graph(model, inputs, config), args.repeats)
    reference = median_seconds(lambda: reference_outputs(model, inputs), args.repeats)
    result = run_graph(model, inputs, config)
    (check,) = compare(result.outputs, reference_outputs(model, inputs), config.dtype)
    print(
        f"{args.model}, batch 1: systolic on {config.name} {ours:.3f} s "
        f"({result.total_cycles:,} simulated cycles), onnx.reference {reference:.3f} s: "
        f"{reference / ours:.2f}x faster; max abs error {check['max_abs_error']:.2e}"
    )
    if onnxruntime_outputs(model, inputs) is not None:
        runtime = median_seconds(lambda: onnxruntime_outputs(model, inputs), args.repeats)
        print(
            f"onnxruntime {runtime:.4f} s (session made and run): systolic is "
            f"{ours / runtime:.1f}x its time"
        )


if __name__ == "__main__":
    main()
