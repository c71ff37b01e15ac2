"""The dataflows: how a GEMM maps onto the array, one module each.

Every module provides the same functions, so callers pick one by :class:`Dataflow`:
``closed_form_cycles(m, k, n, config)``, ``traffic_bytes(m, k, n, config)``,
``simulate_golden(a, b, config, record=False)`` and ``simulate_fast(a, b, config, progress)``.
"""

from systolic.config import Dataflow
from systolic.dataflows import input_stationary, output_stationary, weight_stationary

MODULES = {
    Dataflow.WS: weight_stationary,
    Dataflow.OS: output_stationary,
    Dataflow.IS: input_stationary,
}
