"""Energy and area: a Report's counts priced with a table of per-action energies.

::

    Report (counts: MACs, PE-cycles, bytes per memory)  x  EnergyTable (pJ per action)
        -> energy_pj = mac + idle + unified buffer + accumulators + weight FIFO + DRAM

The Report never holds a price: the same run can be priced under several tables. Every number
in a preset has its source next to it. What is priced (the counts are the Report's):

- ``mac_energy_pj``: ``macs`` times one multiply and one accumulate add in the run's format;
- ``idle_energy_pj``: clock and leakage, ``pe_count * total_cycles`` PE-cycles, busy or not;
- ``ub_energy_pj``: unified-buffer bytes read into the array (``act_read_bytes``) and written
  back by the activation unit (``ub_write_bytes``);
- ``acc_energy_pj``: accumulator bytes written (``acc_write_bytes``) and read
  (``acc_read_bytes``);
- ``fifo_energy_pj``: weight-FIFO bytes written from DRAM (``dram_read_bytes``) and read into
  the array (``weight_read_bytes``);
- ``dram_energy_pj``: ``dram_read_bytes`` read from the weight memory;
- ``register_energy_pj``: the array's register writes, each moving a value from a
  neighbouring PE (operands and weights at operand width, partial sums at accumulator width);
- ``host_energy_pj``: ``host_read_bytes``, read from the host's memory.

A training machine (``systolic.machine``) adds three units, priced by :func:`price_machine`
from the counts of its steps: the VPU's element operations by op class
(``vpu_pj_per_op``), the bytes the VPU reads and writes in VMEM (``vmem_pj_per_byte``) and
the bytes the DMA moves to and from HBM (``hbm_pj_per_byte``); its MXUs are priced as arrays
by :func:`price`. A table without these keys prices arrays and the TPU v1 only.
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from systolic.numerics import FORMATS
from systolic.report import Report


@dataclass(frozen=True)
class EnergyTable:
    """Energies in pJ per action (per byte for memories) and areas in square micrometres.

    ``mac_pj`` and ``mac_um2`` map every format of ``systolic.numerics.FORMATS`` to one
    multiply plus one accumulate add in that format; ``sram_um2_per_byte`` is the area of a
    byte of on-chip SRAM (unified buffer, accumulators, weight FIFO); ``nand2_um2`` the area
    of a two-input NAND gate, to turn ``systolic rtl synth``'s NAND2 equivalents into area.
    """

    name: str
    mac_pj: dict[str, float]
    mac_um2: dict[str, float]
    idle_pj_per_pe_cycle: float
    ub_pj_per_byte: float
    acc_pj_per_byte: float
    fifo_pj_per_byte: float
    dram_pj_per_byte: float
    register_pj_per_byte: float
    host_pj_per_byte: float
    sram_um2_per_byte: float
    nand2_um2: float
    vpu_pj_per_op: dict[str, float] | None = None
    vmem_pj_per_byte: float | None = None
    hbm_pj_per_byte: float | None = None

    def __post_init__(self):
        for name in ("mac_pj", "mac_um2"):
            table = getattr(self, name)
            if not isinstance(table, dict):
                raise ValueError(f"{self.name}: {name} must be a table of formats")
            for fmt in FORMATS:
                if fmt not in table:
                    raise ValueError(f"{self.name}: {name} lacks the format {fmt!r}")
            for fmt, value in table.items():
                if fmt not in FORMATS:
                    valid = ", ".join(FORMATS)
                    raise ValueError(f"{self.name}: {name}.{fmt}: unknown format; valid: {valid}")
                _check_value(self.name, f"{name}.{fmt}", value)
        if self.vpu_pj_per_op is not None:
            from systolic.machine.config import OP_CLASSES

            table = self.vpu_pj_per_op
            if not isinstance(table, dict) or set(table) != set(OP_CLASSES):
                raise ValueError(
                    f"{self.name}: vpu_pj_per_op must be a table of the op classes "
                    f"{', '.join(OP_CLASSES)}, got {table!r}"
                )
            for op_class, value in table.items():
                _check_value(self.name, f"vpu_pj_per_op.{op_class}", value)
        for spec in fields(self):
            if spec.name in ("name", "mac_pj", "mac_um2", "vpu_pj_per_op"):
                continue
            value = getattr(self, spec.name)
            if value is not None or spec.name not in _MACHINE_KEYS:
                _check_value(self.name, spec.name, value)

    @property
    def prices_machines(self) -> bool:
        """Whether the table has the training machine's units (VPU, VMEM, HBM)."""
        return all(getattr(self, key) is not None for key in _MACHINE_KEYS)


