"""Pseudo-spectral DNS of incompressible turbulence on the distributed FFT (solver ``spectral``)."""

from .solver import SpectralSolver

__all__ = ["SpectralSolver"]
