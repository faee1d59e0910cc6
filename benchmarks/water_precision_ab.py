"""A/B of the water force kernels, float64 against mixed precision, interleaved in one process.

The 4,000-molecule TIP3P bench box (builder, seed 1; molecules shifted rigidly by up to 0.05 A off the
lattice), cutoff 9 A, PME tolerance 5e-4 order 5, one rank, the MD core's half list at 10 A. Per
round and precision: the pair kernel, the PME and the whole force field, best of ``reps`` calls; rounds
alternate float64 and mixed so that machine load hits both alike. Run::

    python benchmarks/water_precision_ab.py [molecules] [rounds] [reps]

Prints one line per round and precision, and the minimum and median over rounds.
"""

import sys
import time

import numpy as np
from mpi4py import MPI

from zzhpc.device import get_backend, get_kernel
from zzhpc.particles import Domain
from zzhpc.solvers.water.builder import water_box
from zzhpc.solvers.water.forcefield import WaterForceField


def main(nmol=4000, rounds=6, reps=5):
    comm, be = MPI.COMM_SELF, get_backend("numpy")
    x, L = water_box(nmol, "tip3p", seed=1)
    x = (x.reshape(-1, 3, 3) + np.random.default_rng(3).uniform(-0.05, 0.05, (nmol, 1, 3))).reshape(-1, 3)
    ffs = {
        p: WaterForceField(comm, be, "tip3p", L, 9.0, nmol, tolerance=5e-4, precision=p) for p in ("uniform", "mixed")
    }
    dom = Domain(comm, be, [0.0] * 3, list(L), [True] * 3, 10.0)
    xm = x.reshape(nmol, 3, 3)
    xm = (xm - np.floor(xm[:, :1, :] / L[0]) * L[0]).reshape(-1, 3)
    types = np.tile(np.array([0, 1, 1], np.int64), nmol)
    xa, ta, ma = dom.borders(be.asarray(xm), be.asarray(types), be.asarray(np.repeat(np.arange(nmol), 3)))
    lo, hi = dom.bin_region()
    n = xm.shape[0]
    neigh = get_kernel("md_neighbor_list", be)(xa, n, lo, hi, 10.0, True)

    def best(fn):
        out = 1e9
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            out = min(out, time.perf_counter() - t0)
        return out * 1e3

    for f in ffs.values():
        f.compute(xa, ta, ma, n, neigh)  # compile
    res = {p: {"pair": [], "pme": [], "total": []} for p in ffs}
    for rnd in range(rounds):
        for p, f in ffs.items():
            kw = {"mixed": True} if p == "mixed" else {}
            q = f.charges[ta[:n]]
            t = {
                "pair": best(lambda f=f, kw=kw: f.kernel(xa, ta, ma, neigh, n, f.tables, f.alpha, True, **kw)),
                "pme": best(lambda f=f, q=q: f.pme.compute(xa[:n], q)),
                "total": best(lambda f=f: f.compute(xa, ta, ma, n, neigh)),
            }
            for k, v in t.items():
                res[p][k].append(v)
            print(
                f"round {rnd} {p:8s} pair {t['pair']:7.2f} ms  pme {t['pme']:6.2f} ms  "
                f"force field {t['total']:7.2f} ms",
                flush=True,
            )
    for p, r in res.items():
        print(p, "  ".join(f"{k} min {min(v):.2f} median {float(np.median(v)):.2f} ms" for k, v in r.items()))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
