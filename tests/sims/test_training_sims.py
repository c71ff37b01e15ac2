"""The training comparisons run end to end on tiny settings and write their CSV and PNGs."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

SIMS = Path(__file__).resolve().parents[2] / "sims"
TINY = ["--train-limit", "200", "--epochs", "1", "--rows", "8", "--cols", "8"]
PNG = b"\x89PNG\r\n\x1a\n"

# script, extra options, variants, settings columns expected in the CSV
RUNS = {
    "cost_functions": ([], ["quadratic", "cross-entropy", "log-likelihood"], ["cost"]),
    "weight_init": (["--inits", "scaled,he"], ["scaled", "he"], ["init"]),
    "activations": ([], ["sigmoid", "tanh", "relu"], ["activation", "eta"]),
    "momentum": (["--mus", "0.5"], ["sgd", "momentum 0.5"], ["optimizer", "mu"]),
    "dropout": (["--keeps", "0.5"], ["no dropout", "keep 0.5"], ["keep"]),
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """Run the four scripts at once (each mostly waits on start-up and evaluation)."""
    started = {}
    for name, (extra, _, _) in RUNS.items():
        out = tmp_path_factory.mktemp(name)
        command = [sys.executable, str(SIMS / f"{name}.py"), *TINY, *extra, "--out", str(out)]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        started[name] = (out, process)
    finished = {}
    for name, (out, process) in started.items():
        stdout, stderr = process.communicate(timeout=120)
        finished[name] = (
            out,
            subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr),
        )
    return finished


@pytest.mark.parametrize("name", list(RUNS))
def test_script_writes_one_row_per_variant_and_epoch(outputs, name):
    out, result = outputs[name]
    assert result.returncode == 0, result.stderr
    _, variants, columns = RUNS[name]
    with open(out / f"{name}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["variant"], r["epoch"]) for r in rows] == [(v, "1") for v in variants]
    assert list(rows[0])[-len(columns) :] == columns
    for row in rows:
        assert 0 <= float(row["val_accuracy"]) <= 1
        assert 0 <= float(row["test_accuracy"]) <= 1
        assert int(row["total_cycles"]) > 0
        assert 0 < float(row["utilization"]) <= 1
    assert (out / f"{name}.png").read_bytes()[:8] == PNG
    for variant in variants:
        assert variant in result.stdout


def test_activations_writes_the_function_plot_and_each_eta(outputs):
    out, result = outputs["activations"]
    assert result.returncode == 0, result.stderr
    assert (out / "activation_functions.png").read_bytes()[:8] == PNG
    with open(out / "activations.csv", newline="") as handle:
        etas = {row["variant"]: float(row["eta"]) for row in csv.DictReader(handle)}
    assert etas == {"sigmoid": 0.5, "tanh": 0.1, "relu": 0.1}


def test_bad_option_is_refused_with_the_value(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SIMS / "momentum.py"), "--mus", "1.5", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "1.5" in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "worse, better",
    [({"cost": "quadratic"}, {"cost": "cross-entropy"}), ({"init": "large"}, {"init": "scaled"})],
    ids=["cross-entropy beats quadratic", "scaled init beats large"],
)
def test_the_readmes_lessons_hold_on_a_small_subset(worse, better):
    # one epoch on 3,000 images, NumPy matmuls (equal to the array's within 1e-3, tested in
    # tests/systolic/test_training.py); the gap is tens of points, far beyond seed noise
    import dataclasses

    from systolic.training import Settings, run

    base = Settings(sizes=(784, 30, 10), epochs=1, train_limit=3000)
    low = run(dataclasses.replace(base, **worse), None).history[-1].test_accuracy
    high = run(dataclasses.replace(base, **better), None).history[-1].test_accuracy
    assert high > low + 0.05


@pytest.mark.parametrize("name, extra", [("momentum", ["--mus", "0.9"]),
                                         ("dropout", ["--keeps", "0.5"])])  # fmt: skip
def test_a_comparison_on_a_machine_prices_each_variants_step(tmp_path, name, extra):
    command = [sys.executable, str(SIMS / f"{name}.py"), "--train-limit", "200", "--epochs",
               "1", "--machine", "tpu_v5e", "--target-accuracy", "0.2", *extra, "--out",
               str(tmp_path)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with open(tmp_path / f"{name}.csv", newline="") as handle:
        rows = {row["variant"]: row for row in csv.DictReader(handle)}
    plain, trick = rows.values()
    # the velocity's loads and stores, the masks' draws: the trick's step costs more
    assert int(trick["step_cycles"]) > int(plain["step_cycles"])
    assert float(trick["step_energy_j"]) > float(plain["step_energy_j"])
    assert (tmp_path / f"{name}.png").read_bytes()[:8] == PNG
    assert "on tpu_v5e" in result.stdout and "to 20%" in result.stdout
