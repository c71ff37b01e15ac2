"""Export: the Verilog of one configuration, written to a folder a user can edit and rebuild.

The folder gets the design's Verilog files (the top module's parameter defaults set to the
configuration), ``README.md`` describing its ports, and ``systolic_rtl.json``, the
configuration that ``systolic rtl cosim --rtl DIR`` and ``systolic rtl synth --rtl DIR`` read
back. Every file is written whole (temporary file, then rename).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from systolic.config import Dataflow
from systolic.files import atomic_open
from systolic.rtl import RTL_DIR, RTLConfig

MANIFEST = "systolic_rtl.json"

#: the table of ports of each design, written into the exported README
PORTS = {Dataflow.WS: "ports_ws.md", Dataflow.OS: "ports_os.md"}


def export(design: RTLConfig, out: Path) -> list[Path]:
    """Write the design's Verilog, README and manifest into ``out``; return the files written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    written = []
    for name in design.sources:
        text = (RTL_DIR / name).read_text()
        if name == f"{design.top}.v":
            for param, value in design.parameters.items():
                text = re.sub(rf"(parameter {param} = )\d+", rf"\g<1>{value}", text, count=1)
        written.append(_write(out / name, text))
    params = ", ".join(f"{name}={value}" for name, value in design.parameters.items())
    readme = (
        f"# {design.name}: {design.rows}x{design.cols} {design.dataflow.value} array in Verilog\n\n"
        f"Top module `{design.top}` ({params}); files: "
        f"{', '.join(f'`{name}`' for name in design.sources)}. Exported by `systolic rtl export`;"
        " check an edited copy against the golden model with "
        f"`systolic rtl cosim --rtl {out}` and count its gates with "
        f"`systolic rtl synth --rtl {out}`.\n\nint8 operands, int32 sums (two's complement, "
        "wrapping). Every port is sampled at the rising edge of `clk`.\n\n"
        + (RTL_DIR / PORTS[design.dataflow]).read_text()
    )
    written.append(_write(out / "README.md", readme))
    manifest = {
        "rows": design.rows,
        "cols": design.cols,
        "dataflow": design.dataflow.value,
        "weight_load": design.weight_load.value,
        "accumulator_rows": design.accumulator_rows,
        "top": design.top,
        "files": list(design.sources),
    }
    written.append(_write(out / MANIFEST, json.dumps(manifest, indent=2) + "\n"))
    return written


def read_manifest(folder: Path) -> dict:
    """The configuration an exported folder was written for (empty if it has none)."""
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise ValueError(f"--rtl {folder} is not a folder")
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(data).__name__}")
    known = ("rows", "cols", "dataflow", "weight_load", "accumulator_rows")
    values = {key: data[key] for key in known if key in data}
    try:
        RTLConfig(**values)  # the folder's own configuration must be one the RTL takes
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from None
    return values


def _write(path: Path, text: str) -> Path:
    with atomic_open(path) as handle:
        handle.write(text)
    return path
