"""Fixtures of the RTL tests: builds are cached per design (``systolic.rtl.cosim.build``)."""

import shutil
from pathlib import Path

import pytest

from systolic.rtl import RTL_DIR


@pytest.fixture
def rtl_copy(tmp_path):
    """Make an edited copy of the bundled Verilog: ``rtl_copy(file, old, new) -> folder``."""

    def make(name: str, old: str, new: str) -> Path:
        folder = tmp_path / "rtl"
        folder.mkdir(exist_ok=True)
        for path in RTL_DIR.glob("*.v"):
            shutil.copy(path, folder)
        text = (folder / name).read_text()
        assert text.count(old) == 1, f"{old!r} must occur once in {name}"
        (folder / name).write_text(text.replace(old, new))
        return folder

    return make
