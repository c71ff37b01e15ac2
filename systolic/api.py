"""Public entry points: ``matmul`` and the ``SystolicMatmul`` callable that keeps its Reports."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from systolic.config import ArrayConfig
from systolic.dataflows import MODULES
from systolic.numerics import FORMATS, prepare_operands
from systolic.report import Report

ENGINES = ("fast", "golden")


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
        Called with the number of folds finished, now and then (fast engine only).

    Returns
    -------
    c : numpy.ndarray, shape (m, n)
        The result, in the format's type (float32 for ``"fp32"``).
    report : Report

    Raises
    ------
    ValueError
        Bad operands (see ``systolic.numerics.prepare_operands``), an unknown engine, or a run
        beyond ``config.max_cycles`` (``SimulationLimitError``).
    """
    config = ArrayConfig() if config is None else config
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
    a, b = prepare_operands(a, b, FORMATS[config.dtype], config.max_elements)
    dataflow = MODULES[config.dataflow]
    if engine == "fast":
        c, report = dataflow.simulate_fast(a, b, config, progress)
    else:
        run = dataflow.simulate_golden(a, b, config)
        c, report = run.result, run.report
    if compare:
        report = report.with_comparison(c, a.astype(np.float64) @ b.astype(np.float64))
    return c, report


@dataclass(frozen=True)
class MatmulCall:
    """One call of a :class:`SystolicMatmul`: its tag, GEMM shape ``(m, k, n)`` and Report."""

    tag: str | None
    shape: tuple[int, int, int]
    report: Report


class SystolicMatmul:
    """A drop-in for ``np.matmul`` on 2-D operands that runs on the array and keeps Reports.

    Every call's Report is added to a running total per tag (:meth:`by_tag`, :meth:`total`);
    with ``keep_calls`` each call is also kept in :attr:`calls` (its tag, shape and Report).

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
        self.config = ArrayConfig() if config is None else config
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
        self.engine, self.compare, self.keep_calls = engine, compare, keep_calls
        self.tag: str | None = None
        self.calls: list[MatmulCall] = []
        self._totals: dict[str | None, Report] = {}

    def __call__(self, a: np.ndarray, b: np.ndarray, *, tag: str | None = None) -> np.ndarray:
        """``a @ b`` on the array; the call is recorded under ``tag`` (default ``self.tag``)."""
        c, report = matmul(a, b, self.config, engine=self.engine, compare=self.compare)
        tag = self.tag if tag is None else tag
        previous = self._totals.get(tag)
        self._totals[tag] = report if previous is None else previous + report
        if self.keep_calls:
            m, k = np.shape(a)
            self.calls.append(MatmulCall(tag, (m, k, c.shape[1]), report))
        return c

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
        if tag is not None:
            return self._totals.get(tag)
        return sum(self._totals.values()) if self._totals else None

    def by_tag(self) -> dict[str | None, Report]:
        """Summed Report per tag, in order of first use."""
        return dict(self._totals)

    def reset(self) -> None:
        """Forget all recorded calls and totals."""
        self.calls.clear()
        self._totals.clear()
