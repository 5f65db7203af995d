"""Sphinx configuration of the skmemo documentation.

Build (from the repository root)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Choices:

- API reference: ``autodoc`` + ``numpydoc`` on hand-listed names
  (``api.rst``; ``tests/test_docs.py`` checks that it lists every public name).
  ``autosummary`` draws the overview tables only; no stub files are generated.
- Gallery: ``sphinx_gallery`` renders ``examples/*.py`` (prose cells, code,
  download links) **without running them** (``plot_gallery = False``): the
  examples train neural networks and would make every build slow. Their
  figures are made beforehand by running the scripts with ``--save docs/_static``
  (see ``docs/index.rst``) and shown from ``_static``.
- No network at build time: no intersphinx inventories.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import skmemo  # noqa: E402

project = "skmemo"
author = "skmemo developers"
copyright = "skmemo developers"
version = release = skmemo.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

root_doc = "index"
exclude_patterns = ["_build"]
templates_path = []
default_role = "literal"

# -- API reference ------------------------------------------------------------
autosummary_generate = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
numpydoc_xref_param_type = False

# -- Gallery --------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "plot_gallery": "False",
    "filename_pattern": r"$^",  # never execute
    "ignore_pattern": r"(__init__|/_[^/]*)\.py$",
    "download_all_examples": False,
    "write_computation_times": False,
    "show_signature": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}

# -- HTML -----------------------------------------------------------------------
html_theme = "alabaster"
html_static_path = ["_static"]
html_title = f"skmemo {release}"
html_theme_options = {
    "description": "Multimodal emotion recognition for scikit-learn",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "230px",
}
html_show_sourcelink = False


# -- Hooks ----------------------------------------------------------------------
def _skip_metadata_requests(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_*_request`` methods.

    They exist on every estimator for metadata routing, say nothing specific
    to skmemo, and their docstrings refer to scikit-learn's own glossary.
    """
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


# The example's label, then its first docstring line: a title when underlined.
_LABEL = re.compile(r"^(\.\. _sphx_glr_(?!download_)[^\n]*:\n\n)([^\n]+)\n([^\n]*)",
                    re.MULTILINE)
_UNDERLINE = re.compile(r"([=\-~^*#])\1{2,}$")


def _title_from_first_line(app, docname, source):
    """Make the one-line summary of an example its page title.

    sphinx-gallery takes the page title from the docstring; an example whose
    docstring starts with a plain one-line summary instead of an underlined
    title would give a page without a title. The summary line (less a final
    period) is underlined here instead, so both docstring styles build.
    """
    if not docname.startswith("auto_examples/") or docname.endswith("/index"):
        return
    found = _LABEL.search(source[0])
    if found is None or _UNDERLINE.match(found.group(3)):
        return
    title = found.group(2).rstrip().removesuffix(".")
    source[0] = (source[0][:found.start(2)] + f"{title}\n{'=' * len(title)}\n"
                 + source[0][found.end(2) + 1:])


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)
    app.connect("source-read", _title_from_first_line)
