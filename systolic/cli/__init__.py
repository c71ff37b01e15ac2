"""The ``systolic`` command: one module per command, shared pieces in ``common``.

``systolic gemm`` runs a random GEMM and prints its Report next to NumPy; ``compare`` runs a
workload on every dataflow and array size; ``train`` trains an MLP with its matmuls on the
array; ``infer`` classifies with a saved model in a number format; ``roofline`` places layers
on a TPU-like machine's roofline; ``rtl`` exports, co-simulates and synthesizes the Verilog;
``workloads`` lists the bundled networks; ``machines`` the training machines (TPU v2 to
v6e) that ``train --machine`` takes; ``run`` runs an ONNX model on one, with values;
``llm`` times an LLM's prefill or decode on one; ``sweep`` runs a design-space sweep from a
TOML spec as Dask tasks, resumably.

Every command checks its arguments, output paths, sizes, memory and time before it runs, and
writes its files last. Whatever goes wrong ends in one line on stderr, never a traceback:
exit status 2 for bad input (a ``ValueError`` or a file that cannot be read or written), 1
for anything unexpected, 130 when interrupted. ``--debug`` (or ``SYSTOLIC_DEBUG=1``) shows
the traceback instead.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from collections.abc import Sequence

from systolic.cli import (
    compare,
    gemm,
    infer,
    llm,
    machines,
    roofline,
    rtl,
    run,
    sweep,
    tpu_apps,
    train,
    workloads,
)
from systolic.cli.common import Parser

#: the commands, in the order ``systolic --help`` lists them
COMMANDS = {
    "gemm": gemm,
    "compare": compare,
    "train": train,
    "infer": infer,
    "roofline": roofline,
    "tpu-apps": tpu_apps,
    "rtl": rtl,
    "workloads": workloads,
    "machines": machines,
    "llm": llm,
    "run": run,
    "sweep": sweep,
}


def _parser() -> Parser:
    parser = Parser(prog="systolic", description="Cycle-accurate systolic-array simulator.")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error (also SYSTOLIC_DEBUG=1)",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in COMMANDS.values():
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    debug = args.debug or os.environ.get("SYSTOLIC_DEBUG", "") not in ("", "0")
    previous = _on_sigterm()
    held: list[warnings.WarningMessage] = []
    try:
        # a run's warnings are held: shown once it has succeeded, dropped with a refusal,
        # which is then one line (a progress bar's tqdm warning, NumPy's overflow in exp)
        with warnings.catch_warnings(record=True) as held:
            status = COMMANDS[args.command].run(args)
        for caught in held:  # as Python shows them: on stderr
            sys.stderr.write(warnings.formatwarning(caught.message, caught.category,
                                                    caught.filename, caught.lineno))  # fmt: skip
        return status
    except Exception as error:
        if debug:
            raise
        return _report(error)
    except KeyboardInterrupt:
        if debug:
            raise
        print("systolic: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _on_sigterm():
    """Make SIGTERM end the run like Ctrl-C (status 143), so that a half-written temporary
    file is removed on the way out; returns the handler it replaced (None off the main
    thread, where handlers cannot be set)."""

    def terminate(signum, frame):
        raise SystemExit(143)

    try:
        return signal.signal(signal.SIGTERM, terminate)
    except ValueError:
        return None


def _report(error: Exception) -> int:
    """Print an error as one line; return its exit status."""
    if isinstance(error, ValueError):  # every bad-input error of the package is a ValueError
        message, status = str(error), 2
    elif isinstance(error, OSError):  # a path that cannot be read or written
        where = f"{error.filename}: " if error.filename else ""
        message, status = f"{where}{error.strerror or error}", 2
    elif isinstance(error, MemoryError):
        message, status = "out of memory (the run needed more than this machine has)", 1
    else:
        message = f"internal error: {type(error).__name__}: {error} (--debug shows where)"
        status = 1
    print(f"systolic: error: {' '.join(message.split())}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
