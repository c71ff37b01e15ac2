"""Number formats of the array, and the checks every operand passes before it enters.

A format says how operands are rounded before they enter the array and in which type the
processing elements multiply and add. Every engine (golden model, fast kernel) takes operands
already converted by :func:`prepare_operands`, so all of them see the same rounded values.

- ``fp32`` (default): operands rounded to float32; products and sums in float32.
- ``fp64``: float64 throughout, for reference runs.
- ``bf16`` and ``fp16``: operands rounded to bfloat16 or IEEE half precision (round to
  nearest, ties to even, by ml_dtypes and numpy), then multiplied and added in float32, as on
  TPUs since v2. Operands take 2 bytes in buffers and DRAM, partial sums 4.
- ``int8``: operands rounded to the nearest integer and required to lie in -128..127 (a value
  outside is counted and refused: quantize first), products and sums in int32, as on the TPU
  v1. Sums that leave the int32 range wrap around (two's complement), as hardware adders do;
  the Report's comparison then shows them as errors (``exact`` false).

Non-finite operands (NaN, +-inf) are rejected: a systolic array has no meaningful use for them,
and a silently propagated NaN would be a wrong number rather than a clear error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit


@dataclass(frozen=True)
class NumberFormat:
    """Operand and accumulator types of one number format.

    Parameters
    ----------
    name : str
        Key in ``FORMATS``.
    dtype : numpy.dtype
        Type of products and partial sums inside the array (and of the operands once rounded).
    operand_dtype : numpy.dtype or str, optional
        Type the operands are rounded to and stored in (default: ``dtype``); a str names a
        type of ml_dtypes, imported when first needed (it takes most of a second).
    """

    name: str
    dtype: np.dtype
    operand_dtype: np.dtype | str | None = field(default=None)

    @property
    def storage(self) -> np.dtype:
        """Type of the operands in buffers."""
        if self.operand_dtype is None:
            return self.dtype
        if isinstance(self.operand_dtype, str):
            import ml_dtypes

            return np.dtype(getattr(ml_dtypes, self.operand_dtype))
        return self.operand_dtype

    @property
    def is_integer(self) -> bool:
        """Integer operands and accumulators (exact, wrapping on overflow)."""
        return self.dtype.kind in "iu"

    @property
    def operand_bytes(self) -> int:
        """Bytes of one operand element as read from a buffer."""
        if isinstance(self.operand_dtype, str):  # known without importing ml_dtypes
            return ML_DTYPE_BYTES[self.operand_dtype]
        return self.storage.itemsize

    @property
    def acc_bytes(self) -> int:
        """Bytes of one partial sum as written into an accumulator."""
        return self.dtype.itemsize


#: bytes of the ml_dtypes types a format names
ML_DTYPE_BYTES = {"bfloat16": 2}
#: narrow float types of ml_dtypes whose every value is a float32 (taken as float32)
EXACT_IN_FLOAT32 = ("bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
                    "float8_e5m2fnuz")  # fmt: skip


def _exact_in_float32(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is one of :data:`EXACT_IN_FLOAT32` (an array of one means ml_dtypes
    is imported already)."""
    import sys

    ml_dtypes = sys.modules.get("ml_dtypes")
    return ml_dtypes is not None and any(
        dtype == np.dtype(getattr(ml_dtypes, name))
        for name in EXACT_IN_FLOAT32
        if hasattr(ml_dtypes, name)
    )


#: operand types the compiled float32 rounding takes (float16 and long double go through NumPy)
COMPILED_FLOATS = frozenset((np.dtype(np.float32), np.dtype(np.float64)))

FORMATS = {
    "fp32": NumberFormat("fp32", np.dtype(np.float32)),
    "fp64": NumberFormat("fp64", np.dtype(np.float64)),
    "bf16": NumberFormat("bf16", np.dtype(np.float32), "bfloat16"),
    "fp16": NumberFormat("fp16", np.dtype(np.float32), np.dtype(np.float16)),
    "int8": NumberFormat("int8", np.dtype(np.int32), np.dtype(np.int8)),
}


