"""zzhpc.Simulation: the Python API drives the same run loop as `zzhpc run` (same results bitwise), resumes
any number of times, calls user callbacks, exposes state and diagnostics, checkpoints and restarts; the
LAMMPS-style thermo output of the run loop."""

import h5py
import numpy as np
import pytest

import zzhpc
from conftest import ROOT, read_summary, run_zzhpc
from zzhpc.errors import ConfigError, InputError

LJ = ROOT / "examples" / "lj_melt.toml"
SMALL = {"md.cells": [4, 4, 4], "run.diag_every": 10}


def ckpt_state(path):
    with h5py.File(path, "r") as f:
        ids = f["state/id"][()]
        o = np.argsort(ids)
        return {k: f[f"state/{k}"][()][o] for k in ("x", "v")}


def test_stepping_in_pieces_equals_one_cli_run_bitwise(tmp_path):
    run_zzhpc(
        0,
        "run",
        LJ,
        "-o",
        tmp_path / "cli",
        "--set",
        "md.cells=[4,4,4]",
        "--set",
        "run.steps=60",
        "--set",
        "run.diag_every=10",
        "-q",
        check=True,
    )
    cli = ckpt_state(read_summary(tmp_path / "cli")["outputs"]["checkpoint"])
    sim = zzhpc.Simulation(LJ, set=SMALL, output=str(tmp_path / "api"))
    sim.run(25)
    sim.run(10)
    assert sim.step == 35
    sim.run(25)
    st = sim.state()
    summary = sim.summary()
    assert summary["status"] == "done" and summary["steps"] == 60
    assert np.array_equal(st["x"], cli["x"]) and np.array_equal(st["v"], cli["v"])
    assert summary["diagnostic_units"]["temp"] == "epsilon/k_B"
    with pytest.raises(RuntimeError, match="has ended"):
        sim.run(1)


def test_callbacks_diagnostics_stop_and_local_state(tmp_path):
    sim = zzhpc.Simulation(LJ, set=SMALL, output=str(tmp_path / "api"))
    seen = []
    sim.every(20, lambda s: seen.append((s.step, s.diagnostics_now["temp"])))
    sim.every(45, lambda s: s.stop())
    sim.run(100)
    assert [s for s, _ in seen] == [20, 40] and sim.step == 45  # stopped by the callback
    cols = sim.diagnostics
    assert list(cols["step"]) == [0, 10, 20, 30, 40] and len(cols["temp"]) == 5
    assert cols["temp"][2] == pytest.approx(seen[0][1], rel=1e-12)
    local, glob = sim.state(gather=False), sim.state()
    o = np.argsort(local["id"])
    assert np.array_equal(local["x"][o], glob["x"])
    sim.close()


def test_run_until_a_time_and_the_with_block(tmp_path):
    with zzhpc.Simulation(ROOT / "examples" / "heat.toml", output=str(tmp_path / "heat")) as sim:
        sim.run(until=0.002)
        assert sim.time >= 0.002 * (1 - 1e-12) and sim.time - sim.solver.dt < 0.002
        u = sim.state()["u"]
        assert u.shape == tuple(sim.cfg["heat"]["shape"]) and np.isfinite(u).all()
    assert read_summary(tmp_path / "heat")["status"] == "done"


def test_checkpoint_then_restart_continues_bitwise(tmp_path):
    ref = zzhpc.Simulation(LJ, set=SMALL, output=str(tmp_path / "ref"))
    ref.run(50)
    want = ref.state()
    ref.close()
    sim = zzhpc.Simulation(LJ, set=SMALL, output=str(tmp_path / "a"))
    sim.run(30)
    ck = sim.checkpoint()
    sim.close()
    again = zzhpc.Simulation.restart(ck)
    assert again.step == 30
    again.run(20)
    got = again.state()
    again.close()
    assert np.array_equal(got["x"], want["x"]) and np.array_equal(got["v"], want["v"])


def test_bad_input_and_a_reused_folder_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="md.cells"):
        zzhpc.Simulation(LJ, set={"md.cells": [0, 4, 4]}, output=str(tmp_path / "bad"))
    sim = zzhpc.Simulation(LJ, set=SMALL, output=str(tmp_path / "one"))
    sim.run(10)
    sim.close()
    with pytest.raises(InputError, match="restart auto"):
        zzhpc.Simulation(LJ, set=SMALL, output=str(tmp_path / "one"))


def test_thermo_prints_aligned_columns_with_units(tmp_path):
    proc = run_zzhpc(
        0,
        "run",
        LJ,
        "-o",
        tmp_path / "t",
        "--set",
        "md.cells=[4,4,4]",
        "--set",
        "run.steps=50",
        "--set",
        "run.thermo=['step','temp','pe','press']",
        "--set",
        "run.thermo_every=25",
        "-q",
        check=True,
    )
    lines = proc.stdout.rstrip("\n").splitlines()
    assert lines[0].split() == ["step", "temp", "pe", "press"]
    assert lines[1].split() == ["[epsilon/k_B]", "[epsilon/atom]", "[epsilon/sigma^3]"]
    rows = [line.split() for line in lines[2:]]
    assert [int(r[0]) for r in rows] == [0, 25, 50]
    assert float(rows[0][1]) == pytest.approx(1.44)
    assert len({len(line) for line in lines}) == 1  # aligned: every line the same width
    from zzhpc.io.summary import read_csv_comments, read_csv_rows

    # diagnostics.csv carries the run's provenance and the units as comment lines before its header
    meta = read_csv_comments(tmp_path / "t" / "diagnostics.csv")
    assert meta["units"]["temp"] == "epsilon/k_B" and meta["units"]["press"] == "epsilon/sigma^3"
    assert meta["provenance"]["config"]["md"]["cells"] == [4, 4, 4]
    assert read_csv_rows(tmp_path / "t" / "diagnostics.csv")[0]["step"] == "0"
    bad = run_zzhpc(
        0,
        "run",
        LJ,
        "-o",
        tmp_path / "b",
        "--set",
        "md.cells=[4,4,4]",
        "--set",
        "run.steps=5",
        "--set",
        "run.thermo=['step','tmp']",
        "-q",
    )
    assert bad.returncode == 2 and "no column 'tmp'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
