"""LJ MD in mixed precision on P ranks: the same thermo as on one rank."""

import os
import tempfile

import pytest
from mpi4py import MPI

from zzhpc.core.harness import run_deck as run_inprocess
from zzhpc.solvers.md.cases_common import md_deck

pytestmark = pytest.mark.mpi(min_size=2)


def test_lj_mixed_independent_of_rank_count():
    comm = MPI.COMM_WORLD
    work = comm.bcast(tempfile.mkdtemp(prefix="md_mixed_") if comm.rank == 0 else None, root=0)
    deck = md_deck(run={"steps": 50, "diag_every": 10}, backend={"precision": "mixed"})
    s, par = run_inprocess(deck, os.path.join(work, "par"), comm)
    _, ser = run_inprocess(deck, os.path.join(work, f"ser{comm.rank}"), MPI.COMM_SELF)
    assert s["precision"] == "mixed" and len(par) == len(ser)
    for a, b in zip(par, ser):
        for k in ("pe", "ke", "etotal", "press"):
            assert a[k] == pytest.approx(b[k], rel=1e-9), (k, a["step"])
