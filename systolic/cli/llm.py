"""``systolic llm``: a transformer's prefill or decode on a TensorCore machine, per token."""

from __future__ import annotations

import argparse
import json

from systolic.cli.common import add_energy_option, check_output_file, energy_table, positive


def add_parser(commands) -> None:
    """Add ``llm`` to the top-level subparsers."""
    parser = commands.add_parser(
        "llm",
        help="an LLM's prefill or decode (with a KV cache) on a training machine",
        description="Time a bundled transformer (systolic workloads lists them) or a JSON "
        "config on a TensorCore machine: every GEMM on the MXUs, norms, softmax, rotary "
        "embeddings and activations on the VPU, the weights and the KV cache through HBM. "
        "Prints time to first token (prefill) or per token (decode), tokens per second, "
        "HBM bytes and energy per token, each unit's share and the bottleneck.",
    )
    parser.add_argument("model", help="a bundled model's name, or a .json config")
    parser.add_argument("--machine", default="tpu_v5e", metavar="PRESET",
                        help="a training machine (default tpu_v5e)")  # fmt: skip
    parser.add_argument("--dtype", default=None, choices=["bf16", "fp32", "int8"],
                        help="weights' and MXUs' format (default the machine's, bf16)")  # fmt: skip
    parser.add_argument("--phase", default="decode", choices=["prefill", "decode"])
    parser.add_argument("--seq", type=positive, default=None, help="prefill: prompt length")
    parser.add_argument("--context", type=positive, default=None,
                        help="decode: positions already in the KV cache")  # fmt: skip
    parser.add_argument("--batch", type=positive, default=1, help="sequences (default 1)")
    parser.add_argument("--tokens", type=positive, default=1,
                        help="decode: tokens generated per sequence (default 1)")  # fmt: skip
    parser.add_argument("--layers", type=positive, default=None,
                        help="run only this many layers (default all)")  # fmt: skip
    parser.add_argument(
        "--values", action="store_true",
        help="prefill with values (GPT-2- and Llama-style decoders; random weights from "
        "--seed), checked against an independent NumPy forward pass",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="weights' seed with --values (0)")
    parser.add_argument(
        "--sweep-batch", default=None, metavar="B1,B2,...",
        help="run each batch size and print tokens/s and seconds/token against batch",
    )  # fmt: skip
    parser.add_argument(
        "--plot", metavar="PNG",
        help="with --sweep-batch: draw tokens/s and seconds/token against batch",
    )  # fmt: skip
    add_energy_option(parser)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``llm``; return the exit status."""
    from systolic import energy as energy_tables
    from systolic import llm
    from systolic.machine.config import machine

    lm = llm.model(args.model)
    config = machine(args.machine, args.dtype)
    if args.layers is not None and args.layers > lm.layers:
        raise ValueError(f"--layers {args.layers}: {lm.name} has {lm.layers} layers")
    if args.phase == "prefill":
        if args.seq is None or args.context is not None:
            raise ValueError("--phase prefill takes --seq S (and no --context)")
        length = args.seq
    else:
        if args.context is None or args.seq is not None:
            raise ValueError("--phase decode takes --context L (and no --seq)")
        length = args.context
    if args.values:
        from systolic.llm.values import run_values

        if args.phase != "prefill" or args.batch != 1:
            raise ValueError("--values runs a prefill of one sequence: --phase prefill --seq S")
        checked = run_values(lm, config, length, args.layers or lm.layers, args.seed)
        if args.json:
            print(json.dumps(checked, indent=2))
            return 0
        verdict = "within" if checked["within_bound"] else "OUTSIDE"
        print(f"{lm.name}, {checked['layers']} layers, {length} tokens on {config.name} "
              f"({config.dtype}): {checked['total_cycles']:,} cycles; logits' max abs error "
              f"{checked['max_abs_error']:.3g} against the NumPy reference ({verdict} the "
              f"{config.dtype} bound)")  # fmt: skip
        return 0
    prices = energy_table(args) or energy_tables.horowitz45()
    prices = prices if prices.prices_machines else None
    plot = check_output_file(args.plot, "--plot") if args.plot is not None else None
    if plot is not None and args.sweep_batch is None:
        raise ValueError("--plot draws a batch sweep: give --sweep-batch too")
    if args.sweep_batch is not None:
        batches = _batches(args.sweep_batch)
        sweep = [llm.run_phase(lm, config, args.phase, b, length, args.tokens, args.layers,
                               prices) for b in batches]  # fmt: skip
        if plot is not None:
            _plot_sweep(sweep, plot)
        if args.json:
            print(json.dumps(sweep, indent=2))
            return 0
        print(f"{'batch':>6} {'s/token':>12} {'tokens/s':>12} {'bound':>6} {'MXU %':>7} "
              f"{'HBM %':>7}")  # fmt: skip
        for f in sweep:
            share = f["unit_share"]
            print(f"{f['batch']:>6} {f['seconds_per_token']:>12.6f} "
                  f"{f['tokens_per_second']:>12,.1f} {f['bottleneck']:>6} "
                  f"{100 * share['mxu']:>7.1f} {100 * share['hbm']:>7.1f}")  # fmt: skip
        return 0
    figures = llm.run_phase(lm, config, args.phase, args.batch, length, args.tokens,
                            args.layers, prices)  # fmt: skip
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    f = figures
    what = "time to first token" if f["phase"] == "prefill" else "time per token"
    share = ", ".join(f"{u.upper()} {100 * s:.1f} %" for u, s in f["unit_share"].items())
    energy = f["energy_per_token_j"]
    print(f"{f['model']} on {f['machine']} ({f['dtype']}), {f['phase']}, batch {f['batch']}, "
          f"{'seq' if f['phase'] == 'prefill' else 'context'} {f['length']:,}")  # fmt: skip
    shown = f["seconds"] if f["phase"] == "prefill" else f["seconds_per_token"]
    print(f"{what:<22} {1e3 * shown:.3f} ms")
    print(f"{'tokens per second':<22} {f['tokens_per_second']:,.1f}")
    print(f"{'HBM bytes per token':<22} {f['hbm_bytes_per_token'] / 1e6:,.2f} MB")
    if energy is not None:
        print(f"{'energy per token':<22} {1e3 * energy:.3f} mJ")
    print(f"{'busy share':<22} {share}; bound by {f['bottleneck']}")
    print(f"{'MXU utilization':<22} {100 * f['utilization']:.2f} %")
    return 0


def _batches(text: str) -> list[int]:
    """``--sweep-batch 1,8,64``: positive batch sizes."""
    try:
        batches = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--sweep-batch {text!r}: expected batch sizes like 1,8,64") from None
    if not batches or min(batches) < 1:
        raise ValueError(f"--sweep-batch {text!r}: expected positive batch sizes like 1,8,64")
    return batches


def _plot_sweep(sweep: list[dict], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from systolic import plots

    fig, ax = plt.subplots(figsize=(7, 4.2))
    plots.batch_sweep(ax, sweep)
    first = sweep[0]
    ax.set_title(f"{first['model']} {first['phase']} on {first['machine']} ({first['dtype']})")
    fig.tight_layout()
    plots.save_figure(fig, path)
