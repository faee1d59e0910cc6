"""Bytes the water PME's brick-to-slab exchange sends in one force evaluation, float64 against mixed.

The 4,000-molecule TIP3P bench box (builder, seed 1), cutoff 9 A, PME tolerance 5e-4 order 5 (45^3 grid),
molecules owned by their oxygen's sub-domain as in the solver. Counts both ``Alltoallv`` of one
``PME.compute`` (charges brick -> slab, potential slab -> brick) from ``PME.exchange_bytes``: a count,
not a timing, so it can be run anywhere. Run::

    mpiexec -n 4 python benchmarks/water_pme_bytes.py [molecules]
"""

import sys

from mpi4py import MPI

from zzhpc.device import get_backend
from zzhpc.solvers.water.builder import water_box
from zzhpc.solvers.water.cases_forces import distributed_forces
from zzhpc.solvers.water.forcefield import WaterForceField


def main(nmol):
    comm, be = MPI.COMM_WORLD, get_backend("numpy")
    x, lengths = water_box(nmol, "tip3p", seed=1)
    for precision in ("uniform", "mixed"):
        ff = WaterForceField(comm, be, "tip3p", lengths, 9.0, nmol, precision=precision)
        distributed_forces(comm, be, ff, x, lengths)
        sent = ff.pme.exchange_bytes
        total = {k: comm.allreduce(v) for k, v in sent.items()}
        peak = comm.allreduce(sent["to_others"], op=MPI.MAX)
        if comm.rank == 0:
            print(
                f"{comm.size} ranks, {nmol} TIP3P, grid {ff.pme.grid}, order {ff.pme.order}, {precision}: "
                f"{total['to_others']} B to other ranks (all ranks; at most {peak} B from one), "
                f"{total['to_self']} B to itself"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
