"""Operand checks and the rounding-error bound."""

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from systolic.numerics import FORMATS, dequantize, error_bound, prepare_operands, quantize

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
        (
            np.array([[1e39]]),
            np.ones((1, 1)),
            r"operand a: 1 value\(s\) overflow fp32 when rounded",
        ),
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


@pytest.mark.parametrize("name, storage", [("bf16", ml_dtypes.bfloat16), ("fp16", np.float16)])
def test_half_formats_round_to_nearest_even_and_compute_in_float32(name, storage):
    fmt = FORMATS[name]
    values = np.array([[1.0, 1 + 2**-8, 1 + 3 * 2**-9, 3.14159, -2.5e-3]])
    a, b = prepare_operands(values, np.ones((5, 1)), fmt, 100)
    assert a.dtype == np.float32 and fmt.operand_bytes == 2 and fmt.acc_bytes == 4
    assert np.array_equal(a, values.astype(storage).astype(np.float32))
    if name == "bf16":  # 8 significand bits: 1 + 2**-8 is a tie and rounds to even (1.0)
        assert a[0, 1] == 1.0 and a[0, 2] == 1 + 2**-7


def test_fp16_overflow_is_counted_and_refused():
    with pytest.raises(ValueError, match=r"operand b: 2 value\(s\) overflow fp16 when rounded"):
        prepare_operands(np.ones((1, 3)), np.array([[7e4], [1.0], [-1e5]]), FORMATS["fp16"], 100)


def test_int8_operands_are_rounded_range_checked_and_held_in_int32():
    a, b = prepare_operands([[1.4, -2.5, 127.0]], [[1], [2], [-128]], FORMATS["int8"], 100)
    assert a.dtype == b.dtype == np.int32 and a.tolist() == [[1, -2, 127]]  # ties to even
    assert FORMATS["int8"].operand_bytes == 1 and FORMATS["int8"].acc_bytes == 4
    with pytest.raises(ValueError, match=r"operand a: 2 value\(s\) outside int8's range -128..127"):
        prepare_operands([[128, -129, 5]], np.ones((3, 1)), FORMATS["int8"], 100)


def test_int8_sums_wrap_around_like_int32_adders():
    import systolic
    from systolic.config import ArrayConfig

    k = 140_000  # 127 * 127 * k > 2**31 - 1
    a, b = np.full((1, k), 127), np.full((k, 1), 127)
    c, report = systolic.matmul(a, b, ArrayConfig(16, 16, dtype="int8"))
    true = 127 * 127 * k
    assert c[0, 0] == (true + 2**31) % 2**32 - 2**31
    assert report.exact is False and report.max_abs_error == 2**32
    assert report.overflow_count == 1 and report.to_dict()["overflow_count"] == 1


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_symmetric_quantization_round_trips_within_half_a_step(axis):
    x = np.random.default_rng(3).standard_normal((6, 5)) * [1, 10, 100, 0.1, 1]
    q, scale = quantize(x, axis)
    assert q.dtype == np.int8 and np.abs(q).max() == 127
    assert (np.abs(dequantize(q, scale) - x) <= scale / 2 + 1e-12).all()
    expected_shape = {None: (), 0: (6, 1), 1: (1, 5)}[axis]
    assert scale.shape == expected_shape


def test_quantizing_zeros_and_non_finite_values():
    q, scale = quantize(np.zeros((2, 2)))
    assert not q.any() and scale == 1.0
    with pytest.raises(ValueError, match="non-finite"):
        quantize(np.array([np.inf]))


def test_the_bound_by_hand_for_k_2():
    # |a| @ |b| = 3 * 5 + 4 * 6 = 39; gamma_2 = 2u / (1 - 2u) for each format
    a = np.array([[3.0, -4.0]], np.float32)
    b = np.array([[5.0], [6.0]], np.float32)

    def gamma(u):
        return 2 * u / (1 - 2 * u)

    expected = (gamma(2.0**-24) + 2 * gamma(2.0**-53)) * 39
    assert error_bound(a, b, FP32)[0, 0] == pytest.approx(expected, rel=1e-12)


