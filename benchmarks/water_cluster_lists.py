"""Before/after of the water cluster-pair lists: the first lists (commit 32c67f2, loaded from git) against
the present ones, on the 4,000-molecule bench box of ``water_cluster_ab.py``, in one process.

Before: clusters of owned and ghost atoms mixed, the outer cluster list from every site pair of the
molecule list (built first), the molecule-level half rule. Now: owned atoms and the upper half shell's
ghosts clustered apart, the outer list from anchor boxes on a cell grid, the cluster-level half-shell rule.
Per round, each variant's best of 3 calls by the thread's processor time; rounds interleave the variants;
the minimum over rounds is reported. Also the list sizes and the pair efficiency (pairs inside the cutoff /
16 x cluster pairs), split into owned-only cluster pairs and those with ghost atoms. Run from the
repository (needs git)::

    python benchmarks/water_cluster_lists.py [molecules] [rounds] [--json out.json]
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import water_cluster_ab as ab  # noqa: E402

from zzhpc.device import get_kernel  # noqa: E402
from zzhpc.solvers.water import clusters, pairlist  # noqa: E402
from zzhpc.solvers.water.models import get_model  # noqa: E402

BEFORE = "32c67f2"


def old_module():
    """The clusters module of commit ``BEFORE`` (its relative import made absolute)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = subprocess.run(
        ["git", "-C", root, "show", f"{BEFORE}:zzhpc/solvers/water/clusters.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.replace("from .cody import njit", "from zzhpc.solvers.water.cody import njit")
    path = os.path.join(tempfile.mkdtemp(prefix="wcl_"), "clusters_before.py")
    with open(path, "w") as fh:
        fh.write(src)
    spec = importlib.util.spec_from_file_location("clusters_before", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def parts(x, perm, ci_start, cj, mask, nown_atoms, cut):
    """``{"owned": (inside, 16 x cluster pairs), "ghost": ...}``: a cluster pair counts as ghost when one of
    its clusters holds a ghost atom (row >= ``nown_atoms``)."""
    ci = np.repeat(np.arange(ci_start.shape[0] - 1), np.diff(ci_start))
    hasg = (perm.reshape(-1, 4) >= nown_atoms).any(axis=1)
    g = hasg[ci] | hasg[cj]
    pr = clusters.atom_pairs(perm, ci_start, cj, mask)
    nbit = np.unpackbits(np.ascontiguousarray(mask, np.uint16).view(np.uint8)).reshape(-1, 16).sum(axis=1)
    pc = np.repeat(np.arange(cj.shape[0]), nbit.astype(np.int64))
    d = x[pr[:, 0]] - x[pr[:, 1]]
    inside = np.einsum("ij,ij->i", d, d) < cut * cut
    return {
        "owned": (int(np.sum(inside & ~g[pc])), 16 * int(np.sum(~g))),
        "ghost": (int(np.sum(inside & g[pc])), 16 * int(np.sum(g))),
    }


def main(nmol=4000, rounds=5, out=None):
    old = old_module()
    be, dom, xa, types, mol, mneigh, ff, t_mol = ab.setup(nmol)
    ro = pairlist.outer_cutoff(ab.CUT, ab.SKIN, ab.MSKIN, get_model("tip3p").r_OH)
    lo, hi = dom.bin_region()
    kn, kp = get_kernel("md_neighbor_list", be), get_kernel("water_pair_list", be)
    inner = ab.CUT + ab.SKIN

    def build_before():
        m = kn(np.ascontiguousarray(xa[0::3]), nmol, lo, hi, ro, True)
        return old.ClusterPairList(be, xa, types, m, nmol, np.float32)

    def build_now():
        return ab.cluster_list(be, dom, xa, types, nmol, np.float32)

    before, now = build_before(), build_now()
    before.prune(xa, inner)
    now.prune(xa, inner)
    variants = {
        "outer build before (molecule list + clusters)": build_before,
        "outer build now": build_now,
        "prune before": lambda: before.prune(xa, inner),
        "prune now": lambda: now.prune(xa, inner),
        "atom scheme: molecule list": lambda: kn(np.ascontiguousarray(xa[0::3]), nmol, lo, hi, ro, True),
        "atom scheme: prune": lambda: kp(xa, mneigh, nmol, inner),
    }
    times = {k: [] for k in variants}
    for _ in range(rounds):
        for k, fn in variants.items():
            best = 1e9
            for _ in range(3):
                t0 = time.thread_time()
                fn()
                best = min(best, time.thread_time() - t0)
            times[k].append(best * 1e3)
    res = {"molecules": nmol, "times_ms_min": {k: min(v) for k, v in times.items()}, "rounds": times}
    for name, cl in (("before", before), ("now", now)):
        p = parts(xa, cl.perm, cl.ci_start, cl.cj, cl.mask, 3 * nmol, ab.CUT)
        inside = p["owned"][0] + p["ghost"][0]
        lanes = p["owned"][1] + p["ghost"][1]
        res[name] = {
            "clusters": int(cl.nclus),
            "outer cluster pairs": int(cl.outer[1].size),
            "inner cluster pairs": cl.npairs,
            "pair efficiency": inside / lanes,
            "owned-only (inside, lanes)": p["owned"],
            "with ghosts (inside, lanes)": p["ghost"],
        }
    print(json.dumps(res, indent=1))
    if out:
        with open(out, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    argv = sys.argv[1:]
    out = None
    if "--json" in argv:
        i = argv.index("--json")
        out = argv[i + 1]
        argv = argv[:i] + argv[i + 2 :]
    main(*(int(a) for a in argv), out=out)
