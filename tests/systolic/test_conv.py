"""conv2d on the array against a direct convolution written here, independently of the
lowering: nested loops over output pixels, channels and kernel positions."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import systolic
from systolic import ArrayConfig
from systolic.conv import ConvShape, conv_shape
from systolic.dataflows import MODULES


def direct_conv(x, w, stride, padding, groups):
    """y[n, o, i, j] = sum over c, ky, kx of x_padded[n, c, i*sh + ky, j*sw + kx] * w[o, c, ky,
    kx], with c running over the input channels of o's group."""
    (sh, sw), (top, left, bottom, right) = stride, padding
    n_img, c_in, height, width = x.shape
    c_out, per_group, kh, kw = w.shape
    padded = np.zeros((n_img, c_in, height + top + bottom, width + left + right))
    padded[:, :, top : top + height, left : left + width] = x
    out_h = (height + top + bottom - kh) // sh + 1
    out_w = (width + left + right - kw) // sw + 1
    y = np.zeros((n_img, c_out, out_h, out_w))
    out_per_group = c_out // groups
    for n in range(n_img):
        for o in range(c_out):
            first = (o // out_per_group) * per_group
            for i in range(out_h):
                for j in range(out_w):
                    total = 0.0
                    for c in range(per_group):
                        for ky in range(kh):
                            for kx in range(kw):
                                total += (
                                    padded[n, first + c, i * sh + ky, j * sw + kx] * w[o, c, ky, kx]
                                )
                    y[n, o, i, j] = total
    return y


@st.composite
def convolutions(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(4))
    height = draw(st.integers(max(1, kh - padding[0] - padding[2]), 6))
    width = draw(st.integers(max(1, kw - padding[1] - padding[3]), 6))
    batch = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-4, 5, (batch, c_in, height, width)).astype(float)
    w = rng.integers(-4, 5, (c_out, c_in // groups, kh, kw)).astype(float)
    return x, w, stride, padding, groups


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@given(case=convolutions(), rows=st.integers(1, 5), cols=st.integers(1, 5))
def test_conv2d_equals_a_direct_convolution_on_every_dataflow(dataflow, case, rows, cols):
    x, w, stride, padding, groups = case
    config = ArrayConfig(rows, cols, dataflow=dataflow)
    y, report = systolic.conv2d(x, w, stride=stride, padding=padding, groups=groups,
                                config=config)  # fmt: skip
    expected = direct_conv(x, w, stride, padding, groups)
    np.testing.assert_array_equal(y, expected)  # small integers: exact
    assert report.exact
    shape = conv_shape(x.shape, w.shape, stride, padding, groups)
    m, k, n = shape.gemm
    assert report.macs == expected.size * k  # every output sums K products
    one = MODULES[config.dataflow].closed_form_cycles(m, k, n, config)["total_cycles"]
    assert report.total_cycles == groups * one  # the groups run one after another


def test_a_depthwise_convolution_in_int8_is_exact():
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, (2, 4, 7, 5))
    w = rng.integers(-128, 128, (4, 1, 3, 3))
    y, report = systolic.conv2d(x, w, padding=1, groups=4, config=ArrayConfig(4, 4, dtype="int8"))
    assert y.dtype == np.int32 and report.exact
    np.testing.assert_array_equal(y, direct_conv(x, w, (1, 1), (1, 1, 1, 1), 4))


def test_the_lowering_bytes_by_hand():
    # 1 image, 2 channels of 4x4, 3x3 filters, stride 1, no padding: out 2x2, M = 4, K = 18;
    # the im2col matrix holds 4 * 18 = 72 operands, the feature map 2 * 16 = 32 (fp32: 4 B)
    x, w = np.ones((1, 2, 4, 4)), np.ones((5, 2, 3, 3))
    _, report = systolic.conv2d(x, w, config=ArrayConfig(4, 4))
    assert report.lowered_act_bytes == 72 * 4 and report.ifmap_bytes == 32 * 4
    # with groups=2 each group's matrix is 4 x 9: the same 72 operands in all
    w2 = np.ones((4, 1, 3, 3))
    _, grouped = systolic.conv2d(x, w2, groups=2, config=ArrayConfig(4, 4))
    assert grouped.lowered_act_bytes == 2 * 4 * 9 * 4 and grouped.ifmap_bytes == 32 * 4


def test_stride_and_padding_take_ints_pairs_and_onnx_pads():
    shape = conv_shape((1, 1, 5, 7), (1, 1, 3, 3), stride=(2, 1), padding=(1, 0))
    assert (shape.padding, shape.out_h, shape.out_w) == ((1, 0, 1, 0), 3, 5)
    shape = conv_shape((1, 1, 5, 7), (1, 1, 3, 3), padding=(0, 1, 2, 3))  # top, left, bottom, right
    assert (shape.out_h, shape.out_w) == (5, 9)


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs, message",
    [
        ((1, 3, 5, 5), (2, 3, 3), {}, "x must be 4-D"),
        ((1, 3, 5, 5), (2, 2, 3, 3), {}, "w has 2 input channels per group, but x has 3"),
        ((1, 4, 5, 5), (3, 2, 3, 3), {"groups": 2}, "c_out=3 is not a multiple of groups=2"),
        ((1, 1, 2, 2), (1, 1, 3, 3), {}, "a 3x3 filter is larger than the padded input 2x2"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 0}, r"stride must be positive, got \(0, 0\)"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"padding": -1}, "padding must be >= 0"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 1.5}, "stride must be an int or a pair"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"groups": 0}, "groups must be a positive integer"),
    ],
)
def test_bad_convolutions_are_refused_in_one_line(x_shape, w_shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        systolic.conv2d(np.ones(x_shape), np.ones(w_shape), **kwargs)


def test_a_huge_lowering_is_refused_before_it_is_built(monkeypatch):
    import systolic.conv as conv

    monkeypatch.setattr(conv, "im2col", lambda *a: pytest.fail("lowered"))
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", "10M")
    message = (
        r"the convolution of \(8, 64, 56, 56\) by \(64, 64, 3, 3\): "
        r"\(25,088, 576\) @ \(576, 64\) on 8x8 \(fast engine\) would need"
    )
    with pytest.raises(ValueError, match=message):
        systolic.conv2d(np.ones((8, 64, 56, 56)), np.ones((64, 64, 3, 3)), padding=1)


def test_conv_shape_is_a_checked_record():
    with pytest.raises(ValueError, match="kh must be a positive integer"):
        ConvShape(1, 1, 4, 4, 1, 0, 1)
