"""What every command shares: the argument parser's error style and argument types."""

from __future__ import annotations

import argparse
from collections.abc import Callable


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
