"""``PME.compute`` on several ranks, float64 and mixed: the slowest rank's minimum of ``reps`` calls.

The 4,000-molecule TIP3P bench box (builder, seed 1, molecules shifted rigidly by up to 0.05 A) with
GROMACS's PME for it (alpha 0.3470 1/A, 42^3, order 4), atoms owned by slabs of x. For an A/B between
two versions, run it alternately with each version's tree first on ``PYTHONPATH``::

    mpiexec -n 2 python benchmarks/water_pme_ranks.py [reps]
"""

import sys
import time

import numpy as np
from mpi4py import MPI

from zzhpc.device import get_backend
from zzhpc.solvers.water.builder import water_box
from zzhpc.solvers.water.models import get_model
from zzhpc.solvers.water.pme import PME


def main(reps=25, nmol=4000):
    comm, be = MPI.COMM_WORLD, get_backend("numpy")
    x, L = water_box(nmol, "tip3p", seed=1)
    x = (x.reshape(-1, 3, 3) + np.random.default_rng(3).uniform(-0.05, 0.05, (nmol, 1, 3))).reshape(-1, 3)
    x = np.mod(x, L[0])
    m = get_model("tip3p")
    q = np.tile([m.q_O, m.q_H, m.q_H], nmol)
    own = np.minimum((x[:, 0] / L[0] * comm.size).astype(int), comm.size - 1) == comm.rank
    out = []
    for mixed in (False, True):
        pme = PME(comm, be, (42, 42, 42), 4, 0.3470, L, mixed=mixed)
        pme.compute(x[own], q[own])  # compile
        best = np.inf
        for _ in range(reps):
            comm.Barrier()
            t0 = time.perf_counter()
            pme.compute(x[own], q[own])
            best = min(best, time.perf_counter() - t0)
        out.append(comm.allreduce(best, op=MPI.MAX) * 1e3)
    if comm.rank == 0:
        print(
            f"{comm.size} ranks, {nmol} TIP3P, 42^3 order 4: PME.compute float64 {out[0]:.3f} ms, mixed {out[1]:.3f} ms"
        )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
