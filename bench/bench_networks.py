"""Whole networks on the array: with values, without (closed forms), and SCALE-Sim's time.

Run: ``python bench/bench_networks.py [--network resnet50] [--size 128] [--repeats 3]
[--scalesim-python PATH]``. For each dataflow, times ``compare.compare`` on the bundled
network at batch 1 with every value computed (and checked against NumPy), and with
``values=False`` (every count from the closed forms), and prints the time per layer. With
``--scalesim-python`` (the Python of a virtual environment holding the ``scalesim`` package),
it also writes the network as a SCALE-Sim conv topology (padding folded into the input size)
and times SCALE-Sim on it, in that interpreter, for the same array and dataflow, and prints
the ratio. Timing here never decides a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from systolic import compare
from systolic.config import Dataflow
from systolic.networks import network
from systolic.workloads import ConvLayer

CONFIG = """[general]
run_name = bench
[architecture_presets]
ArrayHeight: {size}
ArrayWidth: {size}
IfmapSramSzkB: 6144
FilterSramSzkB: 6144
OfmapSramSzkB: 2048
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Dataflow: {dataflow}
ReadRequestBuffer: 32
WriteRequestBuffer: 32
[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2
[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40
[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

#: SCALE-Sim 3.0.0 on a topology: ``python -c RUN_SCALESIM CONFIG TOPOLOGY OUT KIND`` with
#: KIND ``conv`` or ``gemm``; prints the seconds of its run alone (no start-up)
RUN_SCALESIM = """
import contextlib, io, sys, time
from scalesim.scale_sim import scalesim
with contextlib.redirect_stdout(io.StringIO()):
    start = time.perf_counter()
    s = scalesim(save_disk_space=True, verbose=False, config=sys.argv[1], topology=sys.argv[2],
                 layout=sys.argv[2], input_type_gemm=sys.argv[4] == "gemm")
    s.run_scale(top_path=sys.argv[3])
    seconds = time.perf_counter() - start
print(seconds)
"""


def topology(layers) -> str:
    """The layers as a SCALE-Sim conv topology: padding folded into the input size, a fully
    connected layer as a 1x1 convolution of a 1x1 input."""
    rows = ["Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
            "Num Filter, Strides,"]  # fmt: skip
    for layer in layers:
        if isinstance(layer, ConvLayer):
            rows.append(f"{layer.name}, {layer.height + 2 * layer.pad_h}, "
                        f"{layer.width + 2 * layer.pad_w}, {layer.kh}, {layer.kw}, "
                        f"{layer.channels}, {layer.filters}, {layer.stride_h},")  # fmt: skip
        else:
            rows.append(f"{layer.name}, 1, 1, 1, 1, {layer.k}, {layer.n}, 1,")
    return "\n".join(rows) + "\n"


def seconds(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="resnet50")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dataflows", default="ws,os,is")
    parser.add_argument("--scalesim-python", help="python of a venv with scalesim installed")
    args = parser.parse_args()
    layers = network(args.network)
    print(f"{args.network}, batch 1, {len(layers)} layers, {args.size}x{args.size}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"{'df':<3} {'values s':>9} {'no-values s':>12} {'ms/layer':>9} {'SCALE-Sim s':>12} "
          f"{'SCALE-Sim / values':>19}")  # fmt: skip
    sizes = [(args.size, args.size)]
    for flow in compare.parse_dataflows(args.dataflows):
        compare.compare(layers[:1], sizes, [flow])  # compile the kernels once
        with_values = seconds(args.repeats, lambda f=flow: compare.compare(layers, sizes, [f]))
        closed = seconds(args.repeats, lambda f=flow: compare.compare(layers, sizes, [f],
                                                                       values=False))  # fmt: skip
        scalesim = float("nan")
        if args.scalesim_python:
            scalesim = time_scalesim(args.scalesim_python, layers, args.size, flow)
        print(f"{flow.value:<3} {with_values:>9.2f} {closed:>12.3f} "
              f"{1000 * closed / len(layers):>9.2f} {scalesim:>12.1f} "
              f"{scalesim / with_values:>19.1f}")  # fmt: skip


def time_scalesim(python: str, layers, size: int, flow: Dataflow) -> float:
    """Seconds SCALE-Sim takes on the layers (one run, in its own interpreter)."""
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "topology.csv").write_text(topology(layers))
        (work / "scale.cfg").write_text(CONFIG.format(size=size, dataflow=flow.value))
        start = time.perf_counter()
        subprocess.run([python, "-c", RUN_SCALESIM, str(work / "scale.cfg"),
                        str(work / "topology.csv"), str(work / "out"), "conv"], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        return time.perf_counter() - start


if __name__ == "__main__":
    main()
