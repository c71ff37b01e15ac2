"""The bundled networks against their papers' published sizes, and usable by name."""

import pytest

from systolic.networks import NETWORKS, network, weights
from systolic.workloads import ConvLayer, WorkloadError, load_workload

# (MACs, weights) as published: VGG-16 15.5 G and 138 M (Simonyan & Zisserman, Table 2 and
# sec. 3); ResNet-18 1.8 G and ResNet-50 3.8 G multiply-adds (He et al., Table 1), 11.7 M and
# 25.6 M parameters (with biases and batch norm); MobileNet-v1 569 M and 4.2 M (Howard et al.,
# Table 8); BERT-base: 12 layers of 4 * 768^2 + 2 * 768 * 3072 = 7.08 M weights each
PUBLISHED = {
    "vgg16": (15.5e9, 138e6, 0.01),
    "resnet18": (1.8e9, 11.7e6, 0.02),
    "resnet50": (3.8e9, 25.6e6, 0.02),
    "mobilenet_v1": (569e6, 4.2e6, 0.01),
}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_macs_and_weights_match_the_papers(name):
    macs, params, tolerance = PUBLISHED[name]
    layers = network(name)
    assert sum(layer.macs for layer in layers) == pytest.approx(macs, rel=tolerance)
    assert weights(layers) == pytest.approx(params, rel=tolerance)


def test_bert_base_layer_by_hand():
    layers = network("bert_base_layer", batch=2)
    assert weights(layers) == 4 * 768**2 + 2 * 768 * 3072
    sequence, tokens = 128, 2 * 128
    attention = 2 * 12 * 2 * sequence * 64 * sequence  # scores and context, per head and batch
    dense = tokens * (4 * 768 * 768 + 2 * 768 * 3072)
    assert sum(layer.macs for layer in layers) == attention + dense
    assert len(layers) == 3 + 2 * 2 * 12 + 3


def test_lenet5_by_hand():
    c1, c3, c5, f6, out = network("lenet5", batch=3)
    assert (c1.shape.out_h, c3.shape.out_h, c5.shape.out_h) == (28, 10, 1)
    assert c1.macs == 3 * 28 * 28 * 25 * 6 and f6.m == 3 and (out.k, out.n) == (84, 10)


def test_mobilenet_has_thirteen_depthwise_layers_and_ends_at_7x7():
    layers = network("mobilenet_v1")
    depthwise = [layer for layer in layers if isinstance(layer, ConvLayer) and layer.depthwise]
    assert len(depthwise) == 13 and all(layer.shape.groups == layer.channels for layer in depthwise)
    assert layers[-2].height == 7 and layers[-1].k == 1024


def test_names_work_where_files_do_and_unknown_names_list_the_valid_ones(tmp_path):
    assert load_workload("resnet18") == network("resnet18")
    with pytest.raises(WorkloadError, match=r"resnet19: no such file, and not a bundled network "
                       r"\(lenet5, alexnet, .*\)"):  # fmt: skip
        load_workload("resnet19")
    with pytest.raises(WorkloadError, match="unknown network 'nope'; bundled: lenet5"):
        network("nope")
    with pytest.raises(WorkloadError, match="batch must be an integer from 1 to 4096"):
        network("lenet5", batch=0)
    assert set(NETWORKS) >= {"lenet5", "alexnet", "vgg16", "resnet18", "resnet50",
                             "mobilenet_v1", "bert_base_layer"}  # fmt: skip


def test_compare_and_workloads_commands(tmp_path, capsys):
    import json

    from systolic.cli import main

    assert main(["workloads", "--json"]) == 0
    listed = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed["resnet50"]["layers"] == 54 and listed["lenet5"]["macs"] == 416_520
    argv = ["compare", "--workload", "lenet5", "--batch", "2", "--sizes", "4x4", "--json",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 5 * 3 and all(r["max_abs_error"] < 1e-4 for r in records)
    assert {r["layer"] for r in records} == {"c1", "c3", "c5", "f6", "output"}
