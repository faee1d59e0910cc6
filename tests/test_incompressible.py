"""Serial tests of the incompressible solver (real PETSc, real HDF5, in-process on COMM_SELF).

PETSc-based: runs on backend numpy only (PETSc Vecs are host memory), so there is no torch comparison;
a non-numpy backend is refused with a ConfigError (tested).
"""

import json
import math
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.core.deck import resolve
from zzhpc.core.run import run
from zzhpc.errors import ConfigError, SimulationError
from zzhpc.solvers.incompressible.ghia import deviations, ghia
from zzhpc.solvers.incompressible.validation import run_deck

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _deck(params, **run_keys):
    return {
        "solver": "incompressible",
        "run": dict({"steps": 5, "progress_every": 1e9}, **run_keys),
        "incompressible": params,
        "output": {"fields": False},
    }


@pytest.mark.parametrize(
    "params, extra, key",
    [
        ({"shape": [16, 16]}, {"backend": {"name": "torch"}}, "backend.name"),
        ({"shape": [16, 16], "lengths": [1.0, 1.0, 1.0]}, {}, "incompressible.lengths"),
        ({"shape": [16, 16], "periodic": [False, True]}, {}, "incompressible.moving_wall"),
        ({"shape": [16, 16], "wall_velocity": [0.0, 1.0]}, {}, "incompressible.wall_velocity"),
        (
            {"shape": [16, 16, 16], "moving_wall": "z_hi", "wall_velocity": [1.0, 0.0, 0.0]},
            {"parallel": {"dims": [2, 1]}},
            "parallel.dims",
        ),
        ({"shape": [2, 16]}, {}, "incompressible.shape[0]"),
    ],
)
def test_bad_decks_name_the_key(params, extra, key):
    deck = dict(_deck(params), **extra)
    with pytest.raises(ConfigError) as exc:
        resolve(deck, 1)
    assert key in str(exc.value)


def test_bad_petsc_options_string():
    from zzhpc.solvers.incompressible.linear import Options

    with pytest.raises(ConfigError, match="incompressible.petsc_options"):
        Options("ksp_type cg")


def _solver(params, comm=MPI.COMM_SELF):
    cls, cfg = resolve(_deck(params), comm.Get_size())
    from zzhpc.core.solver import RunContext
    from zzhpc.device import get_backend
    from zzhpc.parallel import PhaseTimers

    ctx = RunContext(comm=comm, backend=get_backend("numpy", "local-rank", comm=comm), timers=PhaseTimers())
    return cls(ctx, cfg)


@pytest.mark.parametrize(
    "params",
    [
        {"shape": [9, 7], "lengths": [1.0, 0.7]},
        {"shape": [6, 5, 4], "periodic": [True, False, True], "moving_wall": "y_hi", "wall_velocity": [1.0, 0.0, 0.5]},
        {"shape": [9, 6], "lengths": [2.0, 1.0], "inflow": "x_lo", "outflow": "x_hi", "inflow_profile": "parabolic"},
        {"shape": [5, 6, 4], "inflow": "y_hi", "outflow": "x_hi"},
        {"shape": [6, 5, 4], "periodic": [False, False, True], "inflow": "x_lo", "outflow": "y_hi"},
    ],
)
def test_assembled_matrices_match_the_stencils(params):
    """PETSc's assembled operators equal the vectorised stencils with ghosts from the boundary conditions."""
    from zzhpc.solvers.incompressible import operators as ops

    s = _solver(params)
    g, bc = s.grid, s.bc
    rng = np.random.default_rng(1)
    x, y = g.global_vec(), g.global_vec()
    # Pressure: A phi = -div(grad phi) with zero flux through walls and inflow, phi = 0 on an outflow face.
    g.owned(x)[...] = rng.standard_normal(g.local_shape)
    g.touch(x)
    s.pressure.mat.mult(x, y)
    phi = bc.pressure_ghosts(g.ghosted(x, s.LP))
    flux = []
    for a in range(g.nd):
        fv = g.global_vec()
        g.owned(fv)[...] = ops.gradient(g, phi, a) * ~bc.fixed_mask(a)
        g.touch(fv)
        flux.append(bc.velocity_ghosts(g.ghosted(fv, g.local_vec()), a, homogeneous=True).copy())
    np.testing.assert_allclose(g.owned(y), -ops.divergence(g, flux), atol=1e-10)
    # Momentum: (I - alpha lap) u on free faces, identity on fixed faces (homogeneous boundary values).
    alpha = 0.5 * s.nu * s.dt
    for a in range(g.nd):
        u = rng.standard_normal(g.local_shape) * ~bc.fixed_mask(a)
        g.owned(x)[...] = u
        g.touch(x)
        s.momentum[a].mat.mult(x, y)
        ug = bc.velocity_ghosts(g.ghosted(x, s.LU[a]), a, homogeneous=True)
        want = np.where(bc.fixed_mask(a), u, u - alpha * ops.laplacian(g, ug))
        np.testing.assert_allclose(g.owned(y), want, atol=1e-10)
        sym = s.momentum[a].mat.isSymmetric(1e-12)
        assert sym
    assert s.pressure.mat.isSymmetric(1e-12)
    assert (s.pressure.nullspace is None) == (bc.outflow is not None)
    s.options.close()


