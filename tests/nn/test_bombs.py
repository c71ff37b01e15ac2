"""Bombs: files that claim little and inflate (or read) without end, each refused in one line
naming the file, having inflated and held no more than :data:`BOUND`.

Every bomb is built in memory from one compressed block repeated (a few MB that inflate to
gigabytes). The readers are watched twice: gzip's and zipfile's reads are counted, and fail
the test as soon as they pass :data:`BOUND` (a reader without its cap fails here at once
instead of running on), and tracemalloc gives the memory a refusal took at its peak.
"""

import bz2
import functools
import gzip
import io
import struct
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

from nn import data, model
from nn.data import DataError, load_idx, load_mnist
from nn.model import ModelFileError, load_model

MiB = 2**20
GiB = 2**30
#: the most a refusal may inflate, or hold in memory at its peak; every bomb inflates to more
BOUND = 8 * MiB
#: the repeated block: 16 MiB of zeros, about 16 KiB deflated
BLOCK = 16 * MiB


@pytest.fixture(autouse=True)
def inflated(monkeypatch):
    """Bytes read from gzip and zip members; past :data:`BOUND` the test fails."""
    count = [0]

    def counted(read):
        def reader(self, size=-1):
            chunk = read(self, size)
            count[0] += len(chunk)
            if count[0] > BOUND:
                pytest.fail(f"inflated more than {BOUND:,} bytes", pytrace=False)
            return chunk

        return reader

    monkeypatch.setattr(gzip.GzipFile, "read", counted(gzip.GzipFile.read))
    monkeypatch.setattr(zipfile.ZipExtFile, "read", counted(zipfile.ZipExtFile.read))
    return count


def refusal(load, path, error, message):
    """``load(path)`` raises ``error``, one line, ``<path>: ...`` matching ``message``; returns
    the peak bytes of memory it took."""
    tracemalloc.start()
    try:
        with pytest.raises(error, match=message) as caught:
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and "\n" not in text, text
    return peak


