"""The TPU v1's six production applications, built from what the TPU paper publishes.

Jouppi et al., "In-Datacenter Performance Analysis of a Tensor Processing Unit", ISCA 2017.
Its Table 1 gives, per application, the layers by kind, the weights, the batch size and the
operations per weight byte (which the paper counts in MACs: a fully connected layer's is its
batch); its Table 3 the measured TOPS and the hardware counters' cycle shares. The layer
shapes are not published, except LSTM1's 600x600 matrices (section 7). Every shape below is
a published fact or an assumption stated next to it, chosen without looking at Table 3: no
constant is fitted to the measured figures.

Each application is a program for :class:`systolic.tpu.TPU`: matrix ops (fully connected
layers, convolutions lowered to their im2col GEMM) and vector ops on the activation unit
(LSTM gate products and nonlinearities, pooling), each reading the previous op's outputs from
the unified buffer. LSTMs are run for one time step: every step re-reads all its weights from
DRAM (they do not fit the on-chip FIFO), so each step costs the same.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from systolic.conv import ConvShape
from systolic.energy import EnergyTable, machine_area_mm2, price
from systolic.tpu import TPU, MatrixOp, TPUConfig, VectorOp, achieved_ops_per_s, table3


@dataclass(frozen=True)
class Published:
    """One application's published figures: Table 1 (workload) and Table 3 (measured)."""

    fc: int
    conv: int
    vector: int
    pool: int
    weights_m: float  # millions, as Table 1 rounds them
    macs_per_weight_byte: int
    batch: int
    tops: float  # Table 3 row 9: measured in production
    array_active_pct: float  # Table 3 rows 1 to 8: hardware performance counters
    useful_macs_pct: float
    unused_macs_pct: float
    weight_stall_pct: float
    weight_shift_pct: float
    non_matrix_pct: float
    raw_stall_pct: float
    input_stall_pct: float


#: Table 1 and Table 3 of the paper, as printed
PAPER: dict[str, Published] = {
    "MLP0": Published(5, 0, 0, 0, 20, 200, 200, 12.3, 12.7, 12.5, 0.3, 53.9, 15.9, 17.5, 3.3, 6.1),
    "MLP1": Published(4, 0, 0, 0, 5, 168, 168, 9.7, 10.6, 9.4, 1.2, 44.2, 13.4, 31.9, 8.4, 8.8),
    "LSTM0": Published(24, 0, 34, 0, 52, 64, 64, 3.7, 8.2, 8.2, 0.0, 58.1, 15.8, 17.9, 14.6, 5.1),
    "LSTM1": Published(37, 0, 19, 0, 34, 96, 96, 2.8, 10.5, 6.3, 4.2, 62.1, 17.1, 10.3, 10.6, 2.4),
    "CNN0": Published(0, 16, 0, 0, 8, 2888, 8, 86.0, 78.2, 78.2, 0.0, 0.0, 0.0, 21.8, 3.5, 3.4),
    "CNN1": Published(4, 72, 0, 13, 100, 1750, 32,
                      14.1, 46.2, 22.5, 23.7, 28.1, 7.0, 18.7, 23.1, 0.6),
}  # fmt: skip

#: Google's own performance model was this far from its hardware counters (section 7)
PAPER_MODEL_ERROR_PCT = (5, 11)

CATEGORIES = (
    "array_active_pct",
    "useful_macs_pct",
    "unused_macs_pct",
    "weight_stall_pct",
    "weight_shift_pct",
    "non_matrix_pct",
    "raw_stall_pct",
    "input_stall_pct",
)


def _fc_stack(batch: int, widths: list[int]) -> list[MatrixOp]:
    return [
        MatrixOp(batch, k, n, name=f"fc{i}") for i, (k, n) in enumerate(itertools.pairwise(widths))
    ]


