"""Bundled MNIST, npz checks, the IDX reader and the Dataset / Splits containers."""

import dataclasses
import gzip
import hashlib
import re
import struct
from importlib import resources

import numpy as np
import pytest

from nn import data
from nn.data import (
    MNIST_SHA256,
    DataError,
    Dataset,
    Splits,
    load_idx,
    load_idx_dataset,
    load_mnist,
)

BUNDLED = resources.files("nn") / "datasets" / "mnist.npz"
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C}
IDX_CODES |= {np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array, code=None):
    """An IDX file by hand: 00 00 <code> <ndim>, big-endian uint32 sizes, big-endian data."""
    array = np.asarray(array)
    code = IDX_CODES[array.dtype.type] if code is None else code
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, payload):
    path.write_bytes(gzip.compress(payload) if path.name.endswith(".gz") else payload)
    return path


def small_npz(path, **overrides):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, count in (("train", 6), ("val", 3), ("test", 4)):
        arrays[f"{split}_x"] = rng.integers(0, 256, (count, 5), dtype=np.uint8)
        arrays[f"{split}_y"] = rng.integers(0, 10, count, dtype=np.uint8)
    arrays.update(overrides)
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


# --- bundled MNIST ---------------------------------------------------------------------------


def test_bundled_file_matches_its_published_hash():
    assert hashlib.sha256(BUNDLED.read_bytes()).hexdigest() == MNIST_SHA256


def test_bundled_mnist_shapes_dtypes_and_values():
    splits = load_mnist()
    for split, count in (
        (splits.train, 50000),
        (splits.validation, 10000),
        (splits.test, 10000),
    ):
        assert split.x.shape == (count, 784) and split.x.dtype == np.float32
        assert split.y.shape == (count,) and split.y.dtype == np.int64
        assert len(split) == count and split.classes == 10 and split.features == 784
        assert split.x.min() == 0.0 and split.x.max() == np.float32(0.99609375)
        # every pixel is exactly k / 256
        assert np.array_equal(split.x * 256, np.round(split.x * 256))
    assert np.bincount(splits.test.y, minlength=10).tolist() == TEST_LABEL_COUNTS
    assert sorted(np.unique(splits.train.y).tolist()) == list(range(10))


def test_bundled_pixels_restore_the_stored_bytes():
    splits = load_mnist()
    with np.load(str(BUNDLED), allow_pickle=False) as npz:
        raw = npz["val_x"]
    assert np.array_equal(splits.validation.x, raw.astype(np.float32) / 256)
    assert np.array_equal((splits.validation.x * 256).astype(np.uint8), raw)


def test_bundled_splits_are_cached_and_read_only():
    first, second = load_mnist(), load_mnist()
    assert first is second
    for split in (first.train, first.validation, first.test):
        for array in (split.x, split.y):
            assert not array.flags.writeable
            with pytest.raises(ValueError, match="read-only"):
                array[0] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.train = first.test


def test_bundled_file_with_another_hash_is_refused(monkeypatch):
    monkeypatch.setattr(data, "MNIST_SHA256", "0" * 64)
    # the undecorated loader, so that the process cache is neither used nor disturbed
    with pytest.raises(DataError, match=f"SHA-256 is {MNIST_SHA256}, expected 0{{64}}"):
        data._load_bundled.__wrapped__()


# --- npz given by path -----------------------------------------------------------------------


