"""A test cluster on one machine: each node a network namespace with its own address and hostname.

Layout (all created and removed by :class:`NetnsCluster`; nothing in the host's own namespace changes)::

    namespace PREFIXsw : bridge br0  <- veth v0, v1, ...    (the switch)
    namespace PREFIXnode0 : eth0 10.254.0.10/24, lo         (hostname node0 for what runs in it)
    namespace PREFIXnode1 : eth0 10.254.0.11/24, lo         (hostname node1)

The switch namespace has no other interface and no node has a default route, so no packet can leave the
test's bridge. Processes enter a node through :meth:`NetnsCluster.wrap` (``enter.sh``: ``nsenter --net``,
then ``unshare --uts --mount`` with the node's hostname and a private ``/etc/hosts`` naming every node).
The file system, ``/dev/shm`` and the process table stay shared, as on a cluster with a shared file
system: forcing ``--mca btl tcp,self`` keeps Open MPI off shared memory.

Open MPI reaches the other nodes through ``rsh_agent.sh`` (``--mca plm_rsh_agent``), which starts
``orted`` in the node's namespace the way ssh would on a real cluster. ``tc`` on a node's eth0
emulates a slower fabric (:meth:`NetnsCluster.shape`: netem delay where the kernel has it, tbf rate caps).
"""

import atexit
import itertools
import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AGENT = HERE / "rsh_agent.sh"
ENTER = HERE / "enter.sh"
TMP = Path(tempfile.gettempdir())
SUBNET = "10.254.0"  # private (RFC 1918) test range, only ever inside the test's namespaces
PREFIX_RE = re.compile(r"^zzhpc-(\d+)-")
_INSTANCES = itertools.count()  # several clusters of one test process never share a name


def _ip(*args, check=True):
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def _namespaces():
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def permitted():
    """``(True, "")`` where this process may build the cluster (namespaces, and entering one with its own
    hostname and /etc/hosts), else ``(False, reason)``."""
    if os.geteuid() != 0:
        return False, "network namespaces need root (ip netns add)"
    for tool in ("ip", "nsenter", "unshare", "hostname", "tc"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            return False, f"{tool} not found (iproute2, util-linux)"
    name = f"zzhpc-{os.getpid()}-probe"
    proc = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=20)
    if proc.returncode != 0:
        return False, f"ip netns add is not permitted here: {proc.stderr.strip()}"
    try:
        with tempfile.NamedTemporaryFile("w", prefix=f"{name}-", suffix="-hosts") as hosts:
            hosts.write("127.0.0.1 localhost\n")
            hosts.flush()
            proc = subprocess.run(
                [str(ENTER), name, hosts.name, "probe", "hostname"], capture_output=True, text=True, timeout=20
            )
        if proc.returncode != 0 or proc.stdout.strip() != "probe":
            return False, f"cannot enter a namespace with its own hostname and /etc/hosts: {proc.stderr.strip()}"
    finally:
        _ip("netns", "del", name, check=False)
    return True, ""


def remove_stale():
    """Delete namespaces left by a test process that no longer exists (a run killed before its clean-up)."""
    for ns in _namespaces():
        m = PREFIX_RE.match(ns)
        if m and not _alive(int(m.group(1))):
            _kill_in(ns)
            _ip("netns", "del", ns, check=False)
    for hosts in TMP.glob("zzhpc-*-hosts"):
        m = PREFIX_RE.match(hosts.name)
        if m and not _alive(int(m.group(1))):
            hosts.unlink(missing_ok=True)


