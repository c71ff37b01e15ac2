"""Which BLAS library, kernel and thread count NumPy ran, for a benchmark's first line."""

from __future__ import annotations

import os

import numpy as np


def blas_line() -> str:
    """NumPy's BLAS as ``threadpoolctl`` reports it (library, version, the kernel it chose,
    threads), and the OpenBLAS variables that would force a kernel; without threadpoolctl
    (a benchmark-only tool: ``pip install threadpoolctl``) the kernel is unknown."""
    forced = ", ".join(f"{name}={os.environ.get(name)}"
                       for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))  # fmt: skip
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return f"BLAS: kernel unknown (pip install threadpoolctl to print it); {forced}"
    np.ones((2, 2)) @ np.ones((2, 2))  # load the library before asking
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    described = "; ".join(
        f"{p.get('internal_api')} {p.get('version')}, kernel {p.get('architecture')}, "
        f"{p.get('num_threads')} threads" for p in pools
    ) or "none found"  # fmt: skip
    return f"BLAS: {described}; {forced}"