#: the keys a table needs to price a training machine, optional in a TOML file
_MACHINE_KEYS = ("vpu_pj_per_op", "vmem_pj_per_byte", "hbm_pj_per_byte")


def _check_value(source: str, key: str, value: object) -> None:
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if not (number and math.isfinite(value) and value >= 0):
        raise ValueError(f"{source}: {key} must be a finite number >= 0, got {value!r}")


# Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm:
# int8 add 0.03 pJ / 36 um2, int8 multiply 0.2 pJ / 282 um2, int32 add 0.1 pJ / 137 um2,
# fp16 add 0.4 pJ / 1360 um2, fp16 multiply 1.1 pJ / 1640 um2, fp32 add 0.9 pJ / 4184 um2,
# fp32 multiply 3.7 pJ / 7700 um2; 64-bit SRAM reads 10 pJ (8 KB), 20 pJ (32 KB), 100 pJ
# (1 MB); 64-bit DRAM reads 1.3-2.6 nJ.
_H45 = {
    "int8_mul": (0.2, 282.0),
    "int32_add": (0.1, 137.0),
    "fp16_mul": (1.1, 1640.0),
    "fp32_add": (0.9, 4184.0),
    "fp32_mul": (3.7, 7700.0),
}


def _mac(mul: str, add: str, index: int) -> float:
    return _H45[mul][index] + _H45[add][index]


def _derived_mul(mantissa_bits: int, index: int) -> float:
    """A multiplier's energy or area grows with the square of its mantissa width (an array
    multiplier): scaled from Horowitz's fp32 multiply (24-bit mantissa). Assumed for the
    formats his table lacks: bf16 (8 bits), fp64 (53 bits)."""
    return _H45["fp32_mul"][index] * (mantissa_bits / 24) ** 2


def _horowitz45_macs(index: int) -> dict[str, float]:
    # accumulators: int32 for int8, fp32 for fp32, bf16 and fp16 (systolic.numerics); fp64
    # adds assumed at twice the fp32 add (a 64-bit adder, linear in width)
    return {
        "int8": _mac("int8_mul", "int32_add", index),
        "fp16": _mac("fp16_mul", "fp32_add", index),
        "bf16": _derived_mul(8, index) + _H45["fp32_add"][index],
        "fp32": _mac("fp32_mul", "fp32_add", index),
        "fp64": _derived_mul(53, index) + 2 * _H45["fp32_add"][index],
    }


#: the TPU v1's idle power per PE-cycle: 28 W idle (Jouppi et al. 2017, Table 2) over
#: 65,536 PEs at 700 MHz, all of the chip's idle power charged to its PEs (28 nm)
TPU_V1_IDLE_PJ_PER_PE_CYCLE = 28.0 / (65_536 * 700e6) * 1e12

#: Stillmaker and Baas, "Scaling equations for the accurate prediction of CMOS device
#: performance from 180 nm to 7 nm", Integration 2017: on-chip energy from 45 nm to 28 nm
ENERGY_45_TO_28 = 0.51
#: area from 45 nm to 28 nm: ideal scaling with the square of the feature size (assumed)
AREA_45_TO_28 = (28 / 45) ** 2


#: HBM: 6.0 pJ per bit, Micron's average device power of HBM2E (micron.com, "Ultra-bandwidth
#: solutions": 7.5 pJ/bit GDDR6, 7.25 GDDR6X, 6.0 HBM2E), per byte
HBM2E_PJ_PER_BYTE = 6.0 * 8


def _horowitz45_vpu() -> dict[str, float]:
    """The VPU's element operations at 45 nm: an add-class op (add, multiply, compare,
    select) at Horowitz's fp32 add, 0.9 pJ (a multiply costs 3.7 pJ, so a step of multiplies
    is priced low); divide/reciprocal and exp/log/tanh at four fp32 multiplies and adds,
    4 x 4.6 pJ (assumed: a table lookup and about three Newton or polynomial steps)."""
    fused = _H45["fp32_mul"][0] + _H45["fp32_add"][0]
    return {"add": _H45["fp32_add"][0], "divide": 4 * fused, "transcendental": 4 * fused}


