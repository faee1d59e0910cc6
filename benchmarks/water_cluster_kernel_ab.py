"""A/B of the arithmetic of the cluster-pair water kernel, interleaved in one process (kernel calls only).

The bench box of ``water_cluster_ab.py`` (4,000 TIP3P, cutoff 9 A, skins 1 A, one rank with its ghosts),
its cluster-pair list pruned to 10 A, slot positions packed once. Variants of ``cluster_forces_numba``:
float32 lanes with exp and Cody's erfc (the form before ``ewald_fit``), with the rational fit (forces,
virial and energies; forces and virial; forces only), float64 lanes (all; forces only); and the
atom-pair mixed kernel (``kernels_mixed.py``, its atom list) before and after the fit, and forces only. Per round each variant runs ``reps`` times, the
best thread processor time counts (``time.thread_time``: single-threaded kernels; time descheduled on a
loaded machine does not count); rounds interleave the variants; min and median over rounds. Also the
accuracy of the float32 variants against the float64 lanes (pair energy, forces, virial). Run::

    python benchmarks/water_cluster_kernel_ab.py [molecules] [rounds] [reps] [--tolerance 5e-4] [--json out.json]
        [--before REV] [--quick]

``--tolerance``: the Ewald tolerance giving alpha (5e-4: 0.2920 1/A at 9 A; GROMACS's alpha 0.3470 is
``--alpha 0.347``). ``--before REV``: also the kernel module of git revision ``REV`` (e.g. ``2cd2aa3``, the
per-i-slot float32 loop), loaded from git into the same process, float32 variants and float64 all (checked
bitwise against now). ``--quick``: the float32 fitted variants only (plus ``--before``'s).
"""

import functools
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from water_cluster_ab import CUT, SKIN, cluster_list, setup
from zzhpc.device import get_kernel
from zzhpc.solvers.water import kernels_mixed
from zzhpc.solvers.water.kernels_cluster_numba import cluster_forces_numba
from zzhpc.solvers.water.kernels_numba import pair_forces_numba