def _kill_in(ns, timeout=5.0):
    """End every process still inside namespace ``ns`` (all were started there by these tests)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [int(p) for p in _ip("netns", "pids", ns, check=False).stdout.split()]
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + timeout
        while pids and time.time() < deadline:
            pids = [p for p in pids if _alive(p)]
            time.sleep(0.05)
        if not pids:
            return


class NetnsCluster:
    """``nodes`` namespace nodes named ``node0 ...`` on one bridge; :meth:`start` / :meth:`stop` are idempotent."""

    def __init__(self, nodes=2):
        if not 1 <= nodes <= 8:
            raise ValueError(f"nodes={nodes}: expected 1 to 8")
        self.prefix = f"zzhpc-{os.getpid()}-{next(_INSTANCES)}-"
        self.hosts = [f"node{i}" for i in range(nodes)]
        self.hosts_file = TMP / f"{self.prefix}hosts"
        self.started = False

    def ns(self, host):
        return self.prefix + host

    def addr(self, host):
        return f"{SUBNET}.{10 + self.hosts.index(host)}"

    @property
    def subnet(self):
        return f"{SUBNET}.0/24"

    def start(self):
        if self.started:
            return self
        remove_stale()
        self.stop()  # anything of ours from an earlier start in this process
        atexit.register(self.stop)
        self.started = True
        self.hosts_file.write_text("127.0.0.1 localhost\n" + "".join(f"{self.addr(h)} {h}\n" for h in self.hosts))
        sw = self.prefix + "sw"
        _ip("netns", "add", sw)
        _ip("-n", sw, "link", "add", "br0", "type", "bridge")
        _ip("-n", sw, "link", "set", "br0", "up")
        for i, host in enumerate(self.hosts):
            ns = self.ns(host)
            _ip("netns", "add", ns)
            _ip("link", "add", f"v{i}", "netns", sw, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("-n", sw, "link", "set", f"v{i}", "master", "br0")
            _ip("-n", sw, "link", "set", f"v{i}", "up")
            _ip("-n", ns, "addr", "add", f"{self.addr(host)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        return self

    def stop(self):
        """End the processes inside our namespaces, then delete the namespaces (their veths go with them)."""
        for ns in _namespaces():
            if ns.startswith(self.prefix):
                _kill_in(ns)
                _ip("netns", "del", ns, check=False)
        self.hosts_file.unlink(missing_ok=True)
        self.started = False

    def env(self, base=None, **extra):
        env = dict(os.environ if base is None else base)
        env["ZZHPC_NETNS_PREFIX"] = self.prefix
        env["ZZHPC_NETNS_HOSTS"] = str(self.hosts_file)
        env.update(extra)
        return env

    def wrap(self, host, argv):
        """``argv`` run on ``host``: in its network namespace, with its hostname."""
        return [str(ENTER), self.ns(host), str(self.hosts_file), host, *map(str, argv)]

    def mca(self):
        """Open MPI options: orted through the agent, TCP only (no shared memory), on the test subnet."""
        return [
            "--mca",
            "plm_rsh_agent",
            str(AGENT),
            "--mca",
            "btl",
            "tcp,self",
            "--mca",
            "oob_tcp_if_include",
            self.subnet,
            "--mca",
            "btl_tcp_if_include",
            self.subnet,
        ]

    def mpiexec(self, argv, per_node=2, nodes=None, extra=()):
        """``mpiexec`` started on the first node, ``per_node`` ranks on each of ``nodes`` (default: all)."""
        nodes = nodes or self.hosts
        hosts = ",".join(f"{h}:{per_node}" for h in nodes)
        cmd = ["mpiexec", "--host", hosts, "-n", str(per_node * len(nodes)), *self.mca(), *extra, *argv]
        return self.wrap(nodes[0], cmd)

    def link(self, host, up):
        """Take ``host``'s interface down (``up=False``) or up again: the node drops off the fabric."""
        _ip("-n", self.ns(host), "link", "set", "eth0", "up" if up else "down")

    def shape(self, delay_ms=None, rate_mbit=None):
        """Emulate a slower fabric on every node's eth0 (egress): ``tc netem`` for a one-way ``delay_ms``
        (with its ``rate`` when both are given), ``tc tbf`` for a rate cap alone (kernels without
        sch_netem, like this machine's, still have tbf). ``shape()`` removes the shaping."""
        for host in self.hosts:
            base = ["ip", "netns", "exec", self.ns(host), "tc", "qdisc"]
            if delay_ms is None and rate_mbit is None:
                subprocess.run([*base, "del", "dev", "eth0", "root"], capture_output=True, timeout=20)
                continue
            if delay_ms:
                opts = ["netem", "delay", f"{delay_ms}ms"] + (["rate", f"{rate_mbit}mbit"] if rate_mbit else [])
            else:  # a token bucket: burst of at least one timer tick (250 Hz) worth of bytes
                burst = max(32 * 1024, int(rate_mbit * 1e6 / 8 / 250))
                opts = ["tbf", "rate", f"{rate_mbit}mbit", "burst", str(burst), "latency", "100ms"]
            proc = subprocess.run(
                [*base, "replace", "dev", "eth0", "root", *opts], capture_output=True, text=True, timeout=20
            )
            if proc.returncode != 0:
                raise RuntimeError(f"tc qdisc {' '.join(opts)} on {host}: {proc.stderr.strip()}")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
