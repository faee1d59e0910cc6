"""Water from a GROMACS .gro box (``water.initial``): gmx solvate boxes, zzhpc's own boxes written by
``zzhpc convert`` and read back, restart, and bad files refused in one line with exit status 2."""

import math
import shutil
import subprocess

import pytest

from conftest import read_summary, run_zzhpc
from zzhpc.core.deck import resolve
from zzhpc.core.harness import run_deck, write_deck
from zzhpc.errors import ConfigError, InputError
from zzhpc.particles.formats.convert import convert
from zzhpc.solvers.water.cases_common import water_deck

SMALL = {"molecules": 125, "cutoff": 6.0, "skin": 1.0, "minimise_steps": 10, "plots": False}
KEYS = ("temp", "pe", "ke", "etotal", "press")


def gro_deck(path, water=None, run=None, **sections):
    """A water deck starting from ``path`` (molecules left to the file)."""
    w = dict(SMALL, **dict({"molecules": None, "initial": str(path)}, **(water or {})))
    return water_deck(w, dict({"steps": 20, "diag_every": 5}, **(run or {})), **sections)


def gmx_solvate(tmp_path, box=(2.0, 1.9, 2.1)):
    """A box of GROMACS's spc216 water made by ``gmx solvate`` (skips without GROMACS)."""
    gmx = shutil.which("gmx")
    if gmx is None:
        pytest.skip("GROMACS (gmx) is not installed")
    out = tmp_path / "solvated.gro"
    proc = subprocess.run(
        [gmx, "-quiet", "solvate", "-cs", "spc216.gro", "-box", *map(str, box), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def builder_box_gro(tmp_path, model, frame, steps=1, ensemble="nve"):
    """Run the builder's box (minimised) for ``steps`` steps, then write trajectory frame ``frame`` as .gro."""
    deck = water_deck(
        dict(SMALL, model=model, ensemble=ensemble, minimise_steps=30),
        {"steps": steps, "diag_every": 1, "output_every": 1},
    )
    deck["output"]["fields"] = True
    _, rows = run_deck(deck, str(tmp_path / f"builder_{model}"))
    out = tmp_path / f"builder_{model}.gro"
    convert(str(tmp_path / f"builder_{model}" / "trajectory.h5md"), str(out), frames=[frame])
    return out, rows


def finite(rows):
    return all(math.isfinite(r[k]) for r in rows for k in KEYS)


@pytest.mark.parametrize("model", ["tip3p", "spce"])
def test_gmx_solvate_box_runs(tmp_path, model):
    """An orthorhombic gmx solvate box (SPC geometry from spc216.gro): 20 steps, finite energies, the file's
    box and molecule count, made rigid to the model (TIP3P's triangle differs from SPC's by 0.04 A)."""
    path = gmx_solvate(tmp_path)
    nmol = sum(1 for ln in path.read_text().splitlines()[2:-1] if ln[10:15].strip() == "OW")
    s, rows = run_deck(gro_deck(path, {"model": model, "ensemble": "nvt"}), str(tmp_path / "run"))
    assert [r["step"] for r in rows] == [0, 5, 10, 15, 20] and finite(rows)
    res = s["results"]
    assert res["molecules"] == nmol == s["provenance"]["config"]["water"]["molecules"]
    assert res["box_A"] == pytest.approx([20.0, 19.0, 21.0], abs=1e-12)
    assert res["constraint_error_A"] < 1e-10
    assert res["minimise"]["pe_end"] < res["minimise"]["pe_start"] < 0
    ini = res["initial"]
    assert ini["velocities"] == "maxwell-boltzmann"
    # spc216 is SPC geometry (1.0 A, 109.47 deg): projected onto TIP3P's (0.9572 A, 104.52 deg) atoms move 0.03-0.07 A.
    assert (ini["rigid_projection_max_A"] > 0.03) if model == "tip3p" else (ini["rigid_projection_max_A"] < 0.03)


def test_zzhpc_convert_box_runs_with_its_velocities(tmp_path):
    """The last frame of a short run, written by `zzhpc convert` (no GROMACS needed), starts a run of 20
    steps: finite energies; with minimise_steps = 0 the file's velocities are used (nm/ps -> A/fs), so the
    kinetic energy is the one the first run ended with, to the .gro velocities' 4 decimals."""
    deck = water_deck(dict(SMALL, model="tip3p"), {"steps": 10, "diag_every": 10, "output_every": 10})
    deck["output"]["fields"] = True
    _, first = run_deck(deck, str(tmp_path / "a"))
    gro = tmp_path / "last.gro"
    run_zzhpc(0, "convert", tmp_path / "a" / "trajectory.h5md", gro, check=True)
    s, rows = run_deck(gro_deck(gro, {"model": "tip3p", "minimise_steps": 0, "ensemble": "nve"}), str(tmp_path / "b"))
    assert finite(rows) and s["results"]["initial"]["velocities"] == "file"
    assert rows[0]["ke"] == pytest.approx(first[-1]["ke"], rel=2e-4)
    assert rows[0]["pe"] == pytest.approx(first[-1]["pe"], rel=1e-3)
    assert s["results"]["constraint_error_A"] < 1e-10


@pytest.mark.parametrize("model", ["spce", "tip3p"])
def test_builder_box_read_back_gives_the_same_potential_energy(tmp_path, model):
    """The builder's minimised box, written to .gro (0.001 nm = 0.01 A) and read back, starts with the
    builder's potential energy to the file's precision: positions rounded by up to 0.005 A per coordinate,
    then made rigid (0.014-0.016 A at most), change the energy of this 125-molecule box by 4e-5-3e-4
    relative (12-06); the bound 1e-3 is that rounding's, an energy term lost would be far larger."""
    gro, rows = builder_box_gro(tmp_path, model, frame=0)
    s, back = run_deck(
        gro_deck(gro, {"model": model, "minimise_steps": 0, "ensemble": "nve"}, {"steps": 1, "diag_every": 1}),
        str(tmp_path / "back"),
    )
    assert back[0]["pe"] == pytest.approx(rows[0]["pe"], rel=1e-3)
    assert back[0]["ke"] == pytest.approx(rows[0]["ke"], rel=1e-4)
    assert s["results"]["initial"]["rigid_projection_max_A"] < 0.02
    # The box line has 5 decimals in nm: 1e-4 A.
    assert s["results"]["box_A"] == pytest.approx(
        read_summary(tmp_path / f"builder_{model}")["results"]["box_A"], abs=1e-4
    )


def test_restart_of_a_gro_run_is_bitwise(tmp_path):
    gro, _ = builder_box_gro(tmp_path, "spce", frame=0)
    w = {"ensemble": "npt", "pcouple_every": 2}
    _, full = run_deck(gro_deck(gro, w, {"steps": 16, "diag_every": 4, "checkpoint_every": 8}), str(tmp_path / "a"))
    ck = str(tmp_path / "a" / "checkpoints" / "ckpt_0000000008.h5")
    _, cont = run_deck(gro_deck(gro, w, {"steps": 16, "diag_every": 4, "restart": ck}), str(tmp_path / "b"))
    assert cont == [r for r in full if r["step"] > 8]


def water_lines(n, start=1):
    """``n`` SPC-like water molecules as .gro atom lines, 0.31 nm apart along x (nm)."""
    out = []
    for m in range(n):
        x = 0.155 + 0.31 * (m % 6)
        y = 0.155 + 0.31 * (m // 6 % 6)
        z = 0.155 + 0.31 * (m // 36)
        for k, (name, dx, dy) in enumerate((("OW", 0.0, 0.0), ("HW1", 0.1, 0.0), ("HW2", -0.0333, 0.0943))):
            out.append(
                f"{(start + m) % 100000:5d}{'SOL':<5s}{name:>5s}{(3 * m + k + 1) % 100000:5d}"
                f"{x + dx:8.3f}{y + dy:8.3f}{z:8.3f}"
            )
    return out


def write_gro_text(path, atoms, box="   1.86000   1.86000   1.86000"):
    path.write_text("\n".join(["bad box", f"{len(atoms):5d}", *atoms, box]) + "\n")
    return path


BAD = {
    "ion": (
        lambda w: (
            w[:-3]
            + [
                "  216 NA     NA  646   1.000   1.000   1.000",
                "  217 CL     CL  647   1.300   1.000   1.000",
                "  218 NA     NA  648   1.600   1.000   1.000",
            ]
        ),
        None,
        "are NA CL NA",
    ),
    "count": (lambda w: w + ["  217 NA     NA  649   1.000   1.000   1.000"], None, "not a multiple of 3"),
    "tip4p": (lambda w: w[:3] + ["    1SOL     MW    4   0.160   0.165   0.155"] + w[3:-1], None, "are MW OW HW1"),
    "triclinic": (
        lambda w: w,
        "   1.86000   1.86000   1.86000   0.00000   0.00000   0.50000   0.00000   0.00000   0.00000",
        "triclinic box",
    ),
    "broken": (lambda w: w[:1] + [w[1][:20] + "   0.555   0.155   0.155"] + w[2:], None, "O-H distance"),
    "residues": (
        lambda w: w[:2] + ["    2SOL    HW2    3   0.122   0.249   0.155"] + w[3:],
        None,
        "different residues",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_gro_files_are_refused_at_deck_check(tmp_path, name):
    """Ions, virtual sites, a count not a multiple of 3, a triclinic box, a broken molecule, a molecule split
    over residues: one line naming the file, what was found and what is expected (exit status 2)."""
    edit, box, words = BAD[name]
    path = write_gro_text(tmp_path / f"{name}.gro", edit(water_lines(216)), *(box and [box] or []))
    with pytest.raises(InputError) as exc:
        resolve(gro_deck(path), 1)
    msg = str(exc.value)
    assert exc.value.exit_code == 2 and "\n" not in msg and str(path) in msg and words in msg, msg


def test_deck_keys_against_the_file_are_refused_one_line_exit_2(tmp_path):
    good = write_gro_text(tmp_path / "good.gro", water_lines(216))
    _, cfg = resolve(gro_deck(good), 1)
    assert cfg["water"]["molecules"] == 216  # the file's count, recorded in the config
    resolve(gro_deck(good, {"molecules": 216}), 1)  # the same count is accepted
    for extra, key in (
        ({"molecules": 300}, "water.molecules"),
        ({"density": 0.9}, "water.density"),
        ({"cutoff": 8.5}, "water.cutoff"),
    ):
        with pytest.raises(ConfigError) as exc:
            resolve(gro_deck(good, extra), 1)
        assert key in str(exc.value) and exc.value.exit_code == 2
    # Through the CLI on 2 ranks: checked before any work, one line, every rank exits 2.
    deck = tmp_path / "bad.toml"
    bad = write_gro_text(tmp_path / "ion.gro", BAD["ion"][0](water_lines(216)))
    write_deck(gro_deck(bad, output={"dir": str(tmp_path / "out")}), str(deck))
    proc = run_zzhpc(2, "run", deck)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("zzhpc")]
    assert proc.returncode == 2 and len(lines) == 1 and "ion.gro" in lines[0], proc.stderr[-1500:]
    assert not (tmp_path / "out" / "diagnostics.csv").exists()


def test_first_frame_of_a_multi_frame_file_is_the_start(tmp_path):
    """`zzhpc convert --all` writes every frame: the start is the first frame, with its own box line."""
    from zzhpc.solvers.water.initial import read_water_gro
    from zzhpc.solvers.water.models import get_model

    one = water_lines(216)
    path = tmp_path / "two.gro"
    triclinic = "   1.90000   1.90000   1.90000   0.0   0.0   0.3   0.0   0.0   0.0"
    path.write_text(
        "\n".join(["f0", "  648", *one, "   1.86000   1.86000   1.86000", "f1", "  648", *one, triclinic]) + "\n"
    )
    start = read_water_gro(str(path), get_model("spce"))
    assert start["nmol"] == 216 and start["lengths"] == pytest.approx([18.6] * 3) and start["title"] == "f0"