def test_a_resaved_copy_loads_by_path(tmp_path):
    bundled = load_mnist()
    with np.load(str(BUNDLED), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    path = tmp_path / "copy.npz"
    np.savez(path, **arrays)
    splits = load_mnist(path)
    assert splits is not bundled
    for mine, theirs in zip(
        (splits.train, splits.validation, splits.test),
        (bundled.train, bundled.validation, bundled.test),
        strict=True,
    ):
        assert np.array_equal(mine.x, theirs.x) and np.array_equal(mine.y, theirs.y)
        assert not mine.x.flags.writeable


def test_a_small_npz_loads_with_its_own_shapes(tmp_path):
    path = small_npz(tmp_path / "small.npz")
    splits = load_mnist(str(path))
    assert [len(s) for s in (splits.train, splits.validation, splits.test)] == [6, 3, 4]
    assert splits.train.x.shape == (6, 5) and splits.train.classes == 10
    with np.load(path) as npz:
        assert np.array_equal(splits.test.x, npz["test_x"].astype(np.float32) / 256)
        assert np.array_equal(splits.test.y, npz["test_y"])


def test_a_corrupted_byte_is_a_data_error(tmp_path):
    raw = bytearray(BUNDLED.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"flipped\.npz: corrupt npz file"):
        load_mnist(path)


def test_a_truncated_copy_is_a_data_error(tmp_path):
    path = tmp_path / "short.npz"
    path.write_bytes(BUNDLED.read_bytes()[:1_000_000])
    with pytest.raises(DataError, match=r"short\.npz: corrupt npz file"):
        load_mnist(path)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "not an npz file"),
        (b"hello, world", "not an npz file"),
        (b"\x93NUMPY" + b"\x00" * 40, "not an npz file"),
    ],
)
def test_a_file_that_is_no_npz_is_a_data_error(tmp_path, payload, message):
    path = tmp_path / "odd.npz"
    path.write_bytes(payload)
    with pytest.raises(DataError, match=message):
        load_mnist(path)


def test_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match=r"nothing\.npz: no such file"):
        load_mnist(tmp_path / "nothing.npz")


def test_a_missing_array_is_named(tmp_path):
    path = small_npz(tmp_path / "small.npz", val_y=None)
    with pytest.raises(DataError, match=r"missing array 'val_y' \(found: test_x, test_y, "):
        load_mnist(path)


def test_a_wrong_dtype_is_named(tmp_path):
    path = small_npz(tmp_path / "small.npz", train_x=np.zeros((6, 5), np.float32))
    with pytest.raises(DataError, match="array 'train_x' has dtype float32, expected uint8"):
        load_mnist(path)


def test_pickled_arrays_are_refused_not_unpickled(tmp_path):
    path = small_npz(tmp_path / "small.npz", test_y=np.array([1, 2, 3, 4], dtype=object))
    with pytest.raises(DataError, match="cannot read array 'test_y'.*pickle"):
        load_mnist(path)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"train_x": np.zeros((6, 5, 1), np.uint8)}, r"'train_x' must be 2-D, got shape"),
        ({"val_y": np.zeros((3, 1), np.uint8)}, r"'val_y' must be 1-D, got shape \(3, 1\)"),
        ({"test_y": np.zeros(5, np.uint8)}, "'test_x' has 4 samples and 'test_y' has 5"),
        ({"val_x": np.zeros((0, 5), np.uint8), "val_y": np.zeros(0, np.uint8)}, "at least 1"),
        ({"val_x": np.zeros((3, 4), np.uint8)}, "'val_x' has 4 features, 'train_x' has 5"),
        ({"train_y": np.full(6, 10, np.uint8)}, "'train_y' has label 10, expected 0..9"),
    ],
)
def test_a_badly_shaped_npz_is_a_data_error(tmp_path, overrides, message):
    path = small_npz(tmp_path / "small.npz", **overrides)
    with pytest.raises(DataError, match=message):
        load_mnist(path)


def test_the_bundled_file_shapes_are_pinned(tmp_path):
    # the structure-only check accepts this file; the bundled check must not
    path = small_npz(tmp_path / "small.npz")
    with pytest.raises(DataError, match=r"'train_x' has shape \(6, 5\), expected \(50000, 784\)"):
        data._read_npz(path.read_bytes(), "small.npz", data.MNIST_SIZES)


