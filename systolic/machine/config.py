"""The TensorCore machine: a TPU that trains, as a frozen configuration with published presets.

::

            +------------------------------- chip -------------------------------+
            |  TensorCore 0                          TensorCore 1 (v2-v4, v5p)   |
            |  +------+ +------+                     +------+ +------+           |
            |  | MXU  | | MXU  | ... mxus            | MXU  | | MXU  | ...       |
            |  +--^---+ +--^---+                     +------+ +------+           |
            |     |  VMEM  |  <-> VPU (sublanes x lanes)       ...               |
            |     +---+----+                                                     |
            +---------|----------------------------------------------------------+
                      | DMA, hbm_bytes_per_second
                     HBM

One type, :class:`MachineConfig`, describes a chip: its TensorCores (``cores``), each with
``mxus`` matrix units of ``mxu_rows x mxu_cols`` processing elements, one vector unit
(:class:`VPUConfig`) and its VMEM; and the chip's HBM. It sits beside
``systolic.tpu.TPUConfig``, the TPU v1 (an inference chip with a unified buffer and a weight
FIFO), rather than extending it: the two machines share the weight-stationary array and
nothing else. Each MXU *is* that array (``ArrayConfig`` of :attr:`MachineConfig.mxu`:
weight-stationary, with the segmented double-buffered load of :data:`MXU_CHAIN_ROWS_ASSUMED`
rows per chain, ``accumulator_rows`` result rows), so its values and cycles are the bare
array's, with every proof the array has.

The chip's cores are one pool: a GEMM is split over all ``cores * mxus`` MXUs and an
element-wise op over all ``cores`` VPUs, as XLA does with the two TensorCores of a v4 or v5p
chip ("megacore"). Peak FLOP/s count two operations (a multiply and an add) per PE per cycle.

Every preset number names its source; what is not published is named an assumption, with its
reason (ASSUMED in the preset's docstring). Sources:

- [CLOUD] Google Cloud's TPU pages, cloud.google.com/tpu/docs/v3, /v4, /v5e, /v5p, /v6e,
  "System architecture": TensorCores per chip, MXUs per TensorCore and their size, peak
  bf16 and int8 per chip, HBM capacity and bandwidth per chip. [CLOUD-SA]: "System
  architecture" (tpu/docs/system-architecture-tpu-vm): "All multiplies take bfloat16
  inputs, but all accumulations are performed in FP32".
- [JAX-INFO] JAX's TPU hardware reference (``jax/_src/tpu_info.py``, rendered as "TPU
  Hardware Reference" in JAX's Pallas documentation): per chip generation, TensorCores,
  MXUs, 128 or 256 MXU columns, 128 lanes and 8 sublanes, VMEM per core, HBM.
- [SB] "How to Scale Your Model" (jax-ml.github.io/scaling-book), "How to Think About TPUs":
  the v5e's 1.5 GHz ("about 5e13 bf16 FLOPs/s per MXU at 1.5GHz on TPU v5e"), the v5p's
  1.75 GHz (appendix A), VMEM's bandwidth (about 22 times HBM's on v5e; a v5p "can load 3
  registers from VMEM each cycle, and write 1"), VPU operations in fp32.
- [CACM20] Jouppi et al., "A Domain-Specific Supercomputer for Training Deep Neural
  Networks", CACM 63(7), 2020: the TPUv2's 700 MHz and TPUv3's 940 MHz clocks.
- [ISCA23] Jouppi et al., "TPU v4: An Optically Reconfigurable Supercomputer for Machine
  Learning with Hardware Support for Embeddings", ISCA 2023: the v4's 1050 MHz clock.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from dataclasses import dataclass, field

from systolic.config import ArrayConfig, WeightLoad, set_positive_ints
from systolic.numerics import FORMATS

KIB, MIB, GIB = 1024, 1024**2, 1024**3
GB = 10**9

#: element-wise op classes of the VPU, each with its own cycles per vector step
OP_CLASSES = ("add", "divide", "transcendental")
#: the number formats an MXU may take: bf16 operands (the TPU's own), fp32 (values of a
#: reference run; see :class:`MachineConfig`), int8 where the chip has it
MXU_FORMATS = ("bf16", "fp32", "int8")


@dataclass(frozen=True)
class VPUConfig:
    """One TensorCore's vector unit: ``sublanes x lanes`` float32 elements per vector step.

    An element-wise op over an array runs one vector step per ``(sublanes, lanes)`` tile of it
    (the layout of a TPU's vector registers: an array's last two dimensions are padded to
    multiples of 8 and 128, [JAX-INFO], [SB]); a step costs its op class's cycles:

    - ``add_cycles``: add, subtract, multiply, compare, select, max (the VALU's one-cycle ops);
    - ``divide_cycles``: divide and reciprocal;
    - ``transcendental_cycles``: exp, log, tanh (the transcendental path).

    Parameters
    ----------
    lanes, sublanes : int
        Shape of a vector register (128 and 8 on every TPU since v2, [JAX-INFO]).
    add_cycles, divide_cycles, transcendental_cycles : int
        Cycles per vector step of each class (>= 1). None are published; the presets use
        :data:`VPU_CYCLES_ASSUMED`.
    """

    lanes: int = 128
    sublanes: int = 8
    add_cycles: int = 1
    divide_cycles: int = 4
    transcendental_cycles: int = 4

    def __post_init__(self):
        set_positive_ints(
            self, "lanes", "sublanes", "add_cycles", "divide_cycles", "transcendental_cycles"
        )

    @property
    def vector(self) -> int:
        """Elements per vector step, ``sublanes * lanes``."""
        return self.sublanes * self.lanes

    def cycles(self, op_class: str) -> int:
        """Cycles of one vector step of ``op_class`` (one of :data:`OP_CLASSES`)."""
        if op_class not in OP_CLASSES:
            raise ValueError(f"unknown op class {op_class!r}; valid: {', '.join(OP_CLASSES)}")
        return getattr(self, f"{op_class}_cycles")


#: ASSUMED for every preset: no TPU's per-op VPU latency or throughput is published. One
#: cycle per vector step for the VALU's simple ops (a vector unit issues one such op per
#: register per cycle); four for divide/reciprocal and for exp/log/tanh, which run on a
#: separate, narrower transcendental unit whose rate is not published (a reciprocal or
#: exponential is a table lookup and two or three Newton or polynomial steps).
VPU_CYCLES_ASSUMED = {"add_cycles": 1, "divide_cycles": 4, "transcendental_cycles": 4}


@dataclass(frozen=True)
class MachineConfig:
    """A TPU chip that trains: TensorCores of MXUs, a VPU and VMEM each, and HBM.

    Parameters
    ----------
    name : str
        The preset's name (``"tpu_v5e"``) or any label.
    cores : int
        TensorCores per chip, used as one pool (see the module docstring).
    mxus : int
        MXUs per TensorCore.
    mxu_rows, mxu_cols : int
        Processing elements of one MXU (128 x 128; 256 x 256 on v6e).
    clock_mhz : float
        Clock of the TensorCores (MXU and VPU cycles), > 0.
    vpu : VPUConfig
    vmem_bytes : int
        VMEM per TensorCore: an op's tile (its inputs and outputs, or for a GEMM a k-strip of
        its operands, see ``systolic.machine.mapping``) must fit.
    vmem_bytes_per_cycle : float
        VMEM bandwidth per TensorCore, bytes per cycle: the VPU reads and writes its operands
        through it, and an element-wise op takes at least its bytes over this.
    hbm_bytes : int
        HBM capacity per chip: parameters, velocities and a step's saved values must fit.
    hbm_bytes_per_second : float
        HBM bandwidth per chip; the DMA between HBM and VMEM moves bytes at this rate.
    dtype : str
        The MXUs' number format: ``"bf16"`` (bf16 operands, fp32 sums: the TPU's own),
        ``"int8"`` (int8 operands, int32 sums; only where ``int8`` is true) or ``"fp32"``
        (fp32 operands and sums, for runs that must match a float reference: a real TPU
        emulates fp32 matmuls in several bf16 passes, which is not modelled; each GEMM takes
        the cycles of one pass). The VPU computes in float32 whatever the MXU format, and
        values in HBM are float32 (master weights).
    int8 : bool
        Whether the MXUs take int8 operands.
    accumulator_rows : int
        Rows of ``mxu_cols`` fp32 sums an MXU's result buffer holds: a GEMM streams at most
        this many rows of A per weight tile (every preset: :data:`ACCUMULATOR_ROWS_ASSUMED`).
    """

    name: str
    cores: int
    mxus: int
    mxu_rows: int
    mxu_cols: int
    clock_mhz: float
    vmem_bytes: int
    vmem_bytes_per_cycle: float
    hbm_bytes: int
    hbm_bytes_per_second: float
    vpu: VPUConfig = field(default_factory=VPUConfig)
    dtype: str = "bf16"
    int8: bool = True
    accumulator_rows: int = 512

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        set_positive_ints(
            self, "cores", "mxus", "mxu_rows", "mxu_cols", "vmem_bytes", "hbm_bytes",
            "accumulator_rows",
        )  # fmt: skip
        for what in ("clock_mhz", "vmem_bytes_per_cycle", "hbm_bytes_per_second"):
            value = getattr(self, what)
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(f"{what} must be a finite number > 0, got {value!r}")
        if not isinstance(self.vpu, VPUConfig):
            raise ValueError(f"vpu must be a VPUConfig, got {self.vpu!r}")
        if not isinstance(self.int8, bool):
            raise ValueError(f"int8 must be True or False, got {self.int8!r}")
        if self.dtype not in MXU_FORMATS:
            raise ValueError(f"unknown MXU format {self.dtype!r}; valid: {', '.join(MXU_FORMATS)}")
        if self.dtype == "int8" and not self.int8:
            raise ValueError(f"{self.name}'s MXUs have no int8 mode; use bf16 or fp32")

    @property
    def mxu(self) -> ArrayConfig:
        """One MXU as the array engines see it: weight-stationary, with the segmented
        double-buffered weight load (:data:`MXU_CHAIN_ROWS_ASSUMED`), in the machine's
        format, with ``accumulator_rows`` rows of sums."""
        return _mxu_array(self.mxu_rows, self.mxu_cols, self.accumulator_rows, self.dtype)

    @property
    def mxu_count(self) -> int:
        """MXUs of the chip, ``cores * mxus``."""
        return self.cores * self.mxus

    @property
    def pe_count(self) -> int:
        """Processing elements of all MXUs."""
        return self.mxu_count * self.mxu_rows * self.mxu_cols

    @property
    def peak_bf16_flops(self) -> float:
        """Peak bf16 FLOP/s of the chip: two operations per PE of every MXU per cycle."""
        return 2 * self.pe_count * self.clock_mhz * 1e6

    @property
    def hbm_bytes_per_cycle(self) -> float:
        """HBM bandwidth in bytes per clock cycle."""
        return self.hbm_bytes_per_second / (self.clock_mhz * 1e6)

    @property
    def operand_bytes(self) -> int:
        """Bytes of an MXU operand in the machine's format."""
        return FORMATS[self.dtype].operand_bytes

    def seconds(self, cycles: float) -> float:
        """Seconds of ``cycles`` clock cycles."""
        return cycles / (self.clock_mhz * 1e6)

    def with_dtype(self, dtype: str | None) -> MachineConfig:
        """This machine with MXUs in ``dtype`` (None: as it is)."""
        return self if dtype is None else dataclasses.replace(self, dtype=dtype)

    def summary(self) -> dict:
        """The fields ``systolic machines --json`` lists, by their stable names."""
        return {
            "name": self.name,
            "cores": self.cores,
            "mxus": self.mxus,
            "mxu_rows": self.mxu_rows,
            "mxu_cols": self.mxu_cols,
            "clock_mhz": self.clock_mhz,
            "peak_bf16_flops": self.peak_bf16_flops,
            "hbm_bytes": self.hbm_bytes,
            "hbm_bytes_per_second": self.hbm_bytes_per_second,
            "vmem_bytes": self.vmem_bytes,
            "vmem_bytes_per_cycle": self.vmem_bytes_per_cycle,
            "lanes": self.vpu.lanes,
            "sublanes": self.vpu.sublanes,
            "int8": self.int8,
            "dtype": self.dtype,
        }


