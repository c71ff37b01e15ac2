"""``systolic rtl``: export, cosim and synth from the command line, and their bad input."""

import json
import stat

import pytest

from systolic.cli import common, main
from systolic.rtl import RTLConfig
from systolic.rtl.export import MANIFEST, export, read_manifest


def test_export_writes_the_configuration(tmp_path):
    design = RTLConfig(3, 5, "ws", "double_buffered", accumulator_rows=6)
    written = export(design, tmp_path)
    assert {path.name for path in written} == {*design.sources, "README.md", MANIFEST}
    top = (tmp_path / "weight_stationary.v").read_text()
    for text in ("ROWS = 3", "COLS = 5", "ACC_ROWS = 6", "DOUBLE_BUFFERED = 1"):
        assert f"parameter {text}" in top
    assert read_manifest(tmp_path) == {
        "rows": 3, "cols": 5, "dataflow": "ws", "weight_load": "double_buffered",
        "accumulator_rows": 6,
    }  # fmt: skip
    assert "`w_ready`" in (tmp_path / "README.md").read_text()


def test_export_keeps_a_files_mode(tmp_path):
    export(RTLConfig(1, 1), tmp_path)
    (tmp_path / "pe.v").chmod(0o600)
    export(RTLConfig(1, 1), tmp_path)
    assert stat.S_IMODE((tmp_path / "pe.v").stat().st_mode) == 0o600


def test_cli_export_then_cosim_an_edited_copy(tmp_path, capsys):
    out = tmp_path / "rtl"
    assert main(["rtl", "export", "--rows", "2", "--cols", "3", "--out", str(out)]) == 0
    pe = out / "pe.v"
    pe.write_text(pe.read_text().replace("= switch_in ? shadow : weight;",
                                         "= switch ? shadow : weight;"))  # fmt: skip
    capsys.readouterr()
    assert main(["rtl", "cosim", "--rtl", str(out), "--cases", "2", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["design"] == "ws_2x3_serial_acc8"
    assert summary["cases"] == 2 and summary["agree"] is False
    assert {"m", "k", "n", "model_cycles", "rtl_cycles", "agree"} <= set(summary["runs"][0])


def test_cli_cosim_agrees_and_prints_a_line_per_case(capsys):
    argv = ["rtl", "cosim", "--rows", "2", "--cols", "3", "--weight-load", "double_buffered",
            "--accumulator-rows", "3", "--cases", "3", "--seed", "5"]  # fmt: skip
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all(line.endswith("agree") for line in lines[:3])
    assert lines[-1].startswith("3 of 3 cases agree")


def test_cli_synth_json(capsys):
    assert main(["rtl", "synth", "--rows", "1", "--cols", "1", "--dataflow", "os", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["flip_flops"] > 0 and stats["nand2_equivalents"] > stats["flip_flops"]
    assert "$_DFF_P_" in stats["cells"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["rtl", "export", "--rows", "64", "--cols", "64", "--out", "x"], "the RTL takes at most"),
        (
            ["rtl", "export", "--dataflow", "os", "--weight-load", "double_buffered", "--out", "x"],
            "weight_load must be 'serial'",
        ),
        (["rtl", "export", "--rows", "0", "--out", "x"], "expected a positive integer"),
        (["rtl", "cosim", "--dataflow", "is"], "invalid choice"),
        (["rtl", "cosim", "--seed", "-1"], "--seed: expected an integer >= 0"),
        (["rtl", "cosim", "--rtl", "/nonexistent/folder"], "is not a folder"),
        (["rtl", "synth", "--rows", "17", "--cols", "17"], "synthesis takes at most 256"),
        (["rtl", "export", "--accumulator-rows", "5000", "--out", "x"], "more than the RTL takes"),
        (["rtl", "cosim", "--dtype", "bf16"], "--dtype bf16: the RTL computes in int8"),
        (["rtl", "cosim", "--rows", "32", "--cols", "32"], "would sample"),
        (["rtl", "cosim", "--cases", "1001"], "give 1 to 1000 cases"),
        (["rtl", "cosim", "--stall", "1"], "--stall: expected a number in [0, 0.9], got 1"),
        (["rtl", "cosim", "--stall", "nan"], "--stall: expected a number in [0, 0.9], got nan"),
    ],
)
def test_bad_input_is_one_line_with_status_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        status = main(argv)
        raise SystemExit(status)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_export_onto_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["rtl", "export", "--out", str(target)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_unwritable_output_folders_are_refused_before_any_work(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["rtl", "export", "--out", str(blocker / "below")]) == 2
    assert f"{blocker} is a file" in capsys.readouterr().err
    assert main(["rtl", "cosim", "--vcd", str(blocker)]) == 2
    assert "--vcd" in capsys.readouterr().err
    # a folder without write permission (faked: the tests may run as root, who writes anyway)
    monkeypatch.setattr(common.os, "access", lambda path, mode: False)
    assert main(["rtl", "export", "--out", str(tmp_path / "new")]) == 2
    assert f"no permission in {tmp_path}" in capsys.readouterr().err


def test_a_manifest_that_is_not_an_object_is_refused(tmp_path, capsys):
    (tmp_path / MANIFEST).write_text("[1, 2]")
    assert main(["rtl", "cosim", "--rtl", str(tmp_path)]) == 2
    assert "must hold a JSON object" in capsys.readouterr().err


@pytest.mark.parametrize(
    "manifest, message",
    [
        ({"rows": "four"}, "rows must be a positive integer, got 'four'"),
        ({"rows": 64, "cols": 64}, "the RTL takes at most"),
        ({"dataflow": "is"}, "there is no RTL of the is dataflow"),
    ],
)
def test_a_manifest_with_bad_values_names_the_file(tmp_path, capsys, manifest, message):
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    assert main(["rtl", "cosim", "--rtl", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert MANIFEST in err and message in err
