"""mW (Stillinger-Weber) on 2 and 4 ranks: three-body forces on ghosts summed back to their owners, thermo
and the c-rescale barostat's box changes independent of the rank count."""

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.solvers.md.cases_common import make_solver
from zzhpc.solvers.md.cases_mw import mw_deck
from test_md_mpi import compare  # the same serial-vs-parallel comparison

pytestmark = pytest.mark.mpi(min_size=2)
KEYS = ("temp", "pe", "ke", "etotal", "press")


def forces_by_id(s):
    be = s.backend
    ids = be.to_host(s.ids)
    f = np.zeros((s.natoms, 3))
    f[ids - 1] = be.to_host(s.f)[: s.nlocal]
    return s.comm.allreduce(f)


@pytest.mark.parametrize("dims", [None, "slabs"])
def test_forces_on_every_atom_match_one_rank(dims):
    # Slabs along x are thinner than cutoff + skin (6.3 A) at 4 ranks: ghosts come over several hops.
    comm = MPI.COMM_WORLD
    par = {"parallel": {"dims": [comm.size, 1, 1]}} if dims else {}
    deck = mw_deck({"cells": [5, 5, 5]}, {"steps": 1}, **par)
    shift = np.random.default_rng(9).normal(scale=0.3, size=(125, 3))  # per atom id, same everywhere
    s = make_solver(deck, comm)
    one = make_solver({k: v for k, v in deck.items() if k != "parallel"}, MPI.COMM_SELF)
    for solver in (s, one):
        be = solver.backend
        solver.x = be.asarray(be.to_host(solver.x)[: solver.nlocal] + shift[be.to_host(solver.ids) - 1])
        solver._rebuild()
        solver._forces()
    fp, f1 = forces_by_id(s), forces_by_id(one)
    assert np.abs(f1).max() > 5.0
    assert np.abs(fp - f1).max() < 1e-11 * np.abs(f1).max()
    e = comm.allreduce(float(s.energy))
    assert e == pytest.approx(float(one.energy), rel=1e-12)
    assert comm.allreduce(float(s.virial)) == pytest.approx(float(one.virial), rel=1e-12)
    if dims:
        assert max(s.domain.need) >= 2 or comm.size == 2


def test_nve_thermo_independent_of_rank_count():
    s = compare(mw_deck({"cells": [6, 6, 6]}, {"steps": 40, "diag_every": 10}))
    assert sum(s["results"]["atoms_per_rank"]) == 216


def test_npt_barostat_independent_of_rank_count():
    deck = mw_deck(
        {
            "cells": [6, 6, 6],
            "integrator": "svr",
            "t_target": 298.0,
            "damp": 100.0,
            "barostat": "c-rescale",
            "p_target": 1.0,
            "p_damp": 300.0,
            "p_every": 5,
        },
        {"steps": 40, "diag_every": 10},
    )
    compare(deck, KEYS + ("density", "volume"), tol=1e-9)
