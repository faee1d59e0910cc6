"""Incompressible Navier-Stokes on a staggered grid decomposed by a PETSc DMDA (2-D and 3-D): projection
method with AB2/Crank-Nicolson, pressure Poisson equation by PETSc KSP (docs/incompressible.md)."""

from .solver import IncompressibleSolver

__all__ = ["IncompressibleSolver"]
