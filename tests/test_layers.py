"""The import graph of the package, read from the source: layers point one way and nothing loops.

Every ``import`` statement counts, also those inside functions (a deferred import still ties the two modules
together). A module imports another when it names it, or names something in it (``from .x import y``)."""
import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "zzhpc"


def _module(path):
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph():
    modules = {_module(p): p for p in PKG.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    sys.setrecursionlimit(10000)
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in graph:
        if v not in index:
            visit(v)
    return out


GRAPH = _graph()


def test_nothing_below_the_cli_imports_it():
    bad = sorted(f"{m} -> {t}" for m, ts in GRAPH.items() if not m.startswith("zzhpc.cli")
                 for t in ts if t.startswith("zzhpc.cli") and m != "zzhpc.__main__")
    assert not bad, bad


@pytest.mark.parametrize("modules", [("zzhpc.cli", "zzhpc.scaling"), ("zzhpc.solvers.md",)])
def test_no_import_loops(modules):
    """No loops through the CLI and the scaling package (cli.main -> cli.scale -> scaling.slurm -> cli was
    one), nor among md's case modules (cases <-> cases_mw was one); a package's ``__init__`` re-exporting
    its own modules is not a loop between them."""
    graph = {m: {t for t in ts if not (t != m and m.startswith(t + "."))} for m, ts in GRAPH.items()}
    loops = [c for c in _cycles(graph) if any(m.startswith(modules) for m in c)]
    assert not loops, loops


def test_scaling_names_no_solver():
    """zzhpc.scaling asks the solver classes; it neither imports a solver nor spells a solver's name."""
    from zzhpc.core.registry import solver_names
    names = set(solver_names())
    for path in (PKG / "scaling").glob("*.py"):
        tree = ast.parse(path.read_text())
        strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not strings & names, (path.name, strings & names)
        assert not any(t.startswith("zzhpc.solvers") for t in GRAPH[_module(path)]), path.name
