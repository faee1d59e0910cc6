"""``zzhpc sbatch`` and ``zzhpc jobs`` against a real single-node Slurm started for this session.

The rendered scripts are checked as text and with ``bash -n``; then real jobs run the heat solver on 2
ranks under ``srun --mpi=pmix``: a plain run (bitwise equal to the same run under mpiexec), a run that
gets the time-limit signal, checkpoints, requeues itself and finishes with the same final field, a run
whose requeue budget is spent (exit 75, resumable, finished by resubmitting), a failing run (never
requeued), a job array with a dependent job, and Open MPI's mpiexec inside the allocation.
"""

import json
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from conftest import ROOT, clean_env, jobs, read_summary, run_zzhpc
from slurm_cluster import SlurmCluster, missing_binaries

DECK = str(ROOT / "examples" / "heat.toml")
SITE = str(ROOT / "slurm" / "sites" / "local-test.toml")
# ~165 steps of a 64x64 grid: about a second, long enough to signal mid-run when slowed down.
RUN = [
    "--set",
    "heat.shape=[64,64]",
    "--set",
    "run.t_end=0.01",
    "--set",
    "run.output_every=0",
    "--set",
    "run.checkpoint_every=40",
]
ALLOC = ["--nodes", "1", "--ntasks-per-node", "2", "--time", "00:30:00"]


def sbatch(*args, env=None, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "zzhpc", "sbatch", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or clean_env(),
        cwd=cwd,
    )


def zzhpc_here(capsys, *args):
    """``zzhpc ARGS`` in this process (the real CLI, without a Python start-up per call)."""
    from zzhpc.cli.main import main

    capsys.readouterr()
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, rc, out, err)


