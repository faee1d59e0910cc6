"""Gray-Scott reaction-diffusion, a zzhpc solver that lives in its own package (entry point
``zzhpc.solvers: grayscott``)."""

from .solver import GrayScottSolver

__all__ = ["GrayScottSolver"]
