"""Bombs through ONNX models and the command line: external data larger than its tensor,
``.npy`` inputs claiming terabytes, model files that inflate without end; each refused in one
line naming the file, having read no more than :data:`BOUND`, and by the command line with
exit status 2."""

import struct
import zipfile

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.external_data_helper import set_external_data

from systolic.cli import main
from systolic.networks.onnx_model import load_onnx
from systolic.onnx.run import load_model
from systolic.workloads import WorkloadError
from tests.nn.test_bombs import refusal
from tests.systolic.onnx.test_graph import mlp_model

MiB = 2**20
#: the most a refusal may hold in memory at its peak; every external file here is larger
BOUND = 8 * MiB
#: the size of each file that claims little
HUGE = 256 * MiB


@pytest.fixture(autouse=True)
def memory_limit(monkeypatch):
    # the same limit on every machine: above what a bomb here holds, so only its own check stops it
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", "1G")


def external(tensor, location, length=None):
    """Move ``tensor``'s data out of the model, to ``location``."""
    set_external_data(tensor, location=location, length=length)
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")


def sparse(path, head, size):
    """``head``, then zeros to ``size`` bytes, that take no disk."""
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(size)


def weights_model(tmp_path, size, length=None):
    """The MLP with its weights ``w`` (8 x 5 float32, 160 bytes) in ``w.bin`` of ``size`` bytes."""
    model = mlp_model()
    weights = model.graph.initializer[0]
    sparse(tmp_path / "w.bin", weights.raw_data, size)
    external(weights, "w.bin", length)
    path = tmp_path / "bomb.onnx"
    onnx.save(model, str(path))
    return path


def constant_model(tmp_path):
    """The MLP with its weights in ``w.bin`` (160 bytes, as they need), and a Constant node of
    4 floats whose data is ``big.bin``, :data:`HUGE` bytes."""
    path = weights_model(tmp_path, 160)
    model = onnx.load(str(path), load_external_data=False)
    value = helper.make_tensor("four", TensorProto.FLOAT, [4], bytes(16), raw=True)
    sparse(tmp_path / "big.bin", b"", HUGE)
    external(value, "big.bin")
    model.graph.node.append(helper.make_node("Constant", [], ["unused"], name="c", value=value))
    onnx.save(model, str(path))
    return path


NEEDS = r"holds 268,435,456 bytes, more than its shape \[8, 5\] needs \(160\); refused"


@pytest.mark.parametrize("length", [None, HUGE], ids=["to-the-end", "length"])
def test_external_data_larger_than_its_tensor_is_refused_unread(tmp_path, length):
    path = weights_model(tmp_path, HUGE, length)
    message = f"tensor 'w': external data w.bin {NEEDS}"
    assert refusal(load_model, path, ValueError, message) < BOUND


def test_external_data_of_a_node_attribute_is_checked_too(tmp_path):
    path = constant_model(tmp_path)
    message = r"tensor 'four': external data big.bin holds 268,435,456 bytes, more than its shape"
    assert refusal(load_model, path, ValueError, message) < BOUND


def test_external_data_of_the_right_size_is_read(tmp_path):
    path = weights_model(tmp_path, 160)
    model = load_model(path)
    assert np.array_equal(onnx.numpy_helper.to_array(model.graph.initializer[0]),
                          onnx.numpy_helper.to_array(mlp_model().graph.initializer[0]))  # fmt: skip


def test_external_data_is_checked_when_read_as_a_workload(tmp_path):
    path = weights_model(tmp_path, HUGE)
    assert refusal(load_onnx, path, WorkloadError, NEEDS) < BOUND
    assert [layer.name for layer in load_onnx(weights_model(tmp_path, 160))] == ["fc"]


def _npy_claiming(path, shape):
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': %r, }" % (shape,)
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(64))


def _bzip2_model(path):
    # a model file whose first member is 32 MiB of zeros in about 100 bytes of bzip2
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as archive:
        archive.writestr("format_version.npy", bytes(32 * MiB))
    assert path.stat().st_size < 1000  # the bomb is tiny


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "{tmp}/bomb.onnx"], "bomb.onnx: tensor 'w': external data w.bin holds"),
        (
            ["run", "{tmp}/m.onnx", "--input", "x={tmp}/x.npy"],
            "--input x: {tmp}/x.npy would need 3.6 TiB, more than the memory limit of 1.0 GiB",
        ),
        (
            ["infer", "{tmp}/model.npz"],
            "model.npz: not a model file (member "
            "'format_version.npy' is compressed with method 12; an npz's members are stored or",
        ),
    ],
    ids=["run-external", "run-input", "infer-model"],
)
def test_the_command_line_refuses_a_bomb_in_one_line(tmp_path, capsys, argv, message):
    weights_model(tmp_path, HUGE)
    onnx.save(mlp_model(), str(tmp_path / "m.onnx"))
    _npy_claiming(tmp_path / "x.npy", (10**12,))
    _bzip2_model(tmp_path / "model.npz")
    out = tmp_path / "out"
    argv = [part.format(tmp=tmp_path) for part in argv]
    assert main([*argv, "--out", str(out)] if argv[0] == "run" else argv) == 2
    err = capsys.readouterr().err.strip()
    assert message.format(tmp=tmp_path) in err and "\n" not in err, err
    assert not out.exists()
