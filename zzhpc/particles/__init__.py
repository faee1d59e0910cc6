"""Particle component library: the parts a particle solver assembles (after HOOMD-blue's ``md/``).

Between the parallel layer and the particle solvers (``md``, ``water``), which import these parts and
never each other:

* :mod:`.domain` the spatial decomposition of a box: atom migration, ghost atoms, forward and reverse
  communication, load balancing (:class:`Domain`);
* :mod:`.neighbors` cell binning and Verlet neighbour lists (``md_neighbor_list``), with the compiled
  overrides :mod:`.neighbors_numba` (CPU) and :mod:`.neighbors_cuda` (CuPy);
* :mod:`.coupling` thermostat and barostat maths (SVR, c-rescale); :mod:`.rng` counter-based random
  streams keyed by (seed, step, id); :mod:`.units` unit systems with LAMMPS's constants;
* :mod:`.h5md` the H5MD trajectory writer; :mod:`.analysis` RDF, MSD and self-diffusion.
"""

from ..device.kernels import register_kernel_modules
from .domain import Domain
from .units import UNITS, Units, get_units

#: Kernel modules: ``md_neighbor_list`` (reference) and its overrides for numpy (Numba) and cupy (CUDA).
KERNEL_MODULES = ("neighbors", "neighbors_numba", "neighbors_cuda")


def register_kernels():
    """Register the particle kernels; a solver built on this library calls it from its own ``register_kernels``."""
    register_kernel_modules(__name__, KERNEL_MODULES)


__all__ = ["Domain", "UNITS", "Units", "get_units", "register_kernels"]