def test_a_real_float32_error_is_near_the_bound_not_far_below_it():
    # 1 + 2^-24 + 2^-24 ... : every addition of a half ulp rounds to even and is lost
    k = 1000
    a = np.ones((1, k), np.float32)
    b = np.full((k, 1), 2.0**-24, np.float32)
    b[0, 0] = 1.0
    c = np.float32(0)
    for i in range(k):  # the array's order: one term per PE row
        c = np.float32(c + a[0, i] * b[i, 0])
    exact = float((a.astype(np.float64) @ b.astype(np.float64))[0, 0])
    error = abs(float(c) - exact)
    bound = error_bound(a, b, FP32)[0, 0]
    assert error <= bound
    assert error > bound / 8  # an 8x looser bound would no longer be close to a real error


def test_the_compiled_float32_rounding_equals_numpys_bit_for_bit():
    from systolic.numerics import cast_to_float32, count_non_finite, round_to_float32

    rng = np.random.default_rng(9)
    x = np.concatenate([
        rng.standard_normal(500) * 10.0 ** rng.integers(-45, 40, 500),  # subnormal to overflow
        [0.0, -0.0, 1 + 2**-24, 1 + 3 * 2**-24, 3.5e38, -3.5e38, 1e-46, np.inf, -np.inf, np.nan],
    ]).reshape(51, 10)  # fmt: skip
    for layout in (x, np.asfortranarray(x), x.T):
        with np.errstate(over="ignore"):
            expected = layout.astype(np.float32)
        # into a C-contiguous array, and into a transposed view (the WS short path's A)
        for out in (np.empty(layout.shape, np.float32), np.empty(layout.shape[::-1], np.float32).T):
            bad = round_to_float32(layout, out)
            assert np.array_equal(out.view(np.uint32), expected.view(np.uint32))
            assert bad == int(np.count_nonzero(~np.isfinite(expected)))
            out[:] = 0
            cast_to_float32(layout, out)  # the same cast, unchecked
            assert np.array_equal(out.view(np.uint32), expected.view(np.uint32))
            assert count_non_finite(out) == bad


def test_the_compiled_bf16_rounding_is_ml_dtypes_cast_of_float32():
    import ml_dtypes

    from systolic.numerics import round_float32_to_bf16

    rng = np.random.default_rng(3)
    # random values over many binades, exact ties (a set bit 15 and nothing below), values
    # that round up into the next binade or past the largest bfloat16, and specials
    bits = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    ties = (rng.integers(0, 2**16, 1000, dtype=np.uint32) << 16) | 0x8000
    x = np.concatenate([bits.view(np.float32), ties.view(np.float32),
                        np.array([3.4e38, -3.4e38, np.inf, -np.inf, 0.0, -0.0, 1e-45],
                                 dtype=np.float32)])  # fmt: skip
    x = x[~np.isnan(x)].reshape(1, -1)
    expected = x.astype(ml_dtypes.bfloat16).astype(np.float32)
    with np.errstate(over="ignore"):
        round_float32_to_bf16(x)
    assert np.array_equal(x.view(np.uint32), expected.view(np.uint32))


def test_formats_of_ml_dtypes_types_know_their_bytes_without_importing_it():
    import ml_dtypes

    from systolic.numerics import ML_DTYPE_BYTES

    for name, size in ML_DTYPE_BYTES.items():
        assert np.dtype(getattr(ml_dtypes, name)).itemsize == size
    assert FORMATS["bf16"].storage == np.dtype(ml_dtypes.bfloat16)
    assert FORMATS["bf16"].operand_bytes == 2
    # a bfloat16 array is taken as the float32 values it holds
    x = np.array([[1.5, -2.0]], dtype=ml_dtypes.bfloat16)
    assert prepare_operands(x, x.T, FORMATS["fp32"], 100)[0].dtype == np.float32