def horowitz45() -> EnergyTable:
    """45 nm, Horowitz's ISSCC 2014 table. Memories per byte: the unified buffer and the
    weight FIFO priced as 1 MB SRAM banks (100 pJ per 64 bits), the accumulators as 32 KB banks
    (20 pJ: 16 KiB per column on the TPU v1); DRAM at 2.6 nJ per 64 bits, the upper end of the
    table's range (commodity DDR3, as the TPU v1's); a training machine's HBM at
    :data:`HBM2E_PJ_PER_BYTE`, its VMEM as the unified buffer (1 MB banks), its VPU by
    ``_horowitz45_vpu``; the host's bytes at the same DRAM
    figure (read from the host's memory; the PCIe link's own energy is not included). A
    register write of one byte from a neighbouring PE: priced as an 8-bit add, 0.03 pJ
    (assumed: eight flip-flops and a short wire switch about the capacitance of an 8-bit
    adder; their clocking is already in the idle term). Eyeriss's network-on-chip figure
    (Chen, Emer and Sze, ISCA 2016: a PE-to-PE move costs 2 MACs) is for a routed network,
    not a neighbour register; with it a register byte would cost 0.6 pJ, 20 times more (the
    README shows what that changes). Idle: the TPU v1's per-PE idle energy
    scaled back to 45 nm. SRAM area: 0.6 um2 per bit (a 45 nm 6T cell of about 0.3 um2,
    doubled for the periphery; assumed). A NAND2: 0.798 um2, the NAND2_X1 cell of the Nangate
    45 nm Open Cell Library."""
    return EnergyTable(
        name="horowitz45",
        mac_pj=_horowitz45_macs(0),
        mac_um2=_horowitz45_macs(1),
        idle_pj_per_pe_cycle=TPU_V1_IDLE_PJ_PER_PE_CYCLE / ENERGY_45_TO_28,
        ub_pj_per_byte=100 / 8,
        acc_pj_per_byte=20 / 8,
        fifo_pj_per_byte=100 / 8,
        dram_pj_per_byte=2600 / 8,
        register_pj_per_byte=0.03,  # Horowitz's int8 add
        host_pj_per_byte=2600 / 8,
        sram_um2_per_byte=8 * 0.6,
        nand2_um2=0.798,
        vpu_pj_per_op=_horowitz45_vpu(),
        vmem_pj_per_byte=100 / 8,
        hbm_pj_per_byte=HBM2E_PJ_PER_BYTE,
    )


def tpu_v1_28nm() -> EnergyTable:
    """:func:`horowitz45` scaled to the TPU v1's 28 nm: on-chip energies by
    :data:`ENERGY_45_TO_28`, areas by :data:`AREA_45_TO_28`; DRAM not scaled (off chip); idle
    the TPU v1's measured idle power per PE-cycle."""
    base = horowitz45()
    return EnergyTable(
        name="tpu_v1_28nm",
        mac_pj={fmt: v * ENERGY_45_TO_28 for fmt, v in base.mac_pj.items()},
        mac_um2={fmt: v * AREA_45_TO_28 for fmt, v in base.mac_um2.items()},
        idle_pj_per_pe_cycle=TPU_V1_IDLE_PJ_PER_PE_CYCLE,
        ub_pj_per_byte=base.ub_pj_per_byte * ENERGY_45_TO_28,
        acc_pj_per_byte=base.acc_pj_per_byte * ENERGY_45_TO_28,
        fifo_pj_per_byte=base.fifo_pj_per_byte * ENERGY_45_TO_28,
        dram_pj_per_byte=base.dram_pj_per_byte,
        register_pj_per_byte=base.register_pj_per_byte * ENERGY_45_TO_28,
        host_pj_per_byte=base.host_pj_per_byte,
        sram_um2_per_byte=base.sram_um2_per_byte * AREA_45_TO_28,
        nand2_um2=base.nand2_um2 * AREA_45_TO_28,
        vpu_pj_per_op={c: v * ENERGY_45_TO_28 for c, v in base.vpu_pj_per_op.items()},
        vmem_pj_per_byte=base.vmem_pj_per_byte * ENERGY_45_TO_28,
        hbm_pj_per_byte=base.hbm_pj_per_byte,
    )


PRESETS = {"horowitz45": horowitz45, "tpu_v1_28nm": tpu_v1_28nm}

#: the components of :func:`price`, in the order plots stack them
ENERGY_COMPONENTS = (
    "mac_energy_pj",
    "register_energy_pj",
    "idle_energy_pj",
    "acc_energy_pj",
    "ub_energy_pj",
    "fifo_energy_pj",
    "dram_energy_pj",
    "host_energy_pj",
)