# --- IDX files -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
@pytest.mark.parametrize(
    "values",
    [
        np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10,
        np.array([-128, -1, 0, 1, 127], dtype=np.int8),
        np.array([[-32768, -2], [300, 32767]], dtype=np.int16),
        np.array([-(2**31), -70000, 70000, 2**31 - 1], dtype=np.int32),
        np.array([[-1.5, 0.1], [3.25e-8, np.inf]], dtype=np.float32),
        np.array([np.pi, -0.0, 1e300], dtype=np.float64),
    ],
    ids=["uint8", "int8", "int16", "int32", "float32", "float64"],
)
def test_idx_round_trip_for_every_type(tmp_path, name, values):
    path = write(tmp_path / name, idx_bytes(values))
    array = load_idx(path)
    assert array.dtype == values.dtype and array.dtype.isnative
    assert array.shape == values.shape
    assert np.array_equal(array, values)
    array[...] = 0  # a fresh, writable array


def test_gzip_is_recognised_by_its_magic_bytes_without_a_suffix(tmp_path):
    values = np.arange(6, dtype=np.int16)
    path = tmp_path / "labels.idx"
    path.write_bytes(gzip.compress(idx_bytes(values)))
    assert np.array_equal(load_idx(path), values)


def test_a_zero_sized_dimension_is_allowed(tmp_path):
    path = write(tmp_path / "empty.idx", idx_bytes(np.zeros((0, 3), np.uint8)))
    assert load_idx(path).shape == (0, 3)


GOOD = idx_bytes(np.arange(12, dtype=np.int32).reshape(3, 4))


@pytest.mark.parametrize("name", ["bad.idx", "bad.idx.gz"])
@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "truncated header: 0 bytes, the magic number needs 4"),
        (b"\x00\x00\x08", "truncated header: 3 bytes, the magic number needs 4"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x05", "truncated header: 8 bytes, 2 dimensions need 12"),
        (b"\x01\x00" + GOOD[2:], "not an IDX file: magic number starts 01 00, expected 00 00"),
        (b"\x00\x07" + GOOD[2:], "not an IDX file: magic number starts 00 07"),
        (
            b"\x00\x00\x0a" + GOOD[3:],
            "unknown IDX type code 0x0A; valid: 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E",
        ),
        (b"\x00\x00\x08\x00", "IDX header has 0 dimensions"),
        (GOOD[:-1], r"data is 47 bytes, header says 48 for shape \(3, 4\)"),
        (GOOD + b"\x00", r"data is 49 bytes, header says 48 for shape \(3, 4\)"),
    ],
)
def test_bad_idx_files_are_data_errors_naming_the_file(tmp_path, name, payload, message):
    path = write(tmp_path / name, payload)
    with pytest.raises(DataError, match=re.escape(str(path)) + ": " + message) as error:
        load_idx(path)
    assert "\n" not in str(error.value)


def test_a_missing_idx_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match=r"nothing\.idx\.gz: no such file"):
        load_idx(tmp_path / "nothing.idx.gz")


@pytest.mark.parametrize(
    "damage",
    [
        lambda packed: packed[:-12],  # cut off inside the stream
        lambda packed: packed[:-8] + bytes([packed[-8] ^ 1]) + packed[-7:],  # wrong CRC
        lambda packed: packed[:20] + b"\xff" * 8 + packed[28:],  # garbled deflate data
        lambda packed: GOOD,  # a .gz name on a raw file
    ],
    ids=["truncated", "crc", "garbled", "not-gzip"],
)
def test_a_corrupt_gzip_stream_is_a_data_error(tmp_path, damage):
    packed = gzip.compress(idx_bytes(np.arange(200, dtype=np.int32)))
    path = tmp_path / "bad.idx.gz"
    path.write_bytes(damage(packed))
    with pytest.raises(DataError, match=r"bad\.idx\.gz: corrupt gzip stream"):
        load_idx(path)


# --- IDX datasets ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_a_tiny_fashion_mnist_like_set_round_trips(tmp_path, suffix):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    labels = np.array([9, 0, 3, 0, 7], dtype=np.uint8)
    images_path = write(tmp_path / f"images-idx3-ubyte{suffix}", idx_bytes(images))
    labels_path = write(tmp_path / f"labels-idx1-ubyte{suffix}", idx_bytes(labels))
    dataset = load_idx_dataset(images_path, labels_path)
    assert dataset.x.shape == (5, 12) and dataset.x.dtype == np.float32
    assert dataset.y.dtype == np.int64 and dataset.y.tolist() == labels.tolist()
    assert np.array_equal(dataset.x, images.reshape(5, 12).astype(np.float32) / 256)
    assert dataset.x[0, 3] == images[0, 1, 0] / 256  # row-major: row 1, column 0
    assert dataset.classes == 10
    assert not dataset.x.flags.writeable and not dataset.y.flags.writeable
    assert load_idx_dataset(images_path, labels_path, num_classes=12).classes == 12