def _check_operand(x: object, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iufb" and _exact_in_float32(x.dtype):  # exact in float32
        x = x.astype(np.float32)
    if x.dtype.kind not in "iuf":
        raise ValueError(
            f"operand {name} must hold integers or floats, got dtype {x.dtype} (NumPy's "
            "integer and float types and ml_dtypes' bfloat16 and float8 are accepted)"
        )
    if x.ndim != 2:
        raise ValueError(f"operand {name} must be 2-D, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"operand {name} is empty, shape {x.shape}")
    return x


def _to_integer(x: np.ndarray, name: str, fmt: NumberFormat) -> np.ndarray:
    """Round to the nearest integer (ties to even), refuse values outside the format's range
    (counted), and hold the result in the accumulator type."""
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            bad = int(np.count_nonzero(~np.isfinite(x)))
            raise ValueError(f"operand {name} holds {bad} non-finite value(s) (NaN or inf)")
        x = np.rint(x)
    info = np.iinfo(fmt.storage)
    outside = (x < info.min) | (x > info.max)
    if outside.any():
        raise ValueError(
            f"operand {name}: {int(np.count_nonzero(outside))} value(s) outside {fmt.name}'s "
            f"range {info.min}..{info.max} (quantize first, e.g. systolic.numerics.quantize)"
        )
    return np.ascontiguousarray(x.astype(fmt.storage).astype(fmt.dtype))


@njit(cache=True)
def round_to_float32(x, out):
    """``out[:rows, :cols] = x`` (``x`` is ``rows x cols``, ``out`` at least as large) rounded
    to float32 (as NumPy's cast: to nearest, overflow to inf), in one pass over any layout of
    ``x``; returns how many results are not finite."""
    rows, cols = x.shape
    bad = 0
    for i in range(rows):
        for j in range(cols):
            value = np.float32(x[i, j])
            out[i, j] = value
            bad += not np.isfinite(value)
    return bad


@njit(cache=True)
def cast_to_float32(x, out):
    """``out[:rows, :cols] = x`` (``x`` is ``rows x cols``) rounded to float32 as NumPy's cast
    does, unchecked: :func:`round_to_float32` without its count, for a caller that checks
    the values another way (it vectorizes; the count does not)."""
    rows, cols = x.shape
    for i in range(rows):
        row, into = x[i], out[i]
        for j in range(cols):
            into[j] = np.float32(row[j])


@njit(cache=True)
def round_float32_to_bf16(x):
    """Round every float32 of the C-contiguous 2-D ``x`` to bfloat16 in place (to nearest,
    ties to even, as ml_dtypes' cast; overflow to inf; NaN and inf kept), on its bits: a
    bfloat16 is a float32's upper 16 bits."""
    bits = x.reshape(-1).view(np.uint32)
    for i in range(bits.size):
        u = bits[i]
        if (u & 0x7F800000) != 0x7F800000:  # finite: add half an ulp, ties to the even one
            bits[i] = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000


@njit(cache=True)
def count_non_finite(x):
    """How many values of the 2-D ``x`` are NaN or infinite."""
    bad = 0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            bad += not np.isfinite(x[i, j])
    return bad


def _to_float(x: np.ndarray, name: str, fmt: NumberFormat) -> np.ndarray:
    """Round to the float format, C-contiguous; refuse non-finite values (given, or made by an
    overflow in the rounding), counted."""
    if fmt.storage == fmt.dtype:  # one pass: rounded, C-contiguous
        y = np.array(x, dtype=fmt.dtype, order="C", copy=None)
    else:
        y = np.ascontiguousarray(x.astype(fmt.storage, copy=False), dtype=fmt.dtype)
    # a NaN or infinity makes the sum non-finite, so a finite sum clears the operand in one pass
    # without a temporary; a sum that only overflowed is settled by the exact check. The given
    # operand is read again only to word an error
    if not math.isfinite(float(y.sum(dtype=np.float64))) and not np.isfinite(y).all():
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            bad = int(np.count_nonzero(~np.isfinite(x)))
            raise ValueError(f"operand {name} holds {bad} non-finite value(s) (NaN or inf)")
        bad = int(np.count_nonzero(~np.isfinite(y)))
        raise ValueError(f"operand {name}: {bad} value(s) overflow {fmt.name} when rounded")
    return y


def check_sizes(m: int, k: int, n: int, max_elements: int) -> None:
    """Refuse a ``(m, k) @ (k, n)`` GEMM with a zero-sized dimension (the array has nothing
    to compute, and no Report would mean anything: refused rather than given an empty
    product), or whose operands or result exceed ``max_elements``."""
    if min(m, k, n) < 1:
        raise ValueError(
            f"({m:,}, {k:,}) @ ({k:,}, {n:,}) has a zero-sized dimension: m, k and n must be at "
            "least 1"
        )
    for what, size in (("a", m * k), ("b", k * n), ("result", m * n)):
        if size > max_elements:
            raise ValueError(
                f"{what} would hold {size:,} elements, more than max_elements={max_elements:,}"
            )


def prepare_operands(
    a: object, b: object, fmt: NumberFormat, max_elements: int
) -> tuple[np.ndarray, np.ndarray]:
    """Check ``a @ b`` is a GEMM the array can run and round both operands to ``fmt``.

    Parameters
    ----------
    a : array_like, shape (m, k)
    b : array_like, shape (k, n)
    fmt : NumberFormat
    max_elements : int
        Largest allowed number of elements in ``a``, ``b`` or the result.

    Returns
    -------
    a, b : numpy.ndarray
        C-contiguous copies (or views) in ``fmt.dtype``.

    Raises
    ------
    ValueError
        Non-numeric or boolean dtype, not 2-D, empty, non-finite values, mismatched inner
        dimensions, or an operand or result larger than ``max_elements``.
    """
    a = _check_operand(a, "a")
    b = _check_operand(b, "b")
    (m, k), (k2, n) = a.shape, b.shape
    if k != k2:
        raise ValueError(f"inner dimensions differ: a is {a.shape}, b is {b.shape}")
    check_sizes(m, k, n, max_elements)
    if fmt.is_integer:
        return _to_integer(a, "a", fmt), _to_integer(b, "b", fmt)
    if fmt.name == "fp32" and a.dtype in COMPILED_FLOATS and b.dtype in COMPILED_FLOATS:
        # the trainer's format: each operand rounded and checked in one compiled pass
        a32, b32 = np.empty(a.shape, np.float32), np.empty(b.shape, np.float32)
        if round_to_float32(a, a32) == 0 and round_to_float32(b, b32) == 0:
            return a32, b32
    with np.errstate(over="ignore", invalid="ignore"):  # counted below, not warned about
        rounded = [_to_float(x, name, fmt) for name, x in (("a", a), ("b", b))]
    return rounded[0], rounded[1]


def gamma(k: int, dtype: np.dtype) -> float:
    """Higham's ``gamma_k = k u / (1 - k u)`` for ``dtype``'s unit roundoff ``u``; infinite
    when ``k u >= 1``: sums that long have no bound of this form (every bit may be lost)."""
    u = float(np.finfo(dtype).eps) / 2
    return k * u / (1 - k * u) if k * u < 1 else math.inf


def error_bound(a: np.ndarray, b: np.ndarray, fmt: NumberFormat) -> np.ndarray:
    """Largest error allowed in each element of ``a @ b`` computed in ``fmt``.

    Any order of rounded products and sums of ``k`` terms is within ``gamma_k * (|a| @ |b|)``
    of the exact result, ``gamma_k = k u / (1 - k u)`` with ``u`` the unit roundoff (Higham,
    *Accuracy and Stability of Numerical Algorithms*, 2nd ed., eq. 3.5). The float64 reference
    and the bound itself are computed with float64 rounding, so ``gamma_k`` of float64 is added
    twice.

    Parameters
    ----------
    a : numpy.ndarray, shape (m, k)
    b : numpy.ndarray, shape (k, n)
        The operands as rounded to ``fmt``.

    Returns
    -------
    numpy.ndarray, shape (m, n), float64
    """
    k = a.shape[1]
    if fmt.is_integer:  # exact, unless a sum wraps around
        return np.zeros((a.shape[0], b.shape[1]))

    scale = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    factor = gamma(k, fmt.dtype) + 2 * gamma(k, np.dtype(np.float64))
    if math.isinf(factor):  # no bound, but an exact zero (every term zero) stays exact
        return np.where(scale > 0, math.inf, 0.0)
    return factor * scale


def quantize(x: np.ndarray, axis: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantization: ``x ~ q * scale`` with ``q`` in -127..127.

    Parameters
    ----------
    x : numpy.ndarray
        Finite floats.
    axis : int, optional
        ``None``: one scale for the whole tensor. Otherwise one scale per index along ``axis``
        (per channel, e.g. ``axis=1`` for the output columns of a weight matrix).

    Returns
    -------
    q : numpy.ndarray of int8, shaped like ``x``
    scale : numpy.ndarray of float64
        ``max|x| / 127`` over the tensor (shape ``()``) or per channel (``x``'s shape with
        ``axis`` kept and every other axis of length 1, so it broadcasts); 1 where ``x`` is all
        zero.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("cannot quantize non-finite values")
    if axis is None:
        largest = np.max(np.abs(x)) if x.size else 0.0
    else:
        others = tuple(i for i in range(x.ndim) if i != axis % x.ndim)
        largest = np.max(np.abs(x), axis=others, keepdims=True)
    scale = np.where(largest > 0, largest / 127.0, 1.0)
    q = np.clip(np.rint(x / scale), -127, 127).astype(np.int8)
    return q, np.asarray(scale, dtype=np.float64)


def dequantize(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The floats ``q * scale`` that an int8 tensor and its scale stand for."""
    return np.asarray(q, dtype=np.float64) * scale
