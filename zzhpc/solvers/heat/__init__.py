"""Heat equation on the decomposed mesh: the smallest solver that exercises the whole core, and the
template for writing a new solver (docs/extending.md)."""

from ...device.kernels import register_kernel_modules

#: Kernel modules: ``heat_ftcs`` and its CUDA override (kernels).
KERNEL_MODULES = ("kernels",)


def register_kernels():
    """Register the heat kernels."""
    register_kernel_modules(__name__, KERNEL_MODULES)


register_kernels()  # at package import, before the solver: discovery and the tests see every kernel

from .solver import HeatSolver  # noqa: E402

__all__ = ["HeatSolver", "register_kernels"]
