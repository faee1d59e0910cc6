"""Particle formats in and out (.gro, extended XYZ, LAMMPS dump and data files, `zzhpc convert`): round trips
here, and the files zzhpc writes read back by the tools that own the formats (MDAnalysis, ASE) in the peer
environment."""

import json
import subprocess

import numpy as np
import pytest

from conftest import ROOT, run_zzhpc
from zzhpc.errors import InputError
from zzhpc.particles.formats import Frame, read_dump, read_gro, read_xyz, write_dump, write_gro, write_xyz
from zzhpc.particles.formats.convert import h5md_frames

PEER_PY = ROOT / ".peers" / "bin" / "python"


def sample(n=7, seed=3):
    rng = np.random.default_rng(seed)
    return Frame(
        positions=rng.uniform(0, 2.5, (n, 3)),
        velocities=rng.normal(0, 0.3, (n, 3)),
        box=np.array([2.5, 2.6, 2.7]),
        ids=np.arange(1, n + 1),
        types=np.array([1, 2] * 3 + [1])[:n],
        names=["OW", "HW1", "HW2"] * 3,
        resnames=["SOL"] * n,
        resids=np.arange(n) // 3 + 1,
        species=["O", "H", "H"] * 3,
        step=40,
        time=0.08,
    )


@pytest.mark.parametrize("fmt", ["gro", "xyz", "dump"])
def test_round_trip(tmp_path, fmt):
    f = sample()
    path = tmp_path / f"x.{fmt}"
    {"gro": write_gro, "xyz": write_xyz, "dump": write_dump}[fmt](path, f)
    g = {"gro": read_gro, "xyz": read_xyz, "dump": read_dump}[fmt](path)
    tol = {"gro": 5e-4, "xyz": 1e-8, "dump": 1e-9}[fmt]
    assert g.n == f.n
    assert np.abs(g.positions - f.positions).max() <= tol
    assert np.abs(g.velocities - f.velocities).max() <= 10 * tol
    assert np.allclose(g.box, f.box, atol=1e-5)


def test_multi_frame_files_give_the_requested_frame(tmp_path):
    a, b = sample(seed=1), sample(seed=2)
    b.step = 80
    write_xyz(tmp_path / "t.xyz", a)
    write_xyz(tmp_path / "t.xyz", b, append=True)
    write_dump(tmp_path / "t.dump", a)
    write_dump(tmp_path / "t.dump", b, append=True)
    for reader, p in ((read_xyz, "t.xyz"), (read_dump, "t.dump")):
        assert np.allclose(reader(tmp_path / p, 0).positions, a.positions)
        last = reader(tmp_path / p)
        assert np.allclose(last.positions, b.positions) and last.step == 80


