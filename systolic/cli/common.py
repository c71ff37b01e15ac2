"""What every command shares: the argument parser's error style and argument types."""

from __future__ import annotations

import argparse
import os
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


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def check_output_dir(path: Path, option: str) -> None:
    """Refuse, before any work, an output folder that cannot be made or written: a file, a
    path below a file, or a folder without write permission (its nearest existing one)."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == path and not path.is_dir():
        raise ValueError(f"{option} {path} is a file, not a folder")
    if not existing.is_dir():
        raise ValueError(f"{option} {path} cannot be made: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path} cannot be written: no permission in {existing}")
