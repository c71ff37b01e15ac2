"""Public entry points: ``matmul`` and the ``SystolicMatmul`` callable that keeps its Reports."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numba
import numpy as np

from systolic import limits
from systolic.config import ArrayConfig, Dataflow
from systolic.dataflows import MODULES
from systolic.dataflows import output_stationary as os_flow
from systolic.dataflows import weight_stationary as ws
from systolic.dataflows.weight_stationary import check_limits
from systolic.numerics import FORMATS, check_sizes, prepare_operands
from systolic.report import Report
from systolic.schedule import TABLE_ROW_BYTES, FoldCounts, fold_counts

ENGINES = ("fast", "golden")
#: operand shapes a ``SystolicMatmul`` keeps the plans of (a trainer uses a handful)
PLANS = 256


def check_run(m: int, k: int, n: int, config: ArrayConfig, engine: str = "fast") -> dict:
    """Refuse a ``(m, k) @ (k, n)`` GEMM before anything is allocated or run.

    Checks, in order: ``config.max_elements`` per operand and result, ``config.max_cycles``
    (closed form), the memory the run would allocate (``systolic.limits``) and its estimated
    time on ``engine`` against ``config.max_seconds``.

    Returns
    -------
    dict
        The closed-form cycle breakdown (``total_cycles`` and the ``*_cycles`` fields).
    """
    return dict(_checked(m, k, n, config, engine))


def _checked(m: int, k: int, n: int, config: ArrayConfig, engine: str) -> dict:
    """:func:`check_run`'s cached verdict itself (not to be modified)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
    # a trainer checks the same few shapes every batch: the verdict is cached, keyed by all
    # it depends on (the memory limit may change with SYSTOLIC_MAX_MEMORY between calls)
    key = (limits.memory_limit_bytes(), numba.config.NUMBA_NUM_THREADS)
    return _check_run(m, k, n, config, engine, key)


@functools.lru_cache(maxsize=1024)
def _check_run(m: int, k: int, n: int, config: ArrayConfig, engine: str, _key: tuple) -> dict:
    """:func:`check_run` for one memory limit and thread count (``_key``, part of the cache
    key only)."""
    check_sizes(m, k, n, config.max_elements)
    dataflow = MODULES[config.dataflow]
    cycles = check_limits(m, k, n, config, dataflow.closed_form_cycles)
    what = f"({m:,}, {k:,}) @ ({k:,}, {n:,}) on {config.rows}x{config.cols} ({engine} engine)"
    limits.check_memory(run_bytes(m, k, n, config, engine), what)
    seconds = limits.run_seconds(engine, cycles["total_cycles"], m * k * n, config.pe_count)
    limits.check_time(seconds, config.max_seconds, what)
    return cycles


def _limit_settings() -> tuple:
    """What :func:`check_run`'s verdict depends on beyond the GEMM and config: the memory
    limit's setting and numba's thread pool."""
    return limits.memory_setting(), numba.config.NUMBA_NUM_THREADS


def fold_count(m: int, k: int, n: int, config: ArrayConfig) -> FoldCounts:
    """How ``(m, k) @ (k, n)`` is cut into folds on ``config``'s dataflow (IS runs the
    transposed GEMM ``(n, k) @ (k, m)`` on the weight-stationary tiles)."""
    if config.dataflow is Dataflow.OS:
        return fold_counts(m, k, n, *os_flow.tiles(m, k, config))
    if config.dataflow is Dataflow.IS:
        return fold_counts(n, k, m, *ws.tiles(n, config))
    return fold_counts(m, k, n, *ws.tiles(m, config))


def run_bytes(m: int, k: int, n: int, config: ArrayConfig, engine: str = "fast") -> int:
    """Bytes a run allocates beyond the caller's operands, estimated from above: rounded and
    transposed operand copies, the result, the float64 comparison, the fold table and per-PE
    counters, and for the golden engine every fold's skewed feed and de-skewed output."""
    # numba's pool size bounds the threads of any run (and, unlike the thread count now set,
    # costs nothing to read)
    return _run_bytes(m, k, n, config, engine, numba.config.NUMBA_NUM_THREADS)