@functools.lru_cache(maxsize=64)
def _mxu_array(rows: int, cols: int, accumulator_rows: int, dtype: str) -> ArrayConfig:
    # one ArrayConfig per machine, built once: a config keys the engines' caches, and a
    # trainer asks for it at every matmul
    return ArrayConfig(
        rows, cols, weight_load=WeightLoad.SEGMENTED, segment_rows=MXU_CHAIN_ROWS_ASSUMED,
        accumulator_rows=accumulator_rows, dtype=dtype,
    )  # fmt: skip


#: ASSUMED on every preset: a weight tile goes into an MXU in chains of 8 rows, one vector
#: register's 8 sublanes of 128 lanes at a time (the MXUs are fed weights from the vector
#: registers; how fast is not published). It sets the time of a fold that streams a few rows
#: (a decode step's GEMV): 2 x 8 - 1 = 15 cycles per 128x128 tile, where one shift chain
#: per column, all shifting at once as in the TPU v1, takes 2 x 128 + 128 - 2 = 382 and makes
#: every MXU slower than HBM at batch 1. Long streams hide the load either way.
MXU_CHAIN_ROWS_ASSUMED = 8


#: ASSUMED on every preset: an MXU's result buffer holds 512 rows of sums. Not published; it
#: only sets how many rows of A stream per weight tile before the tile is loaded again, and a
#: few hundred rows keep the tile's load (mxu_rows cycles) small beside its stream.
ACCUMULATOR_ROWS_ASSUMED = 512

