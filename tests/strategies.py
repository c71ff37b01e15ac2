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
def configs(draw, dataflow="ws", max_side=16):
    """An ``ArrayConfig`` of ``dataflow`` with random, often non-square, shape, and (where the
    dataflow has them) any weight-load mode, rows per segmented chain and a random
    accumulator capacity."""
    stationary = dataflow != "os"
    return ArrayConfig(
        rows=draw(st.integers(1, max_side)),
        cols=draw(st.integers(1, max_side)),
        dataflow=dataflow,
        weight_load=draw(st.sampled_from(["serial", "double_buffered", "segmented"]))
        if stationary
        else "serial",
        accumulator_rows=draw(st.none() | st.integers(1, 48)) if stationary else None,
        segment_rows=draw(st.integers(1, 6)),
    )


# which GEMM dimension each dataflow maps to the array's rows and columns
ROW_COL_DIMS = {"ws": ("k", "n"), "os": ("m", "n"), "is": ("k", "m")}


@st.composite
def workloads(draw, dataflow="ws", max_dim=40, max_tiles=8):
    """``(config, a, b)`` with m, k, n in ``1..max_dim``, at most ``max_tiles`` tiles along the
    array's rows and columns, so the golden model runs it in well under a second."""
    config = draw(configs(dataflow))
    on_rows, on_cols = ROW_COL_DIMS[dataflow]
    limit = {on_rows: config.rows * max_tiles, on_cols: config.cols * max_tiles}
    m, k, n = (draw(st.integers(1, min(max_dim, limit.get(d, max_dim)))) for d in "mkn")
    elements = draw(st.sampled_from([SMALL_INTS, FLOATS]))
    a = draw(hnp.arrays(np.float64, (m, k), elements=elements))
    b = draw(hnp.arrays(np.float64, (k, n), elements=elements))
    return config, a, b
