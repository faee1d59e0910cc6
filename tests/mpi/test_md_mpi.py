"""MD on 2 and 4 ranks: same thermo as one rank (ghosts, migration, multi-hop ghosts, reverse comm),
atom conservation, bitwise restart."""

import os
import tempfile

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.core.harness import run_deck
from zzhpc.solvers.md.cases_common import md_deck

pytestmark = pytest.mark.mpi(min_size=2)
KEYS = ("temp", "pe", "ke", "etotal", "press")


def shared_dir():
    comm = MPI.COMM_WORLD
    return comm.bcast(tempfile.mkdtemp(prefix="md_mpi_") if comm.rank == 0 else None, root=0)


def compare(deck, keys=KEYS, tol=1e-10):
    """Run ``deck`` on all ranks and on each rank alone; thermo rows agree to ``tol`` (also used by
    test_md_sw_mpi.py)."""
    comm = MPI.COMM_WORLD
    work = shared_dir()
    s, par = run_deck(deck, os.path.join(work, "par"), comm)
    serial = {k: v for k, v in deck.items() if k != "parallel"}
    _, ser = run_deck(serial, os.path.join(work, f"ser{comm.rank}"), MPI.COMM_SELF)
    assert len(par) == len(ser)
    for a, b in zip(par, ser):
        for k in keys:
            assert a[k] == pytest.approx(b[k], rel=tol), (k, a["step"])
    return s


def test_thermo_independent_of_rank_count():
    s = compare(md_deck({"cells": [5, 5, 5]}, {"steps": 60, "diag_every": 20}))
    assert sum(s["results"]["atoms_per_rank"]) == 500


def test_thin_subdomains_need_several_ghost_hops():
    # 3x3x3 fcc cells = 5.04 sigma; split along x only, each slab is thinner than cutoff + skin.
    size = MPI.COMM_WORLD.Get_size()
    deck = md_deck(
        {"cells": [3, 3, 3], "pair_shift": True}, {"steps": 40, "diag_every": 10}, parallel={"dims": [size, 1, 1]}
    )
    s = compare(deck)
    assert s["results"]["ghosts_total"] > 0


def test_langevin_and_full_lists_independent_of_rank_count():
    compare(
        md_deck(
            {"cells": [4, 4, 4], "integrator": "langevin", "t_target": 1.0, "newton": False},
            {"steps": 30, "diag_every": 10},
        )
    )


def test_restart_bitwise_on_same_ranks():
    comm = MPI.COMM_WORLD
    work = shared_dir()
    deck = md_deck({"cells": [4, 4, 4]}, {"steps": 30, "diag_every": 10, "checkpoint_every": 15})
    _, full = run_deck(deck, os.path.join(work, "a"), comm)
    run_deck(dict(deck, run=dict(deck["run"], steps=15)), os.path.join(work, "b"), comm)
    _, cont = run_deck(dict(deck, run=dict(deck["run"], restart="auto")), os.path.join(work, "b"), comm)
    assert full[-1] == cont[-1]
    if comm.rank == 0:
        with (
            h5py.File(os.path.join(work, "a/checkpoints/ckpt_0000000030.h5")) as fa,
            h5py.File(os.path.join(work, "b/checkpoints/ckpt_0000000030.h5")) as fb,
        ):
            for k in ("x", "v", "id"):
                assert np.array_equal(fa["state"][k][()], fb["state"][k][()])
    comm.Barrier()


def slab_data(path, comm):
    """fcc slab filling the lower half of a box twice as tall (liquid-slab-in-vacuum geometry)."""
    from zzhpc.solvers.md.datafile import write_data
    from zzhpc.solvers.md.lattice import lattice_constant, lattice_sites

    if comm.rank == 0:
        a = lattice_constant("fcc", 0.8442)
        ids, x = lattice_sites("fcc", a, [4, 4, 4], [0, 0, 0], [4 * a] * 3)
        write_data(
            path,
            {
                "id": ids,
                "type": np.ones(len(ids), int),
                "x": x,
                "image": np.zeros((len(ids), 3), int),
                "ntypes": 1,
                "box_lo": [0.0] * 3,
                "box_hi": [4 * a, 4 * a, 8 * a],
                "masses": [1.0],
            },
        )
    comm.Barrier()


def test_load_balancing_evens_out_a_slab():
    comm = MPI.COMM_WORLD
    size = comm.Get_size()
    work = shared_dir()
    data = os.path.join(work, "slab.data")
    slab_data(data, comm)
    deck = md_deck(
        {"data_file": data, "temperature": 1.0, "balance_every": 20},
        {"steps": 40, "diag_every": 10},
        parallel={"dims": [1, 1, size]},
    )
    s = compare(deck)
    first = s["results"]["balance"][0]
    assert first["before"] == pytest.approx(2.0, rel=0.02)  # all atoms in the lower half of the ranks
    assert first["after"] < 1.1
    assert s["results"]["imbalance"] < 1.2


@pytest.mark.parametrize("kind", ["lj_svr", "mw_npt"])
def test_restart_on_another_rank_count_continues_the_run(kind):
    """A checkpoint of P ranks restarts on 1 rank and one of 1 rank on P ranks (atoms re-decomposed, list
    rebuilt); the thermo follows the uninterrupted run (not bitwise: new summation order)."""
    from zzhpc.solvers.md.cases_mw import mw_deck

    comm = MPI.COMM_WORLD
    work = shared_dir()
    run = {"steps": 20, "diag_every": 5, "checkpoint_every": 10}
    if kind == "lj_svr":
        deck = md_deck({"cells": [4, 4, 4], "integrator": "svr", "t_target": 1.2, "damp": 0.5}, run)
        keys = KEYS
    else:
        deck = mw_deck(
            {
                "cells": [6, 6, 6],
                "integrator": "svr",
                "t_target": 298.0,
                "damp": 100.0,
                "barostat": "c-rescale",
                "p_target": 1.0,
                "p_damp": 300.0,
                "p_every": 3,
            },
            run,
        )
        keys = ("temp", "pe", "ke", "etotal", "press", "density")
    ck = os.path.join("checkpoints", "ckpt_0000000010.h5")
    _, full = run_deck(deck, os.path.join(work, "par"), comm)
    runs = []
    if comm.rank == 0:
        runs.append(
            run_deck(
                dict(deck, run=dict(deck["run"], restart=os.path.join(work, "par", ck))),
                os.path.join(work, "one"),
                MPI.COMM_SELF,
            )
        )
        run_deck(deck, os.path.join(work, "ser"), MPI.COMM_SELF)
    comm.Barrier()
    runs.append(
        run_deck(
            dict(deck, run=dict(deck["run"], restart=os.path.join(work, "ser", ck))), os.path.join(work, "many"), comm
        )
    )
    for s, cont in runs:
        assert s["restarted_from"] and sum(s["results"]["atoms_per_rank"]) == s["results"]["natoms"]
        assert [r["step"] for r in cont] == [r["step"] for r in full if r["step"] > 10]
        for a, b in zip(cont, full[-len(cont) :]):
            for k in keys:
                assert a[k] == pytest.approx(b[k], rel=1e-9), (k, a["step"])
    if kind == "mw_npt":
        assert full[-1]["density"] != full[0]["density"]  # the barostat moved the box
