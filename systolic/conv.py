"""2-D convolution on the array, lowered to GEMMs (im2col): written once, for every dataflow.

Layouts as in ONNX and PyTorch: ``x`` is ``(N, C_in, H, W)``, ``w`` is ``(C_out, C_in / groups,
kh, kw)``, ``y`` is ``(N, C_out, out_h, out_w)`` with ``out_h = (H + pad_top + pad_bottom -
kh) // stride_h + 1`` (and likewise ``out_w``): the conventional convolution (a
cross-correlation, no kernel flip), zero padding.

The lowering, for each group ``g`` of ``groups`` (channels ``C_in / groups`` in, ``C_out /
groups`` out)::

    A_g  (M, K)   row (n, oy, ox):        the receptive field of output pixel (oy, ox) of image
                                          n; column (c, ky, kx) holds
                                          x_padded[n, g*C_in/groups + c, oy*sh + ky, ox*sw + kx]
    B_g  (K, N_g) row (c, ky, kx), col o: w[g*C_out/groups + o, c, ky, kx]
    y[n, g*C_out/groups + o, oy, ox] = (A_g @ B_g)[(n, oy, ox), o]

    M = batch * out_h * out_w,  K = kh * kw * C_in / groups,  N_g = C_out / groups

Groups run as ``groups`` separate GEMMs, one after another on the array, and their Reports are
summed. (A single block-diagonal GEMM would compute the same values but multiply ``groups``
times as many weights, all but one block zero, and occupy the array ``groups`` times longer per
fold; a depthwise layer would then use ``1 / C`` of it.)

The lowered matrix ``A_g`` repeats every input pixel once per kernel position that covers it.
The Report counts what the array runs (``act_read_bytes`` are the rows of ``A_g`` it streams,
re-read for every n-tile); two fields say what the lowering itself costs in the unified buffer:
``lowered_act_bytes``, the im2col matrices with their duplication, and ``ifmap_bytes``, the
input feature map read once, without it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from systolic import limits
from systolic.api import _config, check_run, estimate, matmul
from systolic.config import ArrayConfig
from systolic.numerics import FORMATS
from systolic.report import Report


@dataclasses.dataclass(frozen=True)
class ConvShape:
    """One convolution's sizes, and the GEMMs it lowers to (see the module docstring)."""

    batch: int
    c_in: int
    height: int
    width: int
    c_out: int
    kh: int
    kw: int
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    groups: int = 1

    def __post_init__(self):
        for name in ("batch", "c_in", "height", "width", "c_out", "kh", "kw", "groups"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if len(self.stride) != 2 or min(self.stride) < 1:
            raise ValueError(f"stride must be positive, got {self.stride}")
        if len(self.padding) != 4 or min(self.padding) < 0:
            raise ValueError(f"padding must be >= 0, got {self.padding}")
        for what, channels in (("c_in", self.c_in), ("c_out", self.c_out)):
            if channels % self.groups:
                raise ValueError(f"{what}={channels} is not a multiple of groups={self.groups}")
        top, left, bottom, right = self.padding
        if self.kh > self.height + top + bottom or self.kw > self.width + left + right:
            raise ValueError(
                f"a {self.kh}x{self.kw} filter is larger than the padded input "
                f"{self.height + top + bottom}x{self.width + left + right}"
            )

    @property
    def out_h(self) -> int:
        top, _, bottom, _ = self.padding
        return (self.height + top + bottom - self.kh) // self.stride[0] + 1

    @property
    def out_w(self) -> int:
        _, left, _, right = self.padding
        return (self.width + left + right - self.kw) // self.stride[1] + 1

    @property
    def gemm(self) -> tuple[int, int, int]:
        """``(M, K, N)`` of each group's GEMM."""
        m = self.batch * self.out_h * self.out_w
        return m, self.kh * self.kw * self.c_in // self.groups, self.c_out // self.groups

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the convolution (all groups)."""
        m, k, n = self.gemm
        return self.groups * m * k * n


def _pair(value: int | Sequence[int], what: str) -> tuple[int, int]:
    if isinstance(value, int | np.integer):
        pair = (value, value)
    else:
        try:
            pair = tuple(value)
        except TypeError:
            pair = ()
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) for v in pair):
        raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv_shape(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    groups: int = 1,
) -> ConvShape:
    """The :class:`ConvShape` of ``x`` ``(N, C_in, H, W)`` and ``w`` ``(C_out, C_in / groups,
    kh, kw)``; ``padding`` is an int, a pair (top and bottom, left and right) or four values
    (top, left, bottom, right, as ONNX's ``pads`` in that order)."""
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise ValueError(
            f"x must be 4-D (N, C_in, H, W) and w 4-D (C_out, C_in / groups, kh, kw), got "
            f"shapes {tuple(x_shape)} and {tuple(w_shape)}"
        )
    if isinstance(groups, bool) or not isinstance(groups, int | np.integer) or groups < 1:
        raise ValueError(f"groups must be a positive integer, got {groups!r}")
    batch, c_in, height, width = map(int, x_shape)
    c_out, c_per_group, kh, kw = map(int, w_shape)
    if c_per_group * groups != c_in:
        raise ValueError(
            f"w has {c_per_group} input channels per group, but x has {c_in} channels in "
            f"{groups} group(s): expected {c_in // groups if c_in % groups == 0 else '?'}"
        )
    if isinstance(padding, int | np.integer) or len(padding) == 2:
        vertical, horizontal = _pair(padding, "padding")
        pads = (vertical, horizontal, vertical, horizontal)
    elif len(padding) == 4 and all(isinstance(v, int | np.integer) for v in padding):
        pads = tuple(int(v) for v in padding)
    else:
        raise ValueError(f"padding must be an int, a pair or four ints, got {padding!r}")
    return ConvShape(
        batch, c_in, height, width, c_out, kh, kw, _pair(stride, "stride"), pads, int(groups)
    )


def im2col(x: np.ndarray, shape: ConvShape, group: int) -> np.ndarray:
    """The lowered activations ``A_g`` of one group, shape ``(M, K)`` (module docstring)."""
    top, left, bottom, right = shape.padding
    per_group = shape.c_in // shape.groups
    channels = x[:, group * per_group : (group + 1) * per_group]
    padded = np.pad(channels, ((0, 0), (0, 0), (top, bottom), (left, right)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (shape.kh, shape.kw), axis=(2, 3))
    sh, sw = shape.stride
    windows = windows[:, :, : shape.out_h * sh : sh, : shape.out_w * sw : sw]
    # (N, c, oy, ox, ky, kx) -> (N, oy, ox, c, ky, kx): a row per output pixel
    return np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)).reshape(shape.gemm[:2])


def lowered_weights(w: np.ndarray, shape: ConvShape, group: int) -> np.ndarray:
    """The weights ``B_g`` of one group, shape ``(K, N_g)`` (module docstring)."""
    per_group = shape.c_out // shape.groups
    block = w[group * per_group : (group + 1) * per_group]  # (N_g, c, ky, kx)
    return np.ascontiguousarray(block.reshape(per_group, -1).T)


def check_conv(shape: ConvShape, config: ArrayConfig, engine: str = "fast") -> None:
    """Refuse a convolution before anything is allocated: each group's GEMM (sizes, cycles,
    memory), the lowered matrices themselves, and the time of all groups together."""
    m, k, n = shape.gemm
    what = (
        f"the convolution of ({shape.batch}, {shape.c_in}, {shape.height}, {shape.width}) by "
        f"({shape.c_out}, {shape.c_in // shape.groups}, {shape.kh}, {shape.kw})"
    )
    try:
        cycles = check_run(m, k, n, config, engine)["total_cycles"]
    except ValueError as error:
        raise ValueError(f"{what}: {error}") from None
    item = FORMATS[config.dtype].dtype.itemsize
    # the lowered matrix in the caller's type and rounded, and the output
    limits.check_memory((8 + item) * m * k + 8 * shape.groups * m * n, what)
    per_group = limits.run_seconds(engine, cycles, m * k * n, config.pe_count)
    limits.check_time(shape.groups * per_group, config.max_seconds, what)


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    groups: int = 1,
    config: ArrayConfig | None = None,
    engine: str = "fast",
) -> tuple[np.ndarray, Report]:
    """A 2-D convolution computed on the array, lowered to GEMMs (see the module docstring).

    Parameters
    ----------
    x : array_like, shape (N, C_in, H, W)
    w : array_like, shape (C_out, C_in / groups, kh, kw)
    stride : int or (int, int)
    padding : int, (int, int) or (top, left, bottom, right)
        Zeros added around the input.
    groups : int
        Channel groups; ``groups == C_in == C_out`` is a depthwise convolution.
    config : ArrayConfig, optional
    engine : {"fast", "golden"}

    Returns
    -------
    y : numpy.ndarray, shape (N, C_out, out_h, out_w)
        In the format's type (float32 for ``"fp32"``, int32 for ``"int8"``).
    report : Report
        The sum of the groups' GEMMs, compared with NumPy, with ``lowered_act_bytes`` and
        ``ifmap_bytes`` filled in.
    """
    config = _config(config)
    shape = conv_shape(np.shape(x), np.shape(w), stride, padding, groups)
    check_conv(shape, config, engine)
    x, w = np.asarray(x), np.asarray(w)
    for name, value in (("x", x), ("w", w)):
        if value.dtype.kind not in "iuf":
            raise ValueError(f"{name} must hold integers or floats, got dtype {value.dtype}")
    operand = FORMATS[config.dtype].operand_bytes
    y = None
    total = None
    for group in range(shape.groups):
        c, report = matmul(im2col(x, shape, group), lowered_weights(w, shape, group), config,
                           engine=engine)  # fmt: skip
        if y is None:
            y = np.empty((shape.batch, shape.c_out, shape.out_h, shape.out_w), dtype=c.dtype)
        per_group = shape.c_out // shape.groups
        block = c.reshape(shape.batch, shape.out_h, shape.out_w, per_group).transpose(0, 3, 1, 2)
        y[:, group * per_group : (group + 1) * per_group] = block
        total = report if total is None else total + report
    m, k, _ = shape.gemm
    total = dataclasses.replace(
        total,
        lowered_act_bytes=shape.groups * m * k * operand,
        ifmap_bytes=math.prod((shape.batch, shape.c_in, shape.height, shape.width)) * operand,
    )
    return y, total


def conv_estimate(shape: ConvShape, config: ArrayConfig | None = None) -> Report:
    """The Report of a convolution without computing a value (``api.estimate`` per group,
    summed, with the lowering's bytes): what :func:`conv2d` reports, but for the errors."""
    config = _config(config)
    m, k, n = shape.gemm
    one = estimate(m, k, n, config)
    total = sum([one] * shape.groups)
    operand = FORMATS[config.dtype].operand_bytes
    return dataclasses.replace(
        total,
        lowered_act_bytes=shape.groups * m * k * operand,
        ifmap_bytes=math.prod((shape.batch, shape.c_in, shape.height, shape.width)) * operand,
    )