def test_poiseuille_second_order():
    from zzhpc.solvers.incompressible.cases import poiseuille_errors

    errs = poiseuille_errors([8, 16, 32])
    orders = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert all(abs(o - 2.0) < 0.05 for o in orders), (errs, orders)
    assert errs[-1] < 2e-3


def test_cavity_re100_quick_against_ghia_and_stops_at_steady_state():
    s = run_deck({"shape": [32, 32], "reynolds": 100.0, "steady_tol": 1e-6}, t_end=500.0)
    r = s["results"]
    assert s["status"] == "done" and r["steady"] and r["du_dt"] < 1e-6
    assert s["time"] < 100.0  # stopped by finished(), long before t_end
    dev = deviations(r, 100)
    assert dev["max"] < 0.015, dev
    assert r["max_divergence"] < 1e-9
    ks = r["ksp"]["pressure"]
    assert ks["solves"] == s["steps"] and ks["iterations_max"] > 0 and ks["pc_type"] == "gamg"


def test_ghia_tables_are_packaged():
    for re in (100, 400, 1000):
        t = ghia(re)
        assert len(t["y"]) == 17 and t["u"][0] == 1.0 and t["v"][-1] == 0.0
    assert ghia(1000)["u"][11] == pytest.approx(-0.38289)


def test_cavity3d_divergence_free():
    s = run_deck({"shape": [10, 12, 8], "reynolds": 100.0, "wall_velocity": [1.0, 0.0, 0.0]}, steps=15)
    r = s["results"]
    assert r["max_divergence"] < 1e-9
    assert s["diagnostics"]["max_div"] < 1e-9
    assert min(r["u_vertical_centreline"]["u"]) < -1e-3  # return flow under the lid


def test_ksp_failure_names_the_step():
    with pytest.raises(SimulationError, match=r"pressure solve .* did not converge at step 1: DIVERGED_MAX_IT"):
        run_deck({"shape": [16, 16], "petsc_options": "-ksp_max_it 1 -ksp_rtol 1e-12 -pc_type jacobi"}, steps=3)
    from petsc4py import PETSc

    assert not PETSc.Options().hasName("ksp_max_it")  # deck options do not leak into the next run


def _run_to(tmp, steps, restart=None, every=0):
    deck = _deck({"shape": [20, 16], "reynolds": 100.0}, steps=steps, checkpoint_every=every, restart=restart or "none")
    deck["output"] = {"dir": str(tmp), "fields": False}
    cls, cfg = resolve(deck, 1)
    return run(cls, cfg, MPI.COMM_SELF, quiet=True, install_signals=False)


