"""A documented CPU load beside a benchmark: ``with cpu_load(n): ...`` runs ``n`` processes that
each spin on one core (a Python ``while True: pass`` loop, no memory traffic to speak of), and
stops them when the block ends, even on an error or Ctrl-C.

On the 2-core benchmark machine, ``cpu_load(2)`` reproduces the condition in which numba's
parallel kernels collapsed: every core shared with a CPU-bound process, so a process of our own
gets about half of each core (two thirds of one core when it runs on a single thread: three
runnable threads on two cores).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

SPIN = "while True:\n    pass\n"


@contextlib.contextmanager
def cpu_load(processes: int) -> Iterator[None]:
    """Run ``processes`` spinning processes for the duration of the block (0: none)."""
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(processes)]
    try:
        time.sleep(0.5 if spinners else 0)  # let them start spinning before timing begins
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait(timeout=10)


def add_busy_option(parser) -> None:
    """``--busy N``: measure again with N CPU-bound processes beside the run."""
    parser.add_argument(
        "--busy", type=int, default=0, metavar="N",
        help="then measure again with N CPU-bound processes running beside (bench/busy.py) "
        "and print the slowdown",
    )  # fmt: skip
