"""Multi-node Slurm on the namespace test cluster: slurmctld on node0, one slurmd per node (own
``NodeName``/``NodeAddr`` and hostname), munge shared; ``zzhpc sbatch --nodes 2 --ntasks-per-node 2`` jobs
under ``srun --mpi=pmix`` with Open MPI on TCP only (site profile tests/cluster/netns-site.toml).

Checks: a real 2x2 job bitwise equal to a one-node run, with per-node local ranks; the time-limit signal
-> checkpoint -> requeue -> finish bitwise equal to the uninterrupted run; a checkpoint of 2 nodes x 2
ranks finished on 3 nodes x 1 rank; a node's ranks killed mid-job: the job ends within 10 s, its log names
the node on one line, and the last checkpoint finishes on the other node.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cluster.compare import differing, final_files
from cluster.netns import HERE, NetnsCluster, permitted
from conftest import ROOT, clean_env, read_summary, run_zzhpc
from slurm_cluster import SlurmCluster, missing_binaries

OK, WHY = permitted()
MISSING = missing_binaries()
pytestmark = [
    pytest.mark.skipif(not OK, reason=WHY),
    pytest.mark.skipif(
        bool(MISSING), reason=f"Slurm/munge not installed ({', '.join(MISSING)}): run scripts/setup_slurm.sh"
    ),
]

DECK = str(ROOT / "examples" / "heat.toml")
SITE = str(HERE / "netns-site.toml")
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
TWO_BY_TWO = ["--nodes", "2", "--ntasks-per-node", "2", "--time", "00:30:00"]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    nodes = NetnsCluster(3)
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm-nodes"), netns=nodes)
    try:
        nodes.start()
        yield cluster.start()
    finally:
        cluster.stop()
        nodes.stop()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same run on one node (plain mpiexec, shared memory), the bitwise reference."""
    out = tmp_path_factory.mktemp("ref")
    run_zzhpc(2, "run", DECK, "-o", out, "-q", *RUN, check=True)
    return out, read_summary(out)


