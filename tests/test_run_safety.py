"""Issue 22: a run never loses or mixes data, every failure a user can cause is one line, every file says
where it came from. One test (or more) per numbered problem of the issue."""

import hashlib
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from conftest import ROOT, clean_env, jobs, read_summary, run_zzhpc

HEAT = str(ROOT / "examples" / "heat.toml")
LJ = str(ROOT / "examples" / "lj_melt.toml")
SMALL = ["-q", "--set", "heat.shape=[16,16]", "--set", "run.t_end=0.002", "--set", "run.checkpoint_every=40"]


def tree_hashes(root):
    """``{relative path: sha256}`` of every file under ``root`` (the lock file aside: it records a pid)."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            if n == ".zzhpc.lock":
                continue
            p = os.path.join(dirpath, n)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def zlines(proc):
    return [ln for ln in proc.stderr.splitlines() if ln.startswith("zzhpc")]


# 1. Reusing an output folder -----------------------------------------------------------------------------
def test_fresh_run_into_a_used_folder_is_refused_and_nothing_changes(tmp_path):
    d = tmp_path / "D"
    run_zzhpc(0, "run", HEAT, "-o", d, *SMALL, check=True)
    before = tree_hashes(d)
    proc = run_zzhpc(0, "run", HEAT, "-o", d, *SMALL, "--set", "run.t_end=0.001")
    lines = zlines(proc)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "--restart auto" in lines[0] and "--output" in lines[0] and "earlier run" in lines[0], lines[0]
    assert "Traceback" not in proc.stderr
    assert tree_hashes(d) == before


def test_backup_moves_the_earlier_run_aside_byte_for_byte(tmp_path):
    d = tmp_path / "D"
    run_zzhpc(0, "run", HEAT, "-o", d, *SMALL, check=True)
    before = tree_hashes(d)
    proc = run_zzhpc(0, "run", HEAT, "-o", d, *SMALL, "--set", "output.existing='backup'", check=True)
    assert f"moved to {d}.~1~" in proc.stderr
    assert tree_hashes(f"{d}.~1~") == before
    assert read_summary(d)["status"] == "done"


def test_pruning_keeps_the_newest_written_and_never_the_other_runs():
    """The issue's sequence: run a writes steps 1000, 1200, 1311; run b (same folder) writes 132. On main
    the pruning kept the highest steps and deleted b's own checkpoint, so LATEST named a missing file."""
    import tempfile
    from zzhpc.io.checkpoint import CheckpointManager, checkpoint_info, read_latest

    d = tempfile.mkdtemp()
    comm = MPI.COMM_SELF

    def write(step):
        return lambda f: f.create_dataset("x", data=np.full(4, float(step)))

    a = CheckpointManager(d, comm, keep=3, run_id="aaaa")
    for s in (1000, 1200, 1311):
        a.save(s, write(s), {"time": s})
    b = CheckpointManager(d, comm, keep=3, run_id="bbbb")
    last = b.save(132, write(132), {"time": 132})
    assert os.path.isfile(last)
    assert read_latest(d) == (os.path.basename(last), "bbbb")
    assert b.latest() == last and checkpoint_info(last)[1:] == ("bbbb", 132)
    assert len(a.complete()) == 4  # run a's checkpoints are not b's to delete
    # one run restarted from an earlier step writes lower step numbers: the newest written stay
    c = CheckpointManager(d, comm, keep=2, run_id="cccc")
    for s in (10, 20, 30, 15):
        newest = c.save(s, write(s), {"time": s})
    mine = sorted(p for p in c.complete() if checkpoint_info(p)[1] == "cccc")
    assert [os.path.basename(p) for p in mine] == ["ckpt_0000000015.h5", "ckpt_0000000030.h5"]
    assert c.latest() == newest


