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
from .domain import Domain
from .units import UNITS, Units, get_units

__all__ = ["Domain", "UNITS", "Units", "get_units"]