@functools.cache
def deflated_zeros(total, head=b""):
    """Raw deflate data for ``head`` then zeros, ``total`` bytes in all (whole blocks): one
    block compressed and flushed (so that it stands alone), then repeated."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(head + bytes(BLOCK - len(head))) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(bytes(BLOCK)) + deflate.flush(zlib.Z_FULL_FLUSH)
    return first + block * (total // BLOCK - 1) + deflate.flush()


@functools.cache
def zeros_member():
    """One gzip member of a block of zeros: 2,048 of them make a 33 MB file of 32 GiB."""
    return gzip.compress(bytes(BLOCK), 9)


def idx_header(shape, code=0x08):
    return struct.pack(">BBBB", 0, 0, code, len(shape)) + struct.pack(f">{len(shape)}I", *shape)


def hand_zip(name, packed, size, crc=0, copies=1, method=zipfile.ZIP_DEFLATED, members=1):
    """A zip by hand: ``members`` members ``name``, ``1name``, ..., each with the data
    ``packed`` and ``copies`` directory entries; the directory says ``size`` bytes for each."""
    files, directory = b"", b""
    for index in range(members):
        encoded = (name if index == 0 else f"{index}{name}").encode()
        sizes = (crc, len(packed), size, len(encoded))
        entry = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0, *sizes,
                            0, 0, 0, 0, 0, len(files)) + encoded  # fmt: skip
        files += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, *sizes, 0)
        files += encoded + packed
        directory += entry * copies
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, members * copies, members * copies,
                      len(directory), len(files), 0)  # fmt: skip
    return files + directory + end


def npy_header(shape, descr="|u1"):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return header.getvalue()


def sparse(path, head, size):
    """``head``, then zeros to ``size`` bytes, that take no disk."""
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


# --- IDX: gzip members and raw files ---------------------------------------------------------


def _members(head):
    return (gzip.compress(head) if head else b"") + zeros_member() * 2048


def _one_member(head):
    # one member of 32 GiB whose trailer claims the 18 bytes its header allows
    packed = deflated_zeros(32 * GiB, head)
    return b"\x1f\x8b\x08\x00" + bytes(4) + b"\x02\xff" + packed + struct.pack("<II", 0, 18)


@pytest.mark.parametrize(
    "build, head, message",
    [
        (_members, idx_header((10,)), "inflates to more than the 18 bytes its header allows"),
        # the reported bomb: zeros from the first byte, so no IDX header at all
        (_members, b"", r"unknown IDX type code 0x00"),
        (
            _members,
            idx_header((65536, 65536)),
            r"header says 4,294,967,296 bytes of data for shape \(65536, 65536\), more than",
        ),
        (_one_member, idx_header((10,)), "inflates to more than the 18 bytes its header allows"),
    ],
    ids=[
        "members-claiming-little",
        "members-without-header",
        "members-claiming-too-much",
        "one-member-without-end",
    ],
)
def test_a_gzip_idx_bomb_stops_at_what_its_header_allows(tmp_path, inflated, build, head, message):
    # a 33 MB file that inflates to 32 GiB
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(build(head))
    assert refusal(load_idx, path, DataError, message) < BOUND
    assert inflated[0] <= 2 * MiB


def test_a_raw_idx_file_is_read_no_further_than_its_header_allows(tmp_path):
    path = sparse(tmp_path / "bomb-idx1-ubyte", idx_header((10,)), GiB)
    message = "holds more than the 18 bytes its header allows"
    assert refusal(load_idx, path, DataError, message) < BOUND


# --- npz: data sets and models -----------------------------------------------------------------

LOADERS = {
    "data set": (load_mnist, DataError, "train_x"),
    "model": (load_model, ModelFileError, "w1"),
}


@functools.cache
def bzip2_zeros():
    """32 MiB of zeros in about 100 bytes of bzip2, which zipfile inflates in one read."""
    return bz2.compress(bytes(32 * MiB), 9)


@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_member_compressed_another_way_is_refused_unread(tmp_path, kind):
    load, error, name = LOADERS[kind]
    path = tmp_path / "bomb.npz"
    path.write_bytes(hand_zip(f"{name}.npy", bzip2_zeros(), 32 * MiB, method=zipfile.ZIP_BZIP2))
    message = f"member '{name}.npy' is compressed with method 12; an npz's members are stored"
    assert refusal(load, path, error, message) < BOUND


@pytest.mark.parametrize("kind", list(LOADERS))
def test_an_array_header_claiming_gigabytes_is_refused_unread(tmp_path, kind):
    # a version 2.0 header says it is 4 GiB long; 256 MiB of zeros follow
    load, error, name = LOADERS[kind]
    start = b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**32 - 1)
    path = tmp_path / "bomb.npz"
    path.write_bytes(hand_zip(f"{name}.npy", deflated_zeros(256 * MiB, start), 256 * MiB))
    message = f"member '{name}.npy' has a header of 4,294,967,295 bytes, more than an array's"
    assert refusal(load, path, error, message) < BOUND


@pytest.mark.parametrize("kind", list(LOADERS))
def test_an_array_hidden_under_a_second_name_is_refused(tmp_path, kind):
    # np.load reads the array "w1" from the member "w1" before "w1.npy": a header there
    # claiming 1 TB would be allocated, unchecked
    load, error, name = LOADERS[kind]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{name}.npy", npy_header((2,)) + bytes(2))
        archive.writestr(name, npy_header((10**6, 10**6)))
    path = tmp_path / "bomb.npz"
    path.write_bytes(buffer.getvalue())
    assert refusal(load, path, error, f"two members hold the array '{name}'") < BOUND


def test_a_data_set_array_without_the_npy_suffix_has_its_size_checked(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("train_x", npy_header((10**6, 10**6)))
    path = tmp_path / "bomb.npz"
    path.write_bytes(buffer.getvalue())
    message = "its arrays would take 1,000,000,000,000 bytes, more than a data set may"
    assert refusal(load_mnist, path, DataError, message) < BOUND


@pytest.mark.parametrize("copies, members", [(40, 1), (1, 40)], ids=["shared", "many"])
def test_members_inflating_past_the_limit_are_refused_from_the_directory(tmp_path, copies, members):
    # 40 members of 64 MiB (an array's header claiming 2 bytes, then zeros): 2.5 GiB from a
    # file of 70 KB (40 directory entries for one member) or 2.6 MB (40 members)
    packed = deflated_zeros(64 * MiB, npy_header((2,)))
    crc = zlib.crc32(npy_header((2,)) + bytes(64 * MiB - len(npy_header((2,)))))
    path = tmp_path / "bomb.npz"
    path.write_bytes(hand_zip("train_x.npy", packed, 64 * MiB, crc, copies, members=members))
    message = "its members would inflate to 2,684,354,560 bytes, more than a data set may"
    assert refusal(load_mnist, path, DataError, message) < BOUND


def test_a_member_inflating_past_its_size_is_cut_off_there(tmp_path, inflated):
    # the directory says 100 bytes; the data (an array's header, then zeros) inflates to
    # 64 MiB: zipfile stops at 100, where the CRC check fails
    path = tmp_path / "bomb.npz"
    packed = deflated_zeros(64 * MiB, npy_header((2,)))
    path.write_bytes(hand_zip("train_x.npy", packed, 100))
    assert refusal(load_mnist, path, DataError, "corrupt npz file") < BOUND
    assert inflated[0] <= MiB


@pytest.mark.parametrize("kind", list(LOADERS))
def test_an_npz_file_larger_than_the_limit_is_refused_unread(tmp_path, monkeypatch, kind):
    load, error, _ = LOADERS[kind]
    monkeypatch.setattr(data if kind == "data set" else model, "MAX_NPZ_BYTES", MiB)
    path = sparse(tmp_path / "big.npz", b"PK\x03\x04", GiB)
    message = f"the file holds 1,073,741,824 bytes, more than a {kind} may \\(1,048,576\\)"
    assert refusal(load, path, error, message) < BOUND