def load_table(path: str | Path) -> EnergyTable:
    """A user's table from a TOML file with :class:`EnergyTable`'s keys but ``name`` (the table
    is named after the file), ``[mac_pj]`` and ``[mac_um2]`` as tables by format. Unknown or
    missing keys, and negative or non-finite values, are errors naming the file and the key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not TOML: {error}") from None
    keys = [spec.name for spec in fields(EnergyTable) if spec.name != "name"]
    for key in data:
        if key not in keys:
            raise ValueError(f"{path}: unknown key {key!r}; valid: {', '.join(keys)}")
    for key in keys:
        if key not in data and key not in _MACHINE_KEYS:
            raise ValueError(f"{path}: missing key {key!r}")
    return EnergyTable(name=str(path), **data)  # named after the file: its errors say where


def table(spec: str) -> EnergyTable:
    """A preset by name, or a ``.toml`` file; an unknown name lists the presets."""
    if spec in PRESETS:
        return PRESETS[spec]()
    if spec.endswith(".toml"):
        return load_table(spec)
    raise ValueError(f"unknown energy table {spec!r}; presets: {', '.join(PRESETS)}, or a .toml")


def price(
    report: Report, energy: EnergyTable, dtype: str, clock_mhz: float | None = None
) -> dict[str, float]:
    """The energy of ``report``'s run in ``dtype`` under ``energy`` (see the module docstring).

    Returns ``energy_pj``, its components ending in ``_energy_pj`` (they sum to it) and
    ``pj_per_mac``; with ``clock_mhz``, also ``seconds``, ``power_w`` (average over the run)
    and ``tops_per_w`` (2 operations per MAC).
    """
    if dtype not in FORMATS:
        raise ValueError(f"unknown dtype {dtype!r}; valid: {', '.join(FORMATS)}")
    fmt = FORMATS[dtype]
    count = functools.partial(getattr, report)
    parts = price_terms(count, energy, energy.mac_pj[dtype], fmt.operand_bytes, fmt.acc_bytes)
    total = parts.pop("energy_pj")
    out = {"energy_pj": total, **parts}
    out["pj_per_mac"] = total / report.macs if report.macs else math.inf
    if clock_mhz is not None:
        seconds = report.total_cycles / (clock_mhz * 1e6)
        out["seconds"] = seconds
        out["power_w"] = total * 1e-12 / seconds if seconds else 0.0
        out["tops_per_w"] = 2 * report.macs / (total * 1e-12) / 1e12 if total else 0.0
    return out


def price_terms(count, energy: EnergyTable, mac_pj, operand_bytes, acc_bytes) -> dict:
    """:func:`price`'s ``energy_pj`` and its components, in the order of
    :data:`ENERGY_COMPONENTS` after it, from ``count(name)``, a Report field's value: ints
    (one Report) or NumPy arrays of many (``systolic.sweep.vectorized``), with ``mac_pj``
    and the format's sizes as values or arrays alike."""
    registers = _register_terms(count, operand_bytes, acc_bytes)
    accumulators = count("acc_write_bytes") + count("acc_read_bytes")
    parts = {  # in the order of ENERGY_COMPONENTS
        "mac_energy_pj": count("macs") * mac_pj,
        "register_energy_pj": registers * energy.register_pj_per_byte,
        "idle_energy_pj": count("pe_count") * count("total_cycles") * energy.idle_pj_per_pe_cycle,
        "acc_energy_pj": accumulators * energy.acc_pj_per_byte,
        "ub_energy_pj": (count("act_read_bytes") + count("ub_write_bytes")) * energy.ub_pj_per_byte,
        "fifo_energy_pj": (count("dram_read_bytes") + count("weight_read_bytes"))
        * energy.fifo_pj_per_byte,
        "dram_energy_pj": count("dram_read_bytes") * energy.dram_pj_per_byte,
        "host_energy_pj": count("host_read_bytes") * energy.host_pj_per_byte,
    }
    return {"energy_pj": sum(parts.values()), **parts}


def register_bytes(report: Report, dtype: str) -> int:
    """Bytes written into the array's registers: operands and weights at operand width,
    partial sums at accumulator width."""
    fmt = FORMATS[dtype]
    return _register_terms(functools.partial(getattr, report), fmt.operand_bytes, fmt.acc_bytes)


