"""MD solver: LAMMPS agreement, forces, backends, data files, H5MD, bitwise restart, config errors."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from zzhpc.core.deck import resolve
from zzhpc.core.harness import run_deck
from zzhpc.errors import ConfigError, InputError
from zzhpc.solvers.md.cases import lammps_thermo
from zzhpc.solvers.md.cases_common import analytic_forces, fd_forces, make_solver, md_deck
from zzhpc.solvers.md.datafile import read_data, write_data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def lammps_ref(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("lmp"))
    return lammps_thermo([5, 5, 5], 60, 20, work)


@pytest.mark.slow
def test_thermo_agrees_with_lammps(lammps_ref, tmp_path):
    data, ref = lammps_ref
    _, rows = run_deck(
        md_deck({"data_file": data, "temperature": None}, {"steps": 60, "diag_every": 20}), str(tmp_path)
    )
    assert [r["step"] for r in rows] == [r["step"] for r in ref]
    for got, want in zip(rows, ref):
        for k in ("temp", "pe", "ke", "etotal", "press"):
            assert got[k] == pytest.approx(want[k], rel=1e-9, abs=1e-12), (k, got["step"])


@pytest.mark.parametrize("newton", [True, False])
def test_forces_match_finite_differences(newton):
    s = make_solver(md_deck({"cells": [3, 3, 3], "pair_shift": True, "newton": newton}, {"steps": 1}))
    rng = np.random.default_rng(3)
    x = s.backend.to_host(s.x)[: s.nlocal] + rng.normal(scale=0.07, size=(s.nlocal, 3))
    s.x = s.backend.asarray(x)
    s._rebuild()
    s._forces()
    ids = np.array([1, 17, 60, 108])  # corner, face and interior sites of the 3x3x3 fcc box
    fa, fd = analytic_forces(s, ids), fd_forces(s, ids)
    assert np.max(np.abs(fa - fd)) < 1e-6 * np.max(np.abs(fa))
    assert np.max(np.abs(fa)) > 1.0


def test_two_types_mixing_and_total_force_zero():
    s = make_solver(
        md_deck(
            {
                "cells": [3, 3, 3],
                "pair_coeff": ["1 1 1.0 1.0", "2 2 0.5 1.1 2.0"],
                "masses": [1.0, 2.0],
                "pair_shift": True,
            },
            {"steps": 1},
        )
    )
    t = s.backend.to_host(s.types).copy()
    t[: s.nlocal : 3] = 1
    s.types = s.backend.asarray(t[: s.nlocal])
    s.mass_col = s.mass_dev[s.types][:, None]
    s._rebuild()
    s._forces()
    assert s.tab_host["lj1"][0, 1] == pytest.approx(48 * np.sqrt(0.5) * np.sqrt(1.1) ** 12)
    f = s.backend.to_host(s.f)[: s.nlocal]
    assert np.abs(f.sum(axis=0)).max() < 1e-10


def test_numpy_and_torch_runs_agree(tmp_path):
    base = md_deck({"cells": [4, 4, 4]}, {"steps": 30, "diag_every": 10})
    _, r1 = run_deck(base, str(tmp_path / "np"))
    tdeck = dict(base, backend={"name": "torch"})
    _, r2 = run_deck(tdeck, str(tmp_path / "torch"))
    for a, b in zip(r1, r2):
        for k in ("temp", "pe", "press"):
            assert a[k] == pytest.approx(b[k], rel=1e-10)


def test_reference_kernels_and_full_lists_agree_with_fast_path(tmp_path):
    _, fast = run_deck(md_deck({"cells": [4, 4, 4]}, {"steps": 30, "diag_every": 30}), str(tmp_path / "a"))
    _, ref = run_deck(
        md_deck({"cells": [4, 4, 4], "kernels": "reference", "newton": False}, {"steps": 30, "diag_every": 30}),
        str(tmp_path / "b"),
    )
    for k in ("temp", "pe", "etotal", "press"):
        assert fast[-1][k] == pytest.approx(ref[-1][k], rel=1e-10)


def test_nve_conserves_energy_with_shifted_cutoff(tmp_path):
    _, rows = run_deck(
        md_deck({"cells": [4, 4, 4], "pair_shift": True}, {"steps": 400, "diag_every": 50}), str(tmp_path)
    )
    e = [r["etotal"] for r in rows]
    assert max(abs(v - e[0]) for v in e) < 2e-4 * abs(e[0])
    assert rows[0]["temp"] == pytest.approx(1.44, rel=1e-12)  # velocity create scales exactly


def test_neighbor_every_check_no_rebuilds_on_schedule(tmp_path):
    s, rows = run_deck(
        md_deck({"cells": [4, 4, 4], "neigh_every": 10, "neigh_check": False}, {"steps": 50, "diag_every": 50}),
        str(tmp_path),
    )
    assert s["results"]["neigh_builds"] == 1 + 5


def test_restart_is_bitwise(tmp_path):
    deck = md_deck(
        {"cells": [4, 4, 4], "integrator": "nhc", "t_target": 1.2},
        {"steps": 40, "diag_every": 10, "checkpoint_every": 20},
    )
    _, full = run_deck(deck, str(tmp_path / "a"))
    half = dict(deck, run=dict(deck["run"], steps=20))
    run_deck(half, str(tmp_path / "b"))
    rest = dict(deck, run=dict(deck["run"], restart="auto"))
    _, cont = run_deck(rest, str(tmp_path / "b"))
    with (
        h5py.File(tmp_path / "a/checkpoints/ckpt_0000000040.h5") as fa,
        h5py.File(tmp_path / "b/checkpoints/ckpt_0000000040.h5") as fb,
    ):
        for k in ("x", "v", "id", "image"):
            assert np.array_equal(fa["state"][k][()], fb["state"][k][()]), k
    assert full[-1] == cont[-1]


def test_langevin_results_do_not_depend_on_atom_order(tmp_path):
    deck = md_deck({"cells": [3, 3, 3], "integrator": "langevin", "t_target": 1.0}, {"steps": 20, "diag_every": 20})
    _, a = run_deck(deck, str(tmp_path / "a"))
    _, b = run_deck(deck, str(tmp_path / "b"))
    assert a[-1] == b[-1]


def test_data_file_round_trip_full_style(tmp_path):
    src = tmp_path / "w.data"
    src.write_text("""water-ish

