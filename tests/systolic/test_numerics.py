"""Operand checks and the rounding-error bound."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from systolic.numerics import FORMATS, error_bound, prepare_operands

FP32 = FORMATS["fp32"]


@pytest.mark.parametrize(
    "a, b, message",
    [
        (
            np.ones((2, 3)),
            np.ones((4, 2)),
            r"inner dimensions differ: a is \(2, 3\), b is \(4, 2\)",
        ),
        (np.ones(3), np.ones((3, 2)), r"operand a must be 2-D, got shape \(3,\)"),
        (np.ones((2, 3)), np.ones((3, 2, 1)), "operand b must be 2-D"),
        (np.ones((0, 3)), np.ones((3, 2)), r"operand a is empty, shape \(0, 3\)"),
        (np.array([["x"]]), np.ones((1, 1)), "integers or floats, got dtype <U1"),
        (np.ones((1, 1), bool), np.ones((1, 1)), "got dtype bool"),
        (np.ones((1, 1), complex), np.ones((1, 1)), "got dtype complex128"),
        (np.array([[np.nan, 1.0]]), np.ones((2, 1)), r"operand a holds 1 non-finite value"),
        (np.ones((1, 2)), np.array([[np.inf], [-np.inf]]), "operand b holds 2 non-finite"),
        (np.array([[1e39]]), np.ones((1, 1)), "operand a overflows fp32 after rounding"),
    ],
)
def test_bad_operands_are_refused_with_a_clear_message(a, b, message):
    with pytest.raises(ValueError, match=message):
        prepare_operands(a, b, FP32, 2**28)


def test_operands_larger_than_the_limit_are_refused():
    with pytest.raises(
        ValueError, match="result would hold 12 elements, more than max_elements=10"
    ):
        prepare_operands(np.ones((4, 1)), np.ones((1, 3)), FP32, 10)


def test_operands_are_rounded_to_the_format():
    a, b = prepare_operands([[1, 2]], [[0.1], [3]], FP32, 100)
    assert a.dtype == b.dtype == np.float32 and a.flags.c_contiguous
    assert b[0, 0] == np.float32(0.1)


@given(k=st.integers(1, 300), seed=st.integers(0, 10**6))
def test_float32_sums_in_any_order_stay_within_the_bound(k, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((3, k)).astype(np.float32)
    b = rng.standard_normal((k, 2)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    bound = error_bound(a, b, FP32)
    for order in (np.arange(k), rng.permutation(k)):
        c = np.zeros((3, 2), np.float32)
        for i in order:
            c = c + a[:, i : i + 1] * b[i]
        assert (np.abs(c - exact) <= bound).all()


def test_bound_is_tight_enough_to_catch_a_lost_term():
    a = np.ones((1, 4), np.float32)
    b = np.ones((4, 1), np.float32)
    assert error_bound(a, b, FP32)[0, 0] < 1e-5  # dropping any term (error 1) would fail
