"""The subcommands of an argparse parser, for the ``cli-reference`` directive
(``cli_reference.py``); apart from it so that the tests can use it without Sphinx."""

from __future__ import annotations

import argparse


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's subcommands by name (none: an empty dict)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}
