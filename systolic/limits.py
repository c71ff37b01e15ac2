"""Memory and time a run would take, checked before it allocates or computes anything.

- Memory: a run is refused when the bytes it would allocate exceed the limit:
  ``$SYSTOLIC_MAX_MEMORY`` (bytes, or a number with K, M, G or T) or else half of this
  machine's physical memory.
- Time: a run is refused when its estimated time on the chosen engine exceeds
  ``ArrayConfig.max_seconds``. The estimates use conservative speeds measured on a 2-core
  machine (:data:`GOLDEN_CYCLES_PER_S`, :data:`FAST_MACS_PER_S`); they decide only what is
  absurd, never a test.
"""

from __future__ import annotations

import functools
import os
import re

#: the golden model steps about this many cycles per second on arrays of up to
#: ``GOLDEN_PES`` PEs (measured 20,000 to 34,000 on 16x16 to 64x64), slower beyond
GOLDEN_CYCLES_PER_S = 15_000
GOLDEN_PES = 4096
#: the fast engine does at least this many useful MACs per second on one core
FAST_MACS_PER_S = 3e8

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def memory_setting() -> str | None:
    """``$SYSTOLIC_MAX_MEMORY`` as set (None if not): all :func:`memory_limit_bytes` depends
    on, read without parsing it."""
    return os.environ.get("SYSTOLIC_MAX_MEMORY")


def memory_limit_bytes() -> int:
    """The most bytes a run may allocate: ``$SYSTOLIC_MAX_MEMORY`` or half the machine's."""
    configured = memory_setting()
    if configured:
        return _parse_size(configured)
    return _physical_memory() // 2


@functools.lru_cache(maxsize=8)  # read at every checked call: parsed once per value
def _parse_size(configured: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", configured, re.IGNORECASE)
    if match is None:
        raise ValueError(f"SYSTOLIC_MAX_MEMORY={configured!r} is not a size (e.g. 8G or 500000000)")
    return int(float(match[1]) * _UNITS[match[2].upper()])


@functools.lru_cache(maxsize=1)  # the machine's memory does not change while it runs
def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: assume 8 GiB
        return 8 * 2**30


def format_bytes(count: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(count) < 1024 or unit == "PiB":
            return f"{count:,.0f} B" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def check_memory(count: int, what: str) -> None:
    """Refuse ``what`` if it would allocate more than :func:`memory_limit_bytes`."""
    limit = memory_limit_bytes()
    if count > limit:
        raise ValueError(
            f"{what} would need {format_bytes(count)}, more than the memory limit of "
            f"{format_bytes(limit)} (half this machine's memory; set SYSTOLIC_MAX_MEMORY to "
            "change it)"
        )


def golden_seconds(cycles: int, pe_count: int) -> float:
    """Estimated seconds of the golden model for a run of ``cycles`` on ``pe_count`` PEs."""
    return cycles / GOLDEN_CYCLES_PER_S * max(1.0, pe_count / GOLDEN_PES)


def fast_seconds(macs: int) -> float:
    """Estimated seconds of the fast engine for ``macs`` useful multiply-accumulates."""
    return macs / FAST_MACS_PER_S


def run_seconds(engine: str, cycles: int, macs: int, pe_count: int) -> float:
    """Estimated seconds of a run of ``cycles`` and ``macs`` on ``pe_count`` PEs, on the
    golden engine or the fast one."""
    return golden_seconds(cycles, pe_count) if engine == "golden" else fast_seconds(macs)


#: ``ArrayConfig.max_seconds``' default, named in the refusals
DEFAULT_MAX_SECONDS = 3600.0


def check_time(seconds: float, max_seconds: float, what: str) -> None:
    """Refuse ``what`` if its estimated time exceeds ``max_seconds``."""
    if seconds > max_seconds:
        default = " (the default)" if max_seconds == DEFAULT_MAX_SECONDS else ""
        raise ValueError(
            f"{what} would take about {duration(seconds)}, more than max_seconds="
            f"{max_seconds:g}{default}; to run it anyway raise the limit: systolic gemm "
            "--max-seconds S, or ArrayConfig(max_seconds=S) in Python (math.inf: no limit)"
        )


def duration(seconds: float) -> str:
    """``seconds`` for a reader: ``'42 s'``, ``'12 min'``, ``'3 h'``."""
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds / 3600:,.0f} h"