def _register_terms(count, operand_bytes, acc_bytes):
    moved = count("operand_register_writes") + count("weight_register_writes")
    return moved * operand_bytes + count("psum_register_writes") * acc_bytes


def area_mm2(energy: EnergyTable, rows: int, cols: int, dtype: str, sram_bytes: int = 0) -> dict:
    """Area of a ``rows x cols`` array of ``dtype`` MAC units and ``sram_bytes`` of on-chip
    buffers: ``array_mm2``, ``sram_mm2`` and their sum ``area_mm2``. The MAC units only: the
    PEs' registers and wiring are not in the table (``systolic rtl synth`` counts them)."""
    return area_terms(energy, rows, cols, energy.mac_um2[dtype], sram_bytes)


def area_terms(energy: EnergyTable, rows, cols, mac_um2, sram_bytes) -> dict:
    """:func:`area_mm2` of ints or of NumPy arrays (``mac_um2`` a value or an array)."""
    array = rows * cols * mac_um2 / 1e6
    sram = sram_bytes * energy.sram_um2_per_byte / 1e6
    return {"array_mm2": array, "sram_mm2": sram, "area_mm2": array + sram}


def machine_area_mm2(config, energy: EnergyTable) -> dict:
    """Area of a ``systolic.tpu.TPUConfig`` machine: its array's MAC units (``array_mm2``),
    unified buffer, accumulators (``accumulator_rows`` rows of ``cols`` sums) and weight FIFO
    (``*_mm2`` each, as SRAM), and their sum ``area_mm2``."""
    fmt = FORMATS[config.dtype]
    memory = config.memory
    buffers = {
        "ub_mm2": memory.unified_buffer_bytes,
        "acc_mm2": memory.accumulator_rows * config.cols * fmt.acc_bytes,
        "fifo_mm2": memory.weight_fifo_bytes,
    }
    out = {"array_mm2": area_mm2(energy, config.rows, config.cols, config.dtype)["array_mm2"]}
    out.update({name: size * energy.sram_um2_per_byte / 1e6 for name, size in buffers.items()})
    out["area_mm2"] = sum(out.values())
    return out


def synthesized_area_mm2(stats: dict, energy: EnergyTable) -> dict:
    """Area of a design synthesized by ``systolic rtl synth`` (its ``stats``): NAND2
    equivalents times the table's NAND2 area (``synth_area_mm2``), beside the table's own
    estimate for the same array's int8 MAC units (``table_array_mm2``, registers and control
    not included) and their ratio."""
    synth = stats["nand2_equivalents"] * energy.nand2_um2 / 1e6
    table = area_mm2(energy, stats["rows"], stats["cols"], "int8")["array_mm2"]
    return {"synth_area_mm2": synth, "table_array_mm2": table, "synth_over_table": synth / table}


def price_machine(counts: dict, energy: EnergyTable, dtype: str) -> dict[str, float]:
    """The energy of a training machine's work under ``energy``, in joules.

    ``counts`` holds ``mxu_report`` (the MXUs' summed Report, priced by :func:`price`),
    ``vpu_element_ops`` (per op class), ``vmem_bytes`` (the VPU's reads and writes) and
    ``hbm_bytes`` (the DMA's reads and writes). Returns ``energy_j`` and its parts
    ``mxu_energy_j``, ``vpu_energy_j``, ``vmem_energy_j``, ``hbm_energy_j``.

    Raises
    ------
    ValueError
        A table without the machine's keys (``vpu_pj_per_op``, ``vmem_pj_per_byte``,
        ``hbm_pj_per_byte``).
    """
    if not energy.prices_machines:
        missing = [key for key in _MACHINE_KEYS if getattr(energy, key) is None]
        raise ValueError(
            f"energy table {energy.name} cannot price a training machine: it lacks "
            f"{', '.join(missing)}"
        )
    report = counts["mxu_report"]
    mxu = price(report, energy, dtype)["energy_pj"] if report is not None else 0.0
    parts = {
        "mxu_energy_j": mxu * 1e-12,
        "vpu_energy_j": sum(
            n * energy.vpu_pj_per_op[op_class] for op_class, n in counts["vpu_element_ops"].items()
        ) * 1e-12,
        "vmem_energy_j": counts["vmem_bytes"] * energy.vmem_pj_per_byte * 1e-12,
        "hbm_energy_j": counts["hbm_bytes"] * energy.hbm_pj_per_byte * 1e-12,
    }  # fmt: skip
    return {"energy_j": sum(parts.values()), **parts}
