"""Protein folding surrogate: a C-alpha structure-based (Go-like) model, many Langevin replicas batched on
each rank, temperature replica exchange over MPI (docs/folding.md)."""

from ...device.kernels import register_kernel_modules

#: Kernel modules: ``sbm_forces`` and ``sbm_baoab_step`` (kernels), their Numba overrides (kernels_numba) and
#: the mixed-precision compiled kernels those overrides call (kernels_mixed).
KERNEL_MODULES = ("kernels", "kernels_numba", "kernels_mixed")


def register_kernels():
    """Register the folding kernels."""
    register_kernel_modules(__name__, KERNEL_MODULES)


register_kernels()  # at package import, before the solver: discovery and the tests see every kernel

from .solver import FoldingSolver  # noqa: E402

__all__ = ["FoldingSolver", "register_kernels"]
