"""VCD waveforms of the golden model read back with pyvcd's reader."""

import subprocess
import sys

import numpy as np
import pytest

from systolic.config import ArrayConfig
from systolic.dataflows import weight_stationary as ws
from systolic.waveform import read_vcd, write_vcd
from tests.reference import prepared


def test_a_4x4_run_reads_back_with_the_models_values(tmp_path):
    a, b = prepared(np.arange(1.0, 13.0).reshape(3, 4), np.arange(1.0, 17.0).reshape(4, 4))
    config = ArrayConfig(4, 4)
    path = tmp_path / "run.vcd"
    cycles = write_vcd(path, a, b, config)
    assert cycles == ws.closed_form_cycles(3, 4, 4, config)["total_cycles"] == 2 * 4 + 4 + 3 - 2
    signals = read_vcd(path)
    assert all(len(values) == cycles for values in signals.values())
    # after the 4 shift cycles (0-3), PE(i, j)'s shadow holds b[i, j]; the switch copies it
    for i in range(4):
        for j in range(4):
            assert signals[f"pe_{i}_{j}.shadow"][3] == b[i, j]
            assert signals[f"pe_{i}_{j}.weight"][cycles - 1] == b[i, j]
    # the bottom PE of column j holds C[t, j] after cycle 4 + t + 3 + j
    golden = ws.simulate_golden(a, b, config).result
    for t in range(3):
        for j in range(4):
            assert signals[f"pe_3_{j}.psum"][4 + t + 3 + j] == golden[t, j]
            assert signals[f"pe_3_{j}.psum_valid"][4 + t + 3 + j] == 1


def test_too_large_arrays_and_runs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="32x32 array has 1024 PEs, too many to dump"):
        write_vcd(tmp_path / "x.vcd", np.ones((2, 2)), np.ones((2, 2)), ArrayConfig(32, 32))
    with pytest.raises(ValueError, match="too many to dump"):
        write_vcd(tmp_path / "x.vcd", np.ones((30000, 2)), np.ones((2, 2)), ArrayConfig(2, 2))
    assert not list(tmp_path.iterdir())


def test_gemm_vcd_option(tmp_path):
    path = tmp_path / "g.vcd"
    run = subprocess.run(
        [sys.executable, "-m", "systolic", "gemm", "3", "4", "4", "--rows", "4", "--cols", "4",
         "--vcd", str(path)], capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "wrote 13 cycles of waveforms" in run.stderr
    assert path.read_text().startswith("$timescale 1 ns $end")
    run = subprocess.run(
        [sys.executable, "-m", "systolic", "gemm", "--vcd", str(tmp_path / "big.vcd")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 2 and "too many to dump" in run.stderr
