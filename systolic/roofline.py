"""Where GEMMs land on the machine's roofline: achieved operations per second against
operational intensity (operations per byte of weights read from DRAM).

The roofline of a machine is ``min(peak, intensity * bandwidth)``: below the ridge point
``peak / bandwidth`` a GEMM is memory-bound (its weights cannot arrive faster), above it
compute-bound. Fully connected layers have intensity ``2 * batch / operand_bytes``, so small
batches sit far down the slope and large ones approach the peak.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from systolic.energy import EnergyTable, price
from systolic.numerics import FORMATS
from systolic.report import BREAKDOWN
from systolic.tpu import TPU, TPUConfig, achieved_ops_per_s, ops_per_weight_byte


def default_layers(config: TPUConfig) -> dict[str, tuple[tuple[int, int], list[int]]]:
    """Two fully connected layers, one array-sized and one 4x larger each way, each at batches
    1, 4, 16, ... up to the largest whose activations and results fit the unified buffer."""
    layers = {}
    fmt = FORMATS[config.dtype]
    for scale in (1, 4):
        k, n = scale * config.rows, scale * config.cols
        # a row of activations in and its results out, counted as TPU.matmul counts them
        per_row = k * fmt.operand_bytes + n * fmt.acc_bytes
        largest = config.memory.unified_buffer_bytes // per_row
        batches = [4**i for i in range(32) if 4**i <= largest]
        if batches[-1] < largest:
            batches.append(largest)
        layers[f"fc{k}x{n}"] = ((k, n), batches)
    return layers


def bandwidth_bytes_per_s(config: TPUConfig) -> float:
    """The weight memory's bandwidth (DRAM to the weight FIFO)."""
    return config.memory.dram_bytes_per_cycle * config.clock_mhz * 1e6


def ridge_ops_per_byte(config: TPUConfig) -> float:
    """The ridge point: the intensity (operations per weight byte) where the roofline turns
    from memory-bound to compute-bound, ``peak / bandwidth``."""
    return config.peak_ops_per_s / bandwidth_bytes_per_s(config)


def attainable_ops_per_s(intensity: float, config: TPUConfig) -> float:
    """The roofline at ``intensity`` operations per weight byte."""
    return min(config.peak_ops_per_s, intensity * bandwidth_bytes_per_s(config))


def runs(
    config: TPUConfig,
    layers: dict[str, tuple[tuple[int, int], Sequence[int]]] | None = None,
    seed: int = 0,
    energy: EnergyTable | None = None,
) -> list[dict]:
    """Run every layer ``{name: ((inputs, outputs), batches)}`` at each of its batches on the
    machine (default :func:`default_layers`); one record each.

    Records hold ``name``, ``m``, ``k``, ``n``, ``ops_per_weight_byte``, ``tops`` (achieved),
    ``roofline_tops`` (attainable at that intensity), ``peak_tops``, ``total_cycles`` and the
    Report's cycle breakdown; priced with ``energy``, also ``energy_pj``, its components,
    ``power_w`` and ``tops_per_w`` (``systolic.energy.price``).
    """
    rng = np.random.default_rng(seed)
    machine = TPU(config)
    integer = FORMATS[config.dtype].is_integer

    def operand(shape):  # values the format takes: quantized int8, or standard-normal floats
        return rng.integers(-127, 128, shape) if integer else rng.standard_normal(shape)

    records = []
    for name, ((k, n), batches) in (layers or default_layers(config)).items():
        weights = operand((k, n))
        for m in batches:
            # the activations are in the unified buffer already (as in a layer of a network):
            # the roofline is about the weights' memory, not the host interface
            _, report = machine.matmul(operand((m, k)), weights, inputs_in_buffer=True)
            intensity = ops_per_weight_byte(report)
            record = {"name": f"{name} batch {m}", "m": m, "k": k, "n": n}
            record.update(
                ops_per_weight_byte=intensity,
                tops=achieved_ops_per_s(report, config) / 1e12,
                roofline_tops=attainable_ops_per_s(intensity, config) / 1e12,
                peak_tops=config.peak_ops_per_s / 1e12,
                total_cycles=report.total_cycles,
                **{part: getattr(report, part) for part in BREAKDOWN},
            )
            if energy is not None:
                record.update(price(report, energy, config.dtype, config.clock_mhz))
            records.append(record)
    return records


def format_table(records: Sequence[dict]) -> str:
    """The records as a text table, one line per run."""
    lines = [
        f"{'run':<20} {'ops/B':>8} {'TOPS':>8} {'roofline':>9} {'peak':>7} {'cycles':>11} "
        f"{'compute':>9} {'w. load':>8} {'w. stall':>10} {'fill/drain':>10}"
    ]
    for r in records:
        lines.append(
            f"{r['name']:<20} {r['ops_per_weight_byte']:>8.1f} {r['tops']:>8.3f} "
            f"{r['roofline_tops']:>9.3f} {r['peak_tops']:>7.2f} {r['total_cycles']:>11,} "
            f"{r['compute_cycles']:>9,} {r['weight_load_cycles']:>8,} "
            f"{r['weight_stall_cycles']:>10,} {r['fill_drain_cycles']:>10,}"
        )
    return "\n".join(lines)
