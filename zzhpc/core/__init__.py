"""The solver contract (base class), the solver/case registries and the run loop."""

from .solver import Solver, RunContext
from .metric import Metric
from .registry import (
    register_solver,
    get_solver,
    solver_names,
    discover,
    discovery_errors,
    validation_case,
    benchmark_case,
    validation_cases,
    benchmark_cases,
)

__all__ = [
    "Solver",
    "RunContext",
    "register_solver",
    "get_solver",
    "solver_names",
    "discover",
    "discovery_errors",
    "validation_case",
    "benchmark_case",
    "validation_cases",
    "benchmark_cases",
    "Metric",
]
