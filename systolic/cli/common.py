"""What every command shares: the argument parser's error style and argument types."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def at_least(minimum: int, what: str) -> Callable[[str], int]:
    """Argument type: an integer >= ``minimum``; errors say ``expected <what>``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


#: an integer >= 1
positive = at_least(1, "a positive integer")
#: an integer >= 0 (seeds)
non_negative = at_least(0, "an integer >= 0")


def real(low: float, high: float = math.inf, *, low_open: bool = False) -> Callable[[str], float]:
    """Argument type: a finite number in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    left = "(" if low_open else "["
    what = f"a number in {left}{low:g}, {high:g}]" if high < math.inf else (
        f"a finite number {'>' if low_open else '>='} {low:g}")  # fmt: skip

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        below = value <= low if low_open else value < low
        if not math.isfinite(value) or below or value > high:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
        return value

    return parse


def layer_sizes(text: str, option: str) -> list[int]:
    """Layer sizes like ``784,30,10`` (at least two, each >= 1), named after ``option``."""
    try:
        sizes = [int(size) for size in text.split(",")]
    except ValueError:
        raise ValueError(f"bad {option} {text!r}: expected layer sizes like 784,30,10") from None
    if len(sizes) < 2:
        raise ValueError(f"bad {option} {text!r}: expected at least two layer sizes, e.g. 784,10")
    if min(sizes) < 1:
        raise ValueError(f"bad {option} {text!r}: expected layer sizes like 784,30,10")
    return sizes


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def check_output_file(path: str | Path, option: str) -> Path:
    """Refuse, before any work, an output file path that cannot be written: empty, a folder,
    below a file, or in a folder without write permission. Returns it as a Path."""
    if not str(path):
        raise ValueError(f"{option} '' is not a file name")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{option} {path} is a folder, not a file")
    check_output_dir(path.parent, option)
    return path


def check_output_dir(path: Path, option: str) -> None:
    """Refuse, before any work, an output folder that cannot be made or written: a file, a
    path below a file, a folder without write permission, or one that looks writable but is
    not (under ``/proc``, on a read-only or full file system). The folder is made, a
    temporary file is written and removed in it, and the folders made for that are removed
    again (the writer makes them when it writes): a refused run leaves nothing."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == path and not path.is_dir():
        raise ValueError(f"{option} {path} is a file, not a folder")
    if not existing.is_dir():
        raise ValueError(f"{option} {path} cannot be made: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path} cannot be written: no permission in {existing}")
    made: list[Path] = []
    try:
        for folder in reversed([path, *path.parents][: len(path.parts) - len(existing.parts)]):
            folder.mkdir()
            made.append(folder)
        descriptor, probe = tempfile.mkstemp(prefix=".systolic-probe-", dir=path)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as error:
        reason = error.strerror or error
        raise ValueError(f"{option}: cannot write a file in {path} ({reason})") from None
    finally:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()


def add_energy_option(parser: argparse.ArgumentParser) -> None:
    """``--energy PRESET|FILE.toml``: price every run with an energy table."""
    parser.add_argument(
        "--energy", metavar="PRESET|FILE.toml", default=None,
        help="price every run with an energy table: a preset (horowitz45, tpu_v1_28nm) or a "
        "TOML file with its keys (see systolic/energy.py)",
    )  # fmt: skip


def energy_table(args: argparse.Namespace):
    """The ``--energy`` table of the command line (``None`` without the option), read before
    any work so that a bad table is refused first."""
    if args.energy is None:
        return None
    from systolic import energy

    return energy.table(args.energy)
