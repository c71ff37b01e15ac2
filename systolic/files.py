"""Writing output files whole: to a temporary file beside the target, then renamed onto it.

A reader never sees half a file, and an interrupted run leaves the old file as it was. A
run killed mid-write (``kill -9``) leaves its hidden temporary file; the next write of the same
target removes it. The command line turns SIGTERM into a clean exit, which removes it at once.
"""

from __future__ import annotations

import contextlib
import glob
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

#: a temporary file older than this (seconds) was left by a killed write: the next write of
#: the same target removes it
STALE_S = 600


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path next to ``path`` for a writer that wants a file name (an animation
    writer, say); on success it is synced and renamed onto ``path``, keeping an existing
    file's permissions (a new one gets rw-r--r--). Leftovers of killed writes of the same
    target are swept first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep(path)
    permissions = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    try:
        yield Path(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(temporary, permissions)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _sweep(path: Path) -> None:
    """Remove temporary files of ``path`` that killed writes left behind (older than
    :data:`STALE_S`, so a write running beside this one keeps its own)."""
    now = time.time()
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp*"):
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > STALE_S:
                leftover.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO]:
    """Open a temporary file next to ``path`` for writing; rename it onto ``path`` on success
    (see :func:`atomic_path`).

    Parameters
    ----------
    path : path-like
        The file to write. Its folder is created if missing.
    mode : {"w", "wb"}
        Text (UTF-8, ``\\n`` line ends) or binary.
    """
    text = {"encoding": "utf-8", "newline": ""} if "b" not in mode else {}
    with atomic_path(path) as temporary, open(temporary, mode, **text) as handle:
        yield handle


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO], None], binary: bool = False):
    """Call ``write(handle)`` on a temporary file and rename it onto ``path`` when it returns."""
    with atomic_open(path, "wb" if binary else "w") as handle:
        write(handle)


class EarlyWriteback:
    """A binary file's ``write`` that starts writing each :data:`WRITEBACK_BYTES` to the disk
    as soon as they are written, for a large file that is synced when whole
    (:func:`atomic_write`): the sync then waits for the last part only, not for all of it
    (a 400 MB ``points.csv`` took a second to sync)."""

    def __init__(self, handle: IO[bytes]):
        self.handle, self._written, self._started = handle, 0, 0

    def write(self, data) -> int:
        count = self.handle.write(data)
        self._written += count
        if self._written - self._started >= WRITEBACK_BYTES and hasattr(os, "posix_fadvise"):
            self.handle.flush()
            # on Linux, DONTNEED starts the writeback of the range's dirty pages and returns
            os.posix_fadvise(self.handle.fileno(), self._started, self._written - self._started,
                             os.POSIX_FADV_DONTNEED)  # fmt: skip
            self._started = self._written
        return count


#: bytes of a large file written before they are sent on to the disk (:class:`EarlyWriteback`)
WRITEBACK_BYTES = 32 << 20
