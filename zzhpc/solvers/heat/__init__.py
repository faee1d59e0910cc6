"""Heat equation on the decomposed mesh: the smallest solver that exercises the whole core, and the
template for writing a new solver (docs/extending.md)."""
from .solver import HeatSolver

__all__ = ["HeatSolver"]