@pytest.mark.parametrize(
    "name, text, says",
    [
        ("bad.gro", "title\nthree\n", "atom count"),
        ("short.gro", "title\n5\n    1SOL     OW    1   0.100   0.200   0.300\n", "atom lines"),
        ("bad.xyz", "2\nLattice=\"1 0 0 0 1 0 0 0 1\"\nO 0 0 0\n", "pos"),
        ("bad.dump", "nothing here\n", "TIMESTEP"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, name, text, says):
    p = tmp_path / name
    p.write_text(
        text.replace('Lattice="1 0 0 0 1 0 0 0 1"', 'Lattice="1 0 0 0 1 0 0 0 1" Properties=species:S:1')
        if name == "bad.xyz"
        else text
    )
    reader = {"gro": read_gro, "xyz": read_xyz, "dump": read_dump}[name.split(".")[1]]
    with pytest.raises(InputError) as exc:
        reader(p)
    assert says in str(exc.value) and "\n" not in str(exc.value)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A short LJ melt and a short TIP3P water run, each with a trajectory of several frames."""
    tmp = tmp_path_factory.mktemp("runs")
    lj, water = tmp / "lj", tmp / "water"
    run_zzhpc(
        0,
        "run",
        ROOT / "examples" / "lj_melt.toml",
        "-o",
        lj,
        "--set",
        "md.cells=[4,4,4]",
        "--set",
        "run.steps=40",
        "--set",
        "run.output_every=20",
        "-q",
        check=True,
    )
    run_zzhpc(
        0,
        "run",
        ROOT / "examples" / "water_tip3p.toml",
        "-o",
        water,
        "--set",
        "run.steps=4",
        "--set",
        "run.output_every=2",
        "-q",
        check=True,
    )
    return {"lj": lj, "water": water}


def convert(src, dst, *extra):
    return run_zzhpc(0, "convert", src, dst, *extra)


def test_convert_writes_every_format_and_never_overwrites(runs, tmp_path):
    src = runs["water"] / "trajectory.h5md"
    frames = list(h5md_frames(src, "all"))
    for suffix in (".gro", ".xyz", ".lammpstrj"):
        out = tmp_path / f"w{suffix}"
        proc = convert(src, out)
        assert proc.returncode == 0, proc.stderr
        assert "1 frame(s)" in proc.stdout
    gro = read_gro(tmp_path / "w.gro")
    # angstrom -> nm on the way to .gro; water labelled as GROMACS names it
    assert np.allclose(gro.positions, frames[-1].positions * 0.1, atol=6e-4)
    assert gro.names[:3] == ["OW", "HW1", "HW2"] and gro.resnames[0] == "SOL"
    again = convert(src, tmp_path / "w.gro")
    assert again.returncode == 2 and "exists" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    allf = convert(src, tmp_path / "all.xyz", "--all")
    assert allf.returncode == 0 and f"{len(frames)} frame(s)" in allf.stdout and len(frames) >= 3
    bad = convert(src, tmp_path / "w.pdbx")
    assert bad.returncode == 2 and "unknown output format" in bad.stderr


@pytest.mark.peers
def test_mdanalysis_and_ase_read_what_zzhpc_writes(runs, tmp_path):
    if not PEER_PY.exists():
        pytest.skip("peer environment .peers/ not set up (make peers)")
    from zzhpc.solvers.md.datafile import read_data, write_data  # noqa: F401

    water, lj = runs["water"] / "trajectory.h5md", runs["lj"] / "trajectory.h5md"
    files = {}
    for src, stem in ((water, "w"), (lj, "lj")):
        for suffix in (".gro", ".xyz", ".lammpstrj"):
            files[stem + suffix] = tmp_path / f"{stem}{suffix}"
            # .gro readers (ASE, MDAnalysis) take one frame a file: the last; the others hold every frame.
            extra = () if suffix == ".gro" else ("--all",)
            assert convert(src, files[stem + suffix], *extra).returncode == 0
    req = {
        "w.gro": ("mda", str(files["w.gro"]), None, {}),
        "w.lammpstrj": ("mda", str(files["w.lammpstrj"]), "LAMMPSDUMP", {"topology_format": "LAMMPSDUMP"}),
        "w.h5md": ("mda", str(water), None, {}),
        "w.xyz": ("ase", str(files["w.xyz"]), "extxyz", {}),
        "w.gro.ase": ("ase", str(files["w.gro"]), "gromacs", {}),
        "lj.lammpstrj.ase": ("ase", str(files["lj.lammpstrj"]), "lammps-dump-text", {}),
        "lj.xyz": ("ase", str(files["lj.xyz"]), "extxyz", {}),
    }
    proc = subprocess.run(
        [str(PEER_PY), str(ROOT / "tests" / "peer_formats.py")],
        input=json.dumps(req),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    wl = list(h5md_frames(water, "all"))[-1]
    ll = list(h5md_frames(lj, "all"))[-1]
    # MDAnalysis: angstrom everywhere (it converts .gro nm to angstrom itself), float32 positions
    for key, tol in (("w.gro", 6e-3), ("w.lammpstrj", 1e-4), ("w.h5md", 1e-4)):
        assert got[key]["n"] == wl.n, key
        assert np.abs(np.array(got[key]["pos"]) - wl.positions).max() < tol, key
        assert np.allclose(got[key]["box"], wl.box, atol=1e-3), key
    assert got["w.gro"]["names"][:3] == ["OW", "HW1", "HW2"]
    # ASE: angstrom (it converts .gro nm itself); chemical symbols from the XYZ species column
    for key, ref, tol in (
        ("w.xyz", wl, 1e-6),
        ("w.gro.ase", wl, 6e-3),
        ("lj.lammpstrj.ase", ll, 1e-6),
        ("lj.xyz", ll, 1e-6),
    ):
        assert got[key]["n"] == ref.n, key
        assert np.abs(np.array(got[key]["pos"]) - ref.positions).max() < tol, key
    assert got["w.xyz"]["symbols"][:3] == ["O", "H", "H"]
    assert got["w.xyz"]["frames"] == len(list(h5md_frames(water, "all")))