def test_restart_is_bitwise(tmp_path):
    full = _run_to(tmp_path / "a", 20)
    _run_to(tmp_path / "b", 10)
    ck = str(tmp_path / "b" / "checkpoints" / "ckpt_0000000010.h5")
    again = _run_to(tmp_path / "b", 20, restart=ck)
    assert again["restarted_from"] == ck and again["steps"] == 20
    assert again["results"]["u_vertical_centreline"]["u"] == full["results"]["u_vertical_centreline"]["u"]
    assert again["results"]["v_horizontal_centreline"]["v"] == full["results"]["v_horizontal_centreline"]["v"]


@pytest.mark.slow
def test_cli_outputs_and_petsc_options_env(tmp_path):
    """The example deck through the CLI: HDF5 + XDMF fields, PNG, summary; PETSC_OPTIONS wins over the deck."""
    out = tmp_path / "ch"
    env = dict(os.environ, PETSC_OPTIONS="-pc_type jacobi")
    cmd = [
        sys.executable,
        "-m",
        "zzhpc",
        "run",
        os.path.join(ROOT, "examples", "channel.toml"),
        "-q",
        "-o",
        str(out),
        "--set",
        "incompressible.shape=[4,16]",
        "--set",
        "run.steps=30",
        "--set",
        "incompressible.petsc_options='-ksp_type cg -pc_type gamg'",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["results"]["ksp"]["pressure"]["pc_type"] == "jacobi"
    assert s["results"]["ksp"]["pressure"]["ksp_type"] == "cg"
    assert os.path.isfile(out / "flow.png") and os.path.isfile(out / "fields.xdmf")
    with h5py.File(out / s["outputs"]["fields"][-1], "r") as f:
        assert f["fields/velocity"].shape == (2, 16, 4)  # components (v, u), axes (y, x)
        assert f["fields/pressure"].shape == (16, 4)
        assert np.all(np.abs(f["fields/velocity"][0]) < 1e-12)  # channel: v = 0
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "zzhpc",
            "run",
            os.path.join(ROOT, "examples", "channel.toml"),
            "-q",
            "-o",
            str(tmp_path / "bad"),
            "--backend",
            "torch",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and "backend.name" in p.stderr


# Inflow / outflow ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, key, words",
    [
        ({"periodic": [True, False], "inflow": "x_lo", "outflow": "x_hi"}, "incompressible.inflow", "periodic"),
        ({"periodic": [False, True], "inflow": "x_lo", "outflow": "y_hi"}, "incompressible.outflow", "periodic"),
        ({"inflow": "x_hi", "outflow": "x_lo"}, "incompressible.outflow", "upper face"),
        ({"inflow": "x_lo"}, "incompressible.inflow", "needs an outflow face"),
        ({"inflow": "x_hi", "outflow": "x_hi"}, "incompressible.outflow", "already the inflow"),
        (
            {"moving_wall": "x_hi", "wall_velocity": [0.0, 1.0], "outflow": "x_hi"},
            "incompressible.outflow",
            "already the moving wall",
        ),
        ({"inflow": "z_lo", "outflow": "x_hi"}, "incompressible.inflow", "no such face in 2-D"),
        (
            {
                "shape": [8, 8, 8],
                "periodic": [False, True, True],
                "inflow": "x_lo",
                "outflow": "x_hi",
                "inflow_profile": "parabolic",
            },
            "incompressible.inflow_profile",
            "use 'uniform'",
        ),
    ],
)
def test_contradictory_boundaries_one_line_config_error(params, key, words):
    with pytest.raises(ConfigError) as exc:
        resolve(_deck(dict({"shape": [16, 8]}, **params)), 1)
    msg = str(exc.value)
    assert key in msg and words in msg and "\n" not in msg