def test_restart_auto_never_picks_another_runs_checkpoint_and_jobs_tells(tmp_path):
    """A checkpoint of another run with a higher step in the folder (as left by an older zzhpc): the
    restart continues the run LATEST names, and `zzhpc jobs` says the files disagree."""
    d = tmp_path / "D"
    run_zzhpc(0, "run", HEAT, "-o", d, *SMALL, check=True)
    s1 = read_summary(d)
    ck = d / "checkpoints"
    from zzhpc.io.checkpoint import CheckpointManager

    other = CheckpointManager(str(ck), MPI.COMM_SELF, keep=5, run_id="0ther0ther00")
    latest_text = (ck / "LATEST").read_text()
    other.save(99999, lambda f: None, {"time": 1.0, "solver": "heat"})
    (ck / "LATEST").write_text(latest_text)  # LATEST still names run 1's newest
    proc = run_zzhpc(0, "run", HEAT, "-o", d, *SMALL, "--set", "run.t_end=0.003", "--restart", "auto", check=True)
    s2 = read_summary(d)
    assert s2["restarted_from"].endswith(f"ckpt_{s1['steps']:010d}.h5"), proc.stderr
    assert s2["run_id"] == s1["run_id"] and s2["steps"] > s1["steps"]
    # LATEST naming a file that is gone, and a summary of another run than the checkpoint
    (ck / "LATEST").write_text("ckpt_0000012345.h5\nrun 0ther0ther00\n")
    state = jobs(tmp_path)["D"]
    assert "LATEST names ckpt_0000012345.h5, which is missing" in state["detail"], state
    assert f"the checkpoint is of run 0ther0ther00, the summary of run {s1['run_id']}" in state["detail"]


# 2. Replay writes a new folder --------------------------------------------------------------------------
def test_replay_writes_a_new_folder_and_records_what_it_replays(tmp_path):
    d = tmp_path / "D"
    run_zzhpc(2, "run", HEAT, "-o", d, *SMALL, check=True)
    before = tree_hashes(d)
    run_zzhpc(2, "run", d / "summary.json", "-q", check=True)
    assert tree_hashes(d) == before
    r = read_summary(f"{d}-replay-1")
    assert r["provenance"]["replay_of"] == str(d / "summary.json")
    assert r["steps"] == read_summary(d)["steps"] and r["run_id"] != read_summary(d)["run_id"]
    run_zzhpc(0, "run", d / "summary.json", "-q", check=True)
    assert os.path.isfile(f"{d}-replay-2/summary.json")


# 3. PETSc options ---------------------------------------------------------------------------------------
def test_petsc_options_are_recorded_and_replayed(tmp_path):
    d = tmp_path / "D"
    run_zzhpc(0, "run", HEAT, "-o", d, *SMALL, "--", "-pc_type", "hypre", check=True)
    rec = read_summary(d)["provenance"]["petsc"]
    assert rec["PETSC_OPTIONS"] == "-pc_type hypre"
    run_zzhpc(0, "run", d / "summary.json", "-q", "-o", tmp_path / "R", check=True)
    rep = read_summary(tmp_path / "R")["provenance"]["petsc"]
    assert "-pc_type hypre" in rep["PETSC_OPTIONS"] and rep["database"].get("pc_type") == "hypre"


def test_bad_petsc_option_is_one_line_and_an_unread_one_is_reported(tmp_path):
    proc = run_zzhpc(2, "run", HEAT, "-o", tmp_path / "a", *SMALL, "--", "-pc_type", "hyper")
    lines = zlines(proc)
    assert proc.returncode == 2 and len(lines) == 1 and "-pc_type hyper" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "a").exists()
    proc = run_zzhpc(0, "run", HEAT, "-o", tmp_path / "b", *SMALL, "--", "-ksp_typo")
    assert proc.returncode == 0
    assert "PETSc never read option -ksp_typo" in proc.stderr, proc.stderr


