"""Training on the simulated array next to the NumPy reference."""

import pytest

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
