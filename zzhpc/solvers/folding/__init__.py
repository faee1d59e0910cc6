"""Protein folding surrogate: a C-alpha structure-based (Go-like) model, many Langevin replicas batched on
each rank, temperature replica exchange over MPI (docs/folding.md)."""
from .solver import FoldingSolver

__all__ = ["FoldingSolver"]
