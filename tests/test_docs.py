"""The documentation: its pages exist, its links resolve, and every Python example runs.

The site itself is built by ``.ci/run`` (``python -m sphinx -W``, then ``docs/check_site.py``),
because a build with the notebooks executed takes longer than a test should.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"

MAIN_PAGES = [
    "index.md",
    "getting-started.md",
    "concepts/index.md",
    "concepts/array.md",
    "concepts/cycles.md",
    "concepts/engines.md",
    "concepts/numbers.md",
    "concepts/machines.md",
    "guides/index.md",
    "guides/compare-dataflows.md",
    "guides/training.md",
    "guides/train-machine.md",
    "guides/classic-lessons.md",
    "guides/tpu-v1.md",
    "guides/conv.md",
    "guides/onnx.md",
    "guides/llm.md",
    "guides/energy.md",
    "guides/rtl.md",
    "guides/sweeps.md",
    "reference/index.md",
    "reference/api/index.md",
    "reference/cli.md",
    "reference/report.md",
    "reference/sweep-spec.md",
    "reference/energy-tables.md",
    "validation.md",
    "benchmarks.md",
    "notebooks.md",
    "gallery.md",
    "contributing.md",
]

PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_PYTHON = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _fenced_removed(text: str) -> str:
    """The text with its code blocks blanked, so that links are read only from prose."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _local_links(path: Path) -> list[str]:
    links = _LINK.findall(_fenced_removed(path.read_text()))
    return [link for link in links if not re.match(r"[a-z]+:", link)]


def test_main_pages_exist():
    missing = [page for page in MAIN_PAGES if not (DOCS / page).is_file()]
    assert not missing


def test_readme_is_a_front_page():
    assert README.stat().st_size < 12 * 1024
    text = README.read_text()
    assert "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/systolic train" in text
    assert '.venv/bin/pip install ".[test]" && .venv/bin/python -m pytest' in text


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve_in_the_repository(path):
    """Every relative link names a file that exists, so the Markdown reads without the site."""
    broken = []
    for link in _local_links(path):
        target = link.split("#")[0]
        if target and not (path.parent / target).exists():
            broken.append(link)
    assert not broken


@pytest.mark.parametrize(
    "path",
    [p for p in [README, *PAGES] if _PYTHON.search(p.read_text())],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_python_examples_run(path, tmp_path, monkeypatch):
    """A page's Python blocks run in order, in one namespace, as a reader would paste them."""
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "docs_example"}
    for block in _PYTHON.findall(path.read_text()):
        exec(compile(block, f"{path.name} example", "exec"), namespace)


def test_the_cli_reference_covers_every_command():
    """The generated page walks the parser, so every command of the CLI is on it."""
    import sys

    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import cli_commands  # what the directive walks, without Sphinx
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    from systolic.cli import COMMANDS, _parser

    assert set(cli_commands.subcommands(_parser())) == set(COMMANDS)
    assert "from cli_commands import subcommands" in (DOCS / "_ext/cli_reference.py").read_text()


def test_screenshots_script_is_there():
    assert (DOCS / "screenshots.py").is_file()
    assert os.access(DOCS / "check_site.py", os.R_OK)
