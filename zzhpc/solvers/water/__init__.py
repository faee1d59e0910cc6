"""Water: rigid three-site all-atom models (SPC/E, TIP3P) with particle-mesh Ewald electrostatics
(docs/water.md). The coarse-grained mW model is a pair style of the MD solver (docs/mw.md)."""
from .solver import WaterSolver

__all__ = ["WaterSolver"]
