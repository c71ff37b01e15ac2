"""``systolic rtl``: export, co-simulate and synthesize the Verilog of the array.

- ``systolic rtl export --rows R --cols C [--dataflow ws|os] [--weight-load ...] --out DIR``
- ``systolic rtl cosim [--rtl DIR] [--rows R --cols C ...] [--cases N] [--seed S] [--json]``:
  exit status 0 when every case agrees, 1 when any disagrees, 2 on bad input.
- ``systolic rtl synth --rows R --cols C [--dataflow ws|os] [--json]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from systolic.cli.common import (
    add_energy_option,
    check_output_dir,
    energy_table,
    non_negative,
    positive,
    real,
)


def _design_options(parser: argparse.ArgumentParser, with_rtl: bool) -> None:
    parser.add_argument("--rows", type=positive, help="PE rows (default 4)")
    parser.add_argument("--cols", type=positive, help="PE columns (default 4)")
    parser.add_argument("--dataflow", choices=("ws", "os"), help="dataflow (default ws)")
    parser.add_argument(
        "--weight-load",
        choices=("serial", "double_buffered"),
        help="weight loading of ws (default serial)",
    )
    parser.add_argument(
        "--accumulator-rows",
        type=positive,
        help="accumulator depth of ws, in rows of COLS sums (default 8)",
    )
    parser.add_argument(
        "--dtype",
        default="int8",
        help="number format; the RTL is built for int8 only (int32 sums), as the TPU v1",
    )
    if with_rtl:
        parser.add_argument(
            "--rtl",
            type=Path,
            metavar="DIR",
            help="Verilog to use instead of the bundled copy (a folder from rtl export); its "
            "configuration is the default for the options above",
        )


def add_parser(commands) -> None:
    """Add ``rtl`` and its commands to the top-level subparsers."""
    rtl = commands.add_parser(
        "rtl",
        help="the array in Verilog: export, co-simulate, synthesize",
        description="The array in synthesizable Verilog (int8 operands, int32 sums): export it, "
        "co-simulate it cycle by cycle against the golden model (Verilator + cocotb), and "
        "synthesize it (Yosys).",
    )
    sub = rtl.add_subparsers(
        dest="rtl_command", required=True, parser_class=type(rtl), metavar="{export,cosim,synth}"
    )
    export = sub.add_parser("export", help="write the Verilog of one configuration")
    _design_options(export, with_rtl=False)
    export.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write")
    cosim = sub.add_parser("cosim", help="co-simulate the RTL against the golden model")
    _design_options(cosim, with_rtl=True)
    cosim.add_argument("--cases", type=positive, default=10, help="random GEMMs (default 10)")
    cosim.add_argument("--seed", type=non_negative, default=0, help="random seed (default 0)")
    cosim.add_argument(
        "--vcd",
        type=Path,
        metavar="DIR",
        help="write the first case's waveforms to DIR/model.vcd and DIR/rtl.vcd",
    )
    cosim.add_argument(
        "--stall",
        type=real(0, 0.9),
        default=0.0,
        metavar="P",
        help="sources hold each beat back with chance P per cycle (0 to 0.9; default 0); with "
        "gaps only the result values are compared",
    )
    cosim.add_argument("--json", action="store_true", help="print a JSON object")
    synth = sub.add_parser("synth", help="synthesize with Yosys and count gates")
    _design_options(synth, with_rtl=True)
    synth.add_argument("--json", action="store_true", help="print a JSON object")
    add_energy_option(synth)


def _design(args: argparse.Namespace):
    """The RTLConfig the options ask for (an exported folder's manifest fills the gaps)."""
    from systolic.rtl import RTLConfig
    from systolic.rtl.export import read_manifest

    if args.dtype != "int8":
        raise ValueError(
            f"--dtype {args.dtype}: the RTL computes in int8 operands and int32 sums only; "
            "floating-point formats have no RTL"
        )
    given = getattr(args, "rtl", None)
    manifest = read_manifest(given) if given is not None else {}
    values = {}  # an option given beats the folder's configuration, which beats the default
    for field in dataclasses.fields(RTLConfig):
        option = getattr(args, field.name)
        if option is not None or field.name in manifest:
            values[field.name] = option if option is not None else manifest[field.name]
    return RTLConfig(**values)


def run(args: argparse.Namespace) -> int:
    """Run an ``rtl`` command; return the exit status."""
    design = _design(args)
    for option in ("out", "vcd"):
        if getattr(args, option, None) is not None:
            check_output_dir(getattr(args, option), f"--{option}")
    if args.rtl_command == "export":
        from systolic.rtl.export import export

        for path in export(design, args.out):
            print(f"wrote {path}")
        return 0
    if args.rtl_command == "synth":
        from systolic.rtl.synth import synthesize

        prices = energy_table(args)
        stats = synthesize(design, args.rtl)
        if prices is not None:
            from systolic.energy import synthesized_area_mm2

            stats.update(energy_table=prices.name, **synthesized_area_mm2(stats, prices))
        if args.json:
            print(json.dumps(stats, indent=2))
        else:
            print(f"{stats['design']}: {stats['flip_flops']:,} flip-flops, "
                  f"{stats['nand2_equivalents']:,.0f} NAND2 equivalents "
                  f"({stats['nand2_per_pe']:,.0f} per PE)")  # fmt: skip
            for cell, count in stats["cells"].items():
                print(f"  {cell:<10} {count:>9,}")
            if prices is not None:
                print(f"area ({prices.name}): {stats['synth_area_mm2']:.4f} mm2 synthesized, "
                      f"{stats['table_array_mm2']:.4f} mm2 of MAC units in the table "
                      f"({stats['synth_over_table']:.1f}x)")  # fmt: skip
        return 0
    from systolic.rtl.cosim import cosimulate, random_cases

    cases = random_cases(design, args.cases, args.seed)
    results = cosimulate(design, cases, args.rtl, args.vcd, args.stall, args.seed)
    agreed = sum(result.agree for result in results)
    source = str(args.rtl) if args.rtl is not None else "bundled RTL"
    if args.json:
        summary = {
            "design": design.name,
            "rtl": source,
            "cases": len(results),
            "agree": agreed == len(results),
            "agreed": agreed,
            "runs": [result.record() for result in results],
        }
        print(json.dumps(summary, indent=2))
    else:
        for result in results:
            shape = f"({result.m}, {result.k}) @ ({result.k}, {result.n})"
            verdict = "agree" if result.agree else f"DISAGREE: {result.mismatch}"
            print(f"{shape:<22} model {result.model_cycles:>6} cycles   "
                  f"RTL {result.rtl_cycles:>6} cycles   {verdict}")  # fmt: skip
        print(f"{agreed} of {len(results)} cases agree ({design.name}, {source})")
    return 0 if agreed == len(results) else 1
