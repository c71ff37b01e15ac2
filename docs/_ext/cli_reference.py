"""The ``cli-reference`` directive: every ``systolic`` command's help, from its argparse parser.

The page is generated at build time from ``systolic.cli._parser()``, so it cannot drift from
the command line: a new option or command appears in the next build.
"""

from __future__ import annotations

import argparse
import os

from cli_commands import subcommands
from docutils import nodes
from docutils.parsers.rst import Directive


def _section(title: str, parser: argparse.ArgumentParser, document) -> nodes.section:
    section = nodes.section(ids=[nodes.make_id(title)], names=[nodes.fully_normalize_name(title)])
    section += nodes.title(text=title)
    help_text = parser.format_help()
    block = nodes.literal_block(help_text, help_text)
    block["language"] = "text"
    section += block
    document.note_implicit_target(section)
    for name, sub in subcommands(parser).items():
        section += _section(f"{title} {name}", sub, document)
    return section


class CliReference(Directive):
    """Insert one section per command, with its usage and options."""

    has_content = False

    def run(self):
        from systolic.cli import _parser

        parser = _parser()
        parser.prog = "systolic"
        # argparse wraps help at the terminal's width; 80 columns fit the page's text column
        previous = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "80"
        try:
            return [_section("systolic", parser, self.state.document)]
        finally:
            if previous is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = previous


def setup(app):
    app.add_directive("cli-reference", CliReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
