"""``systolic run``'s work: an ONNX model's inputs, its run on the machine, and the check of
every output against ONNX's reference runtime (and onnxruntime, when installed).

Inputs not given are random from the seed: floats standard normal, integers in 0..9,
booleans half true; a dimension without a size (a name, or unknown) is ``batch`` if it is
the first, else 1. An output is within its format's bound when its largest absolute error
against the reference is at most :data:`TOLERANCE` of the format times the reference's
largest magnitude (or 1, if smaller): errors of a whole graph have no closed-form bound, so
the bound is a rounding tolerance of the format, named here once.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

#: the share of an output's scale its error may reach, per MXU format: fp32 a few hundred
#: float32 ulps (2^-23 each) summed over long dot products; bf16 a few of its 2^-8 ulps;
#: int8 (float GEMMs quantized symmetrically, 1/254 of a tensor's range per step) a few steps
TOLERANCE = {"fp32": 1e-4, "bf16": 1 / 32, "int8": 1 / 16}
#: the most elements a random input may have (bounds the memory of a model with huge inputs)
MAX_INPUT_ELEMENTS = 2**28


def load_model(path: str | Path):
    """Read an ONNX model and check it (``onnx.checker``), or a one-line error naming the
    file. Nothing in it is executed; its external data is read as :func:`read_external_data`
    says."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such model file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # a protobuf that is not a model
        raise ValueError(f"{path}: not an ONNX model ({type(error).__name__})") from None
    read_external_data(model, path)
    try:
        onnx.checker.check_model(model)
    except Exception as error:  # onnx.checker.ValidationError and its kin
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path}: fails onnx.checker: {message}") from None
    return model


def read_external_data(model, path: Path) -> None:
    """Read into ``model`` (loaded from ``path`` without its external data) the external data
    of every tensor: initializers and node attributes, in subgraphs and functions too.

    Each tensor's data comes from a file inside the model's folder (a path that leaves it is
    refused), is no longer than the tensor's shape needs (a file or a ``length`` that holds
    more is refused: a tiny tensor cannot read a huge file), and all of it together must pass
    :func:`~systolic.limits.check_memory`; all is checked before any is read, and then no
    more than that is read, even from a file that grows.
    """
    from onnx import helper
    from onnx.external_data_helper import (
        ExternalDataInfo,
        load_external_data_for_tensor,
        uses_external_data,
    )

    from systolic.limits import check_memory

    folder = path.resolve().parent
    pending, total = [], 0
    for tensor in _tensors(model):
        if not uses_external_data(tensor):
            continue
        where = f"{path}: tensor {tensor.name!r}"
        try:
            info = ExternalDataInfo(tensor)
            itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{where}: bad external data ({error})") from None
        location = Path(info.location)
        target = (folder / location).resolve()
        if location.is_absolute() or folder not in target.parents:
            raise ValueError(f"{where} keeps its data at {location}, outside the model's folder; "
                             "refused")  # fmt: skip
        if not target.is_file():
            raise ValueError(f"{where}: external data {location} is missing")
        needed = math.prod(tensor.dims) * itemsize  # an upper bound for sub-byte types
        size = max(target.stat().st_size - (info.offset or 0), 0)
        size = size if info.length is None else info.length
        if size > needed:
            raise ValueError(
                f"{where}: external data {location} holds {size:,} bytes, more than its shape "
                f"{list(tensor.dims)} needs ({needed:,}); refused"
            )
        if info.length is None:  # onnx would read to the end of the file
            tensor.external_data.add(key="length", value=str(size))
        pending.append(tensor)
        total += size
    if not pending:
        return
    check_memory(total, f"reading {path}'s external data")
    for tensor in pending:
        try:
            load_external_data_for_tensor(tensor, str(folder))
        except (OSError, ValueError) as error:
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ValueError(
                f"{path}: tensor {tensor.name!r}: cannot read its external data ({message})"
            ) from None


