"""Decks and initialised solvers shared by the md cases (:mod:`.cases`, :mod:`.cases_mw`) and the tests."""

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