#: VMEM bandwidth per core: three vector registers (3 x 4 KiB of float32) read and one
#: written per cycle, as [SB] gives for the v5p; ASSUMED for the other presets, where it is
#: not published (on v5e, 16 KiB per cycle at 1.5 GHz is 24.6 TB/s, near [SB]'s "about 22x"
#: HBM's 819 GB/s = 18 TB/s). An element-wise op on two inputs is never slowed by it.
VMEM_BYTES_PER_CYCLE = 4 * 4 * 8 * 128


def _preset(name: str, dtype: str, **fields) -> MachineConfig:
    # what every preset shares: the VPU's assumed cycles, VMEM's bandwidth, the result buffer
    return MachineConfig(
        name, vpu=VPUConfig(**VPU_CYCLES_ASSUMED), vmem_bytes_per_cycle=VMEM_BYTES_PER_CYCLE,
        accumulator_rows=ACCUMULATOR_ROWS_ASSUMED, dtype=dtype, **fields,
    )  # fmt: skip


def tpu_v2(dtype: str = "bf16") -> MachineConfig:
    """TPU v2: 2 TensorCores of one 128x128 MXU each ([JAX-INFO]; [CLOUD]'s v2 page: 256
    chips, 512 TensorCores), 700 MHz ([CACM20]): 2 x 1 x 128 x 128 x 2 x 700 MHz = 45.9 T
    bf16 per chip, published as 46 T ([CACM20], [JAX-INFO]) and as 45 T on Google Cloud's
    former v2 page. 16 GB of HBM at 716 GB/s per chip ([JAX-INFO]: 16,000,000,000 bytes and
    7.16e11 bytes/s); 16 MiB of VMEM per core ([JAX-INFO]). No int8 in the MXU ([JAX-INFO]:
    "Not Available")."""
    return _preset(
        "tpu_v2", dtype, cores=2, mxus=1, mxu_rows=128, mxu_cols=128, clock_mhz=700.0,
        vmem_bytes=16 * MIB, hbm_bytes=16 * GB, hbm_bytes_per_second=716 * GB, int8=False,
    )  # fmt: skip


