"""An ONNX graph on the machine: values against ONNX's reference runtime, cycles by hand,
unsupported ops refused before anything runs."""

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from systolic.machine.config import MachineConfig
from systolic.machine.mapping import gemm_mapping
from systolic.onnx import SystolicBackend
from systolic.onnx.graph import check_supported, run_graph


def small_machine():
    return MachineConfig(
        "small", cores=1, mxus=1, mxu_rows=4, mxu_cols=4, clock_mhz=1000.0, vmem_bytes=2**20,
        vmem_bytes_per_cycle=1e9, hbm_bytes=2**30, hbm_bytes_per_second=8e9, dtype="fp32",
    )  # fmt: skip


def mlp_model(batch=6, n_in=8, n_out=5, seed=0):
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.normal(size=(n_in, n_out)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(size=(n_out,)).astype(np.float32), "b")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
        helper.make_node("Add", ["h", "b"], ["z"], name="bias"),
        helper.make_node("Relu", ["z"], ["a"], name="relu"),
        helper.make_node("Reshape", ["a", "shape"], ["y"], name="flat"),
    ]
    shape = numpy_helper.from_array(np.array([-1], dtype=np.int64), "shape")
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, n_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch * n_out])], [w, b, shape],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_values_equal_the_reference_runtime():
    model = mlp_model()
    x = np.random.default_rng(1).normal(size=(6, 8)).astype(np.float32)
    ours = SystolicBackend.prepare(model, machine=small_machine()).run([x])[0]
    (reference,) = ReferenceEvaluator(model).run(None, {"x": x})
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-6)


def test_cycles_by_hand():
    config = small_machine()  # 8 bytes of HBM per cycle
    x = np.ones((6, 8), dtype=np.float32)
    run = run_graph(mlp_model(), {"x": x}, config)
    nodes = {node["name"]: node for node in run.nodes}
    assert nodes["fc"]["cycles"] == gemm_mapping(6, 8, 5, config).cycles
    assert nodes["fc"]["unit"] == "mxu" and nodes["fc"]["macs"] == 6 * 8 * 5
    assert nodes["bias"]["cycles"] == nodes["relu"]["cycles"] == 1  # one register, one op
    assert nodes["flat"]["unit"] == "dma"
    assert nodes["flat"]["cycles"] == math.ceil(2 * 30 * 4 / 8)  # read and written: 30 cycles
    # x (192 B, 24 cycles) and w (160 B, 20) load one after the other; the MXU waits for both;
    # b (20 B, 3) and the shape (8 B, 1) load during the MXU's work
    loads = 24 + 20
    store = math.ceil(30 * 4 / 8)
    chain = loads + nodes["fc"]["cycles"] + 1 + 1 + nodes["flat"]["cycles"] + store
    assert run.total_cycles == chain
    assert run.schedule.unit_cycles["dma"] == 24 + 20 + 3 + 1 + 30 + store


def test_an_unsupported_op_is_refused_before_anything_runs():
    model = mlp_model()
    model.graph.node.append(helper.make_node("TopK", ["y", "shape"], ["v", "i"], name="top"))
    with pytest.raises(ValueError, match=r"unsupported op 'TopK' in node 'top'; supported: Abs, "):
        check_supported(model)
    assert not SystolicBackend.is_compatible(model)
    assert SystolicBackend.is_compatible(mlp_model())


def test_a_convolution_with_dilations_groups_and_padding_is_the_references():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 4, 9, 8)).astype(np.float32)
    w = rng.normal(size=(6, 2, 3, 2)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], group=2, dilations=[2, 1],
                            strides=[1, 2], pads=[1, 0, 2, 1])  # fmt: skip
    ours = SystolicBackend.run_node(node, [x, w], machine="tpu_v4")[0]
    graph = helper.make_graph(
        [node], "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, w.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )  # fmt: skip
    (reference,) = ReferenceEvaluator(helper.make_model(graph)).run(None, {"x": x, "w": w})
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-5)


def test_the_mxus_format_is_the_machines():
    model = mlp_model()
    x = np.random.default_rng(3).normal(size=(6, 8)).astype(np.float32)
    fp32 = SystolicBackend.prepare(model, machine="tpu_v5e", dtype="fp32").run([x])[0]
    bf16 = SystolicBackend.prepare(model, machine="tpu_v5e", dtype="bf16").run([x])[0]
    assert not np.array_equal(fp32, bf16)  # the operands were rounded to bfloat16
    np.testing.assert_allclose(bf16, fp32, rtol=0.05, atol=0.05)
    assert onnx.checker.check_model(model) is None


def test_each_nodes_energy_prices_its_units():
    from systolic.energy import horowitz45

    table = horowitz45()
    run = run_graph(mlp_model(), {"x": np.ones((6, 8), dtype=np.float32)}, small_machine(), table)
    relu = next(node for node in run.nodes if node["name"] == "relu")
    # 30 compares on the VPU, reading and writing 30 float32 values in VMEM, no HBM bytes
    assert relu["energy_j"] == pytest.approx(
        (30 * table.vpu_pj_per_op["add"] + 2 * 30 * 4 * table.vmem_pj_per_byte) * 1e-12
    )
    flat = next(node for node in run.nodes if node["name"] == "flat")
    assert flat["energy_j"] == pytest.approx(flat["bytes"] * table.hbm_pj_per_byte * 1e-12)
    assert all(node["energy_j"] > 0 for node in run.nodes)


def test_int8_quantizes_float_gemms_and_stays_near_fp32():
    model = mlp_model(batch=16, n_in=64, n_out=20)
    x = np.random.default_rng(4).normal(size=(16, 64)).astype(np.float32)
    fp32 = SystolicBackend.prepare(model, machine="tpu_v5e", dtype="fp32").run([x])[0]
    int8 = SystolicBackend.prepare(model, machine="tpu_v5e", dtype="int8").run([x])[0]
    error = np.abs(int8 - fp32).max()
    assert 0 < error < np.abs(fp32).max() / 16
    with pytest.raises(ValueError, match="tpu_v2's MXUs have no int8 mode"):
        SystolicBackend.prepare(model, machine="tpu_v2", dtype="int8")
