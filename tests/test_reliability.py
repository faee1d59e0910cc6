"""Interruptions never lose data: SIGKILL during checkpoint writes, a full disk during output."""

import random
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from conftest import ROOT, clean_env, jobs, read_summary, run_zzhpc
from zzhpc.cluster.procs import kill_session

DECK = str(ROOT / "examples" / "heat.toml")

WRITER = textwrap.dedent("""
    import sys, numpy as np
    from mpi4py import MPI
    from zzhpc.io import CheckpointManager
    cm = CheckpointManager(sys.argv[1], MPI.COMM_WORLD, keep=2)
    start = int(sys.argv[2])
    print("ready", flush=True)
    for step in range(start, start + 10 ** 6):
        # 1 MB per checkpoint whose content is a function of the step
        cm.save(step, lambda f: f.create_dataset("x", data=np.full(131072, float(step))), {"time": step})
""")


def test_sigkill_during_checkpoint_writes_never_damages_the_latest(tmp_path):
    """Kill a process that writes checkpoints back to back at random moments, many times; each time
    the newest complete checkpoint must open and hold exactly its own step's data."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    d = tmp_path / "ck"
    rng = random.Random(2026)
    trials, partial_seen, step = 60, 0, 0
    from zzhpc.io.checkpoint import CheckpointManager, is_complete
    from mpi4py import MPI

    for _ in range(trials):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(d), str(step)], stdout=subprocess.PIPE, env=clean_env(), text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        partial_seen += any(p.name.endswith(".partial") for p in d.glob("*"))
        latest = CheckpointManager(str(d), MPI.COMM_SELF, keep=2).latest()
        if latest is None:  # killed before the first checkpoint completed
            continue
        assert is_complete(latest)
        with h5py.File(latest, "r") as f:
            s = int(f.attrs["step"])
            assert np.all(f["x"][...] == float(s)) and f["x"].shape == (131072,)
        step = s + 1
    assert step > 10, "the writer never got far enough to test anything"
    print(f"{trials} SIGKILL trials, {partial_seen} left a partial file, latest always complete")


def test_sigkill_of_a_run_then_restart_is_bitwise(tmp_path):
    """End to end under mpiexec: kill -9 the whole job mid-run (checkpointing every step), restart from
    the newest complete checkpoint, and finish with the uninterrupted run's field, bitwise."""
    args = ["run", DECK, "-q", "--set", "heat.shape=[64,64]", "--set", "run.t_end=0.003", "--set", "run.output_every=0"]
    ref_dir = tmp_path / "ref"
    run_zzhpc(2, *args, "-o", ref_dir, check=True)
    s_ref = read_summary(ref_dir)
    with h5py.File(ref_dir / s_ref["outputs"]["fields"][-1], "r") as f:
        ref = f["fields/u"][...]
    rng = random.Random(7)
    for trial in range(3):
        out = tmp_path / f"k{trial}"
        proc = subprocess.Popen(
            [
                "mpiexec",
                "-n",
                "2",
                sys.executable,
                "-m",
                "zzhpc",
                *args,
                "-o",
                str(out),
                "--set",
                "run.checkpoint_every=1",
                "--set",
                "run.plugins=['slow:seconds=0.002']",
            ],
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while not (out / "checkpoints" / "LATEST").exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.05, 0.4))
        # kill -9 the whole job: mpiexec and every rank (each rank has a process group of its own, so
        # killpg on mpiexec's would leave them running and writing into `out`, racing the restart)
        assert kill_session(proc.pid), "ranks of the killed job still alive after 30 s"
        proc.wait(timeout=30)
        run_zzhpc(2, *args, "-o", out, "--restart", "auto", check=True)
        s = read_summary(out)
        assert s["restarted_from"] and s["steps"] == s_ref["steps"]
        with h5py.File(out / s["outputs"]["fields"][-1], "r") as f:
            np.testing.assert_array_equal(f["fields/u"][...], ref)


def test_second_run_into_a_busy_output_dir_is_refused_and_the_first_finishes(tmp_path):
    args = [
        "run",
        DECK,
        "-q",
        "--set",
        "heat.shape=[64,64]",
        "--set",
        "run.t_end=0.03",
        "--set",
        "run.output_every=0",
        "--set",
        "run.checkpoint_every=50",
        "-o",
        str(tmp_path / "r"),
    ]
    first = subprocess.Popen(
        ["mpiexec", "-n", "2", sys.executable, "-m", "zzhpc", *args, "--set", "run.plugins=['slow:seconds=0.01']"],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 60
        while not (tmp_path / "r" / "diagnostics.csv").exists() and time.time() < deadline:
            time.sleep(0.05)
        second = run_zzhpc(2, *args, "--restart", "auto", timeout=120)
        during = jobs(tmp_path)["r"]
        assert first.poll() is None, "the first run ended before the second was tried: make it longer"
        mine = [ln for ln in second.stderr.splitlines() if ln.startswith("zzhpc")]
        assert second.returncode == 2 and len(mine) == 1, second.stderr[-2000:]
        assert "in use by another zzhpc run (pid" in mine[0] and str(tmp_path / "r") in mine[0], mine[0]
        # `zzhpc jobs` reads the lock: running, whatever the age of the files
        assert during["state"] == "running" and "locked by pid" in during["detail"], during
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err[-2000:]
    finally:
        kill_session(first.pid)
    s = read_summary(tmp_path / "r")
    assert s["status"] == "done" and not s["restarted_from"]
    after = jobs(tmp_path)["r"]
    assert after["state"] == "done", after  # the lock file stays; the lock went with the process


def test_kill_session_ends_mpiexec_and_every_rank():
    """The ranks of an mpiexec job are not in mpiexec's process group; kill_session reaches them all."""
    proc = subprocess.Popen(
        ["mpiexec", "-n", "2", "sleep", "60"],
        env=clean_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from zzhpc.cluster.procs import session_pids

    deadline = time.time() + 30
    while len(session_pids(proc.pid)) < 3 and time.time() < deadline:
        time.sleep(0.05)
    assert len(session_pids(proc.pid)) == 3  # mpiexec + 2 ranks
    assert kill_session(proc.pid)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert session_pids(proc.pid) == []


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root/CAP_SYS_ADMIN): {proc.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_is_a_clear_error_and_latest_stays_complete(small_fs):
    out = small_fs / "run"
    proc = run_zzhpc(
        2,
        "run",
        DECK,
        "-o",
        out,
        "-q",
        "--set",
        "run.checkpoint_every=20",
        "--set",
        "run.output_every=20",
        "--set",
        "heat.shape=[100,100]",
        timeout=120,
    )
    assert proc.returncode != 0
    mine = [ln for ln in proc.stderr.splitlines() if ln.startswith("zzhpc")]
    assert mine and "could not be written: no space left on device" in mine[0], proc.stderr[-3000:]
    from zzhpc.io.checkpoint import is_complete

    latest = (out / "checkpoints" / "LATEST").read_text().split()[0]
    assert is_complete(out / "checkpoints" / latest)


def test_full_output_folder_is_refused_before_any_work(small_fs):
    """A disk already full: one line naming the folder, exit 2, before the solver starts."""
    filler = small_fs / "filler"
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass
    proc = run_zzhpc(2, "run", DECK, "-o", small_fs / "run", "-q", timeout=120)
    mine = [ln for ln in proc.stderr.splitlines() if ln.startswith("zzhpc")]
    assert proc.returncode == 2 and len(mine) == 1, proc.stderr[-3000:]
    assert "no space left on device" in mine[0] or "cannot write the output folder" in mine[0], mine[0]
    assert "Traceback" not in proc.stderr
