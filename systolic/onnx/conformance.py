"""ONNX's own conformance cases, run on the machine's backend.

The per-operator cases come in memory from ``onnx.backend.test.case.node.collect_testcases``
(each a model, its input and output data, and its tolerances). A case whose every op the
machine runs is executed by :class:`systolic.onnx.SystolicBackend` and compared as ONNX's
``BackendTest`` compares: ``numpy.testing.assert_allclose`` at the case's ``rtol`` and
``atol``, and the output types must match.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Results:
    """Counts of a conformance run: ``passed`` and ``failed`` (name: reason) among the cases
    the backend supports; skipped before running, ``unsupported`` cases (an op it does not
    run) and ``unsupported_types`` (a data type it does not run)."""

    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)
    unsupported_types: list[str] = field(default_factory=list)


def node_cases():
    """ONNX's per-operator cases (``collect_testcases``), quietly."""
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return collect_testcases(None)


def run_cases(cases, **backend_options) -> Results:
    """Run every case the backend supports; see the module docstring."""
    from systolic.onnx import SystolicBackend
    from systolic.onnx.graph import unsupported, unsupported_types

    results = Results()
    for case in cases:
        if unsupported(case.model):
            results.unsupported.append(case.name)
            continue
        if unsupported_types(case.model):
            results.unsupported_types.append(case.name)
            continue
        try:
            rep = SystolicBackend.prepare(case.model, **backend_options)
            for inputs, expected in case.data_sets:
                inputs, expected = _arrays(inputs), _arrays(expected)
                with np.errstate(all="ignore"):
                    outputs = rep.run(inputs)
                if len(outputs) != len(expected):
                    raise AssertionError(f"{len(outputs)} outputs, expected {len(expected)}")
                for ours, theirs in zip(outputs, expected, strict=True):
                    ours, theirs = np.asarray(ours), np.asarray(theirs)
                    if ours.dtype != theirs.dtype and theirs.dtype != object:
                        raise AssertionError(f"dtype {ours.dtype}, expected {theirs.dtype}")
                    if theirs.dtype == object:
                        assert ours.tolist() == theirs.tolist()
                    else:
                        np.testing.assert_allclose(ours, theirs, rtol=case.rtol, atol=case.atol)
        except Exception as error:  # a failing case is counted with its reason
            results.failed[case.name] = " ".join(f"{type(error).__name__}: {error}".split())[:200]
        else:
            results.passed.append(case.name)
    return results


def _arrays(values) -> list:
    """A case's data as arrays (a type NumPy lacks comes as a TensorProto)."""
    from onnx import TensorProto, numpy_helper

    return [numpy_helper.to_array(v) if isinstance(v, TensorProto) else v for v in values]