3 atoms
2 atom types
2 bonds
1 bond types
1 angles
1 angle types

0 10 xlo xhi
0 10 ylo yhi
0 10 zlo zhi

Masses

1 15.9994
2 1.008

Bond Coeffs

1 450 0.9572

Atoms # full

2 1 2 0.4238 5.8 5.0 5.0 0 0 0
1 1 1 -0.8476 5.0 5.0 5.0 0 0 0
3 1 2 0.4238 5.0 5.8 5.0 1 0 0

Velocities

1 0.1 0 0
2 0 0.2 0
3 0 0 0.3

Bonds

1 1 1 2
2 1 1 3

Angles

1 1 2 1 3
""")
    d = read_data(str(src))
    assert d["style"] == "full" and d["id"].tolist() == [1, 2, 3] and d["q"][0] == pytest.approx(-0.8476)
    assert d["topology"]["Bonds"].shape == (2, 4) and d["image"][2].tolist() == [1, 0, 0]
    d["v"] = d["v"][np.argsort(d["v_id"])]
    write_data(str(tmp_path / "out.data"), d)
    e = read_data(str(tmp_path / "out.data"))
    for k in ("id", "type", "mol", "q", "x", "image", "v"):
        assert np.array_equal(d[k], e[k]), k
    assert np.array_equal(d["topology"]["Angles"], e["topology"]["Angles"])
    assert e["coeffs"]["Bond Coeffs"] == ["1 450 0.9572"]


def test_bad_data_file_names_file_and_line(tmp_path):
    p = tmp_path / "bad.data"
    p.write_text(
        "x\n\n2 atoms\n1 atom types\n0 1 xlo xhi\n0 1 ylo yhi\n0 1 zlo zhi\n\nAtoms # atomic\n\n"
        "1 1 0.1 0.1 0.1\n2 1 0.5 zero 0.5\n"
    )
    with pytest.raises(InputError, match=r"bad.data.*line 11"):
        read_data(str(p))


def test_write_data_and_h5md_outputs(tmp_path):
    deck = md_deck({"cells": [3, 3, 3], "write_data": "final.data"}, {"steps": 10, "diag_every": 5, "output_every": 5})
    deck["output"] = {"fields": True}
    s, _ = run_deck(deck, str(tmp_path))
    d = read_data(str(tmp_path / "final.data"))
    assert len(d["id"]) == 108 and "v" in d
    with h5py.File(tmp_path / "trajectory.h5md") as f:
        assert list(f["h5md"].attrs["version"]) == [1, 1]
        pos = f["particles/trajectory/position/value"]
        assert pos.shape == (3, 108, 3) and list(f["particles/trajectory/position/step"][()]) == [0, 5, 10]
        assert np.allclose(pos[2], d["x"]) and f["particles/trajectory/box"].attrs["dimension"] == 3
        assert list(f["particles/trajectory/id"][()]) == list(range(1, 109))


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("pair_coeff", ["1 1 1.0"], "md.pair_coeff"),
        ("pair_coeff", ["1 3 1.0 1.0"], "md.pair_coeff"),
        ("integrator", "npt", "md.integrator"),
        ("masses", [1.0, -2.0], "md.masses"),
    ],
)
def test_config_errors(key, value, match, tmp_path):
    deck = md_deck({key: value}, {"steps": 1})
    deck["output"] = {"dir": str(tmp_path)}
    with pytest.raises(ConfigError, match=match):
        cls, cfg = resolve(deck, 1)
        make_solver(deck)


def test_cli_runs_example_deck(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "zzhpc",
            "run",
            os.path.join(ROOT, "examples", "lj_melt.toml"),
            "-o",
            str(tmp_path),
            "-q",
            "--set",
            "md.cells=[4,4,4]",
            "--set",
            "run.steps=20",
            "--set",
            "run.diag_every=10",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    summ = json.loads((tmp_path / "summary.json").read_text())
    assert summ["results"]["natoms"] == 256 and summ["diagnostics"]["temp"] > 0.5


@pytest.mark.peers
def test_h5md_trajectory_opens_in_mdanalysis(tmp_path, peer_py):
    """The peer environment's MDAnalysis reads zzhpc's parallel H5MD: atoms, frames, box, positions."""
    import json
    import subprocess
    import h5py
    from conftest import run_zzhpc

    py = peer_py
    out = tmp_path / "lj"
    run_zzhpc(
        2,
        "run",
        "examples/lj_melt.toml",
        "-o",
        out,
        "-q",
        "--set",
        "run.steps=20",
        "--set",
        "run.output_every=10",
        "--set",
        "md.cells=[4,4,4]",
        check=True,
    )
    code = (
        "import json, sys, MDAnalysis as mda\n"
        "from MDAnalysis.coordinates.H5MD import H5MDReader\n"
        "u = mda.Universe.empty(H5MDReader.parse_n_atoms(sys.argv[1]))\n"
        "u.load_new(sys.argv[1], format='H5MD', convert_units=False)  # LJ units carry no unit names\n"
        "print(json.dumps({'n': u.atoms.n_atoms, 'frames': len(u.trajectory), 'box': list(map(float, u.dimensions[:3])),"
        " 'last': [ts.frame for ts in u.trajectory][-1], 'x0': u.trajectory[-1].positions[1].tolist()}))"
    )
    proc = subprocess.run([py, "-c", code, str(out / "trajectory.h5md")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    with h5py.File(out / "trajectory.h5md", "r") as f:
        pos = f["particles/trajectory/position/value"][-1]
        edges = f["particles/trajectory/box/edges/value"][-1]
    assert got["n"] == 256 and got["frames"] == 3
    assert got["box"] == pytest.approx(list(edges), rel=1e-6)
    assert got["last"] == 2 and got["x0"] == pytest.approx(list(pos[1]), rel=1e-5)  # MDAnalysis holds float32
