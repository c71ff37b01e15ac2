"""Sphinx configuration: PyData theme, MyST Markdown, myst-nb notebooks, autodoc."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

project = "systolic"
author = "the systolic authors"
copyright = "the systolic authors"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "cli_reference",
    "repo_links",
]

exclude_patterns = ["_build", "**/.ipynb_checkpoints"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

# The notebooks are committed without outputs and executed at build time, cached between builds.
nb_execution_mode = "cache"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")

# Every cross-reference must resolve (-W makes a miss an error). Class names in annotations and
# in the docstrings' type fields (numpy.ndarray, pathlib.Path, shapes such as ``(m, k)``) name
# NumPy's and the standard library's classes (and its exceptions, in "Raises"), which an
# offline build cannot look up.
nitpicky = True
nitpick_ignore_regex = [("py:class", ".*"), ("py:exc", r"zipfile\..*")]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = False
napoleon_numpy_docstring = True

html_theme = "pydata_sphinx_theme"
html_title = "systolic"
html_static_path = []
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "navbar_align": "left",
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": [],
    "footer_end": [],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
html_show_sourcelink = False
