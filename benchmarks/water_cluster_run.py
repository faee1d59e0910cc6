"""Step time of whole water runs, atom-pair against cluster-pair scheme (mixed and float64), in one process.

The bench case's settings (4,000 TIP3P, builder box seed 1, cutoff 9 A, atom skin 1 A, PME with GROMACS's
parameters for this box: alpha 0.3470 1/A, 42^3, order 4, SVR 0.1 ps, 2 fs, no minimisation), one rank.
Per variant two runs of ``short`` and ``long`` steps; the per-step cost is the difference of their
processor times (setup cancels) and of their wall times, divided by ``long - short``; variants
interleaved over ``rounds``, the minimum reported. Also the list builds and prunes of the long run.
Run::

    python benchmarks/water_cluster_run.py [molecules] [short] [long] [rounds] [--json out.json] [--mixed-only]
"""

import json
import sys
import tempfile
import time

from zzhpc.core.harness import run_deck
from zzhpc.solvers.water.cases_common import water_deck

VARIANTS = (("mixed", "atom"), ("mixed", "cluster"), ("uniform", "atom"), ("uniform", "cluster"))


def deck(nmol, steps, precision, scheme):
    w = {
        "model": "tip3p",
        "molecules": nmol,
        "cutoff": 9.0,
        "skin": 1.0,
        "ewald_alpha": 0.3470,
        "pme_grid": [42, 42, 42],
        "pme_order": 4,
        "tau_t": 100.0,
        "minimise_steps": 0,
        "plots": False,
        "pair_scheme": scheme,
    }
    return water_deck(w, {"steps": steps, "diag_every": steps}, backend={"precision": precision})


def one(nmol, steps, precision, scheme):
    c0, w0 = time.process_time(), time.perf_counter()
    s, _ = run_deck(deck(nmol, steps, precision, scheme), tempfile.mkdtemp(prefix="wcr_"))
    return time.process_time() - c0, time.perf_counter() - w0, s["results"]


def main(nmol=4000, short=10, long=60, rounds=2, out=None, variants=VARIANTS):
    res = {f"{p} {k}": {"cpu_ms_per_step": [], "wall_ms_per_step": []} for p, k in variants}
    for p, k in variants:  # compile everything once
        one(min(nmol, 512), 2, p, k)
    for rnd in range(rounds):
        for p, k in variants:
            c1, w1, _ = one(nmol, short, p, k)
            c2, w2, r = one(nmol, long, p, k)
            row = res[f"{p} {k}"]
            row["cpu_ms_per_step"].append((c2 - c1) / (long - short) * 1e3)
            row["wall_ms_per_step"].append((w2 - w1) / (long - short) * 1e3)
            row["builds"], row["prunes"], row["scheme"] = r["neigh_builds"], r["list_prunes"], r["pair_scheme"]
            row["memory_bytes_per_molecule"] = r["memory_bytes_per_molecule"]
            print(
                f"round {rnd} {p:8s} {k:8s} cpu {row['cpu_ms_per_step'][-1]:7.2f} ms/step  wall "
                f"{row['wall_ms_per_step'][-1]:7.2f} ms/step  builds {r['neigh_builds']} prunes {r['list_prunes']}",
                flush=True,
            )
    for name, row in res.items():
        print(
            f"{name:18s} cpu min {min(row['cpu_ms_per_step']):7.2f}  wall min {min(row['wall_ms_per_step']):7.2f} "
            f"ms/step  (builds {row['builds']}, prunes {row['prunes']} in {long} steps)"
        )
    if out:
        with open(out, "w") as fh:
            json.dump({"molecules": nmol, "short": short, "long": long, "results": res}, fh, indent=1)


if __name__ == "__main__":
    argv = sys.argv[1:]
    out = None
    if "--json" in argv:
        i = argv.index("--json")
        out = argv[i + 1]
        argv = argv[:i] + argv[i + 2 :]
    variants = VARIANTS
    if "--mixed-only" in argv:
        argv.remove("--mixed-only")
        variants = tuple(v for v in VARIANTS if v[0] == "mixed")
    main(*(int(a) for a in argv), out=out, variants=variants)