def test_idx_dataset_errors(tmp_path):
    images = write(tmp_path / "images.idx", idx_bytes(np.zeros((5, 4, 3), np.uint8)))
    labels = write(tmp_path / "labels.idx", idx_bytes(np.zeros(5, np.uint8)))
    four = write(tmp_path / "four.idx", idx_bytes(np.zeros(4, np.uint8)))
    flat = write(tmp_path / "flat.idx", idx_bytes(np.zeros((5, 12), np.uint8)))
    wide = write(tmp_path / "wide.idx", idx_bytes(np.zeros((5, 4, 3), np.int16)))
    grid = write(tmp_path / "grid.idx", idx_bytes(np.zeros((5, 1), np.uint8)))
    signed = write(tmp_path / "signed.idx", idx_bytes(np.zeros(5, np.int8)))
    none = write(tmp_path / "none.idx", idx_bytes(np.zeros((0, 4, 3), np.uint8)))
    no_labels = write(tmp_path / "no-labels.idx", idx_bytes(np.zeros(0, np.uint8)))
    cases = [
        (images, four, rf"{images} has 5 images but {four} has 4 labels"),
        (flat, labels, rf"{flat}: images \(N, rows, cols\) must be 3-D, got shape \(5, 12\)"),
        (wide, labels, rf"{wide}: images \(N, rows, cols\) must be uint8, got int16"),
        (images, grid, rf"{grid}: labels \(N,\) must be 1-D, got shape \(5, 1\)"),
        (images, signed, rf"{signed}: labels \(N,\) must be uint8, got int8"),
        (none, no_labels, rf"{none}: no images"),
        (images, tmp_path / "gone.idx", r"gone\.idx: no such file"),
    ]
    for images_path, labels_path, message in cases:
        with pytest.raises(DataError, match=message):
            load_idx_dataset(images_path, labels_path)
    with pytest.raises(ValueError, match="labels must be in 0..2, got 3"):
        load_idx_dataset(
            images,
            write(tmp_path / "l.idx", idx_bytes(np.array([0, 1, 3, 2, 0], np.uint8))),
            num_classes=3,
        )


# --- Dataset and Splits ----------------------------------------------------------------------


def make(n=4, features=3, labels=None, **kwargs):
    x = np.arange(n * features, dtype=np.float32).reshape(n, features)
    y = np.array([2, 0, 1, 2][:n] if labels is None else labels)
    return Dataset(x, y, **kwargs)


def test_classes_is_the_largest_label_plus_one_or_given():
    assert make().classes == 3
    assert make(num_classes=5).classes == 5
    assert make(n=2).classes == 3  # labels 2, 0
    assert repr(make()) == "Dataset(samples=4, features=3, classes=3)"


def test_one_hot():
    targets = make(num_classes=4).one_hot()
    assert targets.dtype == np.float64 and targets.shape == (4, 4)
    assert targets.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]
    assert np.array_equal(load_mnist().test.one_hot().argmax(axis=1), load_mnist().test.y)


def test_subset_takes_the_first_samples_and_keeps_the_classes():
    dataset = make()
    first = dataset.subset(2)
    assert len(first) == 2 and first.y.tolist() == [2, 0] and first.classes == 3
    assert np.array_equal(first.x, dataset.x[:2])
    assert len(dataset.subset(4)) == 4
    small = load_mnist().train.subset(100)
    assert len(small) == 100 and small.classes == 10 and not small.x.flags.writeable


