"""Several nodes for real: Open MPI over TCP between network-namespace nodes (tests/cluster/netns.py).

2 nodes x 2 ranks with ``--mca btl tcp,self`` (no shared memory, not even between the two ranks of a
node): a subset of the MPI test-suite (halo exchange, parallel HDF5, checkpoints, MD ghosts and
migration, the distributed FFT), solver runs bitwise equal to the same runs on one node, a checkpoint
restarted on another node set, per-node local ranks and card maps with differing hostnames, and the loss
of a node (its ranks killed, or its interface taken down) ending the job within 10 s with the lost host
named and the last checkpoint restartable.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cluster.compare import differing, final_files
from cluster.netns import NetnsCluster, permitted, remove_stale
from conftest import ROOT, clean_env, read_summary

OK, WHY = permitted()
pytestmark = pytest.mark.skipif(not OK, reason=WHY)

PY = sys.executable
HEAT = [str(ROOT / "examples" / "heat.toml"), "--set", "heat.shape=[64,64]", "--set", "run.output_every=0"]
RUNS = {
    "heat": [*HEAT, "--set", "run.t_end=0.002"],
    "md": [
        str(ROOT / "examples" / "lj_melt.toml"),
        "--set",
        "md.cells=[6,6,6]",
        "--set",
        "run.steps=40",
        "--set",
        "md.neigh_every=5",
    ],
    "spectral": [
        str(ROOT / "examples" / "taylor_green.toml"),
        "--set",
        "spectral.shape=[16,16,16]",
        "--set",
        "run.dt=0.01",
        "--set",
        "run.t_end=0.05",
        "--set",
        "run.output_every=0",
    ],
}
# The MPI tests run across the nodes: halo exchange, parallel HDF5, checkpoints, MD ghosts and
# migration (thin slabs: several ghost hops), MD restart, the distributed FFT.
SUBSET = [
    "tests/mpi/test_parallel_mpi.py::test_halo_exchange_matches_global_array",
    "tests/mpi/test_parallel_mpi.py::test_parallel_hdf5_block_and_concatenated_roundtrip",
    "tests/mpi/test_parallel_mpi.py::test_checkpoints_atomic_keep_k_and_partial_ignored",
    "tests/mpi/test_md_mpi.py::test_thin_subdomains_need_several_ghost_hops",
    "tests/mpi/test_md_mpi.py::test_restart_bitwise_on_same_ranks",
    "tests/mpi/test_fft.py::test_numpy_matches_rfftn_and_roundtrip",
]
# A lost daemon is noticed through TCP keepalive on Open MPI's out-of-band channel (default: 300 s idle,
# then 9 probes 20 s apart); these make it seconds, as a site would set for fast failure.
KEEPALIVE = [
    "--mca",
    "oob_tcp_keepalive_time",
    "1",
    "--mca",
    "oob_tcp_keepalive_intvl",
    "1",
    "--mca",
    "oob_tcp_keepalive_probes",
    "3",
]


@pytest.fixture(scope="module")
def cluster():
    c = NetnsCluster(3)
    try:
        yield c.start()
    finally:
        c.stop()


@pytest.fixture(scope="module")
def heat_reference(cluster, tmp_path_factory):
    """``t_end -> run folder`` of the heat deck on one node (2 ranks, shared memory), each made once."""
    made = {}

    def get(t_end):
        if t_end not in made:
            out = tmp_path_factory.mktemp("heat-ref")
            run(["mpiexec", "-n", "2", *zzhpc_run(*HEAT, "--set", f"run.t_end={t_end}", "-o", out)], cluster)
            made[t_end] = out
        return made[t_end]

    return get


def run(argv, cluster, timeout=300, **env):
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=cluster.env(clean_env(**env))
    )
    assert proc.returncode == 0, (
        f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


def zzhpc_run(*args):
    return [PY, "-m", "zzhpc", "run", *map(str, args)]


def _namespaces():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=20).stdout


def test_cluster_start_stop_idempotent_and_leftovers_of_dead_runs_removed():
    c = NetnsCluster(2)
    try:
        assert c.start() is c.start()  # a second start is a no-op
        sleeper = subprocess.Popen(c.wrap("node1", ["sleep", "60"]))
        assert _namespaces().count(c.prefix) == 3  # switch + 2 nodes
    finally:
        c.stop()
        c.stop()
    assert c.prefix not in _namespaces() and not c.hosts_file.exists()
    assert sleeper.wait(10) != 0  # what ran inside was ended, not left behind
    # A namespace named for a process that no longer exists (a killed test run) is removed.
    dead = subprocess.Popen(["true"])
    dead.wait()
    subprocess.run(["ip", "netns", "add", f"zzhpc-{dead.pid}-node0"], check=True, timeout=20)
    try:
        remove_stale()
        assert f"zzhpc-{dead.pid}-" not in _namespaces()
    finally:
        subprocess.run(["ip", "netns", "del", f"zzhpc-{dead.pid}-node0"], capture_output=True, timeout=20)


def test_nodes_have_their_own_hostname_address_and_no_route_out(cluster):
    for host in cluster.hosts:
        out = subprocess.run(
            cluster.wrap(host, ["sh", "-c", "hostname; ip -4 -o addr show dev eth0; ip route"]),
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout
        assert out.splitlines()[0] == host
        assert f"inet {cluster.addr(host)}/24" in out
        assert "default" not in out  # nothing routed out of the test's bridge


PROBE = r"""
import json, os, socket
from mpi4py import MPI
from zzhpc.device.mapping import choose_device, local_rank
from zzhpc.io.provenance import provenance