def render(capsys, *args):
    proc = zzhpc_here(capsys, "sbatch", DECK, *ALLOC, *args)
    assert proc.returncode == 0, proc.stderr
    syntax = subprocess.run(["bash", "-n"], input=proc.stdout, capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    return proc.stdout


def final_field(outdir):
    s = read_summary(outdir)
    with h5py.File(os.path.join(outdir, s["outputs"]["fields"][-1]), "r") as f:
        return f["fields/u"][...], s


# --- Rendering (no cluster needed) ------------------------------------------------------------------
def test_script_has_srun_pmix_signal_trap_requeue_and_auto_restart(capsys):
    text = render(capsys, "--partition", "gpu", "--account", "proj42", "--set", "run.t_end=0.002")
    for line in (
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks-per-node=2",
        "#SBATCH --time=00:30:00",
        "#SBATCH --signal=B:USR1@300",
        "#SBATCH --requeue",
        "#SBATCH --partition=gpu",
        "#SBATCH --account=proj42",
        "LAUNCH=(srun --mpi=pmix --kill-on-bad-exit=1)",
        "trap 'on_signal USR1' USR1",
        'scontrol requeue "$SLURM_JOB_ID"',
        "--restart auto",
        "RESTARTS=${SLURM_RESTART_COUNT:-0}",
        "COMMON_SETS=(--set run.t_end=0.002)",
    ):
        assert line in text, line
    assert "CUDA_VISIBLE_DEVICES" not in text and "--gpus-per-node" not in text  # cards are not hidden


def test_one_rank_per_card_and_hide_cards_option(capsys):
    text = render(capsys, "--gpus-per-node", "2")
    assert "#SBATCH --gpus-per-node=2" in text and "BIND=()" in text
    hidden = render(capsys, "--gpus-per-node", "2", "--hide-cards")
    assert "CUDA_VISIBLE_DEVICES=${OMPI_COMM_WORLD_LOCAL_RANK:-${SLURM_LOCALID:-0}}" in hidden
    assert "--set 'backend.device=\"0\"'" in hidden
    amd = render(capsys, "--gpus-per-node", "2", "--hide-cards", "--site", "example-cray-amd")
    assert "ROCR_VISIBLE_DEVICES=" in amd and "--mpi=cray_shasta" in amd and "module load rocm" in amd


def test_container_runs_zzhpc_inside_the_image(capsys, tmp_path):
    text = render(capsys, "--gpus-per-node", "2", "--container", "/images/zzhpc.sif", "-o", tmp_path)
    line = next(ln for ln in text.splitlines() if ln.startswith("ZZHPC=("))
    assert line.startswith("ZZHPC=(apptainer exec --nv --bind ") and line.endswith(" /images/zzhpc.sif zzhpc)")
    assert f"--bind {ROOT / 'examples'}" in line and f"--bind {tmp_path}" in line


@pytest.mark.parametrize("site", sorted(p.stem for p in (ROOT / "slurm" / "sites").glob("*.toml")))
def test_every_bundled_site_profile_renders(capsys, site):
    text = render(capsys, "--site", site)
    assert f"site profile '{site}'" in text


def test_sweep_renders_an_array_with_one_output_per_task(capsys, tmp_path):
    text = render(
        capsys,
        "--sweep",
        "run.t_end=[0.001,0.002]",
        "--sweep",
        "heat.shape=[[16,16],[32,32]]",
        "--array-parallel",
        "2",
        "--dependency",
        "afterok:77",
        "-o",
        tmp_path,
    )
    assert "#SBATCH --array=0-3%2" in text and "#SBATCH --dependency=afterok:77" in text
    assert f"#SBATCH --output={tmp_path}/slurm-%A_%a.out" in text
    assert f"3) OUTPUT={tmp_path}/task-003; TASK_SETS=(--set run.t_end=0.002 --set 'heat.shape=[32,32]')" in text


@pytest.mark.parametrize(
    "args, words",
    [
        (["--set", "heat.diffusivity=-1"], "heat.diffusivity"),
        (["--set", "heat.nonsense=1"], "heat.nonsense"),
        (["--sweep", "heat.shape=[[16,16],[0,16]]"], "heat.shape"),  # every variation is checked
        (["--sweep", "run.t_end=0.1"], "--sweep"),
        (["--gpus-per-node", "4"], "one rank per card"),
        (["--time", "ten minutes"], "--time"),
        (["--time", "00:04:00"], "--signal-lead"),  # the 300 s lead would come before the start
        (["--site", "nowhere"], "--site"),
        (["--dependency", "after ok"], "--dependency"),
        (["--backend", "cupy", "--gpus-per-node", "0"], "backend"),
    ],
)
def test_bad_request_is_refused_with_exit_2_and_one_line(capsys, args, words, tmp_path):
    proc = zzhpc_here(capsys, "sbatch", DECK, *ALLOC, "-o", tmp_path / "out", *args, "--submit")
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert proc.stdout == "" and not (tmp_path / "out").exists()  # nothing written, nothing submitted


def test_bad_site_profile_names_the_key(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[site]\nlauncher = "qsub"\n')
    proc = zzhpc_here(capsys, "sbatch", DECK, *ALLOC, "--site", bad)
    assert proc.returncode == 2 and "site.launcher" in proc.stderr and str(bad) in proc.stderr


def test_script_refuses_to_run_past_the_requeue_limit(capsys, tmp_path):
    """Outside Slurm the script runs under bash; a restart count above the limit stops it first."""
    script = tmp_path / "job.sh"
    script.write_text(render(capsys, "-o", tmp_path / "out", "--max-requeues", "2"))
    proc = subprocess.run(
        ["bash", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(SLURM_RESTART_COUNT="3", SLURM_JOB_ID="999"),
    )
    assert proc.returncode == 1 and "limit 2" in proc.stderr
    rec = json.loads((tmp_path / "out" / "slurm_job.json").read_text())
    assert rec["state"] == "failed" and rec["restarts"] == 3 and not (tmp_path / "out" / "summary.json").exists()


# --- A real Slurm ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    missing = missing_binaries()
    if missing:
        pytest.skip(f"Slurm/munge not installed ({', '.join(missing)}): run scripts/setup_slurm.sh")
    if os.geteuid() != 0:
        pytest.skip("the private Slurm's slurmd must run as root")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same run under plain mpiexec (2 ranks), the bitwise reference."""
    out = tmp_path_factory.mktemp("ref")
    run_zzhpc(2, "run", DECK, "-o", out, "-q", *RUN, check=True)
    return final_field(out)


def submit(slurm, *args, **env):
    proc = sbatch(DECK, *ALLOC, "--site", SITE, *RUN, *args, "--submit", env=slurm.env(clean_env(), **env))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def log_of(out, job_id):
    return (out / f"slurm-{job_id}.out").read_text()


def wait_for(pred, timeout=60, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise TimeoutError(what)


def test_sbatch_run_equals_the_mpiexec_run(slurm, reference, tmp_path):
    out = tmp_path / "run"
    jid = submit(slurm, "-o", out)
    rec = slurm.wait_job(jid)
    assert rec["JobState"] == "COMPLETED" and rec["ExitCode"] == "0:0", log_of(out, jid)
    u, s = final_field(out)
    assert s["status"] == "done" and s["ranks"] == 2 and s["steps"] == reference[1]["steps"]
    np.testing.assert_array_equal(u, reference[0])
    assert "zzhpc-job: done" in log_of(out, jid)
    assert jobs(tmp_path, env=slurm.env(clean_env()))["run"]["state"] == "done"


def test_time_limit_signal_checkpoints_requeues_and_resumes_bitwise(slurm, reference, tmp_path):
    out = tmp_path / "run"
    jid = submit(slurm, "-o", out, "--set", "run.plugins=['slow:seconds=0.005']")
    wait_for(lambda: (out / "diagnostics.csv").exists(), what="the solver to start")
    time.sleep(0.3)
    assert jobs(tmp_path, env=slurm.env(clean_env()))["run"]["state"] == "running"
    # What Slurm does at time limit minus the lead, delivered now (the real one may come a minute early).
    slurm.run("scancel", "--batch", "--signal=USR1", jid)
    wait_for(
        lambda: json.loads((out / "slurm_job.json").read_text())["state"] == "requeued",
        60,
        "the job to checkpoint and requeue",
    )
    s = read_summary(out)
    assert s["status"] == "interrupted" and s["stop_signal"] == "SIGUSR1" and s["steps"] < reference[1]["steps"]
    assert jobs(tmp_path, env=slurm.env(clean_env()))["run"]["state"] in ("queued", "running")
    rec = slurm.wait_job(jid)
    log = log_of(out, jid)
    assert rec["JobState"] == "COMPLETED" and rec["Restarts"] == "1", log
    assert "SIGUSR1" in log and "requeueing (restart 1 of at most 3)" in log
    u, s2 = final_field(out)
    assert s2["status"] == "done" and s2["restarted_from"] and s2["steps"] == reference[1]["steps"]
    np.testing.assert_array_equal(u, reference[0])
    state = json.loads((out / "slurm_job.json").read_text())
    assert state["state"] == "done" and state["restarts"] == 1


def test_spent_requeue_budget_exits_75_then_resubmission_finishes(slurm, reference, tmp_path):
    out = tmp_path / "run"
    jid = submit(slurm, "-o", out, "--max-requeues", "0", "--set", "run.plugins=['slow:seconds=0.005']")
    wait_for(lambda: (out / "diagnostics.csv").exists(), what="the solver to start")
    time.sleep(0.3)
    slurm.run("scancel", "--batch", "--signal=USR1", jid)
    rec = slurm.wait_job(jid)
    assert rec["JobState"] == "FAILED" and rec["ExitCode"] == "75:0" and rec["Restarts"] == "0"
    assert "requeue limit (0) reached" in log_of(out, jid)
    run = jobs(tmp_path, env=slurm.env(clean_env()))["run"]
    assert run["state"] == "resumable" and run["checkpoint_step"] == read_summary(out)["steps"]
    # Resubmitting the same script continues from the checkpoint.
    jid2 = slurm.run("sbatch", "--parsable", str(out / "job.sbatch")).stdout.strip()
    assert slurm.wait_job(jid2)["JobState"] == "COMPLETED", log_of(out, jid2)
    u, s = final_field(out)
    assert s["restarted_from"] and s["steps"] == reference[1]["steps"]
    np.testing.assert_array_equal(u, reference[0])


def test_failing_job_is_not_requeued(slurm, tmp_path):
    out = tmp_path / "run"
    jid = submit(slurm, "-o", out, "--set", "run.plugins=['fault:kind=raise,rank=1,step=5']")
    rec = slurm.wait_job(jid)
    assert rec["JobState"] == "FAILED" and rec["Restarts"] == "0" and rec["ExitCode"] != "0:0"
    assert "injected fault at step 5" in log_of(out, jid)
    run = jobs(tmp_path, env=slurm.env(clean_env()))["run"]
    assert run["state"] == "failed" and json.loads((out / "slurm_job.json").read_text())["state"] == "failed"


def test_job_array_sweep_and_dependency_chain(slurm, tmp_path):
    sweep = tmp_path / "sweep"
    aid = submit(slurm, "-o", sweep, "--sweep", "run.t_end=[0.002,0.004]")
    after = submit(slurm, "-o", tmp_path / "post", "--dependency", f"afterok:{aid}")
    first = slurm.job(after)
    assert first["JobState"] == "PENDING" and first["Reason"] == "Dependency"
    rec = slurm.wait_job(after)
    assert rec["JobState"] == "COMPLETED"
    runs = jobs(tmp_path, env=slurm.env(clean_env()))
    assert {k: v["state"] for k, v in runs.items()} == {
        "post": "done",
        "sweep/task-000": "done",
        "sweep/task-001": "done",
    }
    assert runs["sweep/task-000"]["sim_time"] == pytest.approx(0.002, rel=0.05)
    assert runs["sweep/task-001"]["sim_time"] == pytest.approx(0.004, rel=0.05)
    assert (sweep / f"slurm-{aid}_0.out").exists() and (sweep / f"slurm-{aid}_1.out").exists()
    post_start = os.path.getmtime(tmp_path / "post" / ".slurm_job.started")
    assert all(os.path.getmtime(sweep / t / "summary.json") <= post_start for t in ("task-000", "task-001"))


def test_mpiexec_inside_the_allocation(slurm, tmp_path):
    out = tmp_path / "run"
    jid = submit(slurm, "-o", out, "--launcher", "mpiexec", "--set", "run.t_end=0.002")
    rec = slurm.wait_job(jid)
    assert rec["JobState"] == "COMPLETED", log_of(out, jid)
    assert read_summary(out)["ranks"] == 2 and 'LAUNCH=("mpiexec" "-n"' in (out / "job.sbatch").read_text()
