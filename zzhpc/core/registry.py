"""Solvers and their validation/benchmark cases, registered by name.

Built-in solvers are the sub-packages of :mod:`zzhpc.solvers`, found by walking the package (the core
never names one); third-party solvers come from the entry point group ``zzhpc.solvers``.
"""

import importlib
import pkgutil
from collections.abc import Callable
from typing import TypeVar

from ..errors import ConfigError
from .solver import Solver

_SOLVERS: dict[str, type[Solver]] = {}
_VALIDATION: dict[str, dict] = {}
_BENCHMARKS: dict[str, dict] = {}
_ERRORS: dict[str, str] = {}
_discovered = False

S = TypeVar("S", bound=Solver)
F = TypeVar("F", bound=Callable)


def register_solver(cls: type[S]) -> type[S]:
    """Class decorator: make a :class:`~zzhpc.core.solver.Solver` available as ``solver = "<name>"``."""
    if not cls.name:
        raise TypeError(f"{cls.__name__}: set the class attribute 'name' before @register_solver")
    _SOLVERS[cls.name] = cls
    return cls


def discover() -> None:
    """Import built-in solver packages and entry-point plugins once; broken ones are recorded, not fatal."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    import zzhpc.solvers as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.ispkg:
            try:
                importlib.import_module(f"zzhpc.solvers.{info.name}")
            except Exception as exc:
                _ERRORS[info.name] = f"{type(exc).__name__}: {exc}"
    from importlib.metadata import entry_points

    try:
        eps = entry_points(group="zzhpc.solvers")
    except TypeError:
        eps = entry_points().get("zzhpc.solvers", [])  # type: ignore[arg-type]
    for ep in eps:
        try:
            cls = ep.load()
            _SOLVERS.setdefault(cls.name or ep.name, cls)
        except Exception as exc:
            _ERRORS[ep.name] = f"{type(exc).__name__}: {exc}"


def solver_names() -> list[str]:
    discover()
    return sorted(_SOLVERS)


def discovery_errors() -> dict[str, str]:
    discover()
    return dict(_ERRORS)


def get_solver(name: str) -> type[Solver]:
    discover()
    if name not in _SOLVERS:
        known = ", ".join(sorted(_SOLVERS)) or "none"
        hint = f"; failed to load: {_ERRORS[name]}" if name in _ERRORS else ""
        raise ConfigError("solver", f"unknown solver (available: {known}){hint}", name)
    return _SOLVERS[name]


def _case_decorator(table: dict, name: str, solver: str, description: str) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        table[name] = {"name": name, "solver": solver, "run": fn, "description": description or fn.__doc__}
        return fn

    return deco


def case_precision() -> str:
    """``backend.precision`` that the cases' decks get by default (``zzhpc validate --precision``, carried to
    child ranks as ``$ZZHPC_PRECISION``): ``"uniform"`` unless set. Cases loosen tolerances that float32
    rounding sets (not physics) with it."""
    import os

    return os.environ.get("ZZHPC_PRECISION") or "uniform"


def validation_case(name: str, solver: str, description: str = "") -> Callable[[F], F]:
    """Decorator: ``fn(quick: bool) -> list[Metric]``, run by ``zzhpc validate``."""
    return _case_decorator(_VALIDATION, name, solver, description)


def benchmark_case(name: str, solver: str, description: str = "") -> Callable[[F], F]:
    """Decorator: ``fn(quick: bool) -> dict`` (times of zzhpc and the peer, ratios), run by ``zzhpc bench``."""
    return _case_decorator(_BENCHMARKS, name, solver, description)


def _load_cases() -> None:
    discover()
    for cls in list(_SOLVERS.values()):
        if cls.cases_module:
            try:
                importlib.import_module(cls.cases_module)
            except Exception as exc:
                _ERRORS[f"{cls.name} cases"] = f"{type(exc).__name__}: {exc}"


def validation_cases() -> dict[str, dict]:
    _load_cases()
    return dict(_VALIDATION)


def benchmark_cases() -> dict[str, dict]:
    _load_cases()
    return dict(_BENCHMARKS)