class TwoCards:  # a backend description with two cards per node: the map is what is tested
    kind, name, device_prefix = "gpu", "twocards", "cuda"
    device_count = staticmethod(lambda: 2)

class Backend:
    kind, device = "cpu", "cpu"
    def describe(self): return None
    def device_name(self): return "cpu"

comm = MPI.COMM_WORLD
rec = dict(rank=comm.rank, host=socket.gethostname(), env_local=os.environ["OMPI_COMM_WORLD_LOCAL_RANK"],
           local=local_rank(comm), card=choose_device(TwoCards, "local-rank", comm),
           btl=os.environ.get("OMPI_MCA_btl"), sum=comm.allreduce(comm.rank))
prov = provenance(comm, backend=Backend())
rec["provenance_hosts"], rec["host_map"] = prov["hosts"], prov.get("host_map")
recs = comm.gather(rec)  # one line from rank 0: forwarded output of several ranks may interleave
if comm.rank == 0:
    print(json.dumps(recs), flush=True)
"""


@pytest.fixture(scope="module")
def probe(cluster):
    """What each of 2 x 2 ranks sees: host, local rank, card, transport, provenance."""
    import json

    proc = run(cluster.mpiexec([PY, "-c", PROBE], nodes=cluster.hosts[:2]), cluster)
    return json.loads([line for line in proc.stdout.splitlines() if line.startswith("[")][-1])


def test_local_ranks_restart_at_zero_on_each_node_and_cards_follow(probe):
    recs = probe
    assert [(r["host"], r["local"], r["card"]) for r in recs] == [
        ("node0", 0, "cuda:0"),
        ("node0", 1, "cuda:1"),
        ("node1", 0, "cuda:0"),
        ("node1", 1, "cuda:1"),
    ]
    assert all(r["env_local"] == str(r["local"]) and r["btl"] == "tcp,self" and r["sum"] == 6 for r in recs)
    assert all(r["provenance_hosts"] == ["node0", "node1"] for r in recs)


def test_provenance_maps_every_host_to_its_ranks_and_devices(probe):
    """Provenance ``host_map``: ``{host: [{"rank", "local_rank", "device"}, ...]}``."""
    assert probe[0]["host_map"] is not None
    want = {
        "node0": [{"rank": 0, "local_rank": 0, "device": "cpu"}, {"rank": 1, "local_rank": 1, "device": "cpu"}],
        "node1": [{"rank": 2, "local_rank": 0, "device": "cpu"}, {"rank": 3, "local_rank": 1, "device": "cpu"}],
    }
    assert all(r["host_map"] == want for r in probe)


def test_mpi_subset_passes_across_two_nodes(cluster):
    proc = run(
        cluster.mpiexec(
            [PY, "-m", "pytest", "-q", "--with-mpi", "-m", "mpi", "-p", "no:cacheprovider", "--color=no", *SUBSET],
            nodes=cluster.hosts[:2],
        ),
        cluster,
        timeout=600,
    )
    counts = re.findall(r"(\d+) passed", proc.stdout)
    assert len(counts) == 4 and int(counts[0]) >= 40, proc.stdout[-2000:]  # every rank reports its tally


@pytest.mark.parametrize("name", sorted(RUNS))
def test_solver_bitwise_equal_on_two_nodes_and_on_one(cluster, name, tmp_path):
    multi, one = tmp_path / "multi", tmp_path / "one"
    run(cluster.mpiexec(zzhpc_run(*RUNS[name], "-o", multi), nodes=cluster.hosts[:2]), cluster)
    run(["mpiexec", "-n", "4", *zzhpc_run(*RUNS[name], "-o", one)], cluster)  # one node, shared memory
    sm, so = read_summary(multi), read_summary(one)
    assert sm["status"] == so["status"] == "done" and sm["steps"] == so["steps"] > 0
    assert sm["provenance"]["hosts"] == ["node0", "node1"]
    for a, b in zip(final_files(multi, sm), final_files(one, so)):
        assert differing(a, b) == [], (a, b)


def test_checkpoint_from_two_nodes_restarts_on_three_bitwise(cluster, heat_reference, tmp_path):
    """Stop a 2x2 run half-way (its end time), restart its checkpoint on 3 nodes x 1 rank to the full end
    time: the final field equals an uninterrupted one-node run."""
    out, ref = tmp_path / "run", heat_reference(0.002)
    run(cluster.mpiexec(zzhpc_run(*HEAT, "--set", "run.t_end=0.001", "-o", out), nodes=cluster.hosts[:2]), cluster)
    first = read_summary(out)["steps"]
    run(
        cluster.mpiexec(zzhpc_run(*HEAT, "--set", "run.t_end=0.002", "-o", out, "--restart", "auto"), per_node=1),
        cluster,
    )
    s, r = read_summary(out), read_summary(ref)
    assert s["restarted_from"] and 0 < first < s["steps"] == r["steps"]
    assert s["provenance"]["hosts"] == ["node0", "node1", "node2"] and s["ranks"] == 3
    assert differing(final_files(out, s)[0], final_files(ref, r)[0]) == []


def _ranks_on(cluster, host):
    """Process ids of the zzhpc ranks running in ``host``'s namespace (not its orted)."""
    pids = subprocess.run(
        ["ip", "netns", "pids", cluster.ns(host)], capture_output=True, text=True, timeout=20
    ).stdout.split()
    ranks = []
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"zzhpc" in argv and b"run" in argv and not any(a.endswith(b"orted") for a in argv):
            ranks.append(int(pid))
    return ranks