def kernel_at(rev):
    """``cluster_forces_numba`` of the kernel module at git revision ``rev`` (relative imports made absolute,
    not registered as an override), for a before/after in one process."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = subprocess.run(
        ["git", "-C", root, "show", f"{rev}:zzhpc/solvers/water/kernels_cluster_numba.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    src = src.replace("from ...device import override", "").replace('@override("water_cluster_forces", "numpy")', "")
    src = src.replace("from ...errors", "from zzhpc.errors").replace("from .", "from zzhpc.solvers.water.")
    path = os.path.join(tempfile.mkdtemp(prefix="wck_"), "kernels_cluster_before.py")
    with open(path, "w") as fh:
        fh.write(src)
    spec = importlib.util.spec_from_file_location("kernels_cluster_before", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.cluster_forces_numba


def main(nmol=4000, rounds=9, reps=3, alpha=None, out=None, before=None, quick=False):
    be, dom, xa, types, mol, mneigh, ff, _ = setup(nmol)
    alpha = ff.alpha if alpha is None else alpha
    tab = ff.tables
    cl = cluster_list(be, dom, xa, types, nmol, np.float32)
    cl.prune(xa, CUT + SKIN)
    lst = (cl.tslot, cl.ci_start, cl.cj, cl.mask, cl.shift, tab, alpha, CUT)
    cl.dtype = np.dtype(np.float32)
    x32 = cl.pack(xa)
    cl.dtype = np.dtype(np.float64)
    x64 = cl.pack(xa)
    neigh = get_kernel("water_pair_list", be)(xa, mneigh, nmol, CUT + SKIN)

    def k(xs, **kw):
        return lambda: cluster_forces_numba(xs, *lst, **kw)

    plain = kernels_mixed.pair_mixed

    def atom(**kw):
        """The atom-pair mixed kernel through its wrapper, with ``calc``/``fit`` of kernels_mixed.pair_mixed."""

        def run():
            kernels_mixed.pair_mixed = functools.partial(plain, **kw)
            try:
                return pair_forces_numba(xa, types, mol, neigh, 3 * nmol, tab, alpha, True, mixed=True)
            finally:
                kernels_mixed.pair_mixed = plain

        return run

    if before:
        old = kernel_at(before)

        def kb(xs, **kw):
            return lambda: old(xs, *lst, **kw)

    variants = {
        "f32 exp+erfc (before), all": k(x32, _fit=False),
        "f32 fit, all": k(x32),
        "f32 fit, forces+virial": k(x32, energy=False),
        "f32 fit, forces only": k(x32, energy=False, virial=False),
        "f64, all": k(x64),
        "f64, forces only": k(x64, energy=False, virial=False),
        "atom mixed exp+erfc (before), all": atom(fit=False),
        "atom mixed fit, all": atom(),
        "atom mixed fit, forces only": atom(calc=0),
    }
    if quick:  # the float32 fitted variants only
        variants = {name: fn for name, fn in variants.items() if name.startswith("f32 fit")}
    if before:
        variants[f"f32 fit, all ({before})"] = kb(x32)
        variants[f"f32 fit, forces+virial ({before})"] = kb(x32, energy=False)
        variants[f"f32 fit, forces only ({before})"] = kb(x32, energy=False, virial=False)
        variants[f"f64, all ({before})"] = kb(x64)
    for fn in variants.values():  # compile every variant before timing
        fn()
    ref = k(x64)()
    acc = {}
    aref = pair_forces_numba(xa, types, mol, neigh, 3 * nmol, tab, alpha, True)
    for name in [n for n in variants if n.endswith(", all") and not n.startswith("f64")] + (
        [f"f32 fit, all ({before})"] if before else []
    ):
        fs, e_lj, e_c, w = variants[name]()
        r = aref if name.startswith("atom") else ref
        e_ref = float(r[1]) + float(r[2])
        acc[name] = {
            "pair energy rel": abs(float(e_lj) + float(e_c) - e_ref) / abs(e_ref),
            "coul_real rel": abs(float(e_c) / float(r[2]) - 1),
            "lj rel": abs(float(e_lj) / float(r[1]) - 1),
            "virial rel": abs(float(w) / float(r[3]) - 1),
            "force rel rms (slots or atom rows)": float(np.sqrt(np.sum((fs - r[0]) ** 2) / np.sum(r[0] ** 2))),
        }
    same = np.array_equal(variants["f32 fit, all"]()[0], variants["f32 fit, forces only"]()[0])
    same = same and np.array_equal(variants["f32 fit, all"]()[0], variants["f32 fit, forces+virial"]()[0])
    if not quick:
        same = same and np.array_equal(
            variants["atom mixed fit, all"]()[0], variants["atom mixed fit, forces only"]()[0]
        )
    info = {
        "alpha": alpha,
        "accuracy vs f64 lanes": acc,
        "forces-only bitwise": bool(same),
        "lanes": 16 * cl.cj.shape[0],
    }
    if before:
        info[f"f64 lanes bitwise with {before}"] = all(
            np.array_equal(u, v) for u, v in zip(variants[f"f64, all ({before})"](), ref)
        )
    print(json.dumps(info, indent=1))

    def best(fn):
        t = 1e9
        for _ in range(reps):
            t0 = time.thread_time()
            fn()
            t = min(t, time.thread_time() - t0)
        return t * 1e3

    times = {name: [] for name in variants}
    for rnd in range(rounds):
        for name, fn in variants.items():
            times[name].append(best(fn))
        print(f"round {rnd}: " + "  ".join(f"{v[-1]:.2f}" for v in times.values()) + " ms", flush=True)
    summary = {name: {"min_ms": min(v), "median_ms": float(np.median(v))} for name, v in times.items()}
    for name, v in summary.items():
        print(f"{name:34s} min {v['min_ms']:8.2f} ms  median {v['median_ms']:8.2f} ms")
    if out:
        with open(out, "w") as fh:
            json.dump({"alpha": alpha, "accuracy": acc, "times": summary, "rounds": times, "reps": reps}, fh, indent=1)


if __name__ == "__main__":
    argv = sys.argv[1:]
    kw = {}
    quick = "--quick" in argv
    argv = [a for a in argv if a != "--quick"]
    for key, conv in (("--json", str), ("--alpha", float), ("--tolerance", float), ("--before", str)):
        if key in argv:
            i = argv.index(key)
            kw[key[2:]] = conv(argv[i + 1])
            argv = argv[:i] + argv[i + 2 :]
    out, alpha, tol = kw.get("json"), kw.get("alpha"), kw.get("tolerance")
    if tol is not None and alpha is None:
        alpha = float(np.sqrt(-np.log(2.0 * tol)) / CUT)
    main(*(int(a) for a in argv), alpha=alpha, out=out, before=kw.get("before"), quick=quick)
