"""References the engines are checked against."""

import numpy as np

from systolic.config import ArrayConfig
from systolic.numerics import FORMATS, prepare_operands


def prepared(a, b, config=None):
    """Operands checked and rounded as ``systolic.matmul`` does before any engine sees them."""
    config = ArrayConfig() if config is None else config
    return prepare_operands(a, b, FORMATS[config.dtype], config.max_elements)


def ordered_reference(a, b, group):
    """``a @ b`` with the array's order of float operations.

    The k products of each output are added one by one from a zero partial sum in groups of
    ``group`` (one k-fold), and the groups' sums are added in order into a zeroed accumulator.
    Weight- and input-stationary arrays group by ``rows``; output-stationary by all of k.
    """
    m, k = a.shape
    acc = np.zeros((m, b.shape[1]), a.dtype)
    for k0 in range(0, k, group):
        psum = np.zeros_like(acc)
        for i in range(k0, min(k0 + group, k)):
            psum = psum + a[:, i : i + 1] * b[i]
        acc = acc + psum
    return acc
