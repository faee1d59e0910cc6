"""Molecular dynamics: Lennard-Jones atoms on a spatially decomposed box, cross-checked against LAMMPS
(docs/md.md)."""

from ...device.kernels import register_kernel_modules
from ... import particles

#: Kernel modules: ``md_lj_forces`` (reference, Numba, CUDA) and ``md_sw_forces`` (reference, Numba; its
#: CUDA override is in ``kernels_cuda``).
KERNEL_MODULES = ("kernels", "kernels_numba", "kernels_cuda", "kernels_sw", "kernels_sw_numba")


def register_kernels():
    """Register MD's kernels and the particle library's it uses (neighbour lists)."""
    particles.register_kernels()
    register_kernel_modules(__name__, KERNEL_MODULES)


register_kernels()  # at package import, before the solver: discovery and the tests see every kernel

from .solver import MDSolver  # noqa: E402

__all__ = ["MDSolver", "register_kernels"]
