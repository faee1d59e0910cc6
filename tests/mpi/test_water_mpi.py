"""Water on 2 and 4 ranks: the same thermo as one rank (whole-molecule migration, multi-hop ghosts,
barostat moving the sub-domains, distributed PME), bitwise restart on the same ranks."""

import os
import tempfile

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.core.harness import run_deck
from zzhpc.solvers.water.cases_common import water_deck

pytestmark = pytest.mark.mpi(min_size=2)
KEYS = ("temp", "pe", "ke", "etotal", "press", "volume", "conserved")
SMALL = {"molecules": 125, "cutoff": 6.0, "skin": 1.0, "minimise_steps": 5, "plots": False}


def shared_dir():
    comm = MPI.COMM_WORLD
    return comm.bcast(tempfile.mkdtemp(prefix="water_mpi_") if comm.rank == 0 else None, root=0)


def test_npt_thermo_independent_of_rank_count():
    comm = MPI.COMM_WORLD
    work = shared_dir()
    deck = water_deck(
        dict(SMALL, ensemble="npt", pcouple_every=2, tau_p=200.0, sample_every=10), {"steps": 20, "diag_every": 5}
    )
    s, par = run_deck(deck, os.path.join(work, "par"), comm)
    _, ser = run_deck(deck, os.path.join(work, f"ser{comm.rank}"), MPI.COMM_SELF)
    assert len(par) == len(ser)
    for a, b in zip(par, ser):
        for k in KEYS:
            assert a[k] == pytest.approx(b[k], rel=1e-9), (k, a["step"])
    assert sum(s["results"]["molecules_per_rank"]) == 125
    assert s["results"]["constraint_error_A"] < 1e-10
    assert par[-1]["volume"] != par[0]["volume"]  # the barostat moved the box and the sub-domains


def test_restart_bitwise_on_same_ranks():
    comm = MPI.COMM_WORLD
    work = shared_dir()
    deck = water_deck(
        dict(SMALL, ensemble="npt", pcouple_every=3), {"steps": 16, "diag_every": 4, "checkpoint_every": 8}
    )
    _, full = run_deck(deck, os.path.join(work, "a"), comm)
    run_deck(dict(deck, run=dict(deck["run"], steps=8)), os.path.join(work, "b"), comm)
    _, cont = run_deck(dict(deck, run=dict(deck["run"], restart="auto")), os.path.join(work, "b"), comm)
    assert full[-1] == cont[-1]
    if comm.rank == 0:
        with (
            h5py.File(os.path.join(work, "a/checkpoints/ckpt_0000000016.h5")) as fa,
            h5py.File(os.path.join(work, "b/checkpoints/ckpt_0000000016.h5")) as fb,
        ):
            for k in ("x", "v", "id", "image"):
                assert np.array_equal(fa["state"][k][()], fb["state"][k][()])
    comm.Barrier()


def test_restart_on_another_rank_count_continues_the_run():
    """A checkpoint of P ranks restarts on 1 rank, and one of 1 rank on P ranks: molecules re-decomposed,
    lists rebuilt; the thermo follows the uninterrupted run (not bitwise: new summation order)."""
    comm = MPI.COMM_WORLD
    work = shared_dir()
    deck = water_deck(
        dict(SMALL, ensemble="npt", pcouple_every=3, sample_every=4),
        {"steps": 16, "diag_every": 4, "checkpoint_every": 8},
    )
    ck = os.path.join("checkpoints", "ckpt_0000000008.h5")
    s_par, full = run_deck(deck, os.path.join(work, "par"), comm)
    if comm.rank == 0:  # P ranks -> 1 rank, and a 1-rank run to restart on P ranks
        s1, cont1 = run_deck(
            dict(deck, run=dict(deck["run"], restart=os.path.join(work, "par", ck))),
            os.path.join(work, "one"),
            MPI.COMM_SELF,
        )
        run_deck(deck, os.path.join(work, "ser"), MPI.COMM_SELF)
    comm.Barrier()
    s2, cont2 = run_deck(
        dict(deck, run=dict(deck["run"], restart=os.path.join(work, "ser", ck))), os.path.join(work, "many"), comm
    )
    assert s2["restarted_from"] and sum(s2["results"]["molecules_per_rank"]) == 125
    for cont, s in ([(cont1, s1)] if comm.rank == 0 else []) + [(cont2, s2)]:
        assert [r["step"] for r in cont] == [r["step"] for r in full if r["step"] > 8]
        for a, b in zip(cont, full[-len(cont) :]):
            for k in KEYS:
                assert a[k] == pytest.approx(b[k], rel=1e-9), (k, a["step"])
        assert s["results"]["analysis"]["rdf_frames"] == s_par["results"]["analysis"]["rdf_frames"]
        assert s["results"]["constraint_error_A"] < 1e-10


def test_mixed_precision_independent_of_rank_count_and_restarts_bitwise():
    """backend.precision = "mixed" on P ranks: the thermo of one rank to float32 rounding (the pair terms do
    not depend on the decomposition, but the float32 distributed FFT rounds differently on a split grid:
    1.2e-8 relative in the potential energy at step 0 on 2 ranks), and a bitwise restart."""
    comm = MPI.COMM_WORLD
    work = shared_dir()
    deck = water_deck(
        dict(SMALL, ensemble="npt", pcouple_every=2, tau_p=200.0),
        {"steps": 16, "diag_every": 4, "checkpoint_every": 8},
        backend={"precision": "mixed"},
    )
    s, par = run_deck(deck, os.path.join(work, "par"), comm)
    _, ser = run_deck(deck, os.path.join(work, f"ser{comm.rank}"), MPI.COMM_SELF)
    assert s["precision"] == "mixed"
    for a, b in zip(par, ser):
        for k in KEYS:
            assert a[k] == pytest.approx(b[k], rel=1e-5), (k, a["step"])  # pressure: 1e-6 at step 16
    run_deck(dict(deck, run=dict(deck["run"], steps=8)), os.path.join(work, "b"), comm)
    _, cont = run_deck(dict(deck, run=dict(deck["run"], restart="auto")), os.path.join(work, "b"), comm)
    assert par[-1] == cont[-1]