def test_lid_default_depends_on_inflow_outflow():
    closed = _solver({"shape": [8, 8]})
    channel = _solver({"shape": [8, 8], "outflow": "x_hi"})
    assert closed.bc.wall_velocity == {(1, "hi"): [1.0, 0.0]} and closed.bc.singular
    assert channel.bc.wall_velocity == {} and not channel.bc.singular
    assert channel.bc.describe() == {"x_lo": "wall", "x_hi": "outflow", "y_lo": "wall", "y_hi": "wall"}
    closed.options.close()
    channel.options.close()


def test_poiseuille_inflow_stays_poiseuille_to_second_order():
    """Parabolic inflow (Re 10, channel 4 x 1): at every section down the channel and at the outlet the
    profile is the Poiseuille parabola to the discretisation error, which falls as h^2."""
    from zzhpc.solvers.incompressible.cases import channel

    devs = []
    for n in (8, 16):
        s = channel(n, "parabolic")
        r = s["results"]
        assert s["status"] == "done" and r["steady"]
        dev = r["channel"]["max_deviation_from_poiseuille"]
        assert len(dev) == 4 * n + 1 and max(dev) < 1.6 / n**2
        assert r["mass_flux"]["relative_imbalance"] < 1e-10
        assert np.ptp(r["channel"]["flux"]) < 1e-10  # the same flux through every section
        assert r["max_divergence"] < 1e-9
        devs.append(max(dev))
    assert math.log2(devs[0] / devs[1]) > 1.9, devs


def test_plug_inflow_develops_towards_poiseuille():
    from zzhpc.solvers.incompressible.cases import channel

    r = channel(16, "uniform", re=20.0, length=8.0)["results"]
    c = r["channel"]
    dev = np.array(c["max_deviation_from_poiseuille"])
    x = np.array(c["position"])
    assert dev[0] > 0.8  # plug: 1 against 1.5 on the centreline
    assert np.all(np.diff(dev) < 1e-6)  # the deviation only falls downstream
    assert dev[np.argmin(abs(x - 0.5))] > 0.1 > dev[np.argmin(abs(x - 1.0))]
    assert dev[-1] < 1.6 / 16**2  # developed to the discretisation error
    assert abs(c["flux"][-1] - 1.0) < 1e-10 and r["mass_flux"]["relative_imbalance"] < 1e-10
    y, u = (np.array(r["u_vertical_centreline"][k]) for k in "yu")  # x = L/2: u = 6 y (1 - y)
    assert np.max(np.abs(u - 6 * y * (1 - y))) < 1.6 / 16**2


@pytest.mark.parametrize(
    "params",
    [
        {
            "shape": [12, 6, 6],
            "lengths": [2.0, 1.0, 1.0],
            "inflow": "x_lo",
            "outflow": "x_hi",
            "inflow_profile": "parabolic",
        },
        {"shape": [10, 8], "reynolds": 50.0, "inflow": "y_hi", "outflow": "x_hi", "inflow_profile": "parabolic"},
        {"shape": [8, 6, 6], "periodic": [False, False, True], "inflow": "y_lo", "outflow": "y_hi"},
    ],
)
def test_inflow_outflow_conserves_mass_2d_3d(params):
    """Any inflow face (lower: a ghost; upper: fixed faces) and an outflow face, 2-D and 3-D: after a
    transient of 12 steps the flux out equals the flux in and div u is at the KSP tolerance."""
    fresh = _solver(dict({"reynolds": 20.0}, **params))
    fresh.initialise()  # the potential flow of the inflow: divergence-free at t = 0
    assert fresh.max_divergence() < 1e-6 and fresh.pressure.solves == 1  # from |div u| ~ U/h ~ 10
    fresh.options.close()
    s = run_deck(dict({"reynolds": 20.0}, **params), steps=12)
    r = s["results"]
    q = r["mass_flux"]
    assert q["inflow"] > 0.9 and q["relative_imbalance"] < 1e-8, q
    assert r["max_divergence"] < 1e-7
    assert r["ksp"]["pressure"]["iterations_max"] > 0