@pytest.mark.parametrize(
    "limit, message",
    [
        (5, "limit 5 is larger than the dataset's 4 samples"),
        (0, "limit must be a positive integer, got 0"),
        (-1, "limit must be a positive integer, got -1"),
        (2.0, "limit must be a positive integer, got 2.0"),
        (True, "limit must be a positive integer, got True"),
    ],
)
def test_subset_rejects_bad_limits(limit, message):
    with pytest.raises(ValueError, match=message):
        make().subset(limit)


@pytest.mark.parametrize(
    "x, y, kwargs, error, message",
    [
        ([[0.0]], np.zeros(1, int), {}, TypeError, "x must be a numpy array, got list"),
        (np.zeros((1, 1)), [0], {}, TypeError, "y must be a numpy array, got list"),
        (np.zeros((1, 1), int), np.zeros(1, int), {}, TypeError, "x must be floating point"),
        (np.zeros((1, 1)), np.zeros(1), {}, TypeError, "y must be integer, got dtype float64"),
        (np.zeros(3), np.zeros(3, int), {}, ValueError, r"x must be 2-D .* got shape \(3,\)"),
        (np.zeros((3, 1)), np.zeros((3, 1), int), {}, ValueError, "y must be 1-D"),
        (np.zeros((3, 1)), np.zeros(2, int), {}, ValueError, "x has 3 samples but y has 2"),
        (np.zeros((0, 1)), np.zeros(0, int), {}, ValueError, "at least one sample, got 0"),
        (np.zeros((2, 1)), np.array([0, -1]), {}, ValueError, r"labels must be in 0\.\.0, got -1"),
        (
            np.zeros((2, 1)),
            np.array([0, 4]),
            {"num_classes": 4},
            ValueError,
            r"labels must be in 0\.\.3, got 4",
        ),
        (
            np.zeros((1, 1)),
            np.zeros(1, int),
            {"num_classes": 0},
            ValueError,
            "num_classes must be a positive integer, got 0",
        ),
    ],
)
def test_dataset_validation(x, y, kwargs, error, message):
    with pytest.raises(error, match=message):
        Dataset(x, y, **kwargs)


def test_dataset_is_frozen_and_replace_revalidates():
    dataset = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        dataset.x = dataset.x
    assert dataclasses.replace(dataset, y=np.array([0, 0, 0, 5])).classes == 6
    with pytest.raises(ValueError, match="x has 4 samples but y has 1"):
        dataclasses.replace(dataset, y=np.array([0]))


def test_splits_validation():
    splits = Splits(make(), make(n=2), make(n=3))
    assert len(splits.validation) == 2
    with pytest.raises(TypeError, match="test must be a Dataset, got tuple"):
        Splits(make(), make(), (np.zeros((1, 3)), np.zeros(1, int)))
    with pytest.raises(ValueError, match="got train 3, validation 2, test 3"):
        Splits(make(), make(features=2), make())


def test_a_gzip_idx_that_inflates_past_its_header_is_stopped_early(tmp_path, monkeypatch):
    # header: uint8, 1-D, 10 elements; then 64 MiB of zeros (compresses to about 64 KiB)
    reads = []
    real = data.gzip.GzipFile.read
    monkeypatch.setattr(data.gzip.GzipFile, "read",
                        lambda self, size=-1: reads.append(size) or real(self, size))  # fmt: skip
    path = tmp_path / "bomb.idx.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + (10).to_bytes(4, "big") + bytes(2**26)))
    with pytest.raises(DataError, match="inflates to more than the 18 bytes its header allows"):
        load_idx(path)
    assert len(reads) <= 3  # stopped after a chunk or two, not after 64 MiB


def test_an_idx_header_claiming_too_much_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MAX_IDX_BYTES", 1000)
    path = tmp_path / "big.idx"
    path.write_bytes(b"\x00\x00\x08\x02" + (100).to_bytes(4, "big") * 2 + bytes(10_000))
    with pytest.raises(DataError, match="header says 10,000 bytes of data for shape"):
        load_idx(path)


def test_an_npz_claiming_huge_arrays_is_refused_before_reading(tmp_path):
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("train_x.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:])
    path = tmp_path / "bomb.npz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(DataError, match=r"would take 1,000,000,000,000 bytes"):
        load_mnist(path)
