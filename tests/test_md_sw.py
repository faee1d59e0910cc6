"""Stillinger-Weber (mW water) in the MD solver: kernels, forces, LAMMPS, lj/cut untouched, barostat, input errors."""

import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from zzhpc.core.deck import resolve
from zzhpc.core.harness import run_deck
from zzhpc.device import kernel_registry
from zzhpc.errors import ConfigError, InputError
from zzhpc.solvers.md import kernels_sw_numba
from zzhpc.solvers.md.cases_common import analytic_forces, fd_forces, make_solver, md_deck
from zzhpc.solvers.md.cases_mw import PEER, lattice_constant, mw_deck, write_mw_file
from zzhpc.particles.neighbors import neighbor_list
from zzhpc.solvers.md.kernels_sw import sample_system
from zzhpc.solvers.md.sw import BUILTIN, SWParams, read_sw_file, sw_constants, sw_file_text

REF = kernel_registry()["md_sw_forces"]["generic"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _system(seed, sw=None):
    x, n, lo, hi, cutn, mw = sample_system(np.random.default_rng(seed))
    return x, n, neighbor_list(x, n, lo, hi, cutn, False), sw or mw


# An element with p, q off the mW/silicon values, so the general power-law path runs too.
OTHER = sw_constants(SWParams(2.0, 2.2, 1.9, 15.0, 1.1, -0.2, 6.0, 0.5, 4.5, 0.7))


@pytest.mark.parametrize("seed, sw", [(1, None), (2, None), (3, OTHER)])
def test_numba_matches_reference_on_random_configurations(seed, sw):
    pytest.importorskip("numba", reason="numba (the compiled CPU kernels) is not installed")
    x, n, neigh, sw = _system(seed, sw)
    f1, e1, w1 = kernels_sw_numba.sw_forces_numba(x, neigh.astype(np.int32), n, sw)
    f2, e2, w2 = REF(x, neigh, n, sw, chunk=37)
    assert np.abs(f1).max() > 1.0
    assert np.allclose(f1, f2, rtol=1e-12, atol=1e-12 * np.abs(f2).max())
    assert float(e1) == pytest.approx(float(e2), rel=1e-12)
    assert float(w1) == pytest.approx(float(w2), rel=1e-12)


def test_total_force_vanishes_without_ghosts():
    # Owned atoms only (no ghosts): Newton's third law holds term by term.
    x, n, _, sw = _system(4)
    x = x[:n]
    lo, hi = (-10.0,) * 3, (30.0,) * 3
    f, _, _ = REF(x, neighbor_list(x, n, lo, hi, sw["cut"] + 1.0, False), n, sw)
    assert np.abs(f.sum(axis=0)).max() < 1e-10 * np.abs(f).max()


@pytest.mark.parametrize("kernels", ["auto", "reference"])
def test_forces_match_finite_differences(kernels):
    s = make_solver(mw_deck({"cells": [4, 4, 4], "kernels": kernels}, {"steps": 1}))
    rng = np.random.default_rng(5)
    x = s.backend.to_host(s.x)[: s.nlocal] + rng.normal(scale=0.35, size=(s.nlocal, 3))
    s.x = s.backend.asarray(x)
    s._rebuild()
    s._forces()
    ids = np.array([1, 4, 22, 64])  # corner, edge and interior sites: periodic images in triplets
    fa, fd = analytic_forces(s, ids), fd_forces(s, ids, h=1e-5)
    assert np.max(np.abs(fa - fd)) < 1e-7 * np.max(np.abs(fa))
    assert np.max(np.abs(fa)) > 5.0


def test_energy_forces_and_thermo_match_lammps(tmp_path):
    from zzhpc.core.peers import run_peer

    swf = write_mw_file(str(tmp_path))
    ref = run_peer(
        PEER,
        {
            "mode": "sw_thermo",
            "cells": 6,
            "lattice_constant": lattice_constant(),
            "sw_file": swf,
            "temperature": 298.0,
            "melt_steps": 200,
            "steps": 20,
            "thermo_every": 10,
            "skin": 2.0,
            "workdir": str(tmp_path),
        },
        timeout=600,
    )
    rows = [dict(zip(ref["columns"], r)) for r in ref["rows"]]
    deck = mw_deck(
        {"data_file": ref["data_file"], "sw_file": swf, "temperature": None}, {"steps": 20, "diag_every": 10}
    )
    s = make_solver(deck)
    order = np.argsort(s.backend.to_host(s.ids))
    f = s.backend.to_host(s.f)[: s.nlocal][order]
    assert np.abs(f - np.asarray(ref["forces"])).max() < 1e-10 * np.abs(f).max()
    th = s.thermo()
    for k in ("pe", "press", "temp"):
        assert th[k] == pytest.approx(rows[0][k], rel=1e-10), k
    _, got = run_deck(deck, str(tmp_path / "z"))
    assert [r["step"] for r in got] == [r["step"] for r in rows]
    for a, b in zip(got, rows):
        for k in ("pe", "ke", "etotal", "press"):
            assert a[k] == pytest.approx(b[k], rel=1e-9), (k, a["step"])


# in.lj thermo at step 30 from the commit before pair_style sw existed (77dcb60): lj/cut is untouched.
LJ_BEFORE = [
    ({"cells": [4, 4, 4]}, (-5.759908130004933, 1.1304470991816287, -4.629461030823305, 0.09155384212157418)),
    (
        {"cells": [4, 4, 4], "kernels": "reference", "newton": False},
        (-5.759908130004937, 1.130447099181629, -4.6294610308233075, 0.0915538421215758),
    ),
    (
        {"cells": [3, 3, 3], "pair_shift": True, "integrator": "nhc", "t_target": 1.2},
        (-5.322074688996153, 1.1305222569558866, -4.191552432040267, 0.16322766035053324),
    ),
]


@pytest.mark.parametrize("md, want", LJ_BEFORE)
def test_lj_cut_results_unchanged(md, want, tmp_path):
    _, rows = run_deck(md_deck(md, {"steps": 30, "diag_every": 30}), str(tmp_path))
    got = tuple(rows[-1][k] for k in ("pe", "ke", "etotal", "press"))
    assert got == pytest.approx(want, rel=1e-14, abs=0)


def _npt(tmp_path, p_target, steps=300, **run):
    deck = mw_deck(
        {
            "cells": [5, 5, 5],
            "integrator": "svr",
            "t_target": 298.0,
            "damp": 100.0,
            "barostat": "c-rescale",
            "p_target": p_target,
            "p_damp": 300.0,
            "p_every": 5,
        },
        dict({"steps": steps, "diag_every": 50}, **run),
    )
    return deck, run_deck(deck, str(tmp_path))[1]


def test_barostat_responds_to_the_target_pressure(tmp_path):
    _, high = _npt(tmp_path / "hi", 2.0e4)
    _, low = _npt(tmp_path / "lo", -2.0e3)
    assert high[0]["density"] == low[0]["density"] == pytest.approx(0.997, rel=1e-9)
    mean = [np.mean([r["density"] for r in rows[3:]]) for rows in (high, low)]  # steps 150-300
    assert mean[0] > 1.05 and mean[1] < 0.99, mean
    assert high[-1]["volume"] < high[0]["volume"] < low[-1]["volume"]


def test_barostat_restart_is_bitwise(tmp_path):
    deck, full = _npt(tmp_path / "a", 1.0, steps=40, checkpoint_every=20)
    half = dict(deck, run=dict(deck["run"], steps=20))
    run_deck(half, str(tmp_path / "b"))
    _, cont = run_deck(dict(deck, run=dict(deck["run"], restart="auto")), str(tmp_path / "b"))
    assert full[-1] == cont[-1]
    with h5py.File(tmp_path / "b/checkpoints/ckpt_0000000040.h5") as fb:
        assert fb.attrs["box_hi"][0] - fb.attrs["box_lo"][0] == pytest.approx(full[-1]["volume"] ** (1 / 3))


def test_sw_file_reader_round_trip_and_errors(tmp_path):
    path = tmp_path / "mW.sw"
    path.write_text(sw_file_text(BUILTIN["mW"]))
    assert read_sw_file(str(path), "mW") == BUILTIN["mW"]
    path.write_text(
        "# two lines per entry\nSi Si Si 2.1683 2.0951 1.80 21.0 1.20 -0.333333333333\n"
        "  7.049556277 0.6022245584 4.0 0.0 0.0\n"
    )
    assert read_sw_file(str(path), "Si").lambda_ == 21.0
    with pytest.raises(InputError, match="no entry 'mW mW mW'"):
        read_sw_file(str(path), "mW")


@pytest.mark.parametrize(
    "text, key, words",
    [
        ("mW mW mW 6.189 2.3925 1.8\n", "md.sw_file", "entries of 14 words"),
        ("mW mW mW 6.189 2.3925 1.8 23.15 1.2 -0.33 7.05 0.60 4 0 zero\n", "md.sw_file", "11 numbers"),
        ("mW mW mW -6.189 2.3925 1.8 23.15 1.2 -0.33 7.05 0.60 4 0 0\n", "md.sw_file", "epsilon"),
        ("mW mW mW 6.189 2.3925 1.8 23.15 1.2 -0.33 7.05 0.60 4 0 0.01\n", "md.sw_file", "tol"),
        ("# DATE: x UNITS: metal\nmW mW mW 6.189 2.3925 1.8 23.15 1.2 -0.33 7.05 0.60 4 0 0\n", "md.sw_file", "UNITS"),
    ],
)
def test_bad_sw_input_is_a_one_line_config_error(tmp_path, text, key, words):
    path = tmp_path / "bad.sw"
    path.write_text(text)
    deck = mw_deck({"sw_file": str(path)})
    with pytest.raises(ConfigError) as err:
        resolve(deck, 1)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"config: {key}") and words in msg, msg


