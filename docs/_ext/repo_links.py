"""Links that read right in the repository, resolved on the site.

``docs/notebooks`` is a link to the repository's ``notebooks/``; a page links a notebook as
``../notebooks/NAME.ipynb``, which a reader of the plain Markdown can follow, and the site
turns it into a link to the rendered notebook.
"""

import re

_NOTEBOOK = re.compile(r"\[([^\]]+)\]\(\.\./notebooks/(\w+)\.ipynb\)")


def _rewrite(app, docname, source):
    source[0] = _NOTEBOOK.sub(
        lambda m: f"{{doc}}`{m.group(1).replace('`', '')} <notebooks/{m.group(2)}>`",
        source[0],
    )


def setup(app):
    app.connect("source-read", _rewrite)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
