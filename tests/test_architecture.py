"""The import graph of zzhpc (read from the source with ``ast``, nothing imported): no loops, no solver
importing another solver, nothing below the CLI importing it, and the layers under the solvers never
importing a solver (docs/architecture.md).

Every import counts, also one inside a function: it is a dependency all the same. ``KNOWN`` would list
violations that work in progress removes; an entry that no longer happens fails the test, so the list
cannot go stale (it is empty).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "zzhpc"

#: Known violations, each ``(rule, importer, imported)``.
KNOWN: set = set()  # empty since the harness and particles work of issue 21 landed

#: Layers under the solvers: none of them may import ``zzhpc.solvers`` (the core never names a solver).
BELOW_SOLVERS = (
    "zzhpc.core",
    "zzhpc.device",
    "zzhpc.parallel",
    "zzhpc.io",
    "zzhpc.config",
    "zzhpc.particles",
    "zzhpc.errors",
)
#: Layers under the particle library: none of them may import ``zzhpc.particles``.
BELOW_PARTICLES = ("zzhpc.core", "zzhpc.device", "zzhpc.parallel", "zzhpc.io", "zzhpc.config", "zzhpc.errors")


def module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def is_package(name):
    return MODULES[name].name == "__init__.py"


def resolve(importer, node):
    """Module names (of zzhpc) an import statement of module ``importer`` reaches."""
    out = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == "zzhpc":
                out.append(alias.name)
        return _known(out)
    base = node.module or ""
    if node.level:
        pkg = importer.split(".") if is_package(importer) else importer.split(".")[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join(pkg + ([node.module] if node.module else []))
    if base.split(".")[0] != "zzhpc":
        return []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        out.append(sub if sub in MODULES else base)  # ``from pkg import module`` or ``from module import name``
    return _known(out)


def _known(names):
    found = []
    for n in names:
        while n and n not in MODULES:  # ``import zzhpc.a.b`` of an attribute: the nearest module
            n = n.rpartition(".")[0]
        if n:
            found.append(n)
    return found


def import_graph():
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                deps.update(d for d in resolve(name, node) if d != name)
        graph[name] = deps
    return graph


GRAPH = import_graph()


def cycle_edges(graph):
    """Edges inside a strongly connected component of more than one module (Tarjan's algorithm)."""
    index, low, stack, on, comps = {}, {}, [], set(), []

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
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return {(a, b) for comp in comps for a in comp for b in graph[a] if b in comp}


def solver_of(name):
    parts = name.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "solvers" else None


def under(name, prefixes):
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations():
    found = {("cycle", a, b) for a, b in cycle_edges(GRAPH)}
    for a, deps in GRAPH.items():
        for b in deps:
            if solver_of(a) and solver_of(b) and solver_of(a) != solver_of(b):
                found.add(("solver_to_solver", a, b))
            if under(b, ("zzhpc.cli",)) and not under(a, ("zzhpc.cli", "zzhpc.__main__")):
                found.add(("below_cli", a, b))
            if under(a, BELOW_SOLVERS) and solver_of(b):  # the namespace ``zzhpc.solvers`` (discovery) is no solver
                found.add(("layer_imports_solver", a, b))
            if under(a, BELOW_PARTICLES) and under(b, ("zzhpc.particles",)):
                found.add(("layer_imports_particles", a, b))
    return found


def test_the_walk_sees_the_imports():
    """The graph is real: known edges are found, relative imports resolved to modules."""
    assert len(MODULES) > 100
    assert "zzhpc.particles.domain" in GRAPH["zzhpc.solvers.md.solver"]
    assert "zzhpc.parallel.cartesian" in GRAPH["zzhpc.particles.domain"]
    assert "zzhpc.particles.neighbors" in GRAPH["zzhpc.solvers.water.pairlist"]
    assert "zzhpc.device.arrays" in GRAPH["zzhpc.device"]


def test_the_checks_catch_a_loop_and_a_sideways_import():
    a, b = "zzhpc.solvers.a.x", "zzhpc.solvers.b.y"
    assert cycle_edges({a: {b}, b: {a}, "zzhpc.z": {a}}) == {(a, b), (b, a)}
    assert solver_of("zzhpc.solvers.a.x") == "a" and solver_of("zzhpc.core.run") is None


@pytest.mark.parametrize(
    "rule", ["cycle", "solver_to_solver", "below_cli", "layer_imports_solver", "layer_imports_particles"]
)
def test_imports_follow_the_layers(rule):
    found = {v for v in violations() if v[0] == rule}
    new = sorted(found - KNOWN)
    assert not new, f"{rule}: " + "; ".join(f"{a} imports {b}" for _, a, b in new)
    gone = sorted(v for v in KNOWN - violations() if v[0] == rule)
    assert not gone, f"{rule}: fixed, remove from KNOWN: {gone}"


def test_scaling_names_no_solver():
    """zzhpc.scaling asks the solver classes (their performance models); it neither imports a solver nor
    spells a solver's name, so a plug-in solver is scaled and projected by the same code."""
    from zzhpc.core.registry import solver_names

    names = set(solver_names())
    assert {"heat", "md", "water", "spectral"} <= names
    for path in (ROOT / "scaling").glob("*.py"):
        mod = "zzhpc.scaling" if path.stem == "__init__" else f"zzhpc.scaling.{path.stem}"
        tree = ast.parse(path.read_text())
        strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not strings & names, (path.name, strings & names)
        assert not any(solver_of(t) for t in GRAPH[mod]), path.name
