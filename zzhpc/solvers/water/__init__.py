"""Water: rigid three-site all-atom models (SPC/E, TIP3P) with particle-mesh Ewald electrostatics
(docs/water.md). The coarse-grained mW model is a pair style of the MD solver (docs/mw.md)."""

from ...device.kernels import register_kernel_modules
from ... import particles

#: Kernel modules: ``water_pair_forces``, ``water_cluster_forces``, ``water_exclusion`` (nonbonded), ``water_pair_list`` (pairlist),
#: ``water_pme_spread``/``gather``/``stencil``/``spread_stencil``/``gather_stencil``/``convolve`` (pme_kernels),
#: ``water_settle_positions``/``velocities``/``water_kick``/``kick_drift``/``constraint_velocity``/``rescale`` (settle), and
#: their overrides for numpy (kernels_numba, kernels_cluster_numba, pme_numba, settle_numba) and cupy (kernels_cuda, kernels_cluster_cuda).
KERNEL_MODULES = (
    "nonbonded",
    "pairlist",
    "pme_kernels",
    "settle",
    "kernels_numba",
    "kernels_cluster_numba",
    "pme_numba",
    "settle_numba",
    "kernels_cuda",
    "kernels_cluster_cuda",
)


def register_kernels():
    """Register water's kernels and the particle library's it uses (the outer neighbour list)."""
    particles.register_kernels()
    register_kernel_modules(__name__, KERNEL_MODULES)


register_kernels()  # at package import, before the solver: discovery and the tests see every kernel

from .solver import WaterSolver  # noqa: E402

__all__ = ["WaterSolver", "register_kernels"]
