"""Sphinx configuration of the zzhpc API reference (built by scripts/build_docs.sh with -W)."""

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)
os.environ.setdefault("H5PY_ALWAYS_USE_MPI", "1")

from zzhpc import __version__  # noqa: E402

project = "zzhpc"
author = "zzhpc developers"
copyright = "zzhpc developers"
version = release = __version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "sphinx.ext.viewcode"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
autodoc_default_options = {"show-inheritance": True}
napoleon_use_ivar = True  # "Attributes" sections as fields, not duplicate attribute entries
autodoc_member_order = "bysource"
autodoc_typehints = "none"
# Heavy optional libraries are not needed to read docstrings.
autodoc_mock_imports = ["cupy", "cupyx", "torch_npu", "torch_mlu", "torch_musa"]
nitpicky = False

html_theme = "alabaster"
html_static_path = []
exclude_patterns = ["_build"]
master_doc = "index"
