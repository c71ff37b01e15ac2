"""Output paths probed before any work (a folder made, a file written and removed in it),
and a refused run's single line: warnings are held until a run succeeds."""

import warnings

import pytest

from systolic import cli
from systolic.cli import main

UNCREATABLE = "/proc/systolic-cannot-exist"  # looks like a folder; nothing can be made there


@pytest.mark.parametrize(
    "argv",
    [
        ["gemm", "4", "4", "4", "--plot", f"{UNCREATABLE}/gemm.png"],
        ["train", "--epochs", "1", "--train-limit", "100", "--out", UNCREATABLE],
        ["train", "--epochs", "1", "--train-limit", "100", "--save", f"{UNCREATABLE}/net.npz"],
        ["train", "--machine", "tpu_v5e", "--epochs", "1", "--timeline", f"{UNCREATABLE}/t.png"],
        ["llm", "gpt2", "--context", "8", "--sweep-batch", "1,2", "--plot", f"{UNCREATABLE}/s.png"],
    ],
    ids=["gemm-plot", "train-out", "train-save", "train-timeline", "llm-plot"],
)
def test_an_uncreatable_output_is_refused_before_any_work(argv, capsys, monkeypatch):
    import nn.network

    def no_training(*args, **kwargs):
        raise AssertionError("trained before refusing the output path")

    monkeypatch.setattr(nn.network.Network, "sgd", no_training, raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "cannot write a file in /proc" in err


def test_the_probe_leaves_nothing_behind(tmp_path, capsys):
    target = tmp_path / "new" / "deeper"
    argv = ["gemm", "4", "4", "4", "--plot", str(target / "x.png"), "--max-cycles", "1"]
    assert main(argv) == 2  # refused after the probe: too many cycles
    capsys.readouterr()
    assert list(tmp_path.iterdir()) == []  # the folders made for the probe are gone again


@pytest.mark.parametrize("outcome", ["refuse", "succeed"])
def test_warnings_are_held_until_the_run_succeeds(outcome, capsys, monkeypatch):
    def run(args):
        warnings.warn("something odd along the way", RuntimeWarning, stacklevel=1)
        if outcome == "refuse":
            raise ValueError("bad input, said once")
        return 0

    monkeypatch.setattr(cli.COMMANDS["workloads"], "run", run)
    status = main(["workloads"])
    err = capsys.readouterr().err.strip()
    if outcome == "refuse":
        assert status == 2 and err == "systolic: error: bad input, said once"
    else:
        assert status == 0 and "something odd along the way" in err