@pytest.mark.parametrize("how", ["kill-ranks", "link-down"])
def test_lost_node_ends_the_job_within_10_s_naming_it_and_the_checkpoint_restarts(
    cluster, heat_reference, tmp_path, how
):
    out = tmp_path / "run"
    deck = [*HEAT, "--set", "run.t_end=0.005", "--set", "run.checkpoint_every=10"]
    job = subprocess.Popen(
        cluster.mpiexec(zzhpc_run(*deck, "-o", out), nodes=cluster.hosts[:2], extra=KEEPALIVE),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=cluster.env(clean_env(ZZHPC_SLOW_STEP="0.02")),
    )
    try:
        deadline = time.time() + 120
        while not (out / "checkpoints" / "LATEST").exists():
            assert job.poll() is None and time.time() < deadline, "no checkpoint written"
            time.sleep(0.1)
        time.sleep(0.5)
        victims = _ranks_on(cluster, "node1")
        assert len(victims) == 2
        t0 = time.time()
        if how == "kill-ranks":
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
        else:
            cluster.link("node1", up=False)
        _, err = job.communicate(timeout=30)
        elapsed = time.time() - t0
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()
        cluster.link("node1", up=True)
    assert job.returncode != 0 and elapsed < 10, (elapsed, err[-2000:])
    # Open MPI names the lost node on one line: "... on node node1 exited on signal 9" or
    # "Remote daemon: [[J,0],1] on node node1".
    named = [line for line in err.splitlines() if re.search(r"on node node1\b", line)]
    assert len(named) == 1, err[-3000:]
    deadline = time.time() + 10  # the lost node's daemon ends its own ranks when it loses the launcher
    while _ranks_on(cluster, "node0") + _ranks_on(cluster, "node1"):
        assert time.time() < deadline, "ranks left running"
        time.sleep(0.1)
    latest = out / "checkpoints" / (out / "checkpoints" / "LATEST").read_text().strip()
    step = int(re.search(r"(\d+)", latest.name).group(1))
    # The last checkpoint restarts (on the surviving node) and the run finishes as an uninterrupted one.
    run(cluster.mpiexec(zzhpc_run(*deck, "-o", out, "--restart", "auto"), nodes=["node0"]), cluster)
    ref = heat_reference(0.005)
    s, r = read_summary(out), read_summary(ref)
    assert s["status"] == "done" and s["steps"] == r["steps"] > step > 0
    assert differing(final_files(out, s)[0], final_files(ref, r)[0]) == []
