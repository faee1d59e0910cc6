"""What one unit of work is for a solver, and how a weak-scaling sweep grows the problem.

A *work unit* is the quantity a solver's cost and memory are proportional to (grid points, atoms,
replicas); the solver declares it (:attr:`~zzhpc.core.Solver.work_unit`,
:meth:`~zzhpc.core.Solver.work_units`) together with the deck key a weak sweep scales
(:attr:`~zzhpc.core.Solver.weak_scaling_key`), so this module names no solver. The weak-scaling rule
multiplies the unit count by the rank count ``P`` through that key: an integer key is multiplied by
``P``; an array key (a grid shape, lattice cells) has the prime factors of ``P`` spread over its axes,
largest factor onto the axis that has grown least, so the product grows by exactly ``P``.
"""

import math
from dataclasses import dataclass

from ..errors import ConfigError


def _solver(name):
    from ..core.registry import get_solver

    return get_solver(name)


@dataclass(frozen=True)
class Workload:
    """A solver's unit of work: its name, the deck key that sets it, and how to count it."""

    solver: str
    unit: str  # "grid point", "atom", "replica"
    key: str  # deck key scaled for weak scaling, e.g. "heat.shape"

    def count(self, cfg, results=None):
        """Units of work of a validated configuration (``summary.json``'s provenance config): the
        solver's count, else the product of the scaled key's value."""
        units = _solver(self.solver).work_units(cfg, results or {})
        if units is not None:
            return units
        section, name = self.key.split(".", 1)
        value = cfg.get(section, {}).get(name)
        if value is None:
            return None
        return math.prod(value) if isinstance(value, list) else int(value)


def workload(solver, key=None):
    """The workload of ``solver`` (``key`` overrides the scaled key; a solver without a declared
    weak-scaling key needs one)."""
    cls = _solver(solver)
    key = key or cls.weak_scaling_key
    if not key:
        raise ConfigError(
            "scaling.key",
            f"no default weak-scaling key for solver '{solver}'; give one, e.g. --weak-key SECTION.KEY",
            None,
        )
    return Workload(solver, cls.work_unit, key)


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
    section, name = key.split(".", 1)
    cls = _solver(solver)
    param = cls.schema.get(name) if section == solver else None
    default = getattr(param, "default", None)
    if default is None or not isinstance(default, (int, list)):
        raise ConfigError(key, "not set in the deck and no default to scale; set it in the deck", None)
    return default
