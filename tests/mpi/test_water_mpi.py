"""Water on 2 and 4 ranks: the same thermo as one rank (whole-molecule migration, multi-hop ghosts,
barostat moving the sub-domains, distributed PME), bitwise restart on the same ranks."""
import os
import tempfile

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.solvers.water.runner import run_inprocess, water_deck

pytestmark = pytest.mark.mpi(min_size=2)
KEYS = ("temp", "pe", "ke", "etotal", "press", "volume", "conserved")
SMALL = {"molecules": 125, "cutoff": 6.0, "skin": 1.0, "minimise_steps": 5, "plots": False}


def shared_dir():
    comm = MPI.COMM_WORLD
    return comm.bcast(tempfile.mkdtemp(prefix="water_mpi_") if comm.rank == 0 else None, root=0)


def test_npt_thermo_independent_of_rank_count():
    comm = MPI.COMM_WORLD
    work = shared_dir()
    deck = water_deck(dict(SMALL, ensemble="npt", pcouple_every=2, tau_p=200.0, sample_every=10),
                      {"steps": 20, "diag_every": 5})
    s, par = run_inprocess(deck, os.path.join(work, "par"), comm)
    _, ser = run_inprocess(deck, os.path.join(work, f"ser{comm.rank}"), MPI.COMM_SELF)
    assert len(par) == len(ser)
    for a, b in zip(par, ser):
        for k in KEYS:
            assert a[k] == pytest.approx(b[k], rel=1e-9), (k, a["step"])
    assert sum(s["results"]["molecules_per_rank"]) == 125
    assert s["results"]["constraint_error_A"] < 1e-10
    assert par[-1]["volume"] != par[0]["volume"]          # the barostat moved the box and the sub-domains


def test_restart_bitwise_on_same_ranks():
    comm = MPI.COMM_WORLD
    work = shared_dir()
    deck = water_deck(dict(SMALL, ensemble="npt", pcouple_every=3),
                      {"steps": 16, "diag_every": 4, "checkpoint_every": 8})
    _, full = run_inprocess(deck, os.path.join(work, "a"), comm)
    run_inprocess(dict(deck, run=dict(deck["run"], steps=8)), os.path.join(work, "b"), comm)
    _, cont = run_inprocess(dict(deck, run=dict(deck["run"], restart="auto")), os.path.join(work, "b"), comm)
    assert full[-1] == cont[-1]
    if comm.rank == 0:
        with h5py.File(os.path.join(work, "a/checkpoints/ckpt_0000000016.h5")) as fa, \
                h5py.File(os.path.join(work, "b/checkpoints/ckpt_0000000016.h5")) as fb:
            for k in ("x", "v", "id", "image"):
                assert np.array_equal(fa["state"][k][()], fb["state"][k][()])
    comm.Barrier()
