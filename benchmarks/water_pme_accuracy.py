"""Mixed precision against float64 on one configuration: the PME alone and the whole water force field.

The 4,000-molecule TIP3P bench box (builder, seed 1, molecules shifted rigidly by up to 0.05 A off the
lattice: the lattice's own differences round with a bias, docs/precision.md), cutoff 9 A, GROMACS's PME
for this box (alpha 0.3470 1/A, 42^3, order 4), one rank. Prints the relative errors of the reciprocal
energy and virial and the relative RMS of the reciprocal forces, then of the total potential energy, the
virial and all forces (``sqrt(sum |F_mix - F_64|^2 / sum |F_64|^2)``). A measurement, not a timing. Run::

    python benchmarks/water_pme_accuracy.py [molecules]
"""

import sys

import numpy as np
from mpi4py import MPI

from zzhpc.device import get_backend
from zzhpc.solvers.water import cases_forces
from zzhpc.solvers.water.builder import water_box
from zzhpc.solvers.water.forcefield import WaterForceField
from zzhpc.solvers.water.models import get_model
from zzhpc.solvers.water.pme import PME


def _rms(a, b):
    return float(np.sqrt(np.sum((a - b) ** 2) / np.sum(b**2)))


def main(nmol=4000):
    comm, be = MPI.COMM_SELF, get_backend("numpy")
    x, L = water_box(nmol, "tip3p", seed=1)
    x = (x.reshape(-1, 3, 3) + np.random.default_rng(3).uniform(-0.05, 0.05, (nmol, 1, 3))).reshape(-1, 3)
    grid = (42, 42, 42) if nmol == 4000 else (int(np.ceil(L[0] / 1.2)),) * 3
    m = get_model("tip3p")
    q = np.tile([m.q_O, m.q_H, m.q_H], nmol)
    (e64, f64, w64), (em, fm, wm) = (PME(comm, be, grid, 4, 0.3470, L, mixed=mx).compute(x, q) for mx in (False, True))
    print(
        f"PME alone ({nmol} TIP3P, {grid[0]}^3, order 4): reciprocal energy {abs(em - e64) / abs(e64):.2e}, "
        f"virial {abs(wm - w64) / abs(w64):.2e}, forces {_rms(fm, f64):.2e} (relative, mixed vs float64)"
    )
    out = {}
    for prec in ("uniform", "mixed"):
        ff = WaterForceField(comm, be, "tip3p", L, 9.0, nmol, alpha=0.3470, grid=grid, order=4, precision=prec)
        out[prec] = cases_forces.distributed_forces(comm, be, ff, x, L)
    (f64, e64, w64), (fm, em, wm) = out["uniform"], out["mixed"]
    print(
        f"force field: potential energy {abs(em['total'] - e64['total']) / abs(e64['total']):.2e}, "
        f"virial {abs(wm - w64) / abs(w64):.2e}, forces {_rms(fm, f64):.2e} (relative, mixed vs float64)"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
