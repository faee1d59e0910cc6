"""Write each example script here as a Jupyter notebook (``NAME.ipynb``): the docstring a markdown cell, each
block of code separated by a blank line at top level a code cell. The tests check that the notebooks are
those this script writes, and execute them.

Run: python examples/python/make_notebooks.py
"""

import ast
import os
import sys

import nbformat

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = ("lj_rdf.py", "folding_quench.py", "taylor_green_spectrum.py")


def notebook(path):
    src = open(path).read()
    tree = ast.parse(src)
    doc = ast.get_docstring(tree)
    lines = src.splitlines()
    body = tree.body[1:] if doc else tree.body
    cells = [nbformat.v4.new_markdown_cell(doc.replace("Run: python", "As a script: python"))] if doc else []
    chunk, last_end, last_import = [], None, False
    for node in body:
        is_import = isinstance(node, (ast.Import, ast.ImportFrom))
        start = node.lineno - 1 - len(getattr(node, "decorator_list", []))
        text = "\n".join(lines[start : node.end_lineno])
        # In a notebook the working directory is this folder: no __file__.
        text = text.replace("os.path.dirname(os.path.abspath(__file__))", "os.getcwd()")
        if chunk and last_end is not None and start > last_end and not (is_import and last_import):
            cells.append(nbformat.v4.new_code_cell("\n".join(chunk)))
            chunk = []
        chunk.append(text)
        last_end, last_import = node.end_lineno, is_import
    if chunk:
        cells.append(nbformat.v4.new_code_cell("\n".join(chunk)))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def main(check=False):
    stale = []
    for name in SCRIPTS:
        nb = notebook(os.path.join(HERE, name))
        out = os.path.join(HERE, name.replace(".py", ".ipynb"))
        text = nbformat.writes(nb)
        if check:
            if not os.path.exists(out) or _cells(open(out).read()) != _cells(text):
                stale.append(out)
        else:
            with open(out, "w") as fh:
                fh.write(text)
    return stale


def _cells(text):
    return [(c["cell_type"], c["source"]) for c in nbformat.reads(text, as_version=4).cells]


if __name__ == "__main__":
    stale = main(check="--check" in sys.argv)
    if stale:
        sys.exit("stale notebooks (run python examples/python/make_notebooks.py): " + ", ".join(stale))
