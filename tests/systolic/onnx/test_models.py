"""The bundled small models (a CNN, a transformer encoder block) on the machine, equal to ONNX's
reference runtime within each format's bound."""

import numpy as np
import onnx
import pytest

from systolic.machine.config import machine
from systolic.onnx.graph import run_graph
from systolic.onnx.models import small_cnn, transformer_block
from systolic.onnx.run import compare, reference_outputs


@pytest.mark.parametrize("build", [small_cnn, transformer_block])
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_the_small_models_are_within_their_formats_bound(build, dtype):
    model = build()
    onnx.checker.check_model(model)
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    inputs = {"x": np.random.default_rng(1).standard_normal(shape).astype(np.float32)}
    run = run_graph(model, inputs, machine("tpu_v5e", dtype))
    (check,) = compare(run.outputs, reference_outputs(model, inputs), dtype)
    assert check["within_bound"], check
    if dtype == "fp32":
        assert check["max_abs_error"] < 1e-5
    units = {node["unit"] for node in run.nodes}
    assert units == {"mxu", "vpu", "dma"}
    assert run.total_cycles >= max(run.schedule.unit_cycles.values())


def test_the_transformer_blocks_attention_runs_per_head_on_the_mxus():
    model = transformer_block(seq=16, d_model=64, heads=4)
    inputs = {"x": np.zeros((16, 64), dtype=np.float32)}
    run = run_graph(model, inputs, machine("tpu_v5e", "fp32"))
    qk = next(node for node in run.nodes if node["name"] == "qk")
    assert qk["unit"] == "mxu" and qk["macs"] == 4 * 16 * 16 * 16  # 4 heads of (16, 16, 16)
    softmax = next(node for node in run.nodes if node["name"] == "softmax")
    assert softmax["unit"] == "vpu" and softmax["cycles"] > 0
