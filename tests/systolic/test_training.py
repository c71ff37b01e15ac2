"""Training on the simulated array next to the NumPy reference."""

import pytest

from systolic import training
from systolic.config import ArrayConfig
from systolic.training import Settings, max_weight_difference, run

SMALL = Settings(sizes=(784, 12, 10), epochs=2, train_limit=300, batch=10, eta=0.5)


def test_fp64_array_run_matches_numpy_to_rounding():
    simulated = run(SMALL, ArrayConfig(16, 16, dtype="fp64"))
    reference = run(SMALL, None)
    assert max_weight_difference(simulated, reference) < 1e-9
    for ours, theirs in zip(simulated.history, reference.history, strict=True):
        assert ours.val_accuracy == theirs.val_accuracy
        assert ours.test_accuracy == theirs.test_accuracy


def test_fp32_array_run_stays_within_the_documented_tolerance():
    simulated = run(SMALL, ArrayConfig(8, 8))
    reference = run(SMALL, None)
    assert 0 < max_weight_difference(simulated, reference) < 1e-3
    for ours, theirs in zip(simulated.history, reference.history, strict=True):
        assert abs(ours.test_accuracy - theirs.test_accuracy) <= 0.005


def test_cycles_per_phase_are_counted_every_epoch():
    settings = Settings(sizes=(784, 6, 10), epochs=1, train_limit=20, batch=10)
    simulated = run(settings, ArrayConfig(8, 8))
    (phases,) = simulated.reports
    assert set(phases) == {"forward", "backward", "gradient", "inference"}
    collected = simulated.history[0].collected
    assert collected["total_cycles"] == sum(r.total_cycles for r in phases.values())
    # 2 mini-batches: each runs 2 forward, 2 gradient and 1 backward matmul; the forward MACs
    # are batch x (784*6 + 6*10), the same as the gradient MACs
    assert phases["forward"].macs == 2 * 10 * (784 * 6 + 6 * 10)
    assert phases["gradient"].macs == phases["forward"].macs
    assert phases["backward"].macs == 2 * 10 * 10 * 6
    # evaluation: 10,000 validation and 10,000 test images through both layers
    assert phases["inference"].macs == 20_000 * (784 * 6 + 6 * 10)


def test_sizes_must_fit_mnist():
    with pytest.raises(ValueError, match="sizes 100,30,10 do not fit MNIST: the first must be 784"):
        run(Settings(sizes=(100, 30, 10), train_limit=10), None)
    with pytest.raises(ValueError, match="the last 10"):
        run(Settings(sizes=(784, 30, 3), train_limit=10), None)


def test_sizes_too_large_for_memory_are_refused_before_a_network_is_made(monkeypatch):
    import nn.network

    monkeypatch.setattr(nn.network, "Network", lambda *a, **k: pytest.fail("network made"))
    settings = training.Settings(sizes=(784, 10**8, 10), train_limit=10, epochs=1)
    with pytest.raises(ValueError, match=r"training a 784,100000000,10 network would need "
                       r"\d+\.\d TiB, more than the memory limit"):  # fmt: skip
        training.run(settings, None)


def test_training_bytes_counts_parameters_and_activations_by_hand():
    # 784-30-10: (785 * 30 + 31 * 10) = 23,860 parameters, 4 copies of 8 bytes;
    # activations of (10 + 100) samples x 824 units, z and a, 8 bytes each
    assert training.training_bytes((784, 30, 10), 10, 100) == 8 * (4 * 23_860 + 2 * 110 * 824)


def test_chance_accuracy_is_a_collapse():
    assert training.collapsed(0.11, 10) and training.collapsed(0.12, 10)
    assert not training.collapsed(0.13, 10) and not training.collapsed(0.95, 10)


def test_the_cli_warns_when_a_run_collapses(monkeypatch, capsys):
    from systolic.cli import main

    monkeypatch.setattr(training, "collapsed", lambda accuracy, classes: True)
    argv = ["train", "--train-limit", "20", "--epochs", "1", "--rows", "4", "--cols", "4",
            "--no-reference", "--sizes", "784,10"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "systolic: warning: test accuracy" in err and "is chance level" in err
