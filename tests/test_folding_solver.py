"""Folding solver end to end (in-process, one rank): backends, restart, outputs, deck errors, physics checks."""

import os

import zzhpc.io  # noqa: F401,I001  (sets H5PY_ALWAYS_USE_MPI before h5py is first imported)
import h5py
import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.core.deck import resolve
from zzhpc.core.run import run
from zzhpc.errors import ConfigError


def deck(out, **folding):
    run_keys = folding.pop("run", {})
    backend = folding.pop("backend", "numpy")
    return {
        "solver": "folding",
        "run": dict({"steps": 400, "dt": 0.002, "seed": 4, "diag_every": 100, "progress_every": 1e9}, **run_keys),
        "backend": {"name": backend},
        "folding": dict(
            {
                "structure": "villin_hp35.pdb",
                "chain": "A",
                "replicas": 6,
                "t_min": 0.9,
                "t_max": 1.3,
                "exchange_every": 50,
                "sample_every": 20,
                "batch": 4,
            },
            **folding,
        ),
        "output": {"dir": str(out), "fields": False},
    }


def go(d):
    cls, cfg = resolve(d, 1)
    return run(cls, cfg, MPI.COMM_SELF, quiet=True, install_signals=False)


def series(out):
    with h5py.File(os.path.join(out, "timeseries.h5"), "r") as f:
        return {k: f[k][...] for k in ("energy", "q", "rmsd", "rung", "step")}


def test_numpy_and_torch_walk_the_same_trajectories(tmp_path):
    go(deck(tmp_path / "np", run={"steps": 100}))
    go(deck(tmp_path / "torch", backend="torch", run={"steps": 100}))
    a, b = series(tmp_path / "np"), series(tmp_path / "torch")
    assert np.array_equal(a["rung"], b["rung"])  # same exchange decisions
    assert np.allclose(a["energy"], b["energy"], rtol=1e-9, atol=1e-9)
    assert np.allclose(a["rmsd"], b["rmsd"], atol=1e-9)


def test_batch_size_does_not_change_trajectories(tmp_path):
    go(deck(tmp_path / "b4", run={"steps": 200}))
    go(deck(tmp_path / "b1", batch=1, run={"steps": 200}))
    a, b = series(tmp_path / "b4"), series(tmp_path / "b1")
    assert np.array_equal(a["energy"], b["energy"]) and np.array_equal(a["rung"], b["rung"])


def test_restart_continues_bitwise(tmp_path):
    go(deck(tmp_path / "full", run={"steps": 200}))
    go(deck(tmp_path / "part", run={"steps": 100, "checkpoint_every": 100}))
    ckpt = os.path.join(tmp_path, "part", "checkpoints", "ckpt_0000000100.h5")
    go(deck(tmp_path / "part", run={"steps": 200, "restart": ckpt}))
    a, b = series(tmp_path / "full"), series(tmp_path / "part")
    assert np.array_equal(a["step"], b["step"])
    assert np.array_equal(a["energy"], b["energy"]) and np.array_equal(a["rung"], b["rung"])


def test_outputs_and_thermodynamics(tmp_path):
    # friction 10/tau: the thermostat relaxes in 50 steps, so the kinetic temperature can be checked.
    s = go(deck(tmp_path, run={"steps": 800}, trajectory_every=100, trajectory_replicas=[0, 5], friction=10.0))
    r = s["results"]
    for name in ("timeseries.h5", "cv.png", "fq.png", "native_ca.pdb", "traj_0.dcd", "traj_5.dcd"):
        assert os.path.isfile(tmp_path / name), name
    from zzhpc.solvers.folding.trajectory import read_dcd

    assert read_dcd(str(tmp_path / "traj_5.dcd")).shape == (8, 35, 3)
    assert 0.9 <= r["tf"] <= 1.3
    assert len(r["acceptance"]) == 5 and all(0 < a <= 1 for a in r["acceptance"])
    # Langevin at temperature T: the kinetic temperature over walkers and samples is T (BAOAB's full-step
    # velocities run ~1.5 % cold at dt = 0.002: an O(dt^2) bias of the stiff bonds, measured 0.9835(9)).
    ser = series(tmp_path)
    with h5py.File(tmp_path / "timeseries.h5", "r") as f:
        ratio = f["kinetic"][:, 10:] / f["temperatures"][...][f["rung"][:, 10:].astype(int)]
    assert np.mean(ratio) == pytest.approx(0.985, abs=0.03)
    assert ser["energy"].shape == (6, 41)


def test_unfolded_start_is_unfolded(tmp_path):
    s = go(deck(tmp_path, initial="extended", run={"steps": 20}, exchange_every=0))
    first = series(tmp_path)["q"][:, 0]
    assert np.all(first < 0.2)
    assert s["results"]["folded_fraction"] == 0.0


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("structure", "no_such.pdb", "folding.structure"),
        ("temperatures", [1.0, 1.1], "folding.temperatures"),
        ("t_max", 0.5, "folding.t_max"),
        ("trajectory_replicas", [9], "folding.trajectory_replicas"),
        ("initial", "random", "folding.initial"),
        ("contact_map", "voronoi", "folding.contact_map"),
    ],
)
def test_bad_decks_name_the_key(tmp_path, key, value, match):
    with pytest.raises(ConfigError, match=match):
        resolve(deck(tmp_path, **{key: value}), 1)
