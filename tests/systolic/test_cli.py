"""The systolic command: output, JSON, and one-line errors."""

import json
import subprocess
import sys

import pytest

from systolic.cli import main


def run_json(capsys, *argv):
    assert main(["gemm", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_gemm_cycles_equal_the_serial_closed_form(capsys):
    record = run_json(capsys, "1000", "784", "30", "--rows", "32", "--cols", "32")
    folds = 25 * 1  # ceil(784 / 32) k-tiles, one n-tile
    assert record["folds"] == folds
    assert record["total_cycles"] == folds * (2 * 32 + 32 + 1000 - 2)
    assert record["within_error_bound"] is True and record["macs"] == 1000 * 784 * 30


def test_gemm_integer_operands_are_exact_and_reproducible(capsys):
    argv = "20 9 7 --rows 4 --cols 3 --operands int --weight-load double_buffered --seed 3"
    first, again = (run_json(capsys, *argv.split()) for _ in range(2))
    assert first["exact"] is True and first["weight_load"] == "double_buffered"
    drop = ("wall_s", "numpy_s", "warmup_s")
    assert {k: v for k, v in first.items() if k not in drop} == {
        k: v for k, v in again.items() if k not in drop
    }


def test_gemm_table_names_the_workload_and_the_check(capsys):
    assert main(["gemm", "6", "5", "4", "--rows", "2", "--cols", "2", "--engine", "golden"]) == 0
    out = capsys.readouterr().out
    assert "GEMM (6, 5) @ (5, 4), WS, fp32, serial weight loading, golden engine" in out
    assert "total cycles" in out and "within the fp32 rounding-error bound" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["gemm", "0", "3", "3"], "argument M: expected a positive integer, got 0"),
        (["gemm", "2", "x", "3"], "argument K: expected a positive integer, got 'x'"),
        (["gemm", "--rows", "-1"], "argument --rows: expected a positive integer, got -1"),
        (["gemm", "--weight-load", "lazy"], "argument --weight-load: invalid choice: 'lazy'"),
        (
            ["gemm", "4", "4", "4", "--max-cycles", "10"],
            "on 32x32 would take 98 cycles, more than max_cycles=10",
        ),
        (["gemm", "100000", "100000", "1"], "a would hold 10,000,000,000 elements"),
        (["bogus"], "invalid choice: 'bogus'"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(argv, message):
    run = subprocess.run([sys.executable, "-m", "systolic", *argv], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stdout == "" and len(run.stderr.splitlines()) == 1
    assert message in run.stderr and "Traceback" not in run.stderr


def test_compare_prints_tables_and_writes_csv_and_png(tmp_path, capsys):
    workload = tmp_path / "topology.csv"
    workload.write_text("Layer Name, M, N, K,\nfc1, 12, 5, 9,\nfc2, 4, 3, 5,\n")
    out = tmp_path / "results"
    argv = ["compare", "--workload", str(workload), "--sizes", "4x4,2x3", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert [line for line in text.splitlines() if line.startswith("dataflow")] == [
        "dataflow ws", "dataflow os", "dataflow is"
    ]  # fmt: skip
    assert (out / "compare.csv").read_text().count("\n") == 1 + 2 * 3 * 2
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_json_has_one_record_per_layer_dataflow_and_size(tmp_path, capsys):
    argv = ["compare", "--mlp", "20,6,3", "--batch", "4", "--sizes", "4x4",
            "--dataflows", "os,ws", "--out", str(tmp_path), "--json"]  # fmt: skip
    assert main(argv) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 2 * 5
    assert {(r["dataflow"], r["rows"], r["cols"]) for r in records} == {("os", 4, 4), ("ws", 4, 4)}
    forward = next(r for r in records if r["layer"] == "layer1.forward" and r["dataflow"] == "ws")
    assert (forward["m"], forward["k"], forward["n"]) == (4, 20, 6)
    # WS SCALE-Sim figure is ours minus one (see systolic.scalesim)
    assert forward["scalesim_cycles"] == forward["total_cycles"] - 1


@pytest.mark.parametrize(
    "content, message",
    [
        ("name,m,k,n\nfc1,4,0,3\n", "w.csv, line 2, field 'k': expected a positive integer"),
        ("name,m,k\nfc1,4,2\n", "w.csv, line 1: missing column 'n'"),
        ("name,m,k,n\nfc1,4,2.5,3\n", "w.csv, line 2, field 'k'"),
        ("", "w.csv: empty file"),
    ],
)
def test_compare_bad_workload_is_one_line_naming_file_line_and_field(tmp_path, content, message):
    (tmp_path / "w.csv").write_text(content)
    run = subprocess.run(
        [sys.executable, "-m", "systolic", "compare", "--workload", "w.csv", "--out", "r"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1
    assert message in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dataflows", "ws,xs"], "unknown dataflow 'xs'; valid: ws, os, is"),
        (["--sizes", "8x"], "bad array size '8x'"),
        (["--mlp", "784,a"], "bad --mlp '784,a'"),
        (["--mlp", "784"], "at least two"),
    ],
)
def test_compare_bad_options_are_one_line(tmp_path, argv, message):
    if "--mlp" not in argv:
        argv = [*argv, "--mlp", "8,4"]
    run = subprocess.run(
        [sys.executable, "-m", "systolic", "compare", *argv, "--out", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1
    assert message in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("dataflow", ["os", "is"])
def test_gemm_runs_every_dataflow(capsys, dataflow):
    record = run_json(capsys, "30", "20", "10", "--rows", "4", "--cols", "4", "--operands", "int",
                      "--dataflow", dataflow)  # fmt: skip
    assert record["dataflow"] == dataflow and record["exact"] is True
    assert record["macs"] == 30 * 20 * 10


def test_gemm_output_stationary_refuses_double_buffering():
    run = subprocess.run(
        [sys.executable, "-m", "systolic", "gemm", "--dataflow", "os", "--weight-load",
         "double_buffered"], capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1
    assert "no stationary tile to double-buffer" in run.stderr


def test_train_json_has_the_stable_fields_and_the_reference(tmp_path, capsys):
    argv = ["train", "--sizes", "784,8,10", "--train-limit", "100", "--epochs", "2",
            "--rows", "8", "--cols", "8", "--json", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    first, second = result["epochs"]
    for name in ("epoch", "train_cost", "val_accuracy", "test_accuracy", "total_cycles",
                 "utilization"):  # fmt: skip
        assert name in first
    assert (first["epoch"], second["epoch"]) == (1, 2)
    assert 0 <= first["test_accuracy"] <= 1 and first["total_cycles"] > 0
    assert set(first["reference"]) >= {"val_accuracy", "test_accuracy"}
    assert result["summary"]["reference"]["max_weight_difference"] < 1e-3
    saved = json.loads((tmp_path / "train.json").read_text())
    assert saved["epochs"][1]["total_cycles"] == second["total_cycles"]
    assert (tmp_path / "train.csv").read_text().count("\n") == 3


def test_train_priced_with_an_energy_table(capsys):
    argv = ["train", "--sizes", "784,8,10", "--train-limit", "30", "--epochs", "1",
            "--rows", "8", "--cols", "8", "--no-reference", "--energy", "horowitz45",
            "--json"]  # fmt: skip
    assert main(argv) == 0
    energy = json.loads(capsys.readouterr().out)["summary"]["energy"]
    assert energy["table"] == "horowitz45" and energy["power_w"] > 0
    parts = sum(v for k, v in energy.items() if k.endswith("_energy_pj"))
    assert parts == pytest.approx(energy["energy_pj"])
    # the phases (forward, backward, gradient, inference) add up to the run
    assert sum(energy["energy_pj_by_phase"].values()) == pytest.approx(energy["energy_pj"])
    assert main(argv[:-1]) == 0
    assert "energy (horowitz45)" in capsys.readouterr().out


def test_train_table_and_summary(capsys):
    argv = ["train", "--sizes", "784,8,10", "--train-limit", "50", "--epochs", "1",
            "--rows", "8", "--cols", "8", "--no-reference"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "epoch     cost  val acc test acc" in out
    assert "final accuracy" in out and "at 700 MHz" in out and "inference" in out
    assert "NumPy reference" not in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--cost", "hinge"], "argument --cost: invalid choice: 'hinge'"),
        (
            ["--activation", "gelu"],
            "invalid choice: 'gelu' (choose from 'sigmoid', 'tanh', 'relu')",
        ),
        (["--eta", "0"], "argument --eta: expected a finite number > 0, got 0"),
        (["--lmbda", "inf"], "argument --lmbda: expected a finite number >= 0, got inf"),
        (["--clock-mhz", "-5"], "argument --clock-mhz: expected a finite number > 0, got -5"),
        (["--clock-mhz", "0"], "argument --clock-mhz: expected a finite number > 0, got 0"),
        (["--seed", "-1"], "argument --seed: expected an integer >= 0, got -1"),
        (["--sizes", "a,b"], "bad --sizes 'a,b': expected layer sizes like 784,30,10"),
        (["--dropout", "0"], "argument --dropout: expected a number in (0, 1], got 0"),
        (["--dropout", "1.5"], "argument --dropout: expected a number in (0, 1], got 1.5"),
        (["--sizes", "100,10"], "sizes 100,10 do not fit MNIST"),
        (
            ["--eta", "1e300", "--activation", "relu", "--cost", "log-likelihood"],
            "became non-finite in epoch 1, mini-batch 2 of 4",
        ),
    ],
)
def test_train_bad_input_is_one_line(argv, message):
    run = subprocess.run(
        [sys.executable, "-m", "systolic", "train", "--train-limit", "40", "--epochs", "1",
         "--rows", "4", "--cols", "4", "--no-reference", *argv],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert message in run.stderr and "Traceback" not in run.stderr


def test_roofline_json_and_files(tmp_path, capsys):
    assert main(["roofline", "--preset", "teaching", "--json", "--out", str(tmp_path)]) == 0
    machine = json.loads(capsys.readouterr().out)
    records = machine["runs"]
    assert machine["dtype"] == "fp32" and machine["bandwidth_gb_s"] == pytest.approx(8 * 0.7)
    assert machine["ridge_ops_per_byte"] == pytest.approx(2 * 16 * 16 * 700e6 / (8 * 700e6))
    for name in ("name", "ops_per_weight_byte", "tops", "peak_tops", "total_cycles",
                 "weight_stall_cycles", "compute_cycles"):  # fmt: skip
        assert name in records[0]
    parts = ("compute_cycles", "weight_load_cycles", "weight_stall_cycles", "fill_drain_cycles")
    for r in records:
        assert sum(r[p] for p in parts) == r["total_cycles"]
        assert r["tops"] <= r["roofline_tops"] * (1 + 1e-9) <= r["peak_tops"] * (1 + 1e-9)
    fc256 = [r for r in records if r["name"].startswith("fc16x16")]
    assert fc256[-1]["tops"] > 20 * fc256[0]["tops"]  # larger batches climb the slope
    assert (tmp_path / "roofline.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "roofline.csv").read_text().count("\n") == len(records) + 1


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_gemm_half_formats_are_within_their_bound(capsys, dtype):
    record = run_json(capsys, "40", "300", "20", "--rows", "8", "--cols", "8", "--dtype", dtype)
    assert record["dtype"] == dtype and record["within_error_bound"] is True
    assert record["act_read_bytes"] == 40 * 300 * 3 * 2  # 2-byte operands, 3 n-tiles
    assert record["acc_read_bytes"] == 40 * 20 * 4  # float32 partial sums


def test_train_save_writes_a_model_that_loads_back(tmp_path, capsys):
    from nn.model import load_model

    path = tmp_path / "model.npz"
    argv = ["train", "--sizes", "784,8,10", "--train-limit", "50", "--epochs", "1",
            "--rows", "8", "--cols", "8", "--no-reference", "--save", str(path)]  # fmt: skip
    assert main(argv) == 0
    network, settings = load_model(path)
    assert network.sizes == [784, 8, 10] and settings["train_limit"] == 50
    assert settings["array"] == {"rows": 8, "cols": 8, "dataflow": "ws",
                                 "weight_load": "serial", "dtype": "fp32"}  # fmt: skip


def test_gemm_int8_is_exact(capsys):
    record = run_json(capsys, "30", "200", "20", "--rows", "8", "--cols", "8", "--dtype", "int8")
    assert record["exact"] is True and record["max_abs_error"] == 0.0
    assert record["act_read_bytes"] == 30 * 200 * 3  # 1-byte operands, 3 n-tiles


def test_train_refuses_an_integer_format():
    run = subprocess.run(
        [sys.executable, "-m", "systolic", "train", "--dtype", "int8", "--train-limit", "10"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 2 and "is for quantized inference" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_an_unexpected_error_is_one_line_with_status_1(monkeypatch, capsys):
    from systolic import cli

    def broken(args):
        raise KeyError("a bug")

    monkeypatch.setattr(cli.gemm, "run", broken)
    assert main(["gemm", "2", "2", "2"]) == 1
    err = capsys.readouterr().err
    assert err == "systolic: error: internal error: KeyError: 'a bug' (--debug shows where)\n"
    with pytest.raises(KeyError):
        main(["--debug", "gemm", "2", "2", "2"])
    monkeypatch.setenv("SYSTOLIC_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["gemm", "2", "2", "2"])


def test_file_errors_and_interrupts_are_one_line(monkeypatch, capsys):
    from systolic import cli

    def unreadable(args):
        raise PermissionError(13, "Permission denied", "/some/file")

    monkeypatch.setattr(cli.gemm, "run", unreadable)
    assert main(["gemm"]) == 2
    assert capsys.readouterr().err == "systolic: error: /some/file: Permission denied\n"

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.gemm, "run", interrupted)
    assert main(["gemm"]) == 130
    assert capsys.readouterr().err == "systolic: interrupted\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["gemm", "--plot", "{dir}"], "--plot {dir} is a folder, not a file"),
        (["gemm", "--vcd", ""], "--vcd '' is not a file name"),
        (["gemm", "--plot", "{file}/x.png"], "--plot {file} is a file, not a folder"),
        (["compare", "--mlp", "4,2", "--out", "{file}"], "--out {file} is a file, not a folder"),
        (["roofline", "--out", "{file}/sub"], "--out {file}/sub cannot be made: {file} is a file"),
        (["train", "--save", "{dir}"], "--save {dir} is a folder, not a file"),
        (["train", "--out", "{file}"], "--out {file} is a file, not a folder"),
        (["train", "--plot", "{file}/p.png"], "--plot {file} is a file, not a folder"),
        (["tpu-apps", "--plot", "{file}/p.png"], "--plot {file} is a file, not a folder"),
        (["rtl", "export", "--rows", "1", "--cols", "1", "--out", "{file}"],
         "--out {file} is a file, not a folder"),
        (["rtl", "cosim", "--rows", "1", "--cols", "1", "--vcd", "{file}/v"],
         "--vcd {file}/v cannot be made: {file} is a file"),
    ],
)  # fmt: skip
def test_output_paths_are_refused_before_any_work(tmp_path, monkeypatch, capsys, argv, message):
    import systolic.cli.gemm
    import systolic.compare
    import systolic.networks.tpu_v1_apps
    import systolic.roofline
    import systolic.rtl.cosim
    import systolic.rtl.export
    import systolic.training

    def no_work(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(systolic.networks.tpu_v1_apps, "run", no_work)
    monkeypatch.setattr(systolic.rtl.export, "export", no_work)
    monkeypatch.setattr(systolic.rtl.cosim, "cosimulate", no_work)
    monkeypatch.setattr(systolic.training, "run", no_work)
    monkeypatch.setattr(systolic.cli.gemm, "matmul", no_work)
    monkeypatch.setattr(systolic.compare, "compare", no_work)
    monkeypatch.setattr(systolic.roofline, "runs", no_work)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    names = {"dir": str(tmp_path), "file": str(blocker)}
    assert main([part.format(**names) for part in argv]) == 2
    err = capsys.readouterr().err
    assert err == f"systolic: error: {message.format(**names)}\n"
    assert sorted(tmp_path.iterdir()) == [blocker]


def test_a_refused_vcd_writes_no_plot(tmp_path, capsys):
    plot = tmp_path / "p.png"
    argv = ["gemm", "3000", "40", "40", "--rows", "4", "--cols", "4", "--vcd",
            str(tmp_path / "x.vcd"), "--plot", str(plot)]  # fmt: skip
    assert main(argv) == 2
    assert "too many to dump" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("json_output", [False, True])
def test_a_result_outside_the_rounding_bound_is_reported(monkeypatch, capsys, json_output):
    import systolic.cli.gemm as gemm

    real = gemm.matmul

    def off_by_a_little(a, b, config, **kwargs):
        c, report = real(a, b, config, **kwargs)
        c = c.copy()
        c[0, 0] += 1e-3  # far more than float32 rounding of 8 terms allows
        return c, report

    monkeypatch.setattr(gemm, "matmul", off_by_a_little)
    argv = ["gemm", "5", "8", "3", "--rows", "4", "--cols", "4"]
    assert main(argv + (["--json"] if json_output else [])) == 0
    out = capsys.readouterr().out
    if json_output:
        assert json.loads(out)["within_error_bound"] is False
    else:
        assert "result               OUTSIDE the fp32 rounding-error bound" in out


def test_train_json_summary_adds_up(capsys):
    argv = ["train", "--train-limit", "30", "--epochs", "2", "--rows", "4", "--cols", "4",
            "--clock-mhz", "350", "--json"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    epochs, summary = data["epochs"], data["summary"]
    assert summary["total_cycles"] == sum(e["total_cycles"] for e in epochs)
    assert summary["total_cycles"] == sum(summary["cycles_by_phase"].values())
    assert summary["simulated_s"] == summary["total_cycles"] / 350e6
    assert summary["test_accuracy"] == epochs[-1]["test_accuracy"]
    for epoch in epochs:
        assert epoch["total_cycles"] == sum(epoch["cycles_by_phase"].values())
        assert epoch["reference"]["test_accuracy"] is not None
    # the array and NumPy train the same network, up to float32 rounding
    assert summary["reference"]["max_weight_difference"] < 1e-3


def test_gemm_text_and_json_report_the_same_run(capsys):
    argv = ["gemm", "7", "5", "6", "--rows", "3", "--cols", "2", "--operands", "int"]
    assert main([*argv, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert f"{record['total_cycles']:,}" in text and f"{record['macs']:,}" in text
    assert "equals NumPy's float64 product exactly" in text and record["exact"] is True


def test_roofline_takes_a_dtype(tmp_path, capsys):
    argv = ["roofline", "--preset", "teaching", "--dtype", "int8", "--json", "--out",
            str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    machine = json.loads(capsys.readouterr().out)
    assert machine["dtype"] == "int8"
    first = machine["runs"][0]  # batch 1: 2 operations per 1-byte weight
    assert first["ops_per_weight_byte"] == 2.0
