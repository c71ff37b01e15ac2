"""Datasets for the trainer: the bundled MNIST digits and a reader for IDX files.

A :class:`Dataset` is one split, ``x`` of shape (N, features) and integer labels ``y`` of shape
(N,); :class:`Splits` holds the train, validation and test sets.

:func:`load_mnist` reads ``nn/datasets/mnist.npz``, which ships inside the package: the 50,000 /
10,000 / 10,000 train / validation / test split of MNIST, 784 pixels (28x28, row-major) per
image. The file stores each pixel as a byte ``k`` for the float ``k / 256`` of the original
data, so ``k.astype(np.float32) / 256`` restores the original values bit for bit (at most
0.99609375). The bundled file is checked against ``MNIST_SHA256``, loaded once per process
and returned as the same read-only objects on every later call.

:func:`load_idx` reads one file in the IDX format of the original MNIST and Fashion-MNIST
distributions, gzipped or raw, and :func:`load_idx_dataset` turns an images file and a labels
file into a :class:`Dataset` scaled the same way as the bundled digits.

Files are read with ``allow_pickle=False``; nothing is ever unpickled. A file that cannot be read
raises :class:`DataError` with a one-line message that starts with the file's name::

    train-images-idx3-ubyte.gz: data is 7840 bytes, header says 47040000 for shape (60000, 28, 28)
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

import numpy as np

from nn.npz import MAX_NPZ_BYTES, array_headers, claimed_bytes, inflated_bytes, read_at_most

MNIST_SHA256 = "072ded2f6315b0aaa7ae098d913c01203499f8cc72a0cf452d5c3026ca9410d2"
MNIST_CLASSES = 10
MNIST_FEATURES = 784
# Samples per split of the bundled file, by the prefix of its array names.
MNIST_SIZES = MappingProxyType({"train": 50000, "val": 10000, "test": 10000})
# A stored byte k stands for the pixel value k / PIXEL_SCALE.
PIXEL_SCALE = 256

# Where the bundled file lives, relative to the ``nn`` package.
_MNIST_RESOURCE = ("datasets", "mnist.npz")
_ZIP_MAGIC = b"PK"
# what zipfile raises for a damaged archive or member
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError)
_GZIP_MAGIC = b"\x1f\x8b"
#: an IDX file with more data than this is refused (MNIST's training images take 47 MB)
MAX_IDX_BYTES = 2**31
# An IDX file is read in steps of this many bytes; its first holds the whole header (at most
# 4 + 4 * 255 bytes). Past what the header allows, this much more is read so that load_idx can
# say exactly how much is wrong with a file a little too long; a longer one is refused.
_IDX_STEP = 1 << 20
# IDX type code -> big-endian element type.
_IDX_TYPES = MappingProxyType(
    {
        0x08: np.dtype(np.uint8),
        0x09: np.dtype(np.int8),
        0x0B: np.dtype(">i2"),
        0x0C: np.dtype(">i4"),
        0x0D: np.dtype(">f4"),
        0x0E: np.dtype(">f8"),
    }
)


class DataError(ValueError):
    """A data file that cannot be read: missing, corrupt, or not in the expected layout.

    The message is one line: ``<file>: <problem>``.
    """


def _check_positive_int(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """One split of a classification data set: samples ``x`` and their labels ``y``.

    Parameters
    ----------
    x : np.ndarray
        Samples, shape (N, features), floating point (the loaders give float32).
    y : np.ndarray
        Labels, shape (N,), integers in ``0 .. classes - 1`` (the loaders give int64).
    num_classes : int or None
        Number of classes. None (the default) takes the largest label plus one; pass it when a
        split might not contain every class, so that :meth:`one_hot` keeps its width.

    Raises
    ------
    TypeError
        ``x`` or ``y`` is not an ndarray, ``x`` is not floating point or ``y`` not integer.
    ValueError
        Wrong number of dimensions, no samples, different sample counts, or a label outside
        ``0 .. classes - 1``.

    Notes
    -----
    Equality is identity: two datasets with equal arrays are still different objects.
    """

    x: np.ndarray
    y: np.ndarray
    num_classes: int | None = None

    def __post_init__(self):
        for name, array, kinds, what in (
            ("x", self.x, "f", "floating point"),
            ("y", self.y, "iu", "integer"),
        ):
            if not isinstance(array, np.ndarray):
                raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
            if array.dtype.kind not in kinds:
                raise TypeError(f"{name} must be {what}, got dtype {array.dtype}")
        if self.x.ndim != 2:
            raise ValueError(f"x must be 2-D (samples, features), got shape {self.x.shape}")
        if self.y.ndim != 1:
            raise ValueError(f"y must be 1-D (samples,), got shape {self.y.shape}")
        if len(self.x) != len(self.y):
            raise ValueError(f"x has {len(self.x)} samples but y has {len(self.y)}")
        if len(self.y) == 0:
            raise ValueError("a dataset needs at least one sample, got 0")
        if self.num_classes is not None:
            _check_positive_int(self.num_classes, "num_classes")
        low, high = int(self.y.min()), int(self.y.max())
        if low < 0 or high >= self.classes:
            bad = low if low < 0 else high
            raise ValueError(f"labels must be in 0..{self.classes - 1}, got {bad}")

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        return f"Dataset(samples={len(self)}, features={self.features}, classes={self.classes})"

    @property
    def features(self) -> int:
        """Number of features per sample, ``x.shape[1]``."""
        return self.x.shape[1]

    @property
    def classes(self) -> int:
        """Number of classes: ``num_classes`` if given, else the largest label plus one."""
        if self.num_classes is not None:
            return int(self.num_classes)
        return int(self.y.max()) + 1

    def one_hot(self) -> np.ndarray:
        """Return the labels as one-hot rows.

        Returns
        -------
        np.ndarray
            float64 of shape (N, classes): row i is 1.0 in column ``y[i]`` and 0.0 elsewhere.
        """
        targets = np.zeros((len(self), self.classes))
        targets[np.arange(len(self)), self.y] = 1.0
        return targets

    def subset(self, limit: int) -> Dataset:
        """Return the first ``limit`` samples, keeping the number of classes.

        Parameters
        ----------
        limit : int
            Number of samples, 1 to ``len(self)``.

        Returns
        -------
        Dataset
            Views of this dataset's arrays (read-only if these are).

        Raises
        ------
        ValueError
            ``limit`` is not a positive integer or is larger than the number of samples.
        """
        _check_positive_int(limit, "limit")
        if limit > len(self):
            raise ValueError(f"limit {limit} is larger than the dataset's {len(self)} samples")
        return Dataset(self.x[:limit], self.y[:limit], num_classes=self.classes)


@dataclass(frozen=True)
class Splits:
    """The train, validation and test splits of one data set.

    Parameters
    ----------
    train, validation, test : Dataset
        The three splits; all have the same number of features.

    Raises
    ------
    TypeError
        A split is not a :class:`Dataset`.
    ValueError
        The splits have different numbers of features.
    """

    train: Dataset
    validation: Dataset
    test: Dataset

    def __post_init__(self):
        for name in ("train", "validation", "test"):
            split = getattr(self, name)
            if not isinstance(split, Dataset):
                raise TypeError(f"{name} must be a Dataset, got {type(split).__name__}")
        features = {name: getattr(self, name).features for name in ("train", "validation", "test")}
        if len(set(features.values())) != 1:
            found = ", ".join(f"{name} {count}" for name, count in features.items())
            raise ValueError(f"splits must have the same number of features, got {found}")


def _read_bytes(path: str | os.PathLike, limit: int) -> bytes:
    try:
        return read_at_most(path, limit, "a data set")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None
    except ValueError as err:
        raise DataError(f"{path}: {err}") from None


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _pixels(images: np.ndarray) -> np.ndarray:
    """uint8 (N, ...) -> read-only float32 (N, features) holding ``k / 256``."""
    x = images.reshape(len(images), -1).astype(np.float32)
    x /= np.float32(PIXEL_SCALE)  # a power of two: exact, the original floats bit for bit
    return _readonly(x)


def _labels(labels: np.ndarray) -> np.ndarray:
    return _readonly(labels.astype(np.int64))


def _npz_headers(data: bytes, name: str) -> dict:
    """The array headers of an npz (:func:`nn.npz.array_headers`), checked from the cheapest
    to the dearest: what its members inflate to, what its arrays would take, then every member
    read back whole (testzip), so that corruption shows before numpy parses anything."""
    try:
        inflated = inflated_bytes(data)
    except ValueError as err:  # an encrypted member, or one neither stored nor deflated
        raise DataError(f"{name}: {err}") from None
    except _ZIP_ERRORS as err:
        raise DataError(f"{name}: corrupt npz file: {err}") from None
    if inflated > MAX_NPZ_BYTES:
        raise DataError(
            f"{name}: its members would inflate to {inflated:,} bytes, more than a data set may "
            f"({MAX_NPZ_BYTES:,})"
        )
    try:
        headers = array_headers(data)
    except (ValueError, *_ZIP_ERRORS) as err:
        raise DataError(f"{name}: corrupt npz file: {err}") from None
    claimed = claimed_bytes(headers)
    if claimed > MAX_NPZ_BYTES:
        raise DataError(
            f"{name}: its arrays would take {claimed:,} bytes, more than a data set may "
            f"({MAX_NPZ_BYTES:,})"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
    except _ZIP_ERRORS as err:
        raise DataError(f"{name}: corrupt npz file: {err}") from None
    if bad is not None:
        raise DataError(f"{name}: corrupt npz file: member {bad!r} is damaged")
    return headers


def _read_npz(data: bytes, name: str, sizes: Mapping[str, int] | None) -> Splits:
    """Parse MNIST-layout npz bytes; ``sizes`` (samples per split) also pins the shapes."""
    if not data.startswith(_ZIP_MAGIC):
        raise DataError(f"{name}: not an npz file (no zip signature)")
    headers = _npz_headers(data, name)
    arrays = {}
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        for split in ("train", "val", "test"):
            for part in ("x", "y"):
                key = f"{split}_{part}"
                if key not in headers:  # np.load would read another member as bytes
                    found = ", ".join(sorted(headers)) or "none"
                    raise DataError(f"{name}: missing array {key!r} (found: {found})")
                try:
                    arrays[key] = npz[key]
                except (ValueError, OSError, EOFError) as err:
                    raise DataError(f"{name}: cannot read array {key!r}: {err}") from None
                if arrays[key].dtype != np.uint8:
                    raise DataError(
                        f"{name}: array {key!r} has dtype {arrays[key].dtype}, expected uint8"
                    )

    splits = []
    features = None
    for split in ("train", "val", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if sizes is None:
            if x.ndim != 2:
                raise DataError(f"{name}: array '{split}_x' must be 2-D, got shape {x.shape}")
            if y.ndim != 1:
                raise DataError(f"{name}: array '{split}_y' must be 1-D, got shape {y.shape}")
            if len(x) != len(y) or len(y) == 0:
                raise DataError(
                    f"{name}: '{split}_x' has {len(x)} samples and '{split}_y' has {len(y)}; "
                    "expected the same number, at least 1"
                )
            features = x.shape[1] if features is None else features
            if x.shape[1] != features:
                raise DataError(
                    f"{name}: array '{split}_x' has {x.shape[1]} features, 'train_x' has {features}"
                )
        else:
            for key, array, shape in (
                (f"{split}_x", x, (sizes[split], MNIST_FEATURES)),
                (f"{split}_y", y, (sizes[split],)),
            ):
                if array.shape != shape:
                    raise DataError(
                        f"{name}: array {key!r} has shape {array.shape}, expected {shape}"
                    )
        if int(y.max()) >= MNIST_CLASSES:
            raise DataError(
                f"{name}: array '{split}_y' has label {int(y.max())}, "
                f"expected 0..{MNIST_CLASSES - 1}"
            )
        splits.append(Dataset(_pixels(x), _labels(y), num_classes=MNIST_CLASSES))
    return Splits(*splits)


@functools.lru_cache(maxsize=1)
def _load_bundled() -> Splits:
    resource = resources.files("nn").joinpath(_MNIST_RESOURCE[0]).joinpath(_MNIST_RESOURCE[1])
    name = str(resource)
    try:
        data = resource.read_bytes()
    except OSError as err:
        raise DataError(
            f"{name}: cannot read the bundled MNIST file ({err}); reinstall the package"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != MNIST_SHA256:
        raise DataError(
            f"{name}: SHA-256 is {digest}, expected {MNIST_SHA256}; reinstall the package"
        )
    return _read_npz(data, name, MNIST_SIZES)


def load_mnist(path: str | os.PathLike | None = None) -> Splits:
    """Load MNIST as train / validation / test splits of 50,000 / 10,000 / 10,000 digits.

    Parameters
    ----------
    path : str, os.PathLike or None
        None (the default) reads the copy bundled with the package, checks its SHA-256 against
        ``MNIST_SHA256`` and its shapes, and caches the result: later calls return the same
        object. Otherwise an npz file with the same six uint8 arrays (``train_x``, ``train_y``,
        ``val_x``, ``val_y``, ``test_x``, ``test_y``); its arrays are checked for structure
        only (x 2-D, y 1-D, matching lengths, labels below 10) and it is read on every call.

    Returns
    -------
    Splits
        Each split has ``x`` float32 (N, 784) with pixel values ``k / 256`` in [0, 0.99609375],
        ``y`` int64 (N,) with digits 0..9, and ``classes == 10``. All arrays are read-only.

    Raises
    ------
    DataError
        The file is missing, is not an npz file, is corrupt, is (or its members inflated or
        its arrays are) larger than :data:`~nn.npz.MAX_NPZ_BYTES`, has a member neither
        stored nor deflated, lacks an array, or has an array of the wrong dtype, shape or label
        range; or the bundled file's hash does not match.
    """
    if path is None:
        return _load_bundled()
    return _read_npz(_read_bytes(path, MAX_NPZ_BYTES), str(path), None)


def _idx_payload(path: str | os.PathLike) -> bytes:
    """The file's header and data, decompressed if it is gzipped (by suffix or by its magic bytes).

    The header is read first; after it, no more than it allows is read or inflated (its size,
    at most :data:`MAX_IDX_BYTES`, and a step more), however the file is built: many
    concatenated gzip members, or one that inflates without end, stop there. A header that
    :func:`load_idx` refuses (no IDX magic, an unknown type, a claim over the limit) stops the
    reading at once.
    """
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None
    with handle:
        gzipped = str(path).endswith(".gz") or handle.peek(2)[:2] == _GZIP_MAGIC
        try:
            if not gzipped:
                return _read_idx(handle, path, "holds")
            with gzip.GzipFile(fileobj=handle) as stream:
                return _read_idx(stream, path, "inflates to")
        except (OSError, EOFError, zlib.error) as err:
            if not gzipped:
                raise DataError(f"{path}: cannot read: {err.strerror or err}") from None
            raise DataError(f"{path}: corrupt gzip stream: {err}") from None


def _read_idx(stream, path: str | os.PathLike, verb: str) -> bytes:
    """An IDX file's bytes from ``stream``, no more than its header allows and a step."""
    out = bytearray(stream.read(_IDX_STEP))
    allowed = _idx_allowed(bytes(out[: 4 + 4 * 255]))
    if allowed is None:
        return bytes(out)  # load_idx says what is wrong with the header
    # one byte over is enough to know the file is too long: stop there
    while len(out) <= allowed + _IDX_STEP and (
        chunk := stream.read(min(_IDX_STEP, allowed + _IDX_STEP + 1 - len(out)))
    ):
        out += chunk
    if len(out) > allowed + _IDX_STEP:
        raise DataError(f"{path}: {verb} more than the {allowed:,} bytes its header allows")
    return bytes(out)


