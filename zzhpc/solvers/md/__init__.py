"""Molecular dynamics: Lennard-Jones atoms on a spatially decomposed box, cross-checked against LAMMPS
(docs/md.md)."""
from .solver import MDSolver

__all__ = ["MDSolver"]
