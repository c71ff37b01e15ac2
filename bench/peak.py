"""The machine's peak rate of float32 multiply-add pairs, measured by ``bench/peak.c``.

A PE multiplies, rounds, then adds: two instructions where BLAS issues one fused
multiply-add. ``peak()`` compiles ``peak.c`` with the machine's C compiler (``cc``, for
this machine's widest vectors) into a temporary folder and runs it on every core at once:
the rate the vector units sustain for multiply-add pairs, and for fused multiply-adds, so a
benchmark can say how close a kernel comes to the limit. Benchmark-only: nothing in the
package or its tests needs a C compiler.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).with_name("peak.c")


@dataclass(frozen=True)
class Peak:
    """Measured peaks on ``threads`` threads: ``pairs`` multiply-add pairs per second,
    ``fused`` fused multiply-adds per second, with vectors of ``bits`` bits."""

    threads: int
    pairs: float
    fused: float
    bits: int

    def line(self) -> str:
        """One line for a benchmark's header."""
        return (
            f"peak ({self.threads} threads, {self.bits}-bit vectors, bench/peak.c): "
            f"{self.pairs / 1e9:.1f} G multiply-add pairs/s, {self.fused / 1e9:.1f} G fused "
            "multiply-adds/s"
        )


def peak(threads: int | None = None) -> Peak | None:
    """Measure the peaks on ``threads`` threads (default: every core); None without ``cc``."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    threads = threads or os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as folder:
        binary = Path(folder) / "peak"
        flags = ["-O2", "-march=native", "-ffp-contract=off", "-pthread"]
        subprocess.run([compiler, *flags, str(SOURCE), "-o", str(binary)], check=True)
        out = subprocess.run([str(binary), str(threads)], check=True, capture_output=True,
                             text=True, timeout=120).stdout.split()  # fmt: skip
    return Peak(int(out[0]), float(out[1]), float(out[2]), int(out[3]))


if __name__ == "__main__":
    measured = peak()
    print(measured.line() if measured else "peak unknown: no C compiler (cc)")
