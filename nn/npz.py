"""Reading an ``.npz`` within bounds: its file, its members' sizes and its arrays' headers, each
checked before anything larger is read.

A file of a few hundred bytes can claim, in its headers, an array of hundreds of gigabytes, or
hold members that inflate without end; the loaders (``nn.model``, ``nn.data``) check these
claims against a limit first:

- :func:`read_at_most`: the file itself, read no further than the limit;
- :func:`inflated_bytes`: what its members inflate to, from the zip's directory alone;
- :func:`array_headers` and :func:`claimed_bytes`: what its arrays would take once read.

Members that are not ``.npy`` arrays are never read.
"""

from __future__ import annotations

import io
import math
import os
import zipfile

import numpy as np

#: an npz file, its members inflated, or its arrays read, larger than this is refused before
#: any of it is read
MAX_NPZ_BYTES = 2**31

# a file is read in steps of this many bytes
_STEP = 1 << 20
#: an array's ``.npy`` header longer than this is refused (numpy's own ``max_header_size``)
MAX_HEADER_BYTES = 10_000

# What np.savez and np.savez_compressed write. zipfile inflates both in steps of at most the
# size asked for; it inflates bzip2 and LZMA a whole read at a time (a 200-byte bzip2 member
# gives 64 MiB at its first read), so those are refused.
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def read_at_most(path: str | os.PathLike, limit: int, what: str) -> bytes:
    """The bytes of the file at ``path``, read no further than ``limit`` bytes; ``what`` (the
    file's kind: "a model") is named when it holds more.

    Raises
    ------
    ValueError
        The file holds more than ``limit`` bytes: a regular file is refused from its size
        before any is read, anything else (a device, a pipe) once ``limit + 1`` bytes are in.
    OSError
        The file cannot be opened or read (``FileNotFoundError`` if it is missing).
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise ValueError(f"the file holds {size:,} bytes, more than {what} may ({limit:,})")
        # in steps: one read of limit + 1 bytes would take that much memory at once
        data = bytearray()
        while len(data) <= limit and (chunk := handle.read(min(_STEP, limit + 1 - len(data)))):
            data += chunk
    if len(data) > limit:
        raise ValueError(f"the file holds more bytes than {what} may ({limit:,})")
    return bytes(data)


def inflated_bytes(data: bytes) -> int:
    """Bytes the members of an npz inflate to, all together, from the zip's directory alone.

    zipfile inflates a stored or deflated member in bounded steps and never past the size the
    directory gives it (a member that would inflate further fails its CRC check instead), so
    this bounds what reading the archive inflates however it is built: many members, members
    sharing their data, a member that claims little and inflates without end.

    Raises
    ------
    ValueError
        A member is encrypted, or compressed another way than stored or deflated.
    zipfile.BadZipFile
        Not a zip file.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
    for info in members:
        if info.flag_bits & 0x1:
            raise ValueError(f"member {info.filename!r} is encrypted")
        if info.compress_type not in _METHODS:
            raise ValueError(
                f"member {info.filename!r} is compressed with method {info.compress_type}; "
                "an npz's members are stored or deflated"
            )
    return sum(info.file_size for info in members)


def array_headers(data: bytes) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and type of every array in an npz, by the name ``np.load`` gives it, from the
    headers alone.

    ``np.load`` reads the array ``name`` from the member ``name`` or ``name.npy``, whichever
    there is, and as an array whenever it starts with the ``.npy`` magic bytes: so every
    member is looked at, and a file where two members answer to the same name is refused.
    Call :func:`inflated_bytes` first: reading a header inflates part of a member.

    Raises
    ------
    ValueError
        Two members answer to one name, a member named ``.npy`` is not an array, or an
        array's header is longer than :data:`MAX_HEADER_BYTES`.
    """
    headers = {}
    names = set()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            if name in names:
                raise ValueError(f"two members hold the array {name!r}")
            names.add(name)
            with archive.open(info) as member:
                start = member.read(len(np.lib.format.MAGIC_PREFIX) + 6)
                is_array = start.startswith(np.lib.format.MAGIC_PREFIX)
                if not is_array and not info.filename.endswith(".npy"):
                    continue  # not an array: never read
                length = _header_length(start) if is_array else 0
                if length > MAX_HEADER_BYTES:  # numpy reads a header whole, then checks it
                    raise ValueError(
                        f"member {info.filename!r} has a header of {length:,} bytes, more "
                        f"than an array's may ({MAX_HEADER_BYTES:,})"
                    )
                member.seek(0)
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            headers[name] = (shape, dtype)
    return headers


def _header_length(start: bytes) -> int:
    """The header length an array's first bytes (magic, version, length) give."""
    magic = len(np.lib.format.MAGIC_PREFIX)
    size = 2 if start[magic : magic + 1] == b"\x01" else 4  # version 1.0: two bytes
    return int.from_bytes(start[magic + 2 : magic + 2 + size], "little")


def claimed_bytes(headers: dict[str, tuple[tuple[int, ...], np.dtype]]) -> int:
    """Bytes the arrays of :func:`array_headers` would take once read."""
    return sum(math.prod(shape) * dtype.itemsize for shape, dtype in headers.values())
