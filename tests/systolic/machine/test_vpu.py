"""The VPU: values equal NumPy's float32, cycles counted by hand."""

import math

import numpy as np
import pytest

from systolic.machine.config import MachineConfig, VPUConfig, tpu_v4, tpu_v5e
from systolic.machine.vpu import VPU, elementwise_cost, reduction_cost, vector_registers


def slow_vpu(cores=1, vmem=1e9):
    """A machine whose VPU classes cost 1, 3 and 5 cycles (so every count says which ran)."""
    return MachineConfig(
        "test", cores=cores, mxus=1, mxu_rows=4, mxu_cols=4, clock_mhz=1000.0,
        vmem_bytes=2**20, vmem_bytes_per_cycle=vmem, hbm_bytes=2**30, hbm_bytes_per_second=1e9,
        vpu=VPUConfig(add_cycles=1, divide_cycles=3, transcendental_cycles=5),
    )  # fmt: skip


def test_registers_pad_the_last_two_dimensions_to_8_by_128():
    assert vector_registers((8, 128), 8, 128) == 1
    assert vector_registers((9, 128), 8, 128) == 2
    assert vector_registers((8, 129), 8, 128) == 2
    assert vector_registers((10, 30), 8, 128) == 2
    assert vector_registers((3, 10, 30), 8, 128) == 6  # leading dimensions multiply
    assert vector_registers((784,), 8, 128) == 7  # one row of 784: 7 lane tiles
    assert vector_registers((), 8, 128) == 1


def test_an_elementwise_op_costs_its_classes_per_register_by_hand():
    config = slow_vpu()
    # (10, 30): 2 registers. sigmoid: 2 adds (negate, +1), 1 divide, 1 exp per element:
    # per register 2 * 1 + 3 + 5 = 10 cycles, 20 in all
    values, cost = VPU(config).run("sigmoid", np.linspace(-3, 3, 300).reshape(10, 30))
    assert cost.cycles == 20
    assert dict(cost.steps_by_class) == {"add": 4, "divide": 2, "transcendental": 2}
    assert dict(cost.element_ops) == {"add": 600, "divide": 300, "transcendental": 300}
    assert cost.vmem_bytes == 4 * 300 * 2  # one input, one output, float32
    z = np.linspace(-3, 3, 300, dtype=np.float32).reshape(10, 30)
    assert values.dtype == np.float32
    assert np.array_equal(values, np.float32(1) / (np.float32(1) + np.exp(-z)))


def test_the_cores_share_the_steps():
    # 3 registers of adds on 2 cores: ceil(3 / 2) = 2 cycles
    assert elementwise_cost(slow_vpu(cores=2), (24, 128), {"add": 1}, 2).cycles == 2
    assert elementwise_cost(slow_vpu(cores=1), (24, 128), {"add": 1}, 2).cycles == 3


def test_an_op_is_never_faster_than_vmem_delivers_its_bytes():
    # an add of two (8, 128) inputs moves 3 x 4 KiB; at 1 KiB per cycle that is 12 cycles
    assert elementwise_cost(slow_vpu(vmem=1024), (8, 128), {"add": 1}, 2).cycles == 12


def test_reductions_by_hand():
    config = slow_vpu()
    # rows of (10, 300): 2 row groups, 3 lane tiles: 2 x 2 register combines, then a
    # 7-level lane tree (log2 128) per group: 4 + 14 = 18 adds
    assert reduction_cost(config, (10, 300), axis=1).cycles == 18
    # columns of (10, 30): 1 lane tile, 2 row groups: 1 combine, then a 3-level sublane tree
    assert reduction_cost(config, (10, 30), axis=0).cycles == 4
    # argmax: 3 add-class operations per combining step
    assert reduction_cost(config, (10, 30), axis=1, ops=3).cycles == 3 * 2 * 5
    # a single column needs no combining step; reading and writing it in VMEM takes a cycle
    one = reduction_cost(config, (1, 1), axis=1)
    assert dict(one.steps_by_class)["add"] == 0 and one.cycles == 1


def test_reductions_compute_numpys_values_in_float32():
    vpu = VPU(tpu_v5e())
    x = np.random.default_rng(0).normal(size=(13, 40))
    total, _ = vpu.reduce("sum", x, 0)
    assert total.dtype == np.float32
    assert np.array_equal(total, np.sum(x.astype(np.float32), axis=0))
    labels, cost = vpu.reduce("argmax", x, 1)
    assert np.array_equal(labels, np.argmax(x, axis=1))
    assert cost.cycles == 2 * 3 * math.ceil(math.log2(40))  # 2 row groups, 6 levels, 3 ops
    with pytest.raises(ValueError, match="unknown reduction 'mean'"):
        vpu.reduce("mean", x, 0)


def test_transcendental_ops_cost_more_than_a_compare_on_the_presets():
    # sigmoid's exponential against relu's compare: the lesson of the activations
    shape = (10, 30)
    relu = VPU(tpu_v4()).run("relu", np.ones(shape))[1]
    sigmoid = VPU(tpu_v4()).run("sigmoid", np.ones(shape))[1]
    tanh = VPU(tpu_v4()).run("tanh", np.ones(shape))[1]
    assert relu.cycles < tanh.cycles < sigmoid.cycles


@pytest.mark.parametrize("regularised", [False, True])
@pytest.mark.parametrize("momentum", [False, True])
def test_the_compiled_update_is_numpys_float32_update_bit_for_bit(regularised, momentum):
    from systolic.machine.vpu import optimizer_step

    rng = np.random.default_rng(5)
    param = rng.normal(size=(40, 30))  # float64, as the trainer keeps them
    velocity = rng.normal(size=(40, 30)) if momentum else np.zeros(0)
    grad = rng.normal(size=(40, 30)).astype(np.float32) * np.float32(1e-3)
    eta, mu, decay = np.float32(0.5), np.float32(0.9), np.float32(5e-5)
    p32, g32 = param.astype(np.float32), grad
    step = (g32 + p32 * decay) * eta if regularised else g32 * eta
    if momentum:
        v = velocity.astype(np.float32) * mu - step
        expected_p, expected_v = p32 + v, v
    else:
        expected_p = p32 - step
    optimizer_step(param, grad, velocity, eta, mu, decay, regularised, momentum)
    assert np.array_equal(param, expected_p.astype(np.float64))
    if momentum:
        assert np.array_equal(velocity, expected_v.astype(np.float64))
