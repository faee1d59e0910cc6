"""The first run: what zzhpc is for, in a few minutes on a laptop-class machine (``make demo``).

Three flagship workloads, each a short run on ``--ranks`` MPI ranks (default 2) with its plots, then one
quick validation case against published data or a closed form:

- water: TIP3P, 4,000 molecules, PME, SETTLE, 2 fs (``examples/water_tip3p.toml``): density and g_OO
  plots; validated by ``water_nve_settle`` (energy drift and constraints, NVE);
- turbulence: Taylor-Green vortex at Re 1600, 32^3 pseudo-spectral DNS to t = 10: energy, dissipation
  and E(k) plots; validated by ``spectral-tgv-re1600`` (against the 512^3 reference DNS);
- protein folding: villin headpiece, 16 replica-exchange walkers of the C-alpha structure-based model:
  heat capacity and F(Q) plots; validated by ``folding-fold`` (folding from an extended chain).

Ends with one table: workload, ranks, steps, wall time, validation metric, pass/fail, plots. Idempotent:
the demo's own folder ``runs/demo`` is replaced on every run.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKLOADS = [
    (
        "water (TIP3P, 4,000 molecules)",
        "examples/water_tip3p.toml",
        ["run.steps=200", "water.sample_every=50", "run.diag_every=20"],
        "water_nve_settle",
    ),
    (
        "turbulence (Taylor-Green, 32^3)",
        "examples/taylor_green.toml",
        ["spectral.shape=[32,32,32]", "run.t_end=10", "run.output_every=0"],
        "spectral-tgv-re1600",
    ),
    ("protein folding (villin, 16 walkers)", "examples/fold_villin.toml", ["run.steps=20000"], "folding-fold"),
]


def _env():
    """No rank variables of an enclosing MPI job; Open MPI may oversubscribe and run as root (the harness's)."""
    from zzhpc.core.harness import OVERSUBSCRIBE, child_env

    return child_env(**OVERSUBSCRIBE)


def run(cmd, env):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    return proc, time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ranks", type=int, default=2, help="MPI ranks of each run (default 2)")
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "demo"), help="demo folder (replaced)")
    ap.add_argument("--only", default="", help="comma-separated workload numbers (1-3) to run")
    args = ap.parse_args(argv)
    from zzhpc.core.harness import zzhpc_command

    env = _env()
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    only = {int(k) for k in args.only.split(",") if k}
    rows, ok_all = [], True
    for k, (label, deck, sets, case) in enumerate(WORKLOADS, 1):
        if only and k not in only:
            continue
        out = os.path.join(args.out, os.path.basename(deck).replace(".toml", ""))
        print(f"[demo] {label}: {args.ranks} ranks ...", flush=True)
        cmd = zzhpc_command(args.ranks, "run", deck, "-o", out, "-q", *[a for s in sets for a in ("--set", s)])
        proc, wall = run(cmd, env)
        summary = {}
        if proc.returncode == 0:
            with open(os.path.join(out, "summary.json")) as fh:
                summary = json.load(fh)
        else:
            print(proc.stderr[-2000:], file=sys.stderr)
        vjson = os.path.join(args.out, f"validate_{case}.json")
        vproc, vwall = run(zzhpc_command(0, "validate", case, "--quick", "--json", vjson), env)
        vrows = []
        if os.path.exists(vjson):
            with open(vjson) as fh:
                vrows = json.load(fh)["results"]
        passed = proc.returncode == 0 and vproc.returncode == 0 and vrows and all(r.get("passed") for r in vrows)
        ok_all &= bool(passed)
        first = vrows[0] if vrows else {"metric": "(no result)", "measured": float("nan"), "tolerance": float("nan")}
        plots = [f for f in (summary.get("outputs", {}).get("files") or []) if f.endswith(".png")]
        rows.append(
            (
                label,
                args.ranks,
                summary.get("steps", "-"),
                wall,
                case,
                f"{first.get('metric', first.get('error', '?'))}",
                first.get("measured"),
                first.get("tolerance"),
                "pass" if passed else "FAIL",
                [os.path.relpath(os.path.join(out, p), ROOT) for p in plots],
            )
        )
    print()
    print(f"{'workload':38s} {'ranks':>5s} {'steps':>7s} {'wall s':>7s}  {'validation':55s} {'result':6s}")
    for label, ranks, steps, wall, case, metric, measured, tol, res, plots in rows:
        meas = f"{measured:.3g}" if isinstance(measured, (int, float)) else str(measured)
        val = f"{case}: {metric[:30]} = {meas} (tol {tol:.3g})" if isinstance(tol, (int, float)) else case
        print(f"{label:38s} {ranks:5d} {str(steps):>7s} {wall:7.1f}  {val[:55]:55s} {res:6s}")
        for p in plots:
            print(f"{'':38s} plot: {p}")
    print("\n[demo] " + ("every workload ran and passed its validation" if ok_all else "SOME WORKLOAD FAILED"))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
