"""Operands of every NumPy integer and float type, ml_dtypes' narrow floats, and the
refusals: other types by name, and a zero-sized dimension, in the API and the CLI alike."""

import re

import ml_dtypes
import numpy as np
import pytest

import systolic
from systolic.api import estimate
from systolic.cli import main

INTEGERS = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
FLOATS = [np.float16, np.float32, np.float64, np.longdouble, ml_dtypes.bfloat16,
          ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2]  # fmt: skip


@pytest.mark.parametrize("dtype", INTEGERS + FLOATS, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("fmt", ["fp32", "fp64", "bf16", "fp16", "int8"])
def test_every_integer_and_float_type_is_taken_exactly(dtype, fmt):
    # small integers: exact in every type and format, so the product is exact too
    values = np.arange(12).reshape(3, 4) % 7
    a, b = values.astype(dtype), (values.T[:, :2] + 1).astype(dtype)
    expected = values.astype(np.float64) @ (values.T[:, :2] + 1)
    for compare in (True, False):  # the trainer's quick path and the general one
        c, report = systolic.matmul(a, b, systolic.ArrayConfig(4, 4, dtype=fmt),
                                    compare=compare)  # fmt: skip
        assert np.array_equal(c, expected) and report.macs == 3 * 4 * 2


@pytest.mark.parametrize("flow", ["os", "is"])
def test_narrow_types_run_on_every_dataflow_and_the_golden_engine(flow):
    a = np.array([[1, -2], [3, 4]], dtype=np.float16)
    b = np.array([[5, 6], [7, -8]], dtype=np.int16)
    for engine in ("fast", "golden"):
        c, _ = systolic.matmul(a, b, systolic.ArrayConfig(2, 2, dataflow=flow), engine=engine)
        assert np.array_equal(c, [[-9, 22], [43, -14]])


@pytest.mark.parametrize(
    "operand", [np.ones((2, 2), bool), np.ones((2, 2), np.complex64), np.ones((2, 2), object),
                np.array([["a", "b"], ["c", "d"]]), np.zeros((2, 2), "datetime64[s]")],
    ids=["bool", "complex64", "object", "str", "datetime64"],
)  # fmt: skip
def test_other_types_are_refused_naming_the_type(operand):
    with pytest.raises(ValueError, match=re.escape(f"got dtype {operand.dtype}")):
        systolic.matmul(operand, np.ones((2, 2)))


@pytest.mark.parametrize("shape_a, shape_b", [((0, 4), (4, 2)), ((3, 0), (0, 2)),
                                              ((3, 4), (4, 0))])  # fmt: skip
def test_a_zero_sized_dimension_is_refused_in_one_line(shape_a, shape_b):
    with pytest.raises(ValueError, match="zero-sized dimension") as error:
        systolic.matmul(np.ones(shape_a), np.ones(shape_b))
    assert "\n" not in str(error.value)
    m, k, n = shape_a + shape_b[1:]
    with pytest.raises(ValueError, match="zero-sized dimension"):
        estimate(m, k, n)


def test_the_cli_refuses_a_zero_sized_dimension_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["gemm", "0", "4", "2"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "expected a positive integer, got 0" in err


def test_sums_too_long_for_the_bound_have_none():
    from systolic.numerics import gamma

    u = 2.0**-24  # float32's unit roundoff
    assert gamma(2**10, np.dtype(np.float32)) == 2**10 * u / (1 - 2**10 * u)
    assert gamma(2**24, np.dtype(np.float32)) == float("inf")  # k u = 1: no bound
    assert gamma(2**24, np.dtype(np.float64)) < 1e-8
