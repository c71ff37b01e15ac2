"""Every command, fed a bad argument or a malformed input file: one line on stderr, exit
status 2, and nothing written (the output folder stays empty)."""

import pytest

from systolic.cli import main

CONV_HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides,\n"
)


def status(argv):
    """Exit status of the command line, whether argparse exits or main returns."""
    try:
        return main(argv)
    except SystemExit as exit_info:
        return exit_info.code


@pytest.mark.parametrize(
    "argv, files, message",
    [
        # bad arguments
        (["gemm", "3", "3", "3", "--seed", "-2", "--plot", "{out}/p.png"], {},
         "--seed: expected an integer >= 0"),
        (["compare", "--mlp", "4,3", "--sizes", "0x4", "--out", "{out}"], {}, "bad array size"),
        (["train", "--eta", "nan", "--out", "{out}"], {}, "--eta: expected a finite number"),
        (["infer", "{tmp}/m.npz", "--limit", "0"], {}, "--limit: expected a positive integer"),
        (["roofline", "--dtype", "int4", "--out", "{out}"], {}, "--dtype: invalid choice"),
        (["workloads", "--batch", "0"], {}, "--batch: expected a positive integer"),
        (["tpu-apps", "MLP2", "--plot", "{out}/p.png"], {},
         "unknown application 'MLP2'; valid: MLP0, MLP1, LSTM0, LSTM1, CNN0, CNN1"),
        (["tpu-apps", "--preset", "teaching", "--plot", "{out}/p.png"], {},
         "MLP0 on this machine: (200, 2000) @ (2000, 2000) needs 3,200,000 bytes"),
        (["tpu-apps", "--energy", "{tmp}/e.toml", "--plot", "{out}/p.png"],
         {"e.toml": "idle_pj_per_pe_cycle = -1\n"}, "e.toml: missing key 'mac_pj'"),
        (["gemm", "4", "4", "4", "--energy", "{tmp}/e.toml", "--plot", "{out}/p.png"],
         {"e.toml": "[mac_pj\n"}, "e.toml: not TOML"),
        (["compare", "--mlp", "4,3", "--energy", "nope", "--out", "{out}"], {},
         "unknown energy table 'nope'"),
        (["roofline", "--energy", "{tmp}/missing.toml", "--out", "{out}"], {},
         "missing.toml: cannot read"),
        (["train", "--energy", "{tmp}/e.toml", "--out", "{out}"], {"e.toml": "x = 1\n"},
         "e.toml: unknown key 'x'"),
        (["rtl", "synth", "--rows", "1", "--cols", "1", "--energy", "tpu"], {},
         "unknown energy table 'tpu'"),
        (["tpu-apps", "--energy", "h45", "--plot", "{out}/p.png"], {},
         "unknown energy table 'h45'; presets: horowitz45, tpu_v1_28nm"),
        (["tpu-apps", "--activation-latency", "-1", "--plot", "{out}/p.png"], {},
         "--activation-latency: expected an integer >= 0"),
        (["tpu-apps", "--preset", "teaching", "--dtype", "fp32", "mlp1", "--plot",
          "{out}/p.png"], {}, "MLP1 on this machine"),
        (["rtl", "export", "--rows", "2", "--cols", "2", "--accumulator-rows", "0",
          "--out", "{out}"], {}, "--accumulator-rows: expected a positive integer"),
        (["rtl", "cosim", "--cases", "0", "--vcd", "{out}"], {}, "--cases: expected a positive"),
        (["rtl", "synth", "--rows", "2", "--cols", "2", "--dataflow", "is"], {},
         "--dataflow: invalid choice"),
        (["train", "--machine", "tpu_v9", "--out", "{out}"], {},
         "unknown machine 'tpu_v9'; valid: tpu_v2, tpu_v3, tpu_v4, tpu_v5e, tpu_v5p, tpu_v6e"),
        (["train", "--machine", "tpu_v5e", "--target-accuracy", "0", "--out", "{out}"], {},
         "--target-accuracy: expected a number in (0, 1]"),
        (["train", "--machine", "tpu_v5e", "--target-accuracy", "1.5", "--out", "{out}"], {},
         "--target-accuracy: expected a number in (0, 1]"),
        (["train", "--target-accuracy", "0.9", "--out", "{out}"], {},
         "--target-accuracy needs --machine"),
        (["train", "--timeline", "{out}/t.png"], {}, "--timeline needs --machine"),
        (["train", "--machine", "tpu_v4", "--rows", "64", "--out", "{out}"], {},
         "--rows is the bare array's; with --machine the MXUs and clock are the preset's"),
        (["train", "--machine", "tpu_v4", "--clock-mhz", "900", "--out", "{out}"], {},
         "--clock-mhz is the bare array's"),
        (["train", "--machine", "tpu_v2", "--batch", "20000", "--out", "{out}"], {},
         "GEMM's tile needs"),
        (["train", "--machine", "tpu_v2", "--dtype", "int8", "--out", "{out}"], {},
         "training needs float matmuls"),
        (["train", "--machine", "tpu_v5e", "--dtype", "fp16", "--out", "{out}"], {},
         "--dtype fp16 is not an MXU format"),
        (["train", "--machine", "tpu_v5e", "--energy", "{tmp}/e.toml", "--out", "{out}"],
         {"e.toml": "\n".join(f"{k} = 1" for k in ("idle_pj_per_pe_cycle", "ub_pj_per_byte",
          "acc_pj_per_byte", "fifo_pj_per_byte", "dram_pj_per_byte", "register_pj_per_byte",
          "host_pj_per_byte", "sram_um2_per_byte", "nand2_um2")) + "\n[mac_pj]\n"
          + "\n".join(f"{f} = 1" for f in ("fp32", "fp64", "bf16", "fp16", "int8"))
          + "\n[mac_um2]\n" + "\n".join(f"{f} = 1" for f in ("fp32", "fp64", "bf16", "fp16",
          "int8")) + "\n"}, "cannot price a training machine: it lacks vpu_pj_per_op"),
        # malformed input files
        (["compare", "--workload", "{tmp}/bad.csv", "--out", "{out}"],
         {"bad.csv": CONV_HEADER + "c1, 4, 4, 3, 3, 2, 2, 0,\n"},
         "bad.csv, line 2, field 'strides': expected a positive integer, got '0'"),
        (["compare", "--workload", "{tmp}/bad.onnx", "--out", "{out}"],
         {"bad.onnx": "not a protobuf at all"}, "bad.onnx: not an ONNX model"),
        (["compare", "--workload", "{tmp}/ok.csv", "--batch", "4", "--out", "{out}"],
         {"ok.csv": "name,m,k,n\nfc,2,3,4\n"}, "gives its own sizes"),
        (["infer", "{tmp}/bad.npz"], {"bad.npz": "PK but not a zip"}, "bad.npz: not a model file"),
        (["rtl", "cosim", "--rtl", "{tmp}", "--vcd", "{out}"],
         {"systolic_rtl.json": '{"rows": "two"}'}, "rows must be a positive integer"),
        (["rtl", "cosim", "--rtl", "{tmp}", "--rows", "1", "--cols", "1", "--vcd", "{out}"],
         {"systolic_rtl.json": "{}", "pe.v": "module pe(;"}, "lacks weight_stationary.v"),
        (["rtl", "synth", "--rtl", "{tmp}", "--rows", "1", "--cols", "1"],
         {"systolic_rtl.json": "{}"}, "lacks weight_stationary.v"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_status_2_and_writes_nothing(tmp_path, capsys, argv, files,
                                                          message):  # fmt: skip
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    for name, text in files.items():
        (inputs / name).write_text(text)
    names = {"tmp": str(inputs), "out": str(out)}
    assert status([part.format(**names) for part in argv]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert captured.out == ""
    assert not out.exists()  # no output folder, no file
    assert sorted(p.name for p in inputs.iterdir()) == sorted(files)  # inputs untouched


@pytest.mark.parametrize(
    "command, message",
    [(["cosim", "--vcd", "{out}"], "does not compile: %Error"), (["synth"], "Yosys failed")],
)
def test_verilog_that_does_not_compile_is_one_line_status_2(tmp_path, capsys, command, message):
    import shutil

    from systolic.rtl import RTL_DIR

    folder, out = tmp_path / "rtl", tmp_path / "out"
    folder.mkdir()
    for path in RTL_DIR.glob("*.v"):
        shutil.copy(path, folder)
    (folder / "pe.v").write_text((folder / "pe.v").read_text().replace("endmodule", ""))
    argv = ["rtl", *command, "--rtl", str(folder), "--rows", "1", "--cols", "1"]
    assert status([part.format(out=out) for part in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not out.exists()


def test_a_network_too_large_for_hbm_is_refused_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SYSTOLIC_MAX_MEMORY", "1T")  # the host would hold it: HBM refuses
    out = tmp_path / "out"
    argv = ["train", "--machine", "tpu_v5e", "--sizes", "784,100000,100000,10", "--out",
            str(out)]  # fmt: skip
    assert status(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "needs 120.2 GiB of HBM" in err and "more than tpu_v5e's 16.0 GiB by 104.2 GiB" in err
    assert "\n" not in err and not out.exists()


def test_compare_refuses_an_unknown_machine_before_writing(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["compare", "--mlp", "4,3", "--machines", "tpu_v5e,tpu_v9", "--out", str(out)]
    assert status(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "--machines: unknown machine 'tpu_v9'; valid: tpu_v1, teaching, tpu_v2" in err
    assert "\n" not in err and not out.exists()


def test_the_new_commands_refuse_bad_arguments_paths_and_files_in_one_line(tmp_path, capsys):
    import onnx

    from tests.systolic.onnx.test_graph import mlp_model

    model = tmp_path / "m.onnx"
    onnx.save(mlp_model(), str(model))
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    (tmp_path / "broken.json").write_text("{ not json")
    cases = [
        (["machines", "--bogus"], "unrecognized arguments: --bogus"),
        (["run", str(model), "--out", str(blocker / "out")], "cannot be made: "),
        (["run", str(model), "--plot", str(blocker / "p.png")], "is a file, not a folder"),
        (["llm", "gpt2", "--context", "8", "--sweep-batch", "1,2", "--plot",
          str(blocker / "p.png")], "is a file, not a folder"),
        (["llm", str(tmp_path / "broken.json"), "--context", "8"], "broken.json: not JSON"),
        (["llm", "gpt2", "--context", "8", "--sweep-batch", "1,x"], "--sweep-batch '1,x'"),
    ]  # fmt: skip
    before = sorted(p.name for p in tmp_path.iterdir())
    for argv, message in cases:
        assert status(argv) == 2, argv
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert message in err and "\n" not in err and "Traceback" not in err, (argv, err)
        assert captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
