"""Design-space sweeps: every combination of workloads, arrays and settings as Dask tasks.

::

    spec.toml --load_spec--> Spec --run_sweep--> DIR/points.jsonl, points.csv, pareto_*.png
                                                 and a summary (best points, Pareto fronts)

A point is a pure function of its configuration (``systolic.sweep.point``); its result is
stored under a hash of that configuration as soon as it finishes (``systolic.sweep.store``),
so a rerun computes only what is missing. ``systolic sweep SPEC`` is the command line;
README.md, "Design-space sweeps", documents the spec.
"""

from systolic.sweep.run import format_summary, run_sweep
from systolic.sweep.spec import SPEC_FORMAT, expand, load_spec

__all__ = ["SPEC_FORMAT", "expand", "format_summary", "load_spec", "run_sweep"]
