"""Writing output files whole: to a temporary file beside the target, then renamed onto it.

A reader never sees half a file, and an interrupted run leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO]:
    """Open a temporary file next to ``path`` for writing; rename it onto ``path`` on success.

    Parameters
    ----------
    path : path-like
        The file to write. Its folder is created if missing.
    mode : {"w", "wb"}
        Text (UTF-8, ``\\n`` line ends) or binary.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep an existing file's permissions; a new one gets rw-r--r-- rather than mkstemp's rw-------
    permissions = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        text = {"encoding": "utf-8", "newline": ""} if "b" not in mode else {}
        with os.fdopen(fd, mode, **text) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, permissions)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO], None], binary: bool = False):
    """Call ``write(handle)`` on a temporary file and rename it onto ``path`` when it returns."""
    with atomic_open(path, "wb" if binary else "w") as handle:
        write(handle)