def _tensors(model):
    """Every tensor of ``model`` that can keep its data outside the file: initializers and
    node attributes, in the graph, its subgraphs and the model's functions."""

    def in_nodes(nodes):
        for node in nodes:
            for attribute in node.attribute:
                if attribute.HasField("t"):
                    yield attribute.t
                yield from attribute.tensors
                if attribute.HasField("g"):
                    yield from in_graph(attribute.g)
                for graph in attribute.graphs:
                    yield from in_graph(graph)

    def in_graph(graph):
        yield from graph.initializer
        yield from in_nodes(graph.node)

    yield from in_graph(model.graph)
    for function in model.functions:
        yield from in_nodes(function.node)


def check_fits(model, inputs: dict, config) -> None:
    """Refuse a graph whose weights and inputs do not fit the machine's HBM, or the memory a
    run may take here, naming the sizes."""
    from onnx import numpy_helper

    from systolic.limits import check_memory, format_bytes

    weights = sum(numpy_helper.to_array(t).nbytes for t in model.graph.initializer)
    given = sum(np.asarray(x).nbytes for x in inputs.values())
    need = weights + given
    # the values the graph makes, where shape inference knows their sizes: a run keeps them
    made = _inferred_bytes(model, inputs)
    check_memory(4 * (need + made), "running the model")  # values, copies, the reference's
    if need > config.hbm_bytes:
        raise ValueError(
            f"the model's weights ({format_bytes(weights)}) and inputs ({format_bytes(given)}) "
            f"need {format_bytes(need)}, more than {config.name}'s HBM of "
            f"{format_bytes(config.hbm_bytes)}"
        )


def _inferred_bytes(model, inputs: dict) -> int:
    """Bytes of the graph's intermediate values whose shapes ONNX's shape inference finds,
    with the inputs' own shapes (0 where it cannot)."""
    import onnx
    from onnx import helper

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for value in copy.graph.input:
        if value.name in inputs:
            dims = value.type.tensor_type.shape.dim
            for dim, size in zip(dims, np.shape(inputs[value.name]), strict=False):
                dim.Clear()
                dim.dim_value = int(size)
    try:
        inferred = onnx.shape_inference.infer_shapes(copy, data_prop=True)
    except Exception:  # inference is a help here, not a requirement
        return 0
    total = 0
    for value in [*inferred.graph.value_info, *inferred.graph.output]:
        tensor = value.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
        if tensor.elem_type and all(d >= 0 for d in dims):
            itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type)).itemsize
            total += int(np.prod(dims, dtype=np.int64)) * itemsize
    return total


def input_specs(model, batch: int | None) -> dict[str, tuple[np.dtype, tuple[int | None, ...]]]:
    """Every graph input that is not an initializer: its NumPy type and shape, a free
    dimension (a name, or an unknown size) as None, or ``batch`` if it is the first."""
    from onnx import helper

    initializers = {t.name for t in model.graph.initializer}
    specs = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        if not value.type.HasField("tensor_type"):
            raise ValueError(f"input {value.name!r} is not a tensor; only tensors are supported")
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type))
        shape = []
        for i, dim in enumerate(tensor.shape.dim):
            fixed = dim.HasField("dim_value") and dim.dim_value > 0
            shape.append(dim.dim_value if fixed else (batch if i == 0 else None))
        specs[value.name] = (dtype, tuple(shape))
    return specs


