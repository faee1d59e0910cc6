"""Validation and benchmark cases of the heat solver (``zzhpc validate heat``, ``zzhpc bench heat``)."""

import json
import math
import sys

import numpy as np
from mpi4py import MPI

from ...core import Metric, benchmark_case, validation_case
from ...core.harness import run_deck, run_mpi_json


def run_mode(
    shape,
    t_end,
    *,
    steps=None,
    boundary="periodic",
    dt=None,
    mode=None,
    backend="numpy",
    dtype="float64",
    comm=MPI.COMM_SELF,
):
    """Run a decaying Fourier mode in-process; return the summary."""
    deck = {
        "solver": "heat",
        "run": {"diag_every": 10**9, "progress_every": 1e9, "steps": steps or 0},
        "backend": {"name": backend, "dtype": dtype},
        "heat": {"shape": list(shape), "boundary": boundary, "initial": "mode", "mode": mode or [1] * len(shape)},
        "output": {"fields": False},
    }
    if dt is not None:
        deck["run"]["dt"] = dt
    if t_end is not None:
        deck["run"]["t_end"] = t_end
    return run_deck(deck, comm=comm).summary


@validation_case("heat-mode-decay", "heat")
def mode_decay(quick=False):
    """A Fourier mode decays by the scheme's exact amplification factor, and close to exp(-alpha k^2 t)."""
    metrics = []
    for boundary in ("periodic", "dirichlet"):
        shape = [32, 32] if quick else [64, 64, 64]
        s = run_mode(shape, 0.01 if quick else 0.005, boundary=boundary)
        r, d = s["results"], s["diagnostics"]
        amp0 = 1.0
        measured = d["max"] / amp0
        # On the mesh the maximum of the product of sines is below 1: compare to the mode's own maximum.
        mode_max = _mode_max(shape, boundary)
        metrics.append(
            Metric(
                f"{boundary}: amplitude / discrete",
                measured / (mode_max * r["discrete_decay"]),
                1.0,
                1e-12,
                "abs",
                "scheme's exact factor",
            )
        )
        metrics.append(
            Metric(
                f"{boundary}: max error / amplitude",
                d["error_max"] / d["max"],
                0.0,
                5e-3 if quick else 1e-3,
                "max",
                f"O(h^2) truncation, t = {s['time']:.4g}",
            )
        )
    return metrics


def _mode_max(shape, boundary):
    m = 1.0
    for n in shape:
        x = (np.arange(n) + 0.5) / n
        m *= np.max(np.abs(np.sin((2 if boundary == "periodic" else 1) * np.pi * x)))
    return m


@validation_case("heat-convergence", "heat")
def convergence(quick=False):
    """Error against the exact decay falls at second order in h (dt proportional to h^2)."""
    ns = [16, 32, 64] if quick else [32, 64, 128, 256]
    errs = []
    for n in ns:
        s = run_mode([n, n], 0.02, boundary="dirichlet", dt=0.2 / (4 * n * n))
        errs.append(s["diagnostics"]["error_max"])
    orders = [math.log(errs[i] / errs[i + 1], 2) for i in range(len(ns) - 1)]
    return [Metric(f"order {ns[i]}->{ns[i + 1]}", o, 2.0, 0.1, "abs") for i, o in enumerate(orders)]


@validation_case("heat-backends", "heat")
def backends(quick=False):
    """Every backend available here gives the NumPy result (same code, other array library)."""
    from ...device import backend_status

    ref = run_mode([24, 20], 0.005)["diagnostics"]["l2"]
    out = []
    for name, (ok, _) in backend_status().items():
        if ok and name != "numpy":
            v = run_mode([24, 20], 0.005, backend=name)["diagnostics"]["l2"]
            out.append(Metric(f"{name}: l2 vs numpy", abs(v - ref) / ref, 0.0, 1e-13, "max"))
    return out


def _bench_worker(shape, steps):
    """Under MPI: time zzhpc's heat step and a PETSc DMDA FTCS step of the same size (the peer)."""
    import time

    comm = MPI.COMM_WORLD
    s = run_mode(shape, None, steps=steps, comm=comm)
    zz = s["time_per_step_s"]
    from petsc4py import PETSc

    nd = len(shape)
    da = PETSc.DMDA().create(
        sizes=shape, dof=1, stencil_width=1, boundary_type=[PETSc.DM.BoundaryType.PERIODIC] * nd, comm=PETSc.COMM_WORLD
    )
    g, loc = da.createGlobalVec(), da.createLocalVec()
    h = [1.0 / n for n in shape]
    coefs = [0.5 / (2 * sum(1 / x**2 for x in h)) / hd**2 for hd in h]
    g.setArray(np.random.default_rng(0).standard_normal(g.getLocalSize()))
    coefs = coefs[::-1]  # PETSc's local arrays are (z, y, x) in C order
    comm.Barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        da.globalToLocal(g, loc)
        u = loc.getArray(readonly=True).reshape(tuple(reversed(da.getGhostCorners()[1])))
        out = g.getArray().reshape(tuple(reversed(da.getCorners()[1])))
        inner = tuple(slice(1, -1) for _ in range(nd))
        acc = u[inner].copy()
        for d in range(nd):
            up = tuple(slice(2, None) if a == d else slice(1, -1) for a in range(nd))
            dn = tuple(slice(None, -2) if a == d else slice(1, -1) for a in range(nd))
            acc += coefs[d] * (u[up] - 2 * u[inner] + u[dn])
        out[...] = acc
    comm.Barrier()
    peer = (time.perf_counter() - t0) / steps
    peer = comm.allreduce(peer, op=MPI.MAX)
    mem = s["memory_hwm_mb"]
    if comm.Get_rank() == 0:
        print(
            json.dumps(
                {
                    "zzhpc_s_per_step": zz,
                    "peer_s_per_step": peer,
                    "ranks": comm.Get_size(),
                    "memory_hwm_mb_max": mem["max"] if mem else None,
                }
            )
        )


@benchmark_case("heat-step", "heat")
def bench(quick=False):
    """FTCS step: zzhpc (halo exchange + xp stencil) against PETSc DMDA ghost update + NumPy stencil."""
    cases = [([256, 256], 200)] if quick else [([1024, 1024], 200), ([128, 128, 128], 50)]
    rows = []
    for shape, steps in cases:
        for ranks in (1, 2):
            res = run_mpi_json(
                ranks,
                [sys.executable, "-m", "zzhpc.solvers.heat.cases", json.dumps({"shape": shape, "steps": steps})],
                timeout=900,
            )
            points = int(np.prod(shape))
            rows.append(
                {
                    "label": f"{'x'.join(map(str, shape))} on {ranks} rank(s)",
                    "peer": "PETSc DMDA",
                    "ratio": res["zzhpc_s_per_step"] / res["peer_s_per_step"],
                    "points": points,
                    "ranks": ranks,
                    "bytes_per_point_hwm": res["memory_hwm_mb_max"] * 2**20 * ranks / points,
                    **res,
                }
            )
    return rows


if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    _bench_worker(args["shape"], args["steps"])
