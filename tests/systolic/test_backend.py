"""The training step on a TensorCore machine: values like NumPy's, MXU work like the bare
array's, bytes counted by hand, and the step's time bound by the unit that limits it."""

import numpy as np
import pytest

from nn.backend import NumpyBackend
from nn.network import Network
from nn.optim import Optimizer
from systolic import training
from systolic.api import SystolicMatmul
from systolic.backend import MachineBackend, check_fits
from systolic.config import ArrayConfig
from systolic.machine.config import MachineConfig, machine
from systolic.training import Settings


def small_machine(side=8, mxus=1, cores=1, hbm_bytes_per_second=1e12, dtype="fp32"):
    return MachineConfig(
        "small", cores=cores, mxus=mxus, mxu_rows=side, mxu_cols=side, clock_mhz=1000.0,
        vmem_bytes=2**24, vmem_bytes_per_cycle=16384, hbm_bytes=2**32,
        hbm_bytes_per_second=hbm_bytes_per_second, dtype=dtype,
    )  # fmt: skip


def one_step(backend, sizes, batch, optimizer="sgd", keep=1.0, activation="sigmoid",
             cost="cross-entropy", seed=0):  # fmt: skip
    """One training step of a fresh network on ``backend``; returns the network."""
    rng = np.random.default_rng(seed)
    net = Network(sizes, np.random.default_rng(seed), activation=activation, cost=cost,
                  backend=backend)  # fmt: skip
    x = rng.random((batch, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    params = net.weights + net.biases
    opt = Optimizer(params, [True] * net.layers + [False] * net.layers, optimizer, 0.5, 0.9,
                    0.0, 100)  # fmt: skip
    zs, activations, masks = net.forward(x, keep, np.random.default_rng(seed + 1))
    weight_grads, bias_grads = net.gradients(zs, activations, masks, y)
    net.backend.update(opt, weight_grads + bias_grads, False)
    net.backend.end_step("train")
    return net


def the_step(backend):
    ((timeline, counts, times, kind),) = backend.steps()
    assert (times, kind) == (1, "train")
    return timeline, counts


@pytest.mark.parametrize(
    "optimizer, keep, cost",
    [("sgd", 1.0, "cross-entropy"), ("momentum", 0.5, "quadratic"), ("sgd", 1.0, "log-likelihood")],
)
def test_every_backend_computes_the_same_step(optimizer, keep, cost):
    sizes = [20, 7, 5]
    reference = one_step(NumpyBackend(), sizes, 6, optimizer, keep, cost=cost)
    on_machine = one_step(MachineBackend(small_machine(side=4)), sizes, 6, optimizer, keep,
                          cost=cost)  # fmt: skip
    for ours, theirs in zip(on_machine.weights + on_machine.biases,
                            reference.weights + reference.biases, strict=True):  # fmt: skip
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)  # float32 rounding


def test_a_steps_mxu_work_alone_equals_the_bare_arrays_cycles_for_the_same_gemms():
    config = small_machine(side=8)  # one MXU: its work is the bare array's, one GEMM at a time
    backend = MachineBackend(config)
    one_step(backend, [30, 12, 10], 10)
    timeline, counts = the_step(backend)
    array = ArrayConfig(8, 8, weight_load="segmented", accumulator_rows=512)
    bare = SystolicMatmul(array, compare=False, keep_calls=True)
    one_step(NumpyBackend(bare), [30, 12, 10], 10)
    # the MXU is busy with each GEMM until its last row is in; its sums drain (r + c - 2
    # cycles) while the next GEMM's folds run
    gemms = len(bare.calls)
    assert gemms == 5  # forward 2, backward 1, gradients 2
    drains = gemms * (8 + 8 - 2)
    assert timeline.unit_cycles["mxu"] == bare.total().total_cycles - drains
    assert counts.macs == bare.total().macs


def test_a_steps_hbm_bytes_by_hand():
    backend = MachineBackend(small_machine(side=4))
    one_step(backend, [4, 3], 2)
    _, counts = the_step(backend)
    # forward: x (2x4), w (4x3), b (3) read; z and a (2x3 each) saved. Backward stage: a and
    # y (2x3) read back, x again for the gradient; the update reads w and b and writes them
    assert counts.hbm_read_bytes == 4 * (8 + 12 + 3 + 6 + 6 + 8 + 12 + 3)
    assert counts.hbm_write_bytes == 4 * (6 + 6 + 12 + 3)


@pytest.mark.parametrize("name", ["tpu_v4", "tpu_v5e", "tpu_v5p", "tpu_v6e"])
def test_a_batch_1_step_is_hbm_bound(name):
    config = machine(name)
    backend = MachineBackend(config)
    one_step(backend, [1024, 2048, 2048, 10], 1, "momentum")
    timeline, counts = the_step(backend)
    moved = counts.hbm_read_bytes + counts.hbm_write_bytes
    assert timeline.bottleneck == "dma"
    assert timeline.total_cycles == pytest.approx(moved / config.hbm_bytes_per_cycle, rel=0.05)


def test_a_large_batch_step_of_wide_layers_approaches_the_mxus_peak():
    config = small_machine(side=8, mxus=4)
    backend = MachineBackend(config)
    one_step(backend, [256, 256, 256, 256], 512)
    timeline, counts = the_step(backend)
    assert timeline.bottleneck == "mxu"
    assert counts.macs / (config.pe_count * timeline.total_cycles) > 0.95


def test_overlap_makes_a_step_shorter_than_its_units_busy_cycles():
    # wide enough that the units' work, not the GEMMs' drains, sets the step's time
    backend = MachineBackend(machine("tpu_v5e"))
    one_step(backend, [784, 512, 10], 256)
    timeline, _ = the_step(backend)
    assert max(timeline.unit_cycles.values()) <= timeline.total_cycles
    assert timeline.total_cycles < sum(timeline.unit_cycles.values())


def test_the_classic_tricks_cost_what_they_do():
    def step_cost(**options):
        backend = MachineBackend(machine("tpu_v5e"))
        one_step(backend, [784, 30, 10], 10, **options)
        return the_step(backend)

    plain_time, plain = step_cost()
    _, momentum = step_cost(optimizer="momentum")
    _, dropout = step_cost(keep=0.5)
    _, relu = step_cost(activation="relu")
    # momentum reads and writes every velocity: 2 x 4 bytes per parameter more
    assert (momentum.hbm_read_bytes - plain.hbm_read_bytes) == 4 * (785 * 30 + 31 * 10)
    assert momentum.hbm_write_bytes - plain.hbm_write_bytes == 4 * (785 * 30 + 31 * 10)
    # dropout draws, applies and saves masks; relu's compare costs no exponential
    assert sum(dropout.vpu_element_ops.values()) > sum(plain.vpu_element_ops.values())
    assert relu.vpu_element_ops["transcendental"] < plain.vpu_element_ops["transcendental"]


def test_an_fp32_machine_trains_like_numpy_to_fp32_rounding():
    settings = Settings(sizes=(784, 12, 10), epochs=2, train_limit=300, batch=10, eta=0.5)
    simulated = training.run(settings, machine("tpu_v5e", "fp32"))
    reference = training.run(settings, None)
    assert 0 < training.max_weight_difference(simulated, reference) < 1e-3
    for ours, theirs in zip(simulated.history, reference.history, strict=True):
        assert abs(ours.test_accuracy - theirs.test_accuracy) <= 0.005
    # every epoch is priced: 30 steps and the evaluation of 20,000 images
    summary = simulated.history[0].collected
    assert summary["steps"] == 30
    assert sum(p["cycles"] for p in summary["phases"].values()) == summary["total_cycles"]
    assert summary["total_cycles"] == summary["train_cycles"] + summary["evaluation_cycles"]


def test_a_network_that_does_not_fit_hbm_is_refused_naming_by_how_much():
    message = (r"a 784,100000,100000,10 network at batch 10 needs [\d.]+ GiB of HBM .* more "
               r"than tpu_v5e's 16.0 GiB by [\d.]+ GiB")  # fmt: skip
    with pytest.raises(ValueError, match=message):
        check_fits(machine("tpu_v5e"), (784, 100_000, 100_000, 10), 10, 10_000)


def test_a_tile_that_does_not_fit_vmem_is_refused_naming_by_how_much():
    # the gradient's (784, 20000) @ (20000, 30) streams k = 20,000 samples through a k-strip
    with pytest.raises(ValueError, match=r"the \(784, 20,000\) @ \(20,000, 30\) GEMM's tile "
                       r"needs [\d.]+ MiB of VMEM, more than tpu_v2's 16.0 MiB by"):  # fmt: skip
        check_fits(machine("tpu_v2"), (784, 30, 10), 20_000, 10_000)


@pytest.mark.parametrize(
    "options",
    [{}, {"keep": 0.5, "optimizer": "momentum"}, {"cost": "log-likelihood", "activation": "relu"}],
)
def test_a_replayed_epoch_counts_what_recording_every_step_counts(options, monkeypatch):
    # 25 mini-batches of 10 and a last one of 5: two kinds of training step, each evaluation
    # pass of 10,000 images alike
    settings = Settings(sizes=(784, 12, 10), epochs=1, train_limit=255, batch=10, **options)
    config = machine("tpu_v4")
    replayed = training.run(settings, config)
    monkeypatch.setattr(training, "MachineBackend",
                        lambda config: MachineBackend(config, replay=False))  # fmt: skip
    recorded = training.run(settings, config)
    assert replayed.history[0].collected == recorded.history[0].collected
    assert replayed.history[0].collected["steps"] == 26
    assert training.max_weight_difference(replayed, recorded) == 0


def test_a_replayed_step_that_differs_from_its_recording_is_an_error():
    backend = MachineBackend(small_machine(side=4))
    backend.begin_step("train", 6)
    one_step(backend, [20, 7, 5], 6)  # recorded
    backend.begin_step("train", 6)  # same kind and size, another network: replayed, refused
    with pytest.raises(RuntimeError, match="made other calls than the one recorded"):
        one_step(backend, [20, 6, 5], 6)


def test_the_tpus_own_format_trains_within_half_a_point_of_fp32():
    # bf16 operands and fp32 sums in the MXUs against fp32 MXUs: 2 epochs on 10,000 images
    # (on all 50,000 the README's 95.01 % against 95.11 %)
    settings = Settings(sizes=(784, 30, 10), epochs=2, train_limit=10_000)
    bf16 = training.run(settings, machine("tpu_v5e", "bf16")).history[-1]
    fp32 = training.run(settings, machine("tpu_v5e", "fp32")).history[-1]
    assert bf16.test_accuracy != fp32.test_accuracy  # the formats differ...
    assert abs(bf16.test_accuracy - fp32.test_accuracy) <= 0.005  # ...by under half a point
