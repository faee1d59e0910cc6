"""Water from a .gro box (``water.initial``) on 2 and 4 ranks: the molecules of the file are distributed as
the builder's are (by the sub-domain of their oxygen), and the NPT thermo is the one-rank run's."""

import os
import tempfile

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.core.harness import run_deck
from zzhpc.particles.formats import Frame, write_gro
from zzhpc.solvers.water.builder import water_box
from zzhpc.solvers.water.cases_common import water_deck

pytestmark = pytest.mark.mpi(min_size=2)
KEYS = ("temp", "pe", "ke", "etotal", "press", "volume", "conserved")


def test_gro_start_thermo_independent_of_rank_count():
    comm = MPI.COMM_WORLD
    work = comm.bcast(tempfile.mkdtemp(prefix="water_gro_mpi_") if comm.rank == 0 else None, root=0)
    path = os.path.join(work, "box.gro")
    if comm.rank == 0:
        # The builder's box in a longer cell along z (orthorhombic, not cubic), written in nm.
        x, (L, _, _) = water_box(125, "spce", 0.997, seed=4)
        names = ["OW", "HW1", "HW2"] * 125
        write_gro(
            path,
            Frame(
                positions=0.1 * x,
                box=0.1 * np.array([L, L, 1.2 * L]),
                names=names,
                resnames=["SOL"] * 375,
                resids=np.arange(375) // 3 + 1,
            ),
        )
    comm.Barrier()
    w = {
        "initial": path,
        "cutoff": 6.0,
        "skin": 1.0,
        "minimise_steps": 5,
        "plots": False,
        "ensemble": "npt",
        "pcouple_every": 2,
        "tau_p": 200.0,
        "molecules": None,
    }
    deck = water_deck(w, {"steps": 20, "diag_every": 5})
    s, par = run_deck(deck, os.path.join(work, "par"), comm)
    _, ser = run_deck(deck, os.path.join(work, f"ser{comm.rank}"), MPI.COMM_SELF)
    assert len(par) == len(ser) == 5
    for a, b in zip(par, ser):
        for k in KEYS:
            assert a[k] == pytest.approx(b[k], rel=1e-9), (k, a["step"])
    res = s["results"]
    assert sum(res["molecules_per_rank"]) == 125 and min(res["molecules_per_rank"]) > 0
    assert res["constraint_error_A"] < 1e-10 and res["initial"]["source"] == path
