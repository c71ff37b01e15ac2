"""Shared Hypothesis strategies: GEMM operands and array configurations."""

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import strategies as st

from systolic.config import ArrayConfig

SMALL_INTS = st.integers(-8, 8).map(float)
FLOATS = st.floats(-4, 4, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def operands(draw, max_dim=12, elements=SMALL_INTS):
    """``(a, b)`` float64 operands of a random ``(m, k) @ (k, n)`` GEMM."""
    m, k, n = (draw(st.integers(1, max_dim)) for _ in range(3))
    a = draw(hnp.arrays(np.float64, (m, k), elements=elements))
    return a, draw(hnp.arrays(np.float64, (k, n), elements=elements))


@st.composite
def configs(draw, max_side=16):
    """An ``ArrayConfig`` with random, often non-square, shape and either weight-load mode."""
    return ArrayConfig(
        rows=draw(st.integers(1, max_side)),
        cols=draw(st.integers(1, max_side)),
        weight_load=draw(st.sampled_from(["serial", "double_buffered"])),
        accumulator_rows=draw(st.none() | st.integers(1, 48)),
    )


@st.composite
def workloads(draw, max_dim=40, max_tiles=8):
    """``(config, a, b)`` with m, k, n in ``1..max_dim`` and at most ``max_tiles`` k- and
    n-tiles, so the golden model runs it in well under a second."""
    config = draw(configs())
    m = draw(st.integers(1, max_dim))
    k = draw(st.integers(1, min(max_dim, config.rows * max_tiles)))
    n = draw(st.integers(1, min(max_dim, config.cols * max_tiles)))
    elements = draw(st.sampled_from([SMALL_INTS, FLOATS]))
    a = draw(hnp.arrays(np.float64, (m, k), elements=elements))
    b = draw(hnp.arrays(np.float64, (k, n), elements=elements))
    return config, a, b