@pytest.mark.parametrize(
    "md, key",
    [
        ({"units": "lj"}, "md.units"),  # built-in mW is in real units
        ({"newton": False}, "md.newton"),
        ({"barostat": "c-rescale"}, "md.barostat"),  # NVE: no thermostat
        ({"pair_style": "sw/x"}, "md.pair_style"),
    ],
)
def test_bad_sw_deck_keys(md, key):
    with pytest.raises(ConfigError) as err:
        resolve(mw_deck(md), 1)
    assert str(err.value).startswith(f"config: {key}") and "\n" not in str(err.value)


def test_cli_bad_sw_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.sw"
    bad.write_text("mW mW mW 1 2 3\n")
    deck = tmp_path / "deck.toml"
    deck.write_text(
        f'solver = "md"\n[run]\nsteps = 2\ndt = 10.0\n[md]\nunits = "real"\npair_style = "sw"\n'
        f'sw_file = "{bad}"\nlattice = "sc"\ncells = [3, 3, 3]\nmasses = [18.015]\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "zzhpc", "run", str(deck), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "md.sw_file" in lines[0], proc.stderr


@pytest.fixture
def one_torch_thread():
    torch = pytest.importorskip("torch", reason="torch (the optional torch backend) is not installed")
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: thread start-up would dominate on a busy machine
    yield
    torch.set_num_threads(n)


def test_torch_backend_matches_numpy_npt(tmp_path, one_torch_thread):
    # The generic kernel on torch is checked in test_kernels.py; this runs the barostat's box updates too.
    md = {
        "cells": [3, 3, 3],
        "integrator": "svr",
        "t_target": 298.0,
        "damp": 100.0,
        "barostat": "c-rescale",
        "p_target": 1.0,
        "p_damp": 300.0,
        "p_every": 2,
    }
    _, a = run_deck(mw_deck(md, {"steps": 6, "diag_every": 3}), str(tmp_path / "np"))
    _, b = run_deck(
        dict(mw_deck(md, {"steps": 6, "diag_every": 3}), backend={"name": "torch"}), str(tmp_path / "torch")
    )
    for x, y in zip(a, b):
        for k in ("pe", "press", "density"):
            assert x[k] == pytest.approx(y[k], rel=1e-10), k


def test_npt_trajectory_records_the_box_of_each_frame_and_appends_on_restart(tmp_path):
    deck = mw_deck(
        {
            "cells": [5, 5, 5],
            "integrator": "svr",
            "t_target": 298.0,
            "damp": 100.0,
            "barostat": "c-rescale",
            "p_target": 1.0,
            "p_damp": 200.0,
            "p_every": 2,
        },
        {"steps": 20, "diag_every": 5, "output_every": 5, "checkpoint_every": 10},
    )
    deck["output"]["fields"] = True
    run_deck(deck, str(tmp_path / "full"))
    run_deck(dict(deck, run=dict(deck["run"], steps=10)), str(tmp_path / "a"))
    run_deck(dict(deck, run=dict(deck["run"], restart="auto")), str(tmp_path / "a"))
    with h5py.File(tmp_path / "a" / "trajectory.h5md") as fa, h5py.File(tmp_path / "full" / "trajectory.h5md") as ff:
        ga, gf = fa["particles/trajectory"], ff["particles/trajectory"]
        assert list(ga["position/step"][()]) == list(gf["position/step"][()]) == [0, 5, 10, 15, 20]
        np.testing.assert_array_equal(ga["position/value"][()], gf["position/value"][()])
        edges = gf["box/edges/value"][()]
        np.testing.assert_array_equal(ga["box/edges/value"][()], edges)
        assert len(set(edges[:, 0])) == 5


def _serving(name):
    """The override functions of kernel ``name`` (numpy backend) that served a call, in call order: each
    is wrapped while the caller runs, declines (NotSuitableError) are not recorded."""
    from contextlib import contextmanager

    from zzhpc.device.kernels import _OVERRIDES

    @contextmanager
    def spy():
        lst = _OVERRIDES[name]["numpy"]
        orig, served = list(lst), []

        def wrap(fn):
            def w(*a, **kw):
                out = fn(*a, **kw)  # a NotSuitableError passes through, unrecorded
                served.append(fn.__name__)
                return out

            return w

        lst[:] = [wrap(fn) for fn in orig]  # in place: get_kernel's dispatcher holds this list
        try:
            yield served
        finally:
            lst[:] = orig

    return spy()


def test_float32_runs_the_compiled_kernel():
    """backend.dtype = "float32" is served by the Numba kernel (it was declined, and the dense reference
    ran, tens of times slower); its forces, energy and virial match float64's to float32 rounding."""
    pytest.importorskip("numba", reason="numba (the compiled CPU kernels) is not installed")
    out = {}
    for dt in ("float64", "float32"):
        with _serving("md_sw_forces") as served:
            s = make_solver(mw_deck({"cells": [4, 4, 4]}, {"steps": 2}, backend={"dtype": dt}))
            x = s.backend.to_host(s.x)[: s.nlocal] + np.random.default_rng(5).normal(scale=0.35, size=(s.nlocal, 3))
            s.x = s.backend.asarray(x.astype(dt))
            s._rebuild()
            s._forces()
            out[dt] = (s.backend.to_host(s.f)[: s.nlocal].astype(np.float64), float(s.energy), float(s.virial))
            s.advance()
        assert served and set(served) == {"sw_forces_numba"}, (dt, served)
        assert s.x.dtype == np.dtype(dt) and s.f.dtype == np.dtype(dt)
    (f64, e64, w64), (f32, e32, w32) = out["float64"], out["float32"]
    # Positions rounded to float32 (a 13 A box: ~1e-6 A) move the forces by ~1e-6 relative.
    # Measured: 1.7e-6 (forces, relative RMS), 2.3e-7 (energy), 1.6e-5 (virial).
    assert np.sqrt(np.sum((f32 - f64) ** 2) / np.sum(f64**2)) < 1e-5
    assert e32 == pytest.approx(e64, rel=2e-6) and w32 == pytest.approx(w64, rel=1e-4)
