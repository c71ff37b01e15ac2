"""Waveforms of the golden model: every register of every PE, cycle by cycle, as a VCD file.

GTKWave and other waveform viewers open the file. Each PE is a scope ``array.pe_<row>_<col>``
holding real-valued ``act``, ``psum``, ``weight`` and ``shadow`` and one-bit ``valid``,
``switch``, ``psum_valid``, ``weight_valid`` and ``shadow_valid``. One time unit is one clock
cycle, and the value at time ``t`` is the register after the clock edge of cycle ``t``.
Written with pyvcd, to a temporary file that is then renamed onto the target.
"""

from __future__ import annotations

import os

import numpy as np
from vcd import VCDWriter
from vcd.reader import TokenKind, tokenize

from systolic.config import ArrayConfig, Dataflow
from systolic.dataflows import weight_stationary as ws
from systolic.files import atomic_open
from systolic.numerics import FORMATS, prepare_operands

# a dump of more than this many PEs or cycles is refused: no viewer makes sense of it
MAX_PES = 256
MAX_CYCLES = 20_000
BITS = {"valid", "switch", "psum_valid", "weight_valid", "shadow_valid", "a_valid", "b_valid",
        "acc_valid"}  # fmt: skip


def write_vcd(path: str | os.PathLike, a: np.ndarray, b: np.ndarray, config: ArrayConfig) -> int:
    """Run ``a @ b`` on the golden weight-stationary model and dump its registers to ``path``.

    Returns the number of cycles written.

    Raises
    ------
    ValueError
        A dataflow other than weight-stationary, more than ``MAX_PES`` PEs, or a run longer
        than ``MAX_CYCLES`` cycles.
    """
    a, b = prepare_operands(a, b, FORMATS[config.dtype], config.max_elements)
    check_vcd(a.shape[0], a.shape[1], b.shape[1], config)
    snapshots = ws.simulate_golden(a, b, config, record_registers=True).array.snapshots
    write_snapshots(path, snapshots, config.rows, config.cols)
    return len(snapshots)


def check_vcd(m: int, k: int, n: int, config: ArrayConfig) -> None:
    """Refuse, before anything runs, a dump :func:`write_vcd` would not write."""
    if config.dataflow is not Dataflow.WS:
        raise ValueError(f"waveforms are written for the ws dataflow, got {config.dataflow.value}")
    if config.pe_count > MAX_PES:
        raise ValueError(
            f"a {config.rows}x{config.cols} array has {config.pe_count} PEs, too many to dump "
            f"(at most {MAX_PES}); use a smaller array"
        )
    cycles = ws.closed_form_cycles(m, k, n, config)["total_cycles"]
    if cycles > MAX_CYCLES:
        raise ValueError(
            f"the run takes {cycles:,} cycles, too many to dump (at most {MAX_CYCLES:,}); "
            "use a smaller GEMM"
        )


def write_snapshots(
    path: str | os.PathLike, snapshots: list[dict[str, np.ndarray]], rows: int, cols: int
) -> None:
    """Write per-cycle register snapshots (one dict of ``(rows, cols)`` arrays per cycle, the
    value after that cycle's clock edge) as a VCD, one scope ``array.pe_<row>_<col>`` per PE.

    The golden model's snapshots and the RTL's (``systolic.rtl.cosim``) go through here, so
    both files name every signal alike and a viewer shows them side by side.
    """
    with atomic_open(path) as handle, VCDWriter(handle, timescale="1 ns", date="") as writer:
        signals = {}
        for i in range(rows):
            for j in range(cols):
                scope = f"array.pe_{i}_{j}"
                for name in snapshots[0] if snapshots else ():
                    if name in BITS:
                        var = writer.register_var(scope, name, "wire", size=1, init=0)
                    else:
                        var = writer.register_var(scope, name, "real", init=0.0)
                    signals[(name, i, j)] = var
        for cycle, registers in enumerate(snapshots):
            for (name, i, j), var in signals.items():
                value = registers[name][i, j]
                writer.change(var, cycle, int(value) if name in BITS else float(value))


def read_vcd(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a waveform written by :func:`write_snapshots` back, one value per cycle.

    Returns
    -------
    dict
        ``"pe_<row>_<col>.<name>"`` -> array of the signal's value after each cycle's clock
        edge (float for values, int for bits), as long as the file has cycles.
    """
    ids, changes, scope, time, end = {}, {}, [], 0, 0
    with open(path, "rb") as handle:
        for token in tokenize(handle):
            if token.kind is TokenKind.SCOPE:
                scope.append(token.scope.ident)
            elif token.kind is TokenKind.UPSCOPE:
                scope.pop()
            elif token.kind is TokenKind.VAR:
                name = ".".join([*scope[1:], token.var.reference])  # below the "array" scope
                ids[token.var.id_code] = name
                changes[name] = []
            elif token.kind is TokenKind.CHANGE_TIME:
                time = token.time_change
                end = max(end, time + 1)
            elif token.kind is TokenKind.CHANGE_SCALAR:
                change = token.scalar_change
                changes[ids[change.id_code]].append((time, int(change.value)))
            elif token.kind is TokenKind.CHANGE_REAL:
                change = token.real_change
                changes[ids[change.id_code]].append((time, change.value))
    out = {}
    for name, series in changes.items():
        values = np.zeros(end)
        for time, value in series:  # each value holds until the signal's next change
            values[time:] = value
        out[name] = values
    return out