#: bytes a run allocates per operand element beyond ``3 * item`` (the rounded and transposed
#: copies): the float64 reference's copies and the error bound's absolute values
OPERAND_EXTRA_BYTES = 20
#: bytes per result element beyond ``2 * item`` (the result and its de-skew): the float64
#: reference, the error bound and the errors, and the output-stationary engine's tiles
#: (measured: 54-58 bytes per result element in all for weight-stationary at (2048, 64,
#: 2048) in every format, 74 for output-stationary at (256, 64, 512))
RESULT_EXTRA_BYTES = 72
#: the golden engine's Python objects per fold (its feed arrays, fold and timeline entries;
#: measured 1.75 KiB per fold of a 1x1 array), beyond the feeds' values
GOLDEN_FOLD_BYTES = 2560


@functools.lru_cache(maxsize=1024)  # a trainer checks the same few shapes every batch
def _run_bytes(m: int, k: int, n: int, config: ArrayConfig, engine: str, threads: int) -> int:
    item = FORMATS[config.dtype].dtype.itemsize
    operands, result = m * k + k * n, m * n
    counts = fold_count(m, k, n, config)
    stream = k if config.dataflow is Dataflow.OS else counts.chunk_rows
    total = operands * (3 * item + OPERAND_EXTRA_BYTES) + result * (2 * item + RESULT_EXTRA_BYTES)
    total += TABLE_ROW_BYTES * counts.folds + 8 * (threads + 1) * config.pe_count
    if engine == "golden":
        width = config.rows + config.cols
        total += counts.folds * ((stream + width) * width * (item + 2) + GOLDEN_FOLD_BYTES)
        total += 16 * item * config.pe_count
    return total


def gemm_shape(a: object, b: object) -> tuple[int, int, int] | None:
    """``(m, k, n)`` of ``a @ b`` when both look like matching 2-D operands, read from their
    shapes alone (nothing converted); None otherwise, for ``prepare_operands`` to name."""
    if type(a) is np.ndarray and type(b) is np.ndarray:  # the common case, without np.shape
        shape_a, shape_b = a.shape, b.shape
    else:
        shape_a, shape_b = np.shape(a), np.shape(b)
    if len(shape_a) == 2 and len(shape_b) == 2 and shape_a[1] == shape_b[0]:
        return shape_a[0], shape_a[1], shape_b[1]
    return None


def matmul(
    a: np.ndarray,
    b: np.ndarray,
    config: ArrayConfig | None = None,
    *,
    engine: str = "fast",
    compare: bool = True,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, Report]:
    """Compute ``a @ b`` on the simulated array and report what it cost.

    Parameters
    ----------
    a : array_like, shape (m, k)
    b : array_like, shape (k, n)
        Integer or float operands, finite; they are rounded to ``config.dtype`` first.
    config : ArrayConfig, optional
        The array (default ``ArrayConfig()``).
    engine : {"fast", "golden"}
        ``"fast"``: the numba kernel. ``"golden"``: the per-cycle register model (slow; for
        small GEMMs and checking). Both give the same values and counts.
    compare : bool
        Fill the Report's error fields against the float64 product of the rounded operands.
    progress : callable, optional
        A progress bar's ``update``: called with the number of folds finished (fast engine)
        or of cycles stepped (golden engine, after a call with 0 per fold prepared), now and
        then.

    Returns
    -------
    c : numpy.ndarray, shape (m, n)
        The result, in the format's type (float32 for ``"fp32"``).
    report : Report

    Raises
    ------
    ValueError
        Bad operands (see ``systolic.numerics.prepare_operands``), an unknown engine, a config
        that is not an ArrayConfig, or a run refused by :func:`check_run` (cycles, memory,
        time; ``SimulationLimitError`` for ``config.max_cycles``).
    """
    config = _config(config)
    shape = gemm_shape(a, b)
    if shape is not None:
        _checked(*shape, config, engine)
        if engine == "fast" and not compare and progress is None and config.dataflow is Dataflow.WS:
            quick = ws.run_small_float(a, b, config)  # a trainer's calls: the same bits, sooner
            if quick is not None:
                return quick
    a, b = prepare_operands(a, b, FORMATS[config.dtype], config.max_elements)
    dataflow = MODULES[config.dataflow]
    if engine == "fast":
        c, report = dataflow.simulate_fast(a, b, config, progress)
    else:
        run = dataflow.simulate_golden(a, b, config, progress=progress)
        c, report = run.result, run.report
    if compare:
        report = report.with_comparison(c, a.astype(np.float64) @ b.astype(np.float64))
    return c, report