def make_inputs(specs: dict, given: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """The inputs of a run: those ``given`` (checked against the model's types and ranks),
    the rest random from ``seed`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    for name in given:
        if name not in specs:
            raise ValueError(f"--input {name}: the model has no such input; its inputs: "
                             f"{', '.join(specs) or 'none'}")  # fmt: skip
    inputs = {}
    for name, (dtype, shape) in specs.items():
        if name in given:
            array = np.asarray(given[name])
            wrong = array.ndim != len(shape) or any(
                d is not None and d != n for d, n in zip(shape, array.shape, strict=False)
            )
            if array.dtype != dtype or wrong:
                wanted = "x".join("?" if d is None else str(d) for d in shape) or "scalar"
                raise ValueError(
                    f"--input {name}: a {array.dtype} array of shape {array.shape}; the model "
                    f"takes {dtype} of shape {wanted}"
                )
            inputs[name] = array
            continue
        if None in shape:
            axis = shape.index(None)
            raise ValueError(
                f"input {name} has a free dimension at axis {axis}: give --batch (the first "
                f"dimension) or the input itself with --input {name}=FILE.npy"
            )
        size = int(np.prod(shape, dtype=np.int64))
        if size > MAX_INPUT_ELEMENTS:
            raise ValueError(f"input {name} of shape {shape} has {size:,} elements, more than "
                             f"{MAX_INPUT_ELEMENTS:,}; give a smaller --batch")  # fmt: skip
        if dtype.kind == "f":
            inputs[name] = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind in "iu":
            inputs[name] = rng.integers(0, 10, shape).astype(dtype)
        elif dtype.kind == "b":
            inputs[name] = rng.random(shape) < 0.5
        else:
            raise ValueError(f"input {name} has type {dtype}, which cannot be made at random")
    return inputs


def compare(ours: dict, reference: dict, fmt: str) -> list[dict]:
    """Per output: ``name``, ``max_abs_error``, ``max_rel_error`` (of elements whose
    reference is not 0) and ``within_bound`` (see the module docstring)."""
    records = []
    for name, expected in reference.items():
        got = np.asarray(ours[name])
        expected = np.asarray(expected)
        if got.shape != expected.shape:
            records.append({"name": name, "max_abs_error": None, "max_rel_error": None,
                            "within_bound": False, "shape": list(got.shape),
                            "reference_shape": list(expected.shape)})  # fmt: skip
            continue
        if expected.dtype.kind not in "fiub":
            equal = got.tolist() == expected.tolist()
            error = 0.0 if equal else None
            records.append({"name": name, "max_abs_error": error, "max_rel_error": error,
                            "within_bound": equal})  # fmt: skip
            continue
        a, b = got.astype(np.float64), expected.astype(np.float64)
        error = np.abs(a - b)
        both = np.isnan(a) & np.isnan(b) | (a == b)  # equal NaNs and infinities count as equal
        error = np.where(both, 0.0, error)
        max_abs = float(error.max()) if error.size else 0.0
        nonzero = np.abs(b) > 0
        max_rel = float((error[nonzero] / np.abs(b[nonzero])).max()) if nonzero.any() else 0.0
        finite = b[np.isfinite(b)]
        scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
        exact = expected.dtype.kind in "iub"
        within = max_abs == 0.0 if exact else max_abs <= TOLERANCE[fmt] * scale
        records.append({"name": name, "max_abs_error": max_abs, "max_rel_error": max_rel,
                        "within_bound": bool(within and np.isfinite(max_abs))})  # fmt: skip
    return records


def reference_outputs(model, inputs: dict) -> dict[str, np.ndarray]:
    """The outputs of ONNX's reference runtime on ``inputs``."""
    from onnx.reference import ReferenceEvaluator

    names = [v.name for v in model.graph.output]
    with np.errstate(all="ignore"):
        values = ReferenceEvaluator(model).run(None, inputs)
    return dict(zip(names, values, strict=True))


def onnxruntime_outputs(model, inputs: dict) -> dict[str, np.ndarray] | None:
    """The outputs of onnxruntime on ``inputs``, or None when it is not installed."""
    try:
        import onnxruntime
    except ImportError:
        return None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: its notes on unused initializers are noise
    session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])  # fmt: skip
    names = [v.name for v in model.graph.output]
    return dict(zip(names, session.run(names, inputs), strict=True))


def file_name(name: str) -> str:
    """A graph value's name made safe for a file system: every character but letters,
    digits, ``.``, ``_`` and ``-`` becomes ``_``, and a name of dots only is prefixed."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "_"
    return "_" + safe if set(safe) == {"."} else safe
