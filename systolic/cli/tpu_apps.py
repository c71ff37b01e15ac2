"""``systolic tpu-apps``: the TPU v1's six applications beside the paper's measured figures."""

from __future__ import annotations

import argparse
import dataclasses
import json

from systolic.cli.common import add_energy_option, check_output_file, energy_table, non_negative
from systolic.numerics import FORMATS


def add_parser(commands) -> None:
    """Add ``tpu-apps`` to the top-level subparsers."""
    apps = commands.add_parser(
        "tpu-apps",
        help="the TPU v1's six applications against the paper's measured figures",
        description="Build MLP0, MLP1, LSTM0, LSTM1, CNN0 and CNN1 from the TPU paper's "
        "Table 1 (Jouppi et al., ISCA 2017), run them on the tpu_v1 machine and print "
        "simulated TOPS and the Table 3 cycle shares beside the paper's. Every shape the "
        "paper does not give is an assumption documented in systolic/networks/tpu_v1_apps.py.",
    )
    apps.add_argument("apps", nargs="*", metavar="APP",
                      help="applications to run (default: all six)")  # fmt: skip
    apps.add_argument("--preset", default="tpu_v1", choices=["tpu_v1", "teaching"],
                      help="machine (default tpu_v1)")  # fmt: skip
    apps.add_argument("--dtype", choices=list(FORMATS), default=None,
                      help="number format (default: the preset's; int8 for tpu_v1)")  # fmt: skip
    apps.add_argument(
        "--activation-latency", type=non_negative, default=None, metavar="CYCLES",
        help="the activation unit's latency in cycles (default: the preset's; not published "
        "for the TPU v1, 32 assumed)",
    )  # fmt: skip
    add_energy_option(apps)
    apps.add_argument("--json", action="store_true", help="print one JSON record per application")
    apps.add_argument("--plot", metavar="PNG", help="draw the cycle shares beside the paper's")


def run(args: argparse.Namespace) -> int:
    """Run ``tpu-apps``; return the exit status."""
    from systolic.networks import tpu_v1_apps
    from systolic.tpu import PRESETS

    names = tpu_v1_apps.check_names(args.apps or list(tpu_v1_apps.APPS))
    prices = energy_table(args)
    plot = check_output_file(args.plot, "--plot") if args.plot is not None else None
    config = PRESETS[args.preset]()
    changes = {}
    if args.dtype is not None:
        changes["dtype"] = args.dtype
    if args.activation_latency is not None:
        changes["activation_latency_cycles"] = args.activation_latency
    config = dataclasses.replace(config, **changes)  # validated: a bad mix is a ValueError
    records = tpu_v1_apps.run(names, config, prices)
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from systolic import plots

        fig, ax = plt.subplots(figsize=(9, 5))
        plots.tpu_apps(ax, records)
        fig.tight_layout()
        plots.save_figure(fig, plot)
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        print(tpu_v1_apps.format_table(records))
    return 0