def _config(config: object) -> ArrayConfig:
    """The ArrayConfig a caller gave (default ``ArrayConfig()``), or a one-line error."""
    if config is None:
        return ArrayConfig()
    if not isinstance(config, ArrayConfig):
        raise ValueError(
            f"config must be an ArrayConfig, got {config!r} (e.g. ArrayConfig(dataflow='ws'))"
        )
    return config


def estimate(m: int, k: int, n: int, config: ArrayConfig | None = None) -> Report:
    """The Report of ``(m, k) @ (k, n)`` without computing a value: cycles and their breakdown,
    MACs, folds and bytes from the closed forms (the same counts ``matmul`` reports; the tests
    hold the two equal). Microseconds per call, for whole networks at large sizes.

    Examples
    --------
    >>> estimate(4, 3, 2, ArrayConfig(2, 2)).total_cycles
    16
    """
    config = _config(config)
    check_sizes(m, k, n, config.max_elements)
    dataflow = MODULES[config.dataflow]
    cycles = check_limits(m, k, n, config, dataflow.closed_form_cycles)
    return Report(
        rows=config.rows,
        cols=config.cols,
        **cycles,
        macs=m * k * n,
        folds=fold_count(m, k, n, config).folds,
        **dataflow.traffic_bytes(m, k, n, config),
    )


def trace(
    a: np.ndarray, b: np.ndarray, config: ArrayConfig | None = None, *, registers: bool = True
):
    """Run ``a @ b`` on the golden model and keep every cycle, to look at (small runs).

    Parameters
    ----------
    a, b, config
        As for :func:`matmul`.
    registers : bool
        Also keep every register of every PE after each cycle (``run.array.snapshots``).

    Returns
    -------
    GoldenRun
        ``result`` (shape (m, n)), ``report`` (compared with NumPy) and ``array``, the grid
        model after the run: ``array.history`` (per cycle, the mask of PEs that did a useful
        MAC: ``plots.wavefront`` draws one), ``array.snapshots`` (per cycle, a dict of
        ``(rows, cols)`` register arrays: ``waveform.write_snapshots`` writes them),
        ``array.trace()`` (one text line per cycle) and the final registers.

    Examples
    --------
    >>> run = trace(np.ones((2, 2)), np.ones((2, 2)), ArrayConfig(2, 2))
    >>> run.report.total_cycles == len(run.array.history) == len(run.array.snapshots)
    True
    >>> print(run.array.trace().splitlines()[3])
    3 ##|#.
    """
    config = _config(config)
    shape = gemm_shape(a, b)
    if shape is not None:
        m, k, n = shape
        cycles = check_run(m, k, n, config, "golden")["total_cycles"]
        # the recorded history: a mask per cycle, and with registers a copy of each of them
        per_cycle = config.pe_count * (1 + (10 * 8 if registers else 0))
        limits.check_memory(cycles * per_cycle, f"tracing ({m:,}, {k:,}) @ ({k:,}, {n:,})")
    a, b = prepare_operands(a, b, FORMATS[config.dtype], config.max_elements)
    run = MODULES[config.dataflow].simulate_golden(a, b, config, True, registers)
    return ws.GoldenRun(
        run.result,
        run.report.with_comparison(run.result, a.astype(np.float64) @ b.astype(np.float64)),
        run.array,
    )


@dataclass(frozen=True)
class MatmulCall:
    """One call of a :class:`SystolicMatmul`: its tag, GEMM shape ``(m, k, n)`` and Report."""

    tag: str | None
    shape: tuple[int, int, int]
    report: Report


