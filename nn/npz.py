"""Reading the headers of the arrays in an ``.npz`` before reading any array.

A file of a few hundred bytes can claim, in its headers, an array of hundreds of gigabytes;
the loaders (``nn.model``, ``nn.data``) check these claims against a limit first. Members that
are not ``.npy`` arrays are never read.
"""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np

#: an npz whose arrays would take more bytes than this is refused before any array is read
MAX_NPZ_BYTES = 2**31


def array_headers(data: bytes) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and type of every ``.npy`` member of an npz, from the headers alone."""
    headers = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue  # not an array: never read
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            headers[info.filename.removesuffix(".npy")] = (shape, dtype)
    return headers


def claimed_bytes(headers: dict[str, tuple[tuple[int, ...], np.dtype]]) -> int:
    """Bytes the arrays of :func:`array_headers` would take once read."""
    return sum(math.prod(shape) * dtype.itemsize for shape, dtype in headers.values())
