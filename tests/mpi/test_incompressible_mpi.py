"""The incompressible solver on 2 and 4 ranks (PETSc DMDA decomposition) against the same run on one rank.

All ranks run the decomposed case on COMM_WORLD; rank 0 runs the serial reference on COMM_SELF.
"""

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.solvers.incompressible.validation import run_deck

comm = MPI.COMM_WORLD


def _profiles(s):
    r = s["results"]
    return np.array(r["u_vertical_centreline"]["u"]), np.array(r["v_horizontal_centreline"]["v"])


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize(
    "params, steps",
    [
        ({"shape": [24, 20], "reynolds": 100.0}, 30),
        ({"shape": [12, 10, 8], "reynolds": 100.0, "wall_velocity": [1.0, 0.0, 0.0]}, 8),
        (
            {
                "shape": [8, 16],
                "periodic": [True, False],
                "reynolds": 1.0,
                "moving_wall": "none",
                "body_force": [8.0, 0.0],
            },
            30,
        ),
        ({"shape": [24, 8], "lengths": [3.0, 1.0], "reynolds": 20.0, "inflow": "x_lo", "outflow": "x_hi"}, 30),
        (
            {
                "shape": [12, 8, 6],
                "lengths": [2.0, 1.0, 1.0],
                "periodic": [False, False, True],
                "reynolds": 10.0,
                "inflow": "x_lo",
                "outflow": "x_hi",
                "inflow_profile": "parabolic",
            },
            10,
        ),
        (
            {"shape": [10, 8, 6], "reynolds": 50.0, "inflow": "y_hi", "outflow": "x_hi", "inflow_profile": "parabolic"},
            10,
        ),
    ],
)
def test_ranks_agree_to_ksp_tolerance(params, steps):
    par = run_deck(params, steps=steps, comm=comm)
    ser = run_deck(params, steps=steps, comm=MPI.COMM_SELF) if comm.Get_rank() == 0 else None
    ser = comm.bcast(ser, root=0)
    assert np.prod(par["results"]["process_grid"]) == comm.Get_size()
    for a, b in zip(_profiles(par), _profiles(ser)):
        assert np.max(np.abs(a - b)) < 1e-8
    assert par["results"]["max_divergence"] < 1e-9
    assert abs(par["diagnostics"]["kinetic_energy"] - ser["diagnostics"]["kinetic_energy"]) < 1e-9


@pytest.mark.mpi(min_size=2)
def test_process_grid_from_deck_and_checkpoint_on_other_rank_count(tmp_path_factory):
    path = comm.bcast(str(tmp_path_factory.mktemp("inc")) if comm.Get_rank() == 0 else None, root=0)
    params = {"shape": [16, 12], "reynolds": 100.0}
    from zzhpc.core.deck import resolve
    from zzhpc.core.run import run

    deck = {
        "solver": "incompressible",
        "run": {"steps": 10, "progress_every": 1e9},
        "parallel": {"dims": [1, comm.Get_size()]},
        "incompressible": dict(params, plot=False),
        "output": {"dir": path, "fields": True},
    }
    cls, cfg = resolve(deck, comm.Get_size())
    s = run(cls, cfg, comm, quiet=True, install_signals=False)
    assert s["results"]["process_grid"] == [1, comm.Get_size()]
    ckpt = s["outputs"]["checkpoint"]
    # Restart the 10-step checkpoint on one rank and continue to 20 steps; compare with 20 on all ranks.
    ref = run_deck(params, steps=20, comm=comm)
    if comm.Get_rank() == 0:
        deck1 = {
            "solver": "incompressible",
            "run": {"steps": 20, "progress_every": 1e9, "restart": ckpt},
            "incompressible": dict(params, plot=False),
            "output": {"dir": path + "/serial", "fields": False},
        }
        cls, cfg = resolve(deck1, 1)
        s1 = run(cls, cfg, MPI.COMM_SELF, quiet=True, install_signals=False)
        assert s1["steps"] == 20 and s1["restarted_from"] == ckpt
        for a, b in zip(_profiles(s1), _profiles(ref)):
            assert np.max(np.abs(a - b)) < 1e-8
    comm.Barrier()


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("dims", ["streamwise", "any"])
def test_channel_inflow_outflow_ranks_agree(dims, tmp_path_factory):
    """A parabolic-inflow channel to its steady state, decomposed along the channel (inflow and outflow
    faces on different ranks) or as PETSc decides: the development, the fluxes and the profile equal the
    one-rank run to the KSP tolerance."""
    from zzhpc.core.deck import resolve
    from zzhpc.core.run import run

    params = {
        "shape": [48, 8],
        "lengths": [6.0, 1.0],
        "reynolds": 20.0,
        "inflow": "x_lo",
        "outflow": "x_hi",
        "inflow_profile": "uniform",
        "steady_tol": 1e-6,
        "plot": False,
    }
    path = comm.bcast(str(tmp_path_factory.mktemp("chan")) if comm.Get_rank() == 0 else None, root=0)
    deck = {
        "solver": "incompressible",
        "run": {"t_end": 100.0, "progress_every": 1e9},
        "incompressible": params,
        "parallel": {"dims": [comm.Get_size(), 1] if dims == "streamwise" else [0, 0]},
        "output": {"dir": path, "fields": False},
    }
    cls, cfg = resolve(deck, comm.Get_size())
    par = run(cls, cfg, comm, quiet=True, install_signals=False)
    ser = run_deck(params, t_end=100.0, comm=MPI.COMM_SELF) if comm.Get_rank() == 0 else None
    ser = comm.bcast(ser, root=0)
    rp, rs = par["results"], ser["results"]
    if dims == "streamwise":
        assert rp["process_grid"] == [comm.Get_size(), 1]
    assert par["steps"] == ser["steps"] and rp["steady"]
    for key in ("max_deviation_from_poiseuille", "flux"):
        assert np.max(np.abs(np.subtract(rp["channel"][key], rs["channel"][key]))) < 1e-8
    for a, b in zip(_profiles(par), _profiles(ser)):
        assert np.max(np.abs(a - b)) < 1e-8
    assert abs(rp["mass_flux"]["outflow"] - rs["mass_flux"]["outflow"]) < 1e-10
    assert rp["mass_flux"]["relative_imbalance"] < 1e-10 and rp["max_divergence"] < 1e-9