class SystolicMatmul:
    """A drop-in for ``np.matmul`` on 2-D operands that runs on the array and keeps Reports.

    Every call's Report is added to a running total per tag (:meth:`by_tag`, :meth:`total`);
    with ``keep_calls`` each call is also kept in ``calls`` (its tag, shape and Report).

    Parameters
    ----------
    config : ArrayConfig, optional
    engine : {"fast", "golden"}
    compare : bool
        Compare every call against NumPy (costs a float64 matmul per call).
    keep_calls : bool
        Keep every call's record; turn off for long runs (a training epoch makes thousands).

    Examples
    --------
    >>> mm = SystolicMatmul(ArrayConfig(rows=4, cols=4))
    >>> with mm.tagged("forward"):
    ...     c = mm(np.ones((3, 5)), np.ones((5, 2)))
    >>> mm.total("forward").macs
    30
    """

    #: callers such as ``nn.network.Network`` pass ``tag=`` to callables that set this
    accepts_tag = True

    def __init__(
        self,
        config: ArrayConfig | None = None,
        *,
        engine: str = "fast",
        compare: bool = True,
        keep_calls: bool = True,
    ):
        self.config = _config(config)
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
        self.engine, self.compare, self.keep_calls = engine, compare, keep_calls
        self.tag: str | None = None
        self.calls: list[MatmulCall] = []
        self._totals: dict[str | None, Report] = {}
        # (tag, m, k, n) -> [Report, calls] of the calls not yet added to the totals
        self._pending: dict[tuple, list] = {}
        # without comparisons on the fast weight-stationary engine: per operand shapes and
        # dtypes, the limit settings a first call was checked under and its
        # ``ws.small_float_plan``, by which the next calls run at once (a trainer's GEMMs)
        quick = engine == "fast" and not compare and self.config.dataflow is Dataflow.WS
        self._plans: dict[tuple, tuple] | None = {} if quick else None

    def __call__(self, a: np.ndarray, b: np.ndarray, *, tag: str | None = None) -> np.ndarray:
        """``a @ b`` on the array; the call is recorded under ``tag`` (default ``self.tag``)."""
        tag = self.tag if tag is None else tag
        plans = self._plans
        if plans is not None and type(a) is np.ndarray and type(b) is np.ndarray:
            # a shape run before, checked under the same limits: its plan, straight away
            key = (a.shape, b.shape, a.dtype, b.dtype)
            known = plans.get(key)
            if known is not None and known[0] == _limit_settings():
                quick = ws.run_planned(a, b, known[1])
                if quick is not None:
                    self._record(tag, a.shape[0], a.shape[1], *quick)
                    return quick[0]
            settings = _limit_settings()  # those the general path checks under
            c, report = matmul(a, b, self.config, engine=self.engine, compare=False)
            plan = ws.small_float_plan(a, b, self.config)
            if plan is not None:
                if len(plans) >= PLANS:
                    plans.clear()
                plans[key] = (settings, plan)
        else:
            c, report = matmul(a, b, self.config, engine=self.engine, compare=self.compare)
        m, k = np.shape(a)
        self._record(tag, m, k, c, report)
        return c

    def _record(self, tag: str | None, m: int, k: int, c: np.ndarray, report: Report) -> None:
        """Add a call of ``(m, k) @ (k, c.shape[1])`` with ``report`` to the totals."""
        if self.compare:  # every call's errors differ: add the Reports as they come
            previous = self._totals.get(tag)
            self._totals[tag] = report if previous is None else previous + report
        else:
            # without errors a Report is the same for every call of one shape: count the calls
            # per shape and add them up when a total is asked for (adding a Report per call
            # cost more than the simulation of a training step's small GEMMs)
            key = (tag, m, k, c.shape[1])
            entry = self._pending.get(key)
            if entry is None:
                self._pending[key] = [report, 1]
                self._totals.setdefault(tag, None)  # keeps the order of first use
            else:
                entry[1] += 1
        if self.keep_calls:
            self.calls.append(MatmulCall(tag, (m, k, c.shape[1]), report))

    def _settle(self) -> None:
        """Fold the counted calls into the totals."""
        for (tag, *_), (report, count) in self._pending.items():
            previous = self._totals.get(tag)
            repeated = report.repeated(count)
            self._totals[tag] = repeated if previous is None else previous + repeated
        self._pending.clear()

    @contextlib.contextmanager
    def tagged(self, tag: str) -> Iterator[SystolicMatmul]:
        """Record the calls made inside the ``with`` block under ``tag``."""
        previous, self.tag = self.tag, tag
        try:
            yield self
        finally:
            self.tag = previous

    def total(self, tag: str | None = None) -> Report | None:
        """Sum of the Reports of all calls, or of those with ``tag``; ``None`` if there are none."""
        self._settle()
        if tag is not None:
            return self._totals.get(tag)
        return sum(self._totals.values()) if self._totals else None

    def by_tag(self) -> dict[str | None, Report]:
        """Summed Report per tag, in order of first use."""
        self._settle()
        return dict(self._totals)

    def reset(self) -> None:
        """Forget all recorded calls and totals."""
        self.calls.clear()
        self._totals.clear()
        self._pending.clear()