def mlp0() -> list[MatrixOp | VectorOp]:
    """5 fully connected layers, 20M weights (Table 1), batch 200. Assumed: five equal square
    layers, the simplest shape holding the weights: 2000 x 2000 (4.0M weights each)."""
    return _fc_stack(PAPER["MLP0"].batch, [2000] * 6)


def mlp1() -> list[MatrixOp | VectorOp]:
    """4 fully connected layers, 5M weights, batch 168. Assumed: four equal square layers of
    1118 x 1118 (1.25M weights each, 5.0M in all)."""
    return _fc_stack(PAPER["MLP1"].batch, [1118] * 5)


def _spread(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal integers, the larger first."""
    return [total // parts + (i < total % parts) for i in range(parts)]


def lstm0() -> list[MatrixOp | VectorOp]:
    """24 fully connected and 34 vector layers, 52M weights, batch 64. Assumed: six LSTM
    layers 1024 wide, as in Google's published translation model (GNMT, Wu et al. 2016);
    each gate is one fully connected layer from ``[x, h]`` (2048) to 1024, four per LSTM
    layer reading the same inputs (24 in all, 50.3M weights), and the 34 vector layers (gate
    nonlinearities and products on 64 x 1024 values) are spread over the six LSTM layers, 6,
    6, 6, 6, 5, 5."""
    batch, width = PAPER["LSTM0"].batch, 1024
    program: list[MatrixOp | VectorOp] = []
    for layer, vectors in enumerate(_spread(PAPER["LSTM0"].vector, 6)):
        program += [
            MatrixOp(batch, 2 * width, width, name=f"fc{layer}.gate{gate}", same_inputs=gate > 0)
            for gate in range(4)
        ]
        program += [VectorOp(batch * width, name=f"v{layer}.{i}") for i in range(vectors)]
    return program


def lstm1() -> list[MatrixOp | VectorOp]:
    """37 fully connected and 19 vector layers, 34M weights, batch 96; its weight matrices are
    600 x 600 (the paper's section 7). Table 1's weights make 94 such matrices, 2.5 per fully
    connected layer: assumed 20 layers of three and 17 of two, each reading the same inputs
    (33.8M weights); the 19 vector layers (on 96 x 600 values) follow every second fully
    connected layer, and the last."""
    batch, width = PAPER["LSTM1"].batch, 600
    matrices = _spread(94, 37)  # 3 for the first 20 layers, then 2
    program: list[MatrixOp | VectorOp] = []
    for i, count in enumerate(matrices):
        program.append(MatrixOp(batch, width, width, count=count, name=f"fc{i}"))
        if i % 2 == 1 or i == len(matrices) - 1:
            program.append(VectorOp(batch * width, name=f"v{i}"))
    return program


def cnn0() -> list[MatrixOp | VectorOp]:
    """16 convolutions, 8M weights, batch 8, 2888 MACs per weight byte. 2888 / 8 = 361 = 19 x
    19: every weight is used at 361 positions per image, so every layer works on the 19 x 19
    board of Go with same padding (the paper does not name CNN0; this is DeepMind's AlphaGo's
    board). Assumed from AlphaGo Zero's published network (Silver et al. 2017): 3 x 3
    convolutions with 256 filters; the first layer reads 48 input planes (AlphaGo's, Silver
    et al. 2016), the 16th is AlphaGo's 1 x 1 policy layer to one plane: 8.4M weights."""
    batch = PAPER["CNN0"].batch
    pad = (1, 1, 1, 1)
    program: list[MatrixOp | VectorOp] = [
        MatrixOp.from_conv(ConvShape(batch, 48, 19, 19, 256, 3, 3, padding=pad), "conv0")
    ]
    for i in range(1, 15):
        shape = ConvShape(batch, 256, 19, 19, 256, 3, 3, padding=pad)
        program.append(MatrixOp.from_conv(shape, f"conv{i}"))
    program.append(MatrixOp.from_conv(ConvShape(batch, 256, 19, 19, 1, 1, 1), "conv15"))
    return program


#: CNN1: the classifier width (VGG's fully connected layers, Simonyan and Zisserman 2015)
CNN1_FC_WIDTH = 4096


def _cnn1_sizes() -> tuple[int, int]:
    """CNN1's convolution width and feature-map side, from Table 1's weights and intensity
    with 4 fully connected layers of :data:`CNN1_FC_WIDTH` and 72 equal 3 x 3 convolutions."""
    paper = PAPER["CNN1"]
    fc_weights = paper.fc * CNN1_FC_WIDTH**2
    conv_weights = paper.weights_m * 1e6 - fc_weights
    channels = round(math.sqrt(conv_weights / (paper.conv * 9)))
    # MACs per image = weights * intensity / batch; the convolutions' share over their weights
    macs = paper.weights_m * 1e6 * paper.macs_per_weight_byte / paper.batch
    side = round(math.sqrt((macs - fc_weights) / (paper.conv * 9 * channels**2)))
    return channels, side


def cnn1() -> list[MatrixOp | VectorOp]:
    """4 fully connected, 72 convolution and 13 pooling layers, 100M weights, batch 32, 1750
    MACs per weight byte; nothing else is published. Assumed: the fully connected layers are
    4096 x 4096 (VGG's classifier width: 67M weights); the 72 convolutions are 3 x 3, all of
    one width ``C`` on ``S x S`` maps with same padding, and ``C`` and ``S`` follow from
    Table 1's weights and intensity (``_cnn1_sizes``: C = 225, S = 13); the 13 poolings are
    3 x 3 windows at stride 1 (the in-module pooling of Google's Inception networks, which
    keeps the map size), spread evenly between the convolutions, each reading 9 values per
    output on the activation unit."""
    paper = PAPER["CNN1"]
    channels, side = _cnn1_sizes()
    shape = ConvShape(paper.batch, channels, side, side, channels, 3, 3, padding=(1, 1, 1, 1))
    program: list[MatrixOp | VectorOp] = []
    every = paper.conv / (paper.pool + 1)  # a pooling after every 72/14 convolutions
    pools = {round(every * (i + 1)) for i in range(paper.pool)}
    for i in range(paper.conv):
        program.append(MatrixOp.from_conv(shape, f"conv{i}"))
        if i + 1 in pools:
            values = paper.batch * side * side * channels
            program.append(VectorOp(values, passes=9, name=f"pool{i}"))
    # the classifier: 4096 values of the last map (reduced by the last pooling) in, 4 layers
    return program + _fc_stack(paper.batch, [CNN1_FC_WIDTH] * (paper.fc + 1))


APPS = {"MLP0": mlp0, "MLP1": mlp1, "LSTM0": lstm0, "LSTM1": lstm1, "CNN0": cnn0, "CNN1": cnn1}


def layer_counts(program: list[MatrixOp | VectorOp]) -> dict[str, int]:
    """Layers by Table 1's kinds: fully connected (``fc*``) and convolution (``conv*``) matrix
    ops, pooling (``pool*``) and other vector ops."""
    counts = dict.fromkeys(("fc", "conv", "vector", "pool"), 0)
    for op in program:
        if isinstance(op, MatrixOp):
            counts["conv" if op.name.startswith("conv") else "fc"] += 1
        else:
            counts["pool" if op.name.startswith("pool") else "vector"] += 1
    return counts


def weights(program: list[MatrixOp | VectorOp]) -> int:
    """Weights of a program: the ``k x n`` matrices of its matrix ops."""
    return sum(op.count * op.k * op.n for op in program if isinstance(op, MatrixOp))


def macs_per_weight_byte(program: list[MatrixOp | VectorOp], operand_bytes: int = 1) -> float:
    """The paper's intensity: MACs per byte of weights (int8: one byte per weight)."""
    macs = sum(op.count * op.m * op.k * op.n for op in program if isinstance(op, MatrixOp))
    return macs / (weights(program) * operand_bytes)


def check_names(names: list[str]) -> list[str]:
    """The applications to run, in the paper's order; an unknown name lists the valid ones."""
    unknown = [name for name in names if name.upper() not in APPS]
    if unknown:
        raise ValueError(f"unknown application {unknown[0]!r}; valid: {', '.join(APPS)}")
    wanted = {name.upper() for name in names}
    return [name for name in APPS if name in wanted]


def run(
    names: list[str] | None = None,
    config: TPUConfig | None = None,
    prices: EnergyTable | None = None,
) -> list[dict]:
    """Run the applications on ``config`` (default: the TPU v1 in int8); one record each.
    With ``prices``, each record also holds the run's energy (``systolic.energy.price``:
    ``energy_pj``, its ``*_energy_pj`` components, ``power_w``, ``tops_per_w``).

    Records hold ``app``, ``tops``, ``paper_tops``, ``ratio`` (``tops / paper_tops``),
    ``total_cycles``, ``batch``, ``weights``, ``macs_per_weight_byte`` (ours and the
    paper's), the Report's cycle breakdown, the Table 3 shares (``*_pct``, see
    ``systolic.tpu.table3``) and the paper's (``paper_*_pct``).
    """
    config = TPUConfig.tpu_v1() if config is None else config
    machine = TPU(config)
    records = []
    for name in check_names(list(APPS) if names is None else names):
        program = APPS[name]()
        try:
            report, _ = machine.run(program)
        except ValueError as error:
            raise ValueError(f"{name} on this machine: {error}") from None
        paper = PAPER[name]
        tops = achieved_ops_per_s(report, config) / 1e12
        record = {
            "app": name,
            "tops": tops,
            "paper_tops": paper.tops,
            "ratio": tops / paper.tops,
            "total_cycles": report.total_cycles,
            "batch": paper.batch,
            "weights": weights(program),
            "paper_weights": int(paper.weights_m * 1e6),
            "macs_per_weight_byte": macs_per_weight_byte(program),
            "paper_macs_per_weight_byte": paper.macs_per_weight_byte,
            "macs": report.macs,
            "dram_read_bytes": report.dram_read_bytes,
        }
        record.update(report.to_dict())
        record.update(table3(report))
        record.update({f"paper_{key}": getattr(paper, key) for key in CATEGORIES})
        if prices is not None:
            record["energy_table"] = prices.name
            record.update(price(report, prices, config.dtype, config.clock_mhz))
            record.update(machine_area_mm2(config, prices))
        records.append(record)
    return records


def format_table(records: list[dict]) -> str:
    """The records as a text table: TOPS against the paper's, then the Table 3 shares, each
    as ``ours / paper`` in % of cycles."""
    head = ["app", "TOPS", "paper", "ratio", "active", "useful", "unused", "w.stall",
            "w.shift", "non-mat", "RAW", "input"]  # fmt: skip
    lines = [
        f"{head[0]:<6} {head[1]:>6} {head[2]:>6} {head[3]:>6}  "
        + " ".join(f"{h:>11}" for h in head[4:])
    ]
    for r in records:
        shares = " ".join(f"{r[key]:>5.1f}/{r['paper_' + key]:<5.1f}" for key in CATEGORIES)
        lines.append(
            f"{r['app']:<6} {r['tops']:>6.1f} {r['paper_tops']:>6.1f} {r['ratio']:>6.2f}  {shares}"
        )
    lines.append("Table 3 shares in % of cycles, ours / the paper's counters (Jouppi et al. 2017)")
    if records and "power_w" in records[0]:
        lines.append(f"energy ({records[0]['energy_table']}):")
        for r in records:
            lines.append(
                f"{r['app']:<6} {r['energy_pj'] / 1e6:>10,.1f} uJ per batch  "
                f"{r['power_w']:>6.1f} W  {r['tops_per_w']:>6.2f} TOPS/W  "
                f"{r['pj_per_mac']:>6.2f} pJ/MAC"
            )
    return "\n".join(lines)
