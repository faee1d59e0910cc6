"""Folding on several ranks: every walker's trajectory, the exchanges and Tf equal the one-rank run."""

import os
import shutil
import tempfile

import zzhpc.io  # noqa: F401,I001  (sets H5PY_ALWAYS_USE_MPI before h5py is first imported)
import h5py
import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.core.deck import resolve
from zzhpc.core.run import run


def deck(out, replicas):
    return {
        "solver": "folding",
        "run": {
            "steps": 300,
            "dt": 0.002,
            "seed": 21,
            "diag_every": 100,
            "progress_every": 1e9,
            "checkpoint_every": 150,
        },
        "folding": {
            "structure": "villin_hp35.pdb",
            "chain": "A",
            "replicas": replicas,
            "t_min": 0.9,
            "t_max": 1.3,
            "exchange_every": 30,
            "sample_every": 10,
            "batch": 2,
            "trajectory_every": 100,
            "trajectory_replicas": [replicas - 1],
        },
        "output": {"dir": out, "fields": True},
    }


def go(d, comm):
    cls, cfg = resolve(d, comm.Get_size())
    return run(cls, cfg, comm, quiet=True, install_signals=False)


def read(path):
    with h5py.File(os.path.join(path, "timeseries.h5"), "r") as f:
        return {k: f[k][...] for k in ("energy", "q", "rmsd", "rg", "rung", "kinetic")}


@pytest.mark.mpi(min_size=2)
def test_walkers_independent_of_rank_count():
    comm = MPI.COMM_WORLD
    tmp = comm.bcast(tempfile.mkdtemp() if comm.rank == 0 else None, root=0)
    n_rep = 2 * comm.size + 1  # uneven blocks
    par = go(deck(os.path.join(tmp, "par"), n_rep), comm)
    ref = None
    if comm.rank == 0:
        ref = go(deck(os.path.join(tmp, "ser"), n_rep), MPI.COMM_SELF)
    comm.Barrier()
    ok = True
    if comm.rank == 0:
        a, b = read(os.path.join(tmp, "par")), read(os.path.join(tmp, "ser"))
        ok = all(np.array_equal(a[k], b[k]) for k in a)
        ok = ok and "tf" in par["results"] and par["results"]["tf"] == ref["results"]["tf"]
        ok = ok and par["results"]["acceptance"] == ref["results"]["acceptance"]
        with (
            open(os.path.join(tmp, "par", f"traj_{n_rep - 1}.dcd"), "rb") as f1,
            open(os.path.join(tmp, "ser", f"traj_{n_rep - 1}.dcd"), "rb") as f2,
        ):
            ok = ok and f1.read()[260:] == f2.read()[260:]
    ok = comm.bcast(ok, root=0)
    if comm.rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    assert ok


@pytest.mark.mpi(min_size=2)
def test_restart_on_another_rank_count():
    """A checkpoint written by all ranks continues on a sub-communicator of one rank fewer, bitwise."""
    comm = MPI.COMM_WORLD
    tmp = comm.bcast(tempfile.mkdtemp() if comm.rank == 0 else None, root=0)
    d = deck(os.path.join(tmp, "a"), 5)
    go(d, comm)
    sub = comm.Split(0 if comm.rank < comm.size - 1 else MPI.UNDEFINED, comm.rank)
    ok = True
    if sub != MPI.COMM_NULL:
        d2 = deck(os.path.join(tmp, "b"), 5)
        d2["run"]["restart"] = os.path.join(tmp, "a", "checkpoints", "ckpt_0000000150.h5")
        go(d2, sub)
        if sub.rank == 0:
            a, b = read(os.path.join(tmp, "a")), read(os.path.join(tmp, "b"))
            ok = all(np.array_equal(a[k], b[k]) for k in a)
        sub.Free()
    ok = comm.bcast(ok, root=0)
    comm.Barrier()
    if comm.rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    assert ok
