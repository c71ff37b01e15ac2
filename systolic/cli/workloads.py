"""``systolic workloads``: the bundled networks, with their layers, MACs and weights."""

from __future__ import annotations

import argparse
import json

from systolic.cli.common import positive


def add_parser(commands) -> None:
    """Add ``workloads`` to the top-level subparsers."""
    parser = commands.add_parser(
        "workloads",
        help="list the bundled networks (usable by name wherever a workload file is)",
        description="List the bundled networks, each built from its published layer shapes: "
        "layers, multiply-accumulates and weights at the given batch.",
    )
    parser.add_argument("--batch", type=positive, default=1, help="batch (default 1)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")


def run(args: argparse.Namespace) -> int:
    """Run ``workloads``; return the exit status."""
    from systolic.networks import NETWORKS, network, weights
    from systolic.workloads import ConvLayer

    records = []
    for name, builder in NETWORKS.items():
        layers = network(name, args.batch)
        records.append({
            "name": name,
            "layers": len(layers),
            "conv_layers": sum(isinstance(layer, ConvLayer) for layer in layers),
            "macs": sum(layer.macs for layer in layers),
            "weights": weights(layers),
            "source": (builder.__doc__ or "").split(":")[0].strip(),
        })  # fmt: skip
    from systolic.llm.config import MODELS as LLMS

    models = []
    for name, builder in LLMS.items():
        lm = builder()
        models.append({"name": name, "layers": lm.layers, "hidden": lm.hidden,
                       "heads": lm.heads, "kv_heads": lm.kv_heads, "parameters": lm.parameters(),
                       "source": lm.source})  # fmt: skip
    if args.json:
        print(json.dumps(records + [{"kind": "llm", **m} for m in models], indent=2))
        return 0
    print(f"{'name':<16} {'layers':>6} {'conv':>5} {'MACs':>16} {'weights':>12}   (batch "
          f"{args.batch})")  # fmt: skip
    for r in records:
        print(f"{r['name']:<16} {r['layers']:>6} {r['conv_layers']:>5} {r['macs']:>16,} "
              f"{r['weights']:>12,}")  # fmt: skip
    print(f"\n{'transformer':<16} {'layers':>6} {'hidden':>7} {'heads':>6} {'kv':>4} "
          f"{'parameters':>16}   (systolic llm)")  # fmt: skip
    for m in models:
        print(f"{m['name']:<16} {m['layers']:>6} {m['hidden']:>7} {m['heads']:>6} "
              f"{m['kv_heads']:>4} {m['parameters']:>16,}")  # fmt: skip
    return 0