def _idx_allowed(head: bytes) -> int | None:
    """Most bytes an IDX file starting with ``head`` may hold, its header and data; None if
    :func:`load_idx` refuses it from the header alone."""
    if len(head) < 4 or head[:2] != b"\x00\x00" or head[2] not in _IDX_TYPES or head[3] == 0:
        return None
    header = 4 + 4 * head[3]
    if len(head) < header:
        return None
    shape = struct.unpack(f">{head[3]}I", head[4:header])
    expected = math.prod(shape) * _IDX_TYPES[head[2]].itemsize
    return header + expected if expected <= MAX_IDX_BYTES else None


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file, the format of the MNIST and Fashion-MNIST distributions.

    The file holds the magic bytes ``00 00 <type code> <ndim>``, then ``ndim`` big-endian
    uint32 sizes, then the elements in row-major order, big-endian for multi-byte types. Type
    codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.

    Parameters
    ----------
    path : str or os.PathLike
        The file, gzipped (a ``.gz`` suffix or the gzip magic bytes) or raw.

    Returns
    -------
    np.ndarray
        A new native-endian array with the header's shape and type.

    Raises
    ------
    DataError
        The file is missing, is a corrupt gzip stream, has a wrong magic number, an unknown
        type code or zero dimensions, a truncated header, or more or fewer data bytes than
        its header says (refused once it is a read step past them, however it is built).
    """
    data = _idx_payload(path)
    if len(data) < 4:
        raise DataError(f"{path}: truncated header: {len(data)} bytes, the magic number needs 4")
    code, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00":
        raise DataError(
            f"{path}: not an IDX file: magic number starts {data[:2].hex(' ')}, expected 00 00"
        )
    if code not in _IDX_TYPES:
        valid = ", ".join(f"0x{known:02X}" for known in _IDX_TYPES)
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X}; valid: {valid}")
    if ndim == 0:
        raise DataError(f"{path}: IDX header has 0 dimensions, expected at least 1")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{path}: truncated header: {len(data)} bytes, {ndim} dimensions need {header}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _IDX_TYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    if expected > MAX_IDX_BYTES:
        raise DataError(
            f"{path}: header says {expected:,} bytes of data for shape {shape}, more than "
            f"{MAX_IDX_BYTES:,}"
        )
    found = len(data) - header
    if found != expected:
        raise DataError(f"{path}: data is {found} bytes, header says {expected} for shape {shape}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def load_idx_dataset(
    images_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    *,
    num_classes: int | None = None,
) -> Dataset:
    """Read an IDX images file and an IDX labels file (MNIST, Fashion-MNIST) as a Dataset.

    Parameters
    ----------
    images_path : str or os.PathLike
        uint8 images of shape (N, rows, cols), gzipped or raw.
    labels_path : str or os.PathLike
        uint8 labels of shape (N,), gzipped or raw.
    num_classes : int or None
        Passed to :class:`Dataset`; None takes the largest label plus one.

    Returns
    -------
    Dataset
        ``x`` float32 (N, rows * cols), row-major, with pixel values ``k / 256``; ``y`` int64
        (N,). Both read-only.

    Raises
    ------
    DataError
        Either file cannot be read (see :func:`load_idx`), is not uint8, has the wrong number
        of dimensions or no samples, or the two files hold different numbers of samples.
    ValueError
        A label is not below ``num_classes``.
    """
    images = load_idx(images_path)
    labels = load_idx(labels_path)
    for path, array, ndim, what in (
        (images_path, images, 3, "images (N, rows, cols)"),
        (labels_path, labels, 1, "labels (N,)"),
    ):
        if array.dtype != np.uint8:
            raise DataError(f"{path}: {what} must be uint8, got {array.dtype}")
        if array.ndim != ndim:
            raise DataError(f"{path}: {what} must be {ndim}-D, got shape {array.shape}")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    if len(images) == 0:
        raise DataError(f"{images_path}: no images")
    return Dataset(_pixels(images), _labels(labels), num_classes=num_classes)
