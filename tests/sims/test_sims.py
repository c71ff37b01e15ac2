"""The sims scripts run end to end on small settings and write their CSV and PNG."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

SIMS = Path(__file__).resolve().parents[2] / "sims"

RUNS = [
    ("compare_dataflows.py", ["--mlp", "12,5,3", "--batch", "4", "--sizes", "4x4,2x3"],
     "compare_dataflows", 5 * 3 * 2),
    ("array_size_sweep.py", ["--mlp", "12,5,3", "--sides", "2,4"], "array_size_sweep", 2 * 3),
    ("batch_size_sweep.py", ["--mlp", "12,5,3", "--size", "4x4", "--batches", "1,8"],
     "batch_size_sweep", 2 * 3),
]  # fmt: skip


@pytest.mark.parametrize("script, args, stem, records", RUNS)
def test_script_writes_csv_and_png(tmp_path, script, args, stem, records):
    run = subprocess.run(
        [sys.executable, str(SIMS / script), *args, "--out", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    with open(tmp_path / f"{stem}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == records
    assert all(0 < float(row["utilization"]) <= 1 for row in rows)
    assert (tmp_path / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"


def test_roofline_script_writes_csv_and_png(tmp_path):
    run = subprocess.run(
        [sys.executable, str(SIMS / "roofline.py"), "--preset", "teaching", "--out", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "fc16x16 batch 1 " in run.stdout
    assert (tmp_path / "roofline.png").read_bytes()[:4] == b"\x89PNG"


def test_number_formats_script_trains_each_format(tmp_path):
    run = subprocess.run(
        [sys.executable, str(SIMS / "number_formats.py"), "--train-limit", "100", "--epochs",
         "1", "--rows", "8", "--cols", "8", "--out", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "number_formats.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["variant"] for row in rows] == ["fp32", "bf16", "fp16"]
    assert all(0 <= float(row["test_accuracy"]) <= 1 for row in rows)


@pytest.mark.parametrize("values", [False, True])
def test_networks_script_writes_totals_per_network(tmp_path, values):
    args = ["--networks", "lenet5,alexnet", "--sizes", "4x4,8x8", "--dataflows", "ws,os"]
    if values:
        args = ["--networks", "lenet5", "--sizes", "4x4", "--dataflows", "ws,os", "--values"]
    run = subprocess.run([sys.executable, str(SIMS / "networks.py"), *args, "--out",
                          str(tmp_path)], capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "networks.csv") as handle:
        totals = list(csv.DictReader(handle))
    networks = 1 if values else 2
    sizes = 1 if values else 2
    assert len(totals) == networks * sizes * 2
    with open(tmp_path / "networks_layers.csv") as handle:
        layers = list(csv.DictReader(handle))
    lenet = [r for r in layers if r["layer"] in {"c1", "c3", "c5", "f6", "output"}]
    first = totals[0]
    assert first["network"] == "lenet5"
    chosen = [r for r in lenet if (r["dataflow"], r["rows"]) == (first["dataflow"], first["rows"])]
    assert int(first["total_cycles"]) == sum(int(r["total_cycles"]) for r in chosen)
    assert (tmp_path / "networks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tpu_v1_apps_script_writes_csv_json_png_and_the_sensitivity(tmp_path):
    run = subprocess.run(
        [sys.executable, str(SIMS / "tpu_v1_apps.py"), "--out", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "tpu_v1_apps.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["app"] for row in rows] == ["MLP0", "MLP1", "LSTM0", "LSTM1", "CNN0", "CNN1"]
    assert (tmp_path / "tpu_v1_apps.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "tpu_v1_apps.json").exists()
    assert "edge tiles read partially" in run.stdout


def test_energy_dataflows_script_writes_csv_and_png(tmp_path):
    run = subprocess.run(
        [sys.executable, str(SIMS / "energy_dataflows.py"), "--size", "8x8",
         "--out", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "energy_dataflows.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 3 * 3  # two workloads, three dataflows, three formats
    for row in rows:
        parts = sum(float(row[k]) for k in row if k.endswith("_energy_pj"))
        assert parts == pytest.approx(float(row["energy_pj"]))
    assert (tmp_path / "energy_dataflows.png").read_bytes()[:4] == b"\x89PNG"
