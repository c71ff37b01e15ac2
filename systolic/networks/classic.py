"""Classic networks from their published layer shapes, as workload layers.

Every builder takes the batch and returns the network's convolution and fully connected layers
in order (``workloads.ConvLayer`` and ``workloads.Gemm``; a fully connected layer is the GEMM
``(batch, inputs) @ (inputs, outputs)``). Pooling, normalisation and activations have no MACs
on the array and are left out; the sizes they change are carried through.
"""

from __future__ import annotations

from systolic.workloads import ConvLayer, Gemm, Layer

#: name prefixes of GEMMs whose operands are both activations (attention), not weights
ACTIVATION_GEMMS = ("scores_", "context_")


def _conv(name, size, k, c_in, c_out, batch, stride=1, pad=None, depthwise=False) -> ConvLayer:
    """A square convolution; ``pad`` defaults to 'same' padding, ``k // 2``."""
    pad = k // 2 if pad is None else pad
    return ConvLayer(name, size, size, k, k, c_in, 1 if depthwise else c_out, stride, stride,
                     batch, depthwise, pad, pad)  # fmt: skip


def _out(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


def lenet5(batch: int = 1) -> list[Layer]:
    """LeNet-5: Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied
    to document recognition", Proc. IEEE 86(11), 1998. A 32x32 input; C1 6 5x5 filters, S2
    pooling, C3 16 5x5 (all 6 channels, not the paper's sparse connection table), S4 pooling, C5
    120 5x5, F6 84 units, 10 outputs."""
    return [
        _conv("c1", 32, 5, 1, 6, batch, pad=0),
        _conv("c3", 14, 5, 6, 16, batch, pad=0),
        _conv("c5", 5, 5, 16, 120, batch, pad=0),
        Gemm("f6", batch, 120, 84),
        Gemm("output", batch, 84, 10),
    ]


def alexnet(batch: int = 1) -> list[Layer]:
    """AlexNet: A. Krizhevsky, I. Sutskever and G. E. Hinton, "ImageNet classification with deep
    convolutional neural networks", NIPS 2012, on one device (the paper split conv2, conv4 and
    conv5 over two GPUs). A 227x227 input; 96 11x11 stride 4, 256 5x5, 384, 384 and 256 3x3,
    with 3x3 stride-2 pooling after conv1, conv2 and conv5; then 4096, 4096, 1000."""
    return [
        _conv("conv1", 227, 11, 3, 96, batch, stride=4, pad=0),  # -> 55, pool -> 27
        _conv("conv2", 27, 5, 96, 256, batch),  # pool -> 13
        _conv("conv3", 13, 3, 256, 384, batch),
        _conv("conv4", 13, 3, 384, 384, batch),
        _conv("conv5", 13, 3, 384, 256, batch),  # pool -> 6
        Gemm("fc6", batch, 6 * 6 * 256, 4096),
        Gemm("fc7", batch, 4096, 4096),
        Gemm("fc8", batch, 4096, 1000),
    ]


def vgg16(batch: int = 1) -> list[Layer]:
    """VGG-16 (configuration D): K. Simonyan and A. Zisserman, "Very deep convolutional
    networks for large-scale image recognition", ICLR 2015. 13 3x3 convolutions with 'same'
    padding in five stages of 64, 128, 256, 512, 512 channels at 224, 112, 56, 28, 14, each
    followed by 2x2 pooling; then 4096, 4096, 1000."""
    layers: list[Layer] = []
    c_in, size = 3, 224
    for stage, (channels, count) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))):
        for i in range(count):
            layers.append(_conv(f"conv{stage + 1}_{i + 1}", size, 3, c_in, channels, batch))
            c_in = channels
        size //= 2
    layers += [
        Gemm("fc6", batch, 7 * 7 * 512, 4096),
        Gemm("fc7", batch, 4096, 4096),
        Gemm("fc8", batch, 4096, 1000),
    ]
    return layers


def _resnet_stem(batch: int) -> list[Layer]:
    return [_conv("conv1", 224, 7, 3, 64, batch, stride=2)]  # -> 112, 3x3/2 pool -> 56


