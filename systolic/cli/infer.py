"""``systolic infer``: a saved model classifies MNIST on the array in a number format."""

from __future__ import annotations

import argparse
import json

from systolic.cli.common import positive
from systolic.config import ArrayConfig, Dataflow
from systolic.numerics import FORMATS


def add_parser(commands) -> None:
    """Add ``infer`` to the top-level subparsers."""
    infer = commands.add_parser(
        "infer",
        help="classify MNIST test images with a saved model on the array, in a number format",
        description="Run a model saved by `systolic train --save` on the simulated array in "
        "int8 (quantized), bf16, fp16 or fp32, and print its test accuracy next to the float64 "
        "NumPy run of the same model, with cycles and utilization.",
    )
    infer.add_argument("model", help="model file written by systolic train --save")
    infer.add_argument("--dtype", default="int8", choices=list(FORMATS), help="default int8")
    infer.add_argument("--rows", type=positive, default=32, help="PE rows (default 32)")
    infer.add_argument("--cols", type=positive, default=32, help="PE columns (default 32)")
    infer.add_argument("--dataflow", default="ws", choices=[flow.value for flow in Dataflow])
    infer.add_argument("--limit", type=positive, default=None, help="first N test images")
    infer.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``infer``; return the exit status."""
    from systolic import inference

    config = ArrayConfig(rows=args.rows, cols=args.cols, dataflow=args.dataflow, dtype=args.dtype)
    result = inference.run(args.model, config, args.limit)
    record = {
        "dtype": args.dtype, "samples": result.samples, "test_accuracy": result.accuracy,
        "reference_test_accuracy": result.reference_accuracy, "agreement": result.agreement,
        **result.report.to_dict(),
    }  # fmt: skip
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    print(f"{result.samples:,} MNIST test images on a {config.rows}x{config.cols} "
          f"{config.dataflow.name} array")  # fmt: skip
    print(f"test accuracy        {100 * result.accuracy:.2f} % in {args.dtype}, "
          f"{100 * result.reference_accuracy:.2f} % in float64 (NumPy); the two agree on "
          f"{100 * result.agreement:.2f} % of the images")  # fmt: skip
    print(f"total cycles         {result.report.total_cycles:,}, utilization "
          f"{100 * result.report.utilization:.2f} %")  # fmt: skip
    return 0
