"""Run the incompressible solver in-process and compare with Ghia, Ghia & Shin (1982).

As a script (also the ``cavity-ghia-*`` validate cases), it runs steady cavities and plots the centreline
profiles against Ghia's points::

    python -m zzhpc.solvers.incompressible.validation --re 100 400 1000 --cells 128 --out runs/ghia
    mpiexec -n 2 python -m zzhpc.solvers.incompressible.validation --re 100 --cells 64
"""

import argparse
import json
import os

from mpi4py import MPI

from ...core import harness
from .ghia import deviations, ghia


def run_deck(
    params, *, steps=0, t_end=None, comm=MPI.COMM_SELF, outdir=None, fields=False, dt=None, checkpoint_every=0
):
    """Run an ``[incompressible]`` table in-process on ``comm``; return the summary (every rank).

    Without ``outdir`` the output goes to a temporary folder that is removed afterwards.
    """
    deck = {
        "solver": "incompressible",
        "run": {"diag_every": 10**9, "progress_every": 1e9, "steps": steps, "checkpoint_every": checkpoint_every},
        "incompressible": dict({"plot": outdir is not None}, **params),
        "output": {"fields": fields},
    }
    if t_end is not None:
        deck["run"]["t_end"] = t_end
    if dt is not None:
        deck["run"]["dt"] = dt
    return harness.run_deck(deck, outdir, comm).summary


def cavity(re, cells, steady_tol, *, comm=MPI.COMM_SELF, outdir=None, t_end=500.0, petsc_options=""):
    """Steady lid-driven cavity on [0, 1]^2 (lid u = 1 at y = 1) with ``cells`` x ``cells`` cells."""
    params = {
        "shape": [cells, cells],
        "reynolds": float(re),
        "moving_wall": "y_hi",
        "wall_velocity": [1.0, 0.0],
        "steady_tol": steady_tol,
        "petsc_options": petsc_options,
    }
    return run_deck(params, t_end=t_end, comm=comm, outdir=outdir)


def ghia_comparison(res, cells, steady_tol, *, comm=MPI.COMM_SELF, outdir=None, figure=None):
    """Run the cavities of Reynolds numbers ``res`` and compare with Ghia; optional profile figure.

    Returns ``{Re: {"u", "v", "max", "anomalous", "steps", "time", "steady", "wall_s"}}``.
    """
    out, runs = {}, []
    for re in res:
        sub = os.path.join(outdir, f"re{re:g}") if outdir else None
        s = cavity(re, cells, steady_tol, comm=comm, outdir=sub)
        dev = deviations(s["results"], re)
        out[re] = dict(
            dev,
            steps=s["steps"],
            time=s["time"],
            steady=s["results"]["steady"],
            wall_s=s["wall_time_s"],
            du_dt=s["results"]["du_dt"],
        )
        runs.append(
            {"label": f"zzhpc {cells}x{cells} cells, Re {re:g}", "results": s["results"], "ref": ghia(re), "re": re}
        )
    if figure and comm.Get_rank() == 0:
        from .plotting import profiles_png

        os.makedirs(os.path.dirname(os.path.abspath(figure)), exist_ok=True)
        profiles_png(runs, figure)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description="Steady lid-driven cavities against Ghia, Ghia & Shin (1982)")
    p.add_argument("--re", type=float, nargs="+", default=[100.0], help="Reynolds numbers (100, 400, 1000)")
    p.add_argument("--cells", type=int, default=128, help="cells per side (128 = Ghia's 129 grid lines)")
    p.add_argument("--steady-tol", type=float, default=1e-6, help="stop at max|du/dt| below this")
    p.add_argument("--out", default="runs/ghia", help="output folder (profiles.png, one run per Re)")
    a = p.parse_args(argv)
    comm = MPI.COMM_WORLD
    res = ghia_comparison(
        a.re, a.cells, a.steady_tol, comm=comm, outdir=a.out, figure=os.path.join(a.out, "profiles.png")
    )
    if comm.Get_rank() == 0:
        print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
