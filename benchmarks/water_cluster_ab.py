"""A/B of the water real-space schemes: atom-pair list against cluster-pair list, interleaved in one process.

The box of ``water_precision_ab.py`` (builder TIP3P, seed 1, molecules shifted rigidly by up to 0.05 A),
cutoff 9 A, atom skin 1 A, molecule skin 1 A, one rank (ghosts as the solver makes them). Per round:
the pair kernel of the atom scheme (float64 and mixed) and of the cluster scheme (float64 and float32
lanes; the cluster kernel timed with its packing of positions and its scatter of forces), the atom-list
prune and the cluster-list prune, best of ``reps`` calls timed by the thread's processor time
(``time.thread_time``: the kernels are single-threaded, and time spent descheduled on a loaded machine
does not count); rounds interleave the variants so that machine load hits all alike. Also: list sizes, pair efficiency (pairs inside the cutoff / pairs evaluated),
outer build times, and the accuracy of each variant against the float64 atom kernel. Run::

    python benchmarks/water_cluster_ab.py [molecules] [rounds] [reps] [--json out.json]
    python benchmarks/water_cluster_ab.py --checkpoint ckpt.h5 [--cutoff 9] [--tolerance 5e-4]

The second form: accuracy only, of the whole force field (LJ, real space, PME, corrections) on the
configuration of a water checkpoint (e.g. the equilibrated box of ``zzhpc validate water_mixed_precision``):
energy relative error and force relative RMS of cluster-mixed, atom-mixed and cluster-float64 against
atom-float64, one rank, atom skin 1 A as that case.
"""

import json
import sys
import time

import numpy as np
from mpi4py import MPI

from zzhpc.device import get_backend, get_kernel
from zzhpc.particles import Domain
from zzhpc.solvers.water import clusters, molecules, pairlist
from zzhpc.solvers.water.builder import water_box
from zzhpc.solvers.water.forcefield import WaterForceField
from zzhpc.solvers.water.kernels_cluster_numba import cluster_forces_numba
from zzhpc.solvers.water.kernels_numba import pair_forces_numba
from zzhpc.solvers.water.models import get_model

CUT, SKIN, MSKIN = 9.0, 1.0, 1.0


