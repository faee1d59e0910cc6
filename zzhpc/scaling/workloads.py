"""What one unit of work is for each solver, and how a weak-scaling sweep grows the problem.

A *work unit* is the quantity a solver's cost and memory are proportional to: grid points (heat,
spectral, incompressible), atoms (md), replicas (folding). The weak-scaling rule multiplies the unit
count by the rank count ``P`` through one deck key: an integer key is multiplied by ``P``; an array
key (a grid shape, lattice cells) has the prime factors of ``P`` spread over its axes, largest
factor onto the axis that has grown least, so the product grows by exactly ``P``.
"""
import math
from dataclasses import dataclass

from ..errors import ConfigError

LATTICE_BASIS = {"sc": 1, "bcc": 2, "fcc": 4}


@dataclass(frozen=True)
class Workload:
    """A solver's unit of work: its name, the deck key that sets it, and how to count it."""

    solver: str
    unit: str        # "grid point", "atom", "replica"
    key: str         # deck key scaled for weak scaling, e.g. "heat.shape"

    def count(self, cfg, results=None):
        """Units of work of a validated configuration (``summary.json``'s provenance config)."""
        results = results or {}
        if self.solver == "md" and results.get("natoms"):
            return int(results["natoms"])
        section, name = self.key.split(".", 1)
        value = cfg.get(section, {}).get(name)
        if value is None:
            return None
        if self.solver == "md":
            return LATTICE_BASIS.get(cfg["md"].get("lattice", "fcc"), 1) * math.prod(value)
        return math.prod(value) if isinstance(value, list) else int(value)


WORKLOADS = {
    "heat": Workload("heat", "grid point", "heat.shape"),
    "spectral": Workload("spectral", "grid point", "spectral.shape"),
    "incompressible": Workload("incompressible", "grid point", "incompressible.shape"),
    "md": Workload("md", "atom", "md.cells"),
    "folding": Workload("folding", "replica", "folding.replicas"),
}


def workload(solver, key=None):
    """The workload of ``solver`` (``key`` overrides the scaled key; unknown solvers need one)."""
    w = WORKLOADS.get(solver)
    if key:
        return Workload(solver, w.unit if w else "unit", key)
    if w is None:
        raise ConfigError("scaling.key", f"no default weak-scaling key for solver '{solver}'; give one, "
                                         "e.g. --weak-key SECTION.KEY", None)
    return w


def prime_factors(n):
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def scale_value(value, factor, key="scaling.key"):
    """``value`` with ``factor`` times as many units (integer: times factor; array: spread over axes)."""
    if isinstance(value, bool) or factor < 1:
        raise ConfigError(key, "cannot scale this value", value)
    if isinstance(value, int):
        return value * factor
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        out, grown = list(value), [1] * len(value)
        for p in sorted(prime_factors(factor), reverse=True):
            i = min(range(len(out)), key=lambda j: (grown[j], j))
            out[i] *= p
            grown[i] *= p
        return out
    raise ConfigError(key, "weak scaling needs an integer or an array of integers", value)


def get_key(deck, key, default=None):
    node = deck
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def schema_default(solver, key):
    """The solver schema's default for ``SECTION.KEY`` (the value a deck without the key runs with)."""
    from ..core.registry import get_solver
    section, name = key.split(".", 1)
    cls = get_solver(solver)
    param = cls.schema.get(name) if section == solver else None
    default = getattr(param, "default", None)
    if default is None or not isinstance(default, (int, list)):
        raise ConfigError(key, "not set in the deck and no default to scale; set it in the deck", None)
    return default
