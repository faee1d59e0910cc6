"""A/B of the water step's non-pair parts between two versions of zzhpc: PME and the integrator.

The 4,000-molecule TIP3P bench box (builder, seed 1, molecules shifted rigidly by up to 0.05 A) with
GROMACS's PME for it (alpha 0.3470 1/A, 42^3 grid, order 4; `zzhpc bench water_tip3p_gromacs`), one
rank. Per version, in a child process of its own (PYTHONPATH set to that version's tree), the minimum
of ``reps`` calls of: ``PME.compute`` in float64 and in the mixed mode, the time step without forces
and ghost update (kick, drift, SETTLE of positions and velocities, thermostat; mixed deck, NVT), and
the two SETTLE kernels alone. Rounds alternate the versions (A B A B ...) so that machine load hits
both alike; the table gives min and median over rounds and B/A of the medians. Run::

    python benchmarks/water_pme_ab.py --base a7da8ad [--rounds 5] [--reps 25] [--molecules 4000]

``--base`` is a commit (its ``zzhpc`` is extracted with ``git archive`` into a temporary folder), B is
this tree. ``--child`` runs one measurement and prints it as JSON (what the rounds call).
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.dirname(HERE)
ALPHA, ORDER = 0.3470, 4


def _best(fn, reps):
    out = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out * 1e3


def child(nmol, reps):
    """One version's timings [ms] (the version is whatever ``zzhpc`` imports)."""
    from mpi4py import MPI

    from zzhpc.core.deck import resolve
    from zzhpc.core.harness import _with_output
    from zzhpc.core.run import RunLoop
    from zzhpc.device import get_backend
    from zzhpc.solvers.water.builder import water_box
    from zzhpc.solvers.water.cases_common import water_deck
    from zzhpc.solvers.water.models import get_model
    from zzhpc.solvers.water.pme import PME
    from zzhpc.solvers.water.settle import settle_positions, settle_velocities

    be, comm = get_backend("numpy"), MPI.COMM_SELF
    x, L = water_box(nmol, "tip3p", seed=1)
    x = (x.reshape(-1, 3, 3) + np.random.default_rng(3).uniform(-0.05, 0.05, (nmol, 1, 3))).reshape(-1, 3)
    m = get_model("tip3p")
    q = np.tile([m.q_O, m.q_H, m.q_H], nmol)
    grid = (42, 42, 42) if nmol == 4000 else (max(2 * ORDER, math.ceil(L[0] / 1.2)),) * 3
    out = {}
    for name, mixed in (("pme_float64", False), ("pme_mixed", True)):
        pme = PME(comm, be, grid, ORDER, ALPHA, L, mixed=mixed)
        pme.compute(x, q)  # compile
        out[name] = _best(lambda pme=pme: pme.compute(x, q), reps)
    water = {"model": "tip3p", "molecules": nmol, "cutoff": min(9.0, 0.5 * L[0] - 1.1), "skin": 1.0, "ensemble": "nvt"}
    water.update(
        {"tau_t": 100.0, "minimise_steps": 0, "ewald_alpha": ALPHA, "pme_grid": list(grid), "pme_order": ORDER}
    )
    deck = water_deck(water, {"steps": 1}, backend={"precision": "mixed"})
    work = tempfile.mkdtemp(prefix="water_pme_ab_")
    try:
        cls, cfg = resolve(_with_output(deck, work), 1)
        w = RunLoop(cls, cfg, comm, cfg["output"]["dir"], quiet=True).solver
    finally:
        shutil.rmtree(work, ignore_errors=True)
    w._forces = w.update_ghosts = lambda: None  # the step's own passes only
    w.integrator.step()
    out["step_without_forces"] = _best(w.integrator.step, reps)
    x1 = w.xm + 0.01 * w.vm
    out["settle_positions"] = _best(lambda: settle_positions(w.xm, x1, w.geom, 2.0), reps)
    out["settle_velocities"] = _best(lambda: settle_velocities(w.xm, w.vm, w.geom, 2.0), reps)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", help="commit of version A (B is this tree)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=25)
    ap.add_argument("--molecules", type=int, default=4000)
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.molecules, a.reps)))
        return
    if not a.base:
        ap.error("--base COMMIT is required")
    tmp = tempfile.mkdtemp(prefix="water_pme_base_")
    try:
        arch = subprocess.run(["git", "-C", TREE, "archive", a.base, "zzhpc"], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=arch, check=True)
        trees = {"A": tmp, "B": TREE}
        res = {k: {} for k in trees}
        for rnd in range(a.rounds):
            for k, tree in trees.items():
                env = dict(os.environ, PYTHONPATH=tree)
                cmd = [sys.executable, os.path.abspath(__file__), "--child"]
                cmd += ["--molecules", str(a.molecules), "--reps", str(a.reps)]
                run = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if run.returncode:
                    sys.exit(f"version {k} ({tree}) failed:\n{run.stderr[-2000:]}")
                got = json.loads(run.stdout)
                for name, ms in got.items():
                    res[k].setdefault(name, []).append(ms)
                print(f"round {rnd} {k}: " + "  ".join(f"{n} {v:.3f}" for n, v in got.items()) + " ms", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nA = {a.base}, B = {TREE}; {a.molecules} TIP3P, min of {a.reps} calls per round, {a.rounds} rounds")
    print("| part | A min / median [ms] | B min / median [ms] | B/A (medians) |\n|---|---|---|---|")
    for name in res["A"]:
        ra, rb = res["A"][name], res["B"][name]
        ma, mb = float(np.median(ra)), float(np.median(rb))
        print(f"| {name} | {min(ra):.3f} / {ma:.3f} | {min(rb):.3f} / {mb:.3f} | {mb / ma:.2f} |")


if __name__ == "__main__":
    main()
