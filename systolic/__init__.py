"""systolic: a cycle-accurate simulator of a TPU-like systolic array that computes real values.

>>> import numpy as np, systolic
>>> c, report = systolic.matmul(np.ones((4, 3)), np.ones((3, 2)), systolic.ArrayConfig(2, 2))
>>> report.total_cycles, report.macs
(16, 24)
"""

from systolic import roofline
from systolic.api import MatmulCall, SystolicMatmul, matmul, trace
from systolic.array import SimulationLimitError
from systolic.config import ArrayConfig, Dataflow, WeightLoad
from systolic.conv import conv2d
from systolic.report import Report
from systolic.tpu import TPU, MemoryConfig, TPUConfig

__all__ = [
    "TPU",
    "ArrayConfig",
    "Dataflow",
    "MatmulCall",
    "MemoryConfig",
    "Report",
    "SimulationLimitError",
    "SystolicMatmul",
    "TPUConfig",
    "WeightLoad",
    "conv2d",
    "matmul",
    "roofline",
    "trace",
]