def tpu_v3(dtype: str = "bf16") -> MachineConfig:
    """TPU v3: 2 TensorCores of two 128x128 MXUs each ([CLOUD] v3: "Each v3 TPU chip contains
    two TensorCores. Each TensorCore has two matrix-multiply units"), 940 MHz ([CACM20]): 2 x
    2 x 128 x 128 x 2 x 940 MHz = 123.2 T bf16 per chip ([CLOUD]: 123 TFLOPS; [SB] and
    [JAX-INFO] give 140 T, which no published clock reproduces). 32 GiB of HBM at 900 GB/s
    per chip ([CLOUD]); 16 MiB of VMEM per core ([JAX-INFO]). No int8 in the MXU
    ([JAX-INFO])."""
    return _preset(
        "tpu_v3", dtype, cores=2, mxus=2, mxu_rows=128, mxu_cols=128, clock_mhz=940.0,
        vmem_bytes=16 * MIB, hbm_bytes=32 * GIB, hbm_bytes_per_second=900 * GB, int8=False,
    )  # fmt: skip


def tpu_v4(dtype: str = "bf16") -> MachineConfig:
    """TPU v4: 2 TensorCores of four 128x128 MXUs each ([CLOUD] v4), 1050 MHz ([ISCA23]): 2 x
    4 x 128 x 128 x 2 x 1050 MHz = 275.3 T bf16 per chip ([CLOUD]: "275 teraflops (bf16 or
    int8)"). 32 GiB of HBM at 1200 GB/s per chip ([CLOUD]); 16 MiB of VMEM per core
    ([JAX-INFO]; the 128 MiB CMEM the cores share is not modelled). int8 at the bf16 rate
    ([CLOUD]; [JAX-INFO] lists int8 weights with bf16 activations only)."""
    return _preset(
        "tpu_v4", dtype, cores=2, mxus=4, mxu_rows=128, mxu_cols=128, clock_mhz=1050.0,
        vmem_bytes=16 * MIB, hbm_bytes=32 * GIB, hbm_bytes_per_second=1200 * GB, int8=True,
    )  # fmt: skip