def submit(slurm, out, *args, alloc=TWO_BY_TWO, **env):
    argv = [sys.executable, "-m", "zzhpc", "sbatch", DECK, *alloc, "--site", SITE, *RUN, "-o", out, *args, "--submit"]
    proc = subprocess.run(
        slurm.client(argv), capture_output=True, text=True, timeout=120, cwd=ROOT, env=slurm.env(clean_env(), **env)
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def log_of(out, job_id):
    return (out / f"slurm-{job_id}.out").read_text()


def same_final_field(out, reference):
    ref_out, ref = reference
    s = read_summary(out)
    assert s["status"] == "done" and s["steps"] == ref["steps"]
    assert differing(final_files(out, s)[0], final_files(ref_out, ref)[0]) == []
    return s


def test_two_node_job_runs_across_both_and_equals_the_one_node_run(slurm, reference, tmp_path):
    out = tmp_path / "run"
    jid = submit(slurm, out, "--set", "run.t_end=0.01")
    rec = slurm.wait_job(jid)
    assert rec["JobState"] == "COMPLETED" and rec["NodeList"] == "node[0-1]", log_of(out, jid)
    s = same_final_field(out, reference)
    assert s["ranks"] == 4 and s["provenance"]["hosts"] == ["node0", "node1"]
    assert "on 2 node(s), 4 ranks" in log_of(out, jid)


LOCAL = r"""
import json, os, socket
from mpi4py import MPI
from zzhpc.device.mapping import local_rank
c = MPI.COMM_WORLD
rows = c.gather([c.rank, socket.gethostname(), os.environ["SLURM_LOCALID"], local_rank(c)])
if c.rank == 0:
    print(json.dumps(rows), flush=True)
"""


def test_srun_local_ranks_restart_at_zero_on_each_node(slurm):
    proc = slurm.run(
        "srun",
        "-N",
        "2",
        "--ntasks-per-node",
        "2",
        "--mpi=pmix",
        sys.executable,
        "-c",
        LOCAL,
        env=slurm.env(
            clean_env(
                OMPI_MCA_btl="tcp,self",
                OMPI_MCA_btl_tcp_if_include=slurm.netns.subnet,
                OMPI_MCA_oob_tcp_if_include=slurm.netns.subnet,
            )
        ),
    )
    rows = json.loads([line for line in proc.stdout.splitlines() if line.startswith("[[")][-1])
    assert rows == [[0, "node0", "0", 0], [1, "node0", "1", 1], [2, "node1", "0", 0], [3, "node1", "1", 1]]


def _wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while not pred():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_signal_checkpoint_requeue_finishes_bitwise_on_two_nodes(slurm, reference, tmp_path):
    out = tmp_path / "run"
    jid = submit(slurm, out, ZZHPC_SLOW_STEP="0.005")
    _wait_for(lambda: (out / "diagnostics.csv").exists(), 120, "the solver to start")
    time.sleep(0.3)
    slurm.run("scancel", "--batch", "--signal=USR1", jid)
    _wait_for(
        lambda: json.loads((out / "slurm_job.json").read_text())["state"] == "requeued",
        120,
        "the job to checkpoint and requeue",
    )
    s = read_summary(out)
    assert s["status"] == "interrupted" and s["stop_signal"] == "SIGUSR1" and s["ranks"] == 4
    rec = slurm.wait_job(jid, timeout=180)
    assert rec["JobState"] == "COMPLETED" and rec["Restarts"] == "1", log_of(out, jid)
    s2 = same_final_field(out, reference)
    assert s2["restarted_from"] and s2["provenance"]["hosts"] == ["node0", "node1"]


def test_checkpoint_of_two_nodes_finishes_on_three(slurm, reference, tmp_path):
    out = tmp_path / "run"
    jid = submit(slurm, out, "--max-requeues", "0", ZZHPC_SLOW_STEP="0.005")
    _wait_for(lambda: (out / "diagnostics.csv").exists(), 120, "the solver to start")
    time.sleep(0.3)
    slurm.run("scancel", "--batch", "--signal=USR1", jid)
    rec = slurm.wait_job(jid, timeout=180)
    assert rec["JobState"] == "FAILED" and rec["ExitCode"] == "75:0", log_of(out, jid)
    stopped = read_summary(out)["steps"]
    jid2 = submit(slurm, out, alloc=["--nodes", "3", "--ntasks-per-node", "1", "--time", "00:30:00"])
    rec2 = slurm.wait_job(jid2, timeout=180)
    assert rec2["JobState"] == "COMPLETED" and rec2["NodeList"] == "node[0-2]", log_of(out, jid2)
    s = same_final_field(out, reference)
    assert s["ranks"] == 3 and s["restarted_from"] and 0 < stopped < s["steps"]
    assert s["provenance"]["hosts"] == ["node0", "node1", "node2"]


def _ranks_on(slurm, host):
    """Process ids of the zzhpc ranks inside ``host``'s namespace."""
    pids = subprocess.run(
        ["ip", "netns", "pids", slurm.netns.ns(host)], capture_output=True, text=True, timeout=20
    ).stdout.split()
    found = []
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"zzhpc" in argv and b"run" in argv:
            found.append(int(pid))
    return found


def test_lost_node_ends_the_job_naming_it_and_the_checkpoint_finishes_elsewhere(slurm, reference, tmp_path):
    out = tmp_path / "run"
    jid = submit(slurm, out, "--set", "run.checkpoint_every=10", ZZHPC_SLOW_STEP="0.02")
    _wait_for(lambda: (out / "checkpoints" / "LATEST").exists(), 120, "a checkpoint")
    time.sleep(0.5)
    victims = _ranks_on(slurm, "node1")
    assert len(victims) == 2
    t0 = time.time()
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    _wait_for(lambda: not _ranks_on(slurm, "node0") and slurm.job(jid)["JobState"] != "RUNNING", 10, "the job to end")
    elapsed = time.time() - t0
    print(f"job {jid} ended {elapsed:.1f} s after node1's ranks were killed")
    rec = slurm.wait_job(jid)
    log = log_of(out, jid)
    assert rec["JobState"] == "FAILED" and rec["Restarts"] == "0" and elapsed < 10, log
    assert len([line for line in log.splitlines() if "node1" in line and "Killed" in line]) == 1, log
    jid2 = submit(slurm, out, alloc=["--nodes", "1", "--ntasks-per-node", "2", "--time", "00:30:00"])
    rec2 = slurm.wait_job(jid2, timeout=180)
    assert rec2["JobState"] == "COMPLETED", log_of(out, jid2)
    s = same_final_field(out, reference)
    assert s["restarted_from"] and s["provenance"]["hosts"] == ["node0"]