# 4. One line, exit 2 for unwritable places --------------------------------------------------------------
def test_unwritable_output_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder\n")
    proc = run_zzhpc(2, "run", HEAT, "-o", blocker / "out", *SMALL)
    lines = zlines(proc)
    assert proc.returncode == 2 and len(lines) == 1 and "cannot write the output folder" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_unwritable_json_is_refused_before_the_first_case(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x\n")
    proc = subprocess.run(
        [sys.executable, "-m", "zzhpc", "validate", "heat-mode-decay", "--quick", "--json", str(blocker / "v.json")],
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(),
        cwd=ROOT,
    )
    assert proc.returncode == 2 and "--json" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "heat-mode-decay" not in proc.stdout  # no case ran


# 5. Physical blow-ups -----------------------------------------------------------------------------------
def test_lost_atoms_write_a_failed_summary_and_jobs_says_failed(tmp_path):
    out = tmp_path / "L"
    proc = run_zzhpc(
        2,
        "run",
        LJ,
        "-o",
        out,
        "-q",
        "--set",
        "md.cells=[4,4,4]",
        "--set",
        "run.dt=0.5",
        "--set",
        "run.steps=400",
        "--set",
        "run.diag_every=1000",
        timeout=300,
    )
    lines = zlines(proc)
    assert proc.returncode == 3 and len(lines) == 1, proc.stderr
    assert "periodic box" in lines[0] and "run.dt" in lines[0] and "non-periodic" not in lines[0], lines[0]
    assert "0 atom(s)" not in proc.stderr
    s = read_summary(out)
    assert s["status"] == "failed" and s["failed_at_step"] > 0 and s["reason"] == lines[0][len("zzhpc: ") :]
    state = jobs(tmp_path)["L"]
    assert state["state"] == "failed" and f"at step {s['failed_at_step']}" in state["detail"]


@pytest.mark.parametrize(
    "periodic, words", [(True, "to be wrapped into the periodic box"), (False, "crossed the wall of the box along x")]
)
def test_lost_atoms_message_fits_the_box(periodic, words):
    from zzhpc.device import get_backend
    from zzhpc.errors import CollectiveError, SimulationError
    from zzhpc.particles import Domain

    dom = Domain(MPI.COMM_SELF, get_backend("numpy"), [0.0] * 3, [5.0] * 3, [periodic, True, True], 1.0)
    atoms = {"x": np.array([[7.5, 1.0, 1.0], [1.0, 1.0, 1.0]])}
    with pytest.raises(SimulationError) as err:
        dom.exchange(atoms)
    assert isinstance(err.value, CollectiveError)
    assert words in str(err.value) and "1 atom(s)" in str(err.value) and "overlapping atoms" in str(err.value)


# 6. Provenance in every file ----------------------------------------------------------------------------
def test_every_file_holds_provenance_and_none_is_empty(tmp_path):
    out = tmp_path / "M"
    run_zzhpc(
        2,
        "run",
        LJ,
        "-o",
        out,
        "-q",
        "--set",
        "md.cells=[4,4,4]",
        "--set",
        "run.steps=20",
        "--set",
        "run.output_every=10",
        check=True,
    )
    s = read_summary(out)
    assert s["outputs"]["fields"] == [] and not list(out.glob("fields/fields_*.h5"))  # md writes H5MD only
    with h5py.File(out / "trajectory.h5md", "r") as f:
        prov = json.loads(f.attrs["provenance"])
    assert prov["run_id"] == s["run_id"] and prov["config"]["md"]["cells"] == [4, 4, 4]
    assert "\x00" not in s["provenance"]["mpi_library"]
    # the trajectory replays the run; a file without a record says so in one line
    run_zzhpc(0, "run", out / "trajectory.h5md", "-q", "-o", tmp_path / "R", check=True)
    bare = tmp_path / "bare.h5md"
    with h5py.File(bare, "w") as f:
        f.create_group("h5md")
    proc = run_zzhpc(0, "run", bare)
    assert proc.returncode == 2 and "this file holds no provenance" in proc.stderr and "UTF-8" not in proc.stderr


def test_png_and_dcd_outputs_are_stamped(tmp_path):
    from zzhpc.io.provenance import read_png_provenance, stamp_outputs
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    fig.savefig(tmp_path / "p.png")
    (tmp_path / "t.dcd").write_bytes(b"\0" * 16)
    rec = {"run_id": "r1", "config": {"solver": "x"}}
    assert set(stamp_outputs(str(tmp_path), rec)) == {"p.png", "t.dcd"}
    assert read_png_provenance(tmp_path / "p.png") == rec
    stamp_outputs(str(tmp_path), dict(rec, run_id="r2"))  # a second stamp replaces the first
    assert read_png_provenance(tmp_path / "p.png")["run_id"] == "r2"
    import matplotlib.image as mpimg

    assert mpimg.imread(tmp_path / "p.png").shape[2] == 4  # still a valid PNG
    assert json.loads((tmp_path / "t.dcd.provenance.json").read_text())["provenance"]["run_id"] == "r2"


def test_restart_records_the_keys_it_could_not_change(tmp_path):
    out = tmp_path / "M"
    run_zzhpc(0, "run", LJ, "-o", out, "-q", "--set", "md.cells=[4,4,4]", "--set", "run.steps=10", check=True)
    run_zzhpc(
        0,
        "run",
        LJ,
        "-o",
        out,
        "-q",
        "--set",
        "md.cells=[3,3,3]",
        "--set",
        "run.steps=20",
        "--restart",
        "auto",
        check=True,
    )
    s = read_summary(out)
    assert s["provenance"]["restart_changed"] == {"md.cells": {"checkpoint": [4, 4, 4], "now": [3, 3, 3]}}


# 7. No silent surprises ---------------------------------------------------------------------------------
def test_restart_auto_in_an_empty_folder_says_so(tmp_path):
    proc = run_zzhpc(0, "run", HEAT, "-o", tmp_path / "E", *SMALL, "--restart", "auto", check=True)
    assert f"no checkpoint in {tmp_path / 'E'}: starting from step 0" in proc.stderr


def test_steps_and_t_end_together_are_said(tmp_path):
    proc = run_zzhpc(0, "run", HEAT, "-o", tmp_path / "E", *SMALL, "--set", "run.steps=5", check=True)
    assert "run.steps = 5 and run.t_end = 0.002 both set: the run stops at whichever comes first" in proc.stderr
    assert read_summary(tmp_path / "E")["steps"] == 5


def test_bench_list_names_the_cases():
    proc = subprocess.run(
        [sys.executable, "-m", "zzhpc", "bench", "--list"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        cwd=ROOT,
    )
    assert proc.returncode == 0 and "heat-step" in proc.stdout


def test_setup_drops_pips_false_alarm_about_h5py(tmp_path):
    """setup.sh's pip wrapper, fed what pip prints on a fresh Debian venv, passes real errors only."""
    text = (ROOT / "scripts" / "setup.sh").read_text()
    start = text.index("  pipq() {")
    end = text.index('return "${PIPESTATUS[0]}"; }', start) + len('return "${PIPESTATUS[0]}"; }')
    fake = tmp_path / "bin" / "pip"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\necho \"ERROR: pip's dependency resolver does not currently take into account all "
        "the packages that are installed. This behaviour is the source of the following dependency "
        "conflicts.\" >&2\necho 'zzhpc 0.1.0 requires h5py>=3.6, which is not installed.' >&2\n"
        "echo 'ERROR: a real failure' >&2\nexit 0\n"
    )
    fake.chmod(0o755)
    script = f'VENV={tmp_path}\n{text[start:end]}\npipq foo\n'
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0
    assert "h5py" not in proc.stdout and "dependency resolver" not in proc.stdout
    assert "ERROR: a real failure" in proc.stdout


def test_info_prints_no_nul_byte():
    proc = subprocess.run(
        [sys.executable, "-m", "zzhpc", "info"], capture_output=True, timeout=120, env=clean_env(), cwd=ROOT
    )
    assert proc.returncode == 0 and b"MPI:" in proc.stdout and b"\x00" not in proc.stdout