def resnet18(batch: int = 1) -> list[Layer]:
    """ResNet-18: K. He, X. Zhang, S. Ren and J. Sun, "Deep residual learning for image
    recognition", CVPR 2016, Table 1. A 7x7/2 stem and pooling to 56x56, then four stages of
    two basic blocks (two 3x3 convolutions) with 64, 128, 256, 512 channels; the first block of
    stages 2-4 strides by 2 and has a 1x1/2 projection shortcut; then 1000 outputs."""
    layers = _resnet_stem(batch)
    c_in, size = 64, 56
    for stage, channels in enumerate((64, 128, 256, 512), start=2):
        for block in range(2):
            stride = 2 if block == 0 and stage > 2 else 1
            name = f"conv{stage}_{block + 1}"
            layers.append(_conv(f"{name}a", size, 3, c_in, channels, batch, stride=stride))
            out = _out(size, 3, stride, 1)
            layers.append(_conv(f"{name}b", out, 3, channels, channels, batch))
            if stride == 2:
                layers.append(_conv(f"{name}s", size, 1, c_in, channels, batch, stride=2))
            c_in, size = channels, out
    layers.append(Gemm("fc", batch, 512, 1000))
    return layers


def resnet50(batch: int = 1) -> list[Layer]:
    """ResNet-50: K. He et al., CVPR 2016 (above), Table 1. A 7x7/2 stem and pooling to 56x56,
    then 3, 4, 6, 3 bottleneck blocks (1x1 reduce, 3x3, 1x1 expand to 4x) of 64, 128, 256, 512
    channels; as in the paper, the first 1x1 of stages 3-5 strides by 2, and the first block of
    every stage has a 1x1 projection shortcut; then 1000 outputs."""
    layers = _resnet_stem(batch)
    c_in, size = 64, 56
    for stage, (width, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), start=2):
        for block in range(blocks):
            stride = 2 if block == 0 and stage > 2 else 1
            name = f"conv{stage}_{block + 1}"
            out = _out(size, 1, stride, 0)
            layers.append(_conv(f"{name}a", size, 1, c_in, width, batch, stride=stride))
            layers.append(_conv(f"{name}b", out, 3, width, width, batch))
            layers.append(_conv(f"{name}c", out, 1, width, 4 * width, batch))
            if block == 0:
                layers.append(_conv(f"{name}s", size, 1, c_in, 4 * width, batch, stride=stride))
            c_in, size = 4 * width, out
    layers.append(Gemm("fc", batch, 2048, 1000))
    return layers


def mobilenet_v1(batch: int = 1) -> list[Layer]:
    """MobileNet-v1 (width 1.0, 224x224): A. G. Howard et al., "MobileNets: efficient
    convolutional neural networks for mobile vision applications", arXiv:1704.04861, Table 1.
    A 3x3/2 convolution to 32 channels, then 13 depthwise separable blocks (a 3x3 depthwise
    convolution, then a 1x1 pointwise one) to 64, 128, 128, 256, 256, 512 (x6), 1024, 1024
    channels, striding by 2 at the 2nd, 4th, 6th and 12th; then 1000 outputs. (Table 1 gives
    the last depthwise stride as 2, but the feature map stays 7x7: it is 1 here.)"""
    layers: list[Layer] = [_conv("conv1", 224, 3, 3, 32, batch, stride=2)]
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5
    plan += [(1024, 2), (1024, 1)]
    c_in, size = 32, 112
    for i, (channels, stride) in enumerate(plan, start=2):
        layers.append(_conv(f"conv{i}_dw", size, 3, c_in, c_in, batch, stride, depthwise=True))
        size = _out(size, 3, stride, 1)
        layers.append(_conv(f"conv{i}_pw", size, 1, c_in, channels, batch))
        c_in = channels
    layers.append(Gemm("fc", batch, 1024, 1000))
    return layers


def bert_base_layer(batch: int = 1, sequence: int = 128) -> list[Layer]:
    """One BERT-base encoder layer: J. Devlin, M.-W. Chang, K. Lee and K. Toutanova, "BERT:
    pre-training of deep bidirectional transformers for language understanding", NAACL 2019
    (hidden 768, 12 heads of 64, feed-forward 3072), as in A. Vaswani et al., "Attention is
    all you need", NIPS 2017. Per sequence of ``sequence`` tokens: the Q, K and V projections,
    for every head the scores ``Q K^T`` and the context ``softmax(.) V``, the output projection
    and the two feed-forward GEMMs. Heads and sequences of the batch are separate GEMMs."""
    tokens, hidden, heads, head = batch * sequence, 768, 12, 64
    layers: list[Layer] = [Gemm(f"{p}_proj", tokens, hidden, hidden) for p in ("q", "k", "v")]
    for b in range(batch):
        for h in range(heads):
            layers.append(Gemm(f"scores_b{b}_h{h}", sequence, head, sequence))
    for b in range(batch):
        for h in range(heads):
            layers.append(Gemm(f"context_b{b}_h{h}", sequence, sequence, head))
    layers += [
        Gemm("out_proj", tokens, hidden, hidden),
        Gemm("ffn1", tokens, hidden, 3072),
        Gemm("ffn2", tokens, 3072, hidden),
    ]
    return layers