def setup(nmol):
    """Positions with ghosts, types, molecule ids, the molecule list, and the force field (float64 tables)."""
    comm, be = MPI.COMM_SELF, get_backend("numpy")
    model = get_model("tip3p")
    x, L = water_box(nmol, "tip3p", seed=1)
    x = (x.reshape(-1, 3, 3) + np.random.default_rng(3).uniform(-0.05, 0.05, (nmol, 1, 3))).reshape(nmol, 3, 3)
    x = x - np.floor(x[:, :1, :] / L[0]) * L[0]
    dom = Domain(comm, be, [0.0] * 3, list(L), [True] * 3, molecules.ghost_cutoff(CUT, SKIN, MSKIN, model))
    (rows,) = dom.borders(be.asarray(x.reshape(nmol, 9)))
    xa = np.ascontiguousarray(rows.reshape(-1, 3))
    lo, hi = dom.bin_region()
    args = (np.ascontiguousarray(rows[:, 0:3]), nmol, lo, hi, pairlist.outer_cutoff(CUT, SKIN, MSKIN, model.r_OH), True)
    get_kernel("md_neighbor_list", be)(*args)
    t0 = time.thread_time()
    mneigh = get_kernel("md_neighbor_list", be)(*args)
    t_mol = time.thread_time() - t0
    types = np.tile(np.array([0, 1, 1], np.int64), xa.shape[0] // 3)
    mol = np.repeat(np.arange(xa.shape[0] // 3), 3)
    ff = WaterForceField(comm, be, "tip3p", L, CUT, nmol, tolerance=5e-4)
    return be, dom, xa, types, mol, mneigh, ff, t_mol


def cluster_list(be, dom, xa, types, nmol, dtype):
    """The solver's cluster lists of this one-rank box (half-shell ghosts, outer cutoff of the molecule list)."""
    outer = pairlist.outer_cutoff(CUT, SKIN, MSKIN, get_model("tip3p").r_OH)
    return clusters.ClusterPairList.on_domain(be, dom, xa, types, 3 * nmol, outer, dtype)


def main(nmol=4000, rounds=6, reps=5, out=None):
    be, dom, xa, types, mol, mneigh, ff, t_mol = setup(nmol)
    n = 3 * nmol
    prune_atom = get_kernel("water_pair_list", be)
    neigh = prune_atom(xa, mneigh, nmol, CUT + SKIN)
    t0 = time.perf_counter()
    cl = cluster_list(be, dom, xa, types, nmol, np.float32)
    t_build = time.perf_counter() - t0
    cl.prune(xa, CUT + SKIN)
    tab, alpha = ff.tables, ff.alpha
    outer = pairlist.outer_cutoff(CUT, SKIN, MSKIN, get_model("tip3p").r_OH)

    def atom(mixed):
        return pair_forces_numba(xa, types, mol, neigh, n, tab, alpha, True, mixed=mixed)

    def cluster(dtype):
        cl.dtype = np.dtype(dtype)
        xs = cl.pack(xa)
        fs, e_lj, e_c, w = cluster_forces_numba(xs, cl.tslot, cl.ci_start, cl.cj, cl.mask, cl.shift, tab, alpha, CUT)
        f = np.zeros_like(xa)
        cl.scatter(fs, f)
        return f, e_lj, e_c, w

    variants = {
        "atom float64": lambda: atom(False),
        "atom mixed": lambda: atom(True),
        "cluster float64": lambda: cluster(np.float64),
        "cluster mixed": lambda: cluster(np.float32),
        "prune atom list": lambda: prune_atom(xa, mneigh, nmol, CUT + SKIN),
        "prune cluster list": lambda: cl.prune(xa, CUT + SKIN),
        "outer build molecule list": lambda: get_kernel("md_neighbor_list", be)(
            np.ascontiguousarray(xa[0::3]), nmol, *dom.bin_region(), outer, True
        ),
        "outer build cluster lists": lambda: cluster_list(be, dom, xa, types, nmol, np.float32),
    }

    def summed(f):  # ghost-row forces onto their owners: the two schemes give them to different rows
        f = np.array(f, dtype=np.float64)
        dom.reverse_comm(f.reshape(-1, 9))
        return f[:n]

    ref = atom(False)
    ref = (summed(ref[0]),) + tuple(ref[1:])
    acc = {}
    for k in ("atom mixed", "cluster float64", "cluster mixed"):
        f, e_lj, e_c, w = variants[k]()
        f = summed(f)
        e_ref = float(ref[1]) + float(ref[2])
        acc[k] = {
            "pair energy rel": abs(float(e_lj) + float(e_c) - e_ref) / abs(e_ref),
            "lj rel": abs(float(e_lj) / float(ref[1]) - 1),
            "coul rel": abs(float(e_c) / float(ref[2]) - 1),
            "virial rel": abs(float(w) / float(ref[3]) - 1),
            "force rel rms (owned rows, ghost forces summed back)": float(
                np.sqrt(np.sum((f - ref[0]) ** 2) / np.sum(ref[0] ** 2))
            ),
        }
    pairs = clusters.atom_pairs(cl.perm, cl.ci_start, cl.cj, cl.mask)
    d = xa[pairs[:, 0]] - xa[pairs[:, 1]]
    inside = int(np.sum(np.sum(d * d, axis=1) < CUT * CUT))
    sizes = {
        "molecules": nmol,
        "atoms with ghosts": int(xa.shape[0]),
        "molecule pairs (outer)": int(np.sum(mneigh >= 0)),
        "atom list entries": int(np.sum(neigh >= 0)),
        "pairs inside the cutoff": inside,
        "clusters": cl.nclus,
        "filler share of slots": float(np.mean(cl.perm < 0)),
        "outer cluster pairs": int(cl.outer[1].size),
        "inner cluster pairs": cl.npairs,
        "pair efficiency atom list (inside / entries)": inside / max(1, int(np.sum(neigh >= 0))),
        "pair efficiency cluster list (inside / 16 x cluster pairs)": inside / max(1, 16 * cl.npairs),
        "pair efficiency cluster list by part (inside, 16 x cluster pairs)": clusters.efficiency(
            xa, cl.perm, cl.ci_start, cl.cj, cl.mask, CUT, cl.nown
        ),
        "owned clusters": cl.nown,
        "list bytes atom (int32 atom list)": int(neigh.nbytes),
        "list bytes cluster (layout, outer and inner)": int(cl.nbytes()),
        "molecule list build s (thread time)": t_mol,
        "cluster layout + outer list build s (first call includes compilation)": t_build,
    }
    t0 = time.thread_time()
    cluster_list(be, dom, xa, types, nmol, np.float32)
    sizes["cluster layout + outer list build s (thread time)"] = time.thread_time() - t0

    print(json.dumps({"sizes": sizes, "accuracy vs atom float64": acc}, indent=1), flush=True)

    def best(fn):
        t = 1e9
        for _ in range(reps):
            t0 = time.thread_time()
            fn()
            t = min(t, time.thread_time() - t0)
        return t * 1e3

    times = {k: [] for k in variants}
    for rnd in range(rounds):
        for k, fn in variants.items():
            times[k].append(best(fn))
        print(f"round {rnd}: " + "  ".join(f"{k} {v[-1]:.2f}" for k, v in times.items()) + " ms", flush=True)
    summary = {k: {"min_ms": min(v), "median_ms": float(np.median(v))} for k, v in times.items()}
    for k, v in summary.items():
        print(f"{k:20s} min {v['min_ms']:8.2f} ms  median {v['median_ms']:8.2f} ms")
    if out:
        with open(out, "w") as fh:
            json.dump({"sizes": sizes, "accuracy": acc, "times": summary, "rounds": times, "reps": reps}, fh, indent=1)


def accuracy_on_checkpoint(path, cutoff=9.0, tolerance=5e-4):
    """Whole force field on a checkpoint's configuration: each variant against atom float64."""
    from zzhpc.solvers.water.cases_mixed import checkpoint_positions

    comm, be = MPI.COMM_SELF, get_backend("numpy")
    model = get_model("tip3p")
    x, L = checkpoint_positions(path)
    nmol = x.shape[0] // 3
    xm = x.reshape(nmol, 3, 3)
    xm = xm - np.floor(xm[:, :1, :] / np.asarray(L)) * np.asarray(L)
    dom = Domain(comm, be, [0.0] * 3, list(L), [True] * 3, molecules.ghost_cutoff(cutoff, SKIN, MSKIN, model))
    (rows,) = dom.borders(be.asarray(xm.reshape(nmol, 9)))
    xa = np.ascontiguousarray(rows.reshape(-1, 3))
    lo, hi = dom.bin_region()
    outer = pairlist.outer_cutoff(cutoff, SKIN, MSKIN, model.r_OH)
    mneigh = get_kernel("md_neighbor_list", be)(np.ascontiguousarray(rows[:, 0:3]), nmol, lo, hi, outer, True)
    types = np.tile(np.array([0, 1, 1], np.int64), xa.shape[0] // 3)
    mol = np.repeat(np.arange(xa.shape[0] // 3), 3)
    neigh = get_kernel("water_pair_list", be)(xa, mneigh, nmol, cutoff + SKIN)
    out = {}
    for prec in ("uniform", "mixed"):
        ff = WaterForceField(comm, be, "tip3p", L, cutoff, nmol, tolerance=tolerance, precision=prec)
        outer_c = pairlist.outer_cutoff(cutoff, SKIN, MSKIN, model.r_OH)
        cl = clusters.ClusterPairList.on_domain(
            be, dom, xa, types, 3 * nmol, outer_c, np.float32 if prec == "mixed" else np.float64
        )
        cl.prune(xa, cutoff + SKIN)
        for scheme, lst in (("atom", neigh), ("cluster", cl)):
            f, e, w = ff.compute(xa, types, mol, 3 * nmol, lst)
            dom.reverse_comm(f.reshape(-1, 9))
            out[f"{scheme} {prec}"] = (f[: 3 * nmol], e, w)
    f64, e64, w64 = out["atom uniform"]
    res = {"checkpoint": path, "molecules": nmol, "E_total float64 atom [kcal/mol]": e64["total"]}
    for k in ("atom mixed", "cluster mixed", "cluster uniform"):
        f, e, w = out[k]
        res[k] = {
            "energy rel": abs(e["total"] - e64["total"]) / abs(e64["total"]),
            "coul_real rel": abs(e["coul_real"] / e64["coul_real"] - 1),
            "force rel rms": float(np.sqrt(np.sum((f - f64) ** 2) / np.sum(f64**2))),
            "virial rel": abs(w / w64 - 1),
        }
    print(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--checkpoint" in argv:
        kw = {}
        for key, conv in (("--cutoff", float), ("--tolerance", float)):
            if key in argv:
                kw[key[2:]] = conv(argv[argv.index(key) + 1])
        accuracy_on_checkpoint(argv[argv.index("--checkpoint") + 1], **kw)
        sys.exit(0)
    out = None
    if "--json" in argv:
        i = argv.index("--json")
        out = argv[i + 1]
        argv = argv[:i] + argv[i + 2 :]
    main(*(int(a) for a in argv), out=out)
