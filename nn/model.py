"""Trained networks as files: weights, biases and settings in an ``.npz``, never pickled.

Layout (format version 1): ``format_version`` (int64 scalar), ``sizes`` (int64 vector),
``w1..wL`` and ``b1..bL`` (float64), and ``settings``: a UTF-8 JSON object stored as a uint8
array (activation, cost and init names, plus whatever the caller adds). Loading reads with
``allow_pickle=False`` and checks the version, every array's presence, type and shape, and the
names, and says what is wrong with a bad file in one line.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from nn.network import Network
from nn.npz import MAX_NPZ_BYTES, array_headers, claimed_bytes, inflated_bytes, read_at_most

FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file that cannot be read back as a network."""


def save_model(path: str | os.PathLike, network: Network, settings: dict | None = None) -> None:
    """Write ``network`` to ``path`` (``.npz``), whole: to a temporary file, then renamed.

    ``settings`` (JSON-serialisable) is stored beside the network's own activation, cost and
    init names.
    """
    path = Path(path)
    meta = {**(settings or {}), "activation": network.activation,
            "cost": network.cost_name, "init": network.init}  # fmt: skip
    arrays = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "sizes": np.array(network.sizes, dtype=np.int64),
        "settings": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
    }
    for layer, (w, b) in enumerate(zip(network.weights, network.biases, strict=True), start=1):
        arrays[f"w{layer}"] = np.asarray(w, dtype=np.float64)
        arrays[f"b{layer}"] = np.asarray(b, dtype=np.float64)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    # an existing file keeps its permissions (a private model stays private)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())  # on disk before it takes the target's name
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def load_model(path: str | os.PathLike, matmul=np.matmul) -> tuple[Network, dict]:
    """Read a network written by :func:`save_model`; returns it and its settings.

    Raises
    ------
    ModelFileError
        Missing or unreadable file, not an npz, a file, its members inflated or its arrays
        larger than :data:`~nn.npz.MAX_NPZ_BYTES`, a member neither stored nor deflated,
        another format version, a missing array, a wrong type or shape, non-finite
        parameters, or unknown names.
    """
    path = Path(path)

    def fail(problem: str) -> ModelFileError:
        return ModelFileError(f"{path}: {problem}")

    try:
        data = read_at_most(path, MAX_NPZ_BYTES, "a model")
    except FileNotFoundError:
        raise fail("no such file") from None
    except OSError as error:
        raise fail(f"cannot read: {error.strerror}") from None
    except ValueError as error:
        raise fail(str(error)) from None
    try:
        # what the members inflate to, then every array's header, each checked before any
        # array is read
        inflated = inflated_bytes(data)
        if inflated > MAX_NPZ_BYTES:
            raise fail(
                f"its members would inflate to {inflated:,} bytes, more than a model may "
                f"({MAX_NPZ_BYTES:,})"
            )
        headers = array_headers(data)
        claimed = claimed_bytes(headers)
        if claimed > MAX_NPZ_BYTES:
            raise fail(
                f"its arrays would take {claimed:,} bytes, more than a model may "
                f"({MAX_NPZ_BYTES:,})"
            )
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files if name in headers}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise fail(f"not a model file ({error})") from None
    for name in ("format_version", "sizes", "settings"):
        if name not in arrays:
            raise fail(f"missing array {name!r}")
    version = arrays["format_version"]
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != FORMAT_VERSION:
        raise fail(f"format version {version.tolist()}, expected {FORMAT_VERSION}")
    sizes = arrays["sizes"]
    if sizes.ndim != 1 or len(sizes) < 2 or sizes.dtype.kind not in "iu" or (sizes < 1).any():
        raise fail(f"'sizes' must be at least two positive integers, got {sizes.tolist()}")
    try:
        settings = json.loads(arrays["settings"].astype(np.uint8).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise fail("'settings' is not UTF-8 JSON") from None
    if not isinstance(settings, dict):
        raise fail(f"'settings' must be a JSON object, got {type(settings).__name__}")
    sizes = [int(s) for s in sizes]
    # the parameters' shapes come from the file's headers: a network is made only once they
    # match its sizes (making it allocates weights of those sizes)
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        for name, shape in ((f"w{layer}", (n_in, n_out)), (f"b{layer}", (n_out,))):
            if name not in arrays:
                raise fail(f"missing array {name!r}")
            value = arrays[name]
            if value.dtype.kind != "f" or value.shape != shape:
                raise fail(f"{name!r} is {value.dtype} {value.shape}, expected float {shape}")
    try:
        network = Network(
            sizes, np.random.default_rng(0), activation=settings.get("activation", "sigmoid"),
            cost=settings.get("cost", "cross-entropy"), init=settings.get("init", "scaled"),
            matmul=matmul,
        )  # fmt: skip
    except ValueError as error:
        raise fail(str(error)) from None
    for layer in range(1, len(sizes)):
        for name in (f"w{layer}", f"b{layer}"):
            if not np.isfinite(arrays[name]).all():
                raise fail(f"{name!r} holds non-finite values")
        network.weights[layer - 1] = arrays[f"w{layer}"].astype(np.float64)
        network.biases[layer - 1] = arrays[f"b{layer}"].astype(np.float64)
    return network, settings