def tpu_v5e(dtype: str = "bf16") -> MachineConfig:
    """TPU v5e: 1 TensorCore of four 128x128 MXUs ([CLOUD] v5e: "Each v5e chip contains one
    TensorCore. Each TensorCore has four matrix-multiply units"), 1.5 GHz ([SB]): 4 x 128 x
    128 x 2 x 1.5 GHz = 196.6 T bf16 per chip ([CLOUD]: 197 TFLOPs). 16 GiB of HBM ([SB]:
    "16GiB"; [CLOUD]: "16 GB") at 819 GB/s per chip ([CLOUD]); 128 MiB of VMEM ([JAX-INFO],
    [SB]). int8 on the chip at twice the bf16 rate ([CLOUD]: 393 TOPs); the model runs int8
    at one MAC per PE per cycle, as every format."""
    return _preset(
        "tpu_v5e", dtype, cores=1, mxus=4, mxu_rows=128, mxu_cols=128, clock_mhz=1500.0,
        vmem_bytes=128 * MIB, hbm_bytes=16 * GIB, hbm_bytes_per_second=819 * GB, int8=True,
    )  # fmt: skip


def tpu_v5p(dtype: str = "bf16") -> MachineConfig:
    """TPU v5p: 2 TensorCores of four 128x128 MXUs each ([CLOUD] v5p, [SB]), about 1.75 GHz
    ([SB], appendix A): 2 x 4 x 128 x 128 x 2 x 1.75 GHz = 458.8 T bf16 per chip ([CLOUD]:
    459 TFLOPs). 95 GB of HBM at 2765 GB/s per chip ([CLOUD]; [SB] and [JAX-INFO] give 96 GB
    to 103 GB and 2.46 to 2.8 TB/s); 64 MiB of VMEM per core ([JAX-INFO]). int8 at twice the
    bf16 rate on the chip ([SB]); the model runs it at one MAC per PE per cycle."""
    return _preset(
        "tpu_v5p", dtype, cores=2, mxus=4, mxu_rows=128, mxu_cols=128, clock_mhz=1750.0,
        vmem_bytes=64 * MIB, hbm_bytes=95 * GB, hbm_bytes_per_second=2765 * GB, int8=True,
    )  # fmt: skip


def tpu_v6e(dtype: str = "bf16") -> MachineConfig:
    """TPU v6e (Trillium): 1 TensorCore of two 256x256 MXUs ([CLOUD] v6e: "Each TensorCore
    contains two 256x256 matrix-multiply units (MXU), a 128x8 vector processing unit";
    [JAX-INFO] alike); 918 TFLOPs bf16 per chip ([CLOUD]). The clock is not published, and
    the published MXUs give 918 T only at 3.5 GHz (918 T / (2 x 2 x 256 x 256)) with one MAC
    per PE per cycle, as this model counts: 3500 MHz is ASSUMED as the MXUs' effective rate
    (the silicon more likely runs near the v5p's 1.75 GHz with two MACs per PE per cycle,
    which the array model does not have). The VPU and DMA are timed at the same clock, so
    their cycles are half-length: VPU-bound steps are up to twice as fast as the chip's,
    HBM-bound ones are not (bytes per second are the published ones). 32 GiB of HBM
    ([CLOUD]: "32 GB"; [JAX-INFO]: 34.4e9 bytes) at 1638 GB/s per chip ([CLOUD]); 128 MiB
    of VMEM ([JAX-INFO])."""
    return _preset(
        "tpu_v6e", dtype, cores=1, mxus=2, mxu_rows=256, mxu_cols=256, clock_mhz=3500.0,
        vmem_bytes=128 * MIB, hbm_bytes=32 * GIB, hbm_bytes_per_second=1638 * GB, int8=True,
    )  # fmt: skip


#: the training machines by name
MACHINES = {
    "tpu_v2": tpu_v2,
    "tpu_v3": tpu_v3,
    "tpu_v4": tpu_v4,
    "tpu_v5e": tpu_v5e,
    "tpu_v5p": tpu_v5p,
    "tpu_v6e": tpu_v6e,
}

#: the published peak bf16 FLOP/s per chip ([CLOUD]; v2: Google Cloud's former v2 page),
#: which the tests hold each preset's arithmetic to
PUBLISHED_PEAK_BF16_FLOPS = {
    "tpu_v2": 45e12,
    "tpu_v3": 123e12,
    "tpu_v4": 275e12,
    "tpu_v5e": 197e12,
    "tpu_v5p": 459e12,
    "tpu_v6e": 918e12,
}


def machine(name: str, dtype: str | None = None) -> MachineConfig:
    """The preset ``name`` (MXUs in ``dtype``, default its own); an unknown name lists the
    valid ones."""
    if name not in MACHINES:
        raise ValueError(f"unknown machine {name!r}; valid: {', '.join(MACHINES)}")
    config = MACHINES[name]()
    return config.with_dtype(dtype)
