"""A private Slurm (munged, slurmctld, slurmd) for the tests: one node on 127.0.0.1, or one slurmd per node
of a network-namespace test cluster (tests/cluster/netns.py).

Everything lives under one temporary folder: the munge key and socket, slurm.conf, state, spool and
logs. The daemons run in the foreground as children of the test process, listen on the loopback address
only (``CommunicationParameters=NoCtldInAddrAny,NoInAddrAny``) and are ended by their process ids.
Clients find the cluster through ``SLURM_CONF`` (see :meth:`SlurmCluster.env`).

On a namespace cluster (``SlurmCluster(tmpdir, netns=NetnsCluster(2).start())``) slurmctld runs on the
first node, one slurmd on every node with its own ``NodeName``/``NodeAddr`` and hostname, munged stays in
the host's namespace (its socket is a file, shared by every node), and every client command runs on the
first node (:meth:`SlurmCluster.client`), the only place from which the controller can be reached.

Usage::

    with SlurmCluster(tmpdir) as cluster:
        subprocess.run(["sbatch", ...], env=cluster.env())
"""

import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel", "srun", "sinfo")

SLURM_CONF = """\
# Private test cluster (tests/slurm_cluster.py); the daemons listen on the node addresses only.
ClusterName=zzhpctest
SlurmctldHost={ctld_host}
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SrunPortRange={srun_lo}-{srun_hi}
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job waits this long (default 120 s) before it may start again.
AuthInfo=socket={dir}/munge/munge.socket.2,cred_expire=5
SlurmUser={user}
SlurmdUser=root
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool{per_node}
SlurmctldPidFile={dir}/run/slurmctld.pid
SlurmdPidFile={dir}/run/slurmd{per_node}.pid
SlurmctldLogFile={dir}/log/slurmctld.log
SlurmdLogFile={dir}/log/slurmd{per_node}.log
{tmpfs}MailProg=/bin/true
# No cgroups: processes tracked through /proc, no task confinement.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
MinJobAge=600
JobRequeue=1
# 2 CPUs whatever the machine has; jobs may share them (OverSubscribe), so array tasks run side by side.
SlurmdParameters=config_overrides
{node_lines}
PartitionName=debug Nodes={node_names} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
"""


def missing_binaries():
    return [b for b in DAEMONS + CLIENTS if not shutil.which(b, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")]


def _die_with_parent():
    """In the child: SIGTERM when the test process dies, however it dies (no daemon outlives it)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _user():
    return pwd.getpwuid(os.getuid()).pw_name


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlurmCluster:
    def __init__(self, directory, cpus=2, netns=None):
        self.dir = Path(directory)
        self.cpus = cpus
        self.netns = netns  # a started tests/cluster/netns.NetnsCluster, or None for one node on 127.0.0.1
        self.procs = {}
        self.conf = self.dir / "etc" / "slurm.conf"

    @property
    def nodes(self):
        return self.netns.hosts if self.netns else ["localhost"]

    def _addr(self, node):
        return self.netns.addr(node) if self.netns else "127.0.0.1"

    # Set-up ---------------------------------------------------------------------------------------
    def _write_config(self):
        for sub in ("etc", "munge", "state", "spool", "run", "log"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        os.chmod(self.dir / "munge", 0o755)  # munged refuses a group/world-writable socket folder
        key = self.dir / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        lo = 20000 + (os.getpid() * 37) % 40000
        self.conf.write_text(
            SLURM_CONF.format(
                dir=self.dir,
                ctld_port=_free_port(),
                slurmd_port=_free_port(),
                srun_lo=lo,
                srun_hi=lo + 199,
                user=_user(),
                cpus=self.cpus,
                ctld_host=f"{self.nodes[0]}({self._addr(self.nodes[0])})",
                per_node="-%n" if self.netns else "",
                # The nodes share /tmp: PMIx's per-step folders (TmpFS/spmix_appdir_UID_JOB.STEP) must not.
                tmpfs=f"TmpFS={self.dir}/tmp-%n\n" if self.netns else "",
                node_names=",".join(self.nodes),
                node_lines="\n".join(
                    f"NodeName={n} NodeAddr={self._addr(n)} CPUs={self.cpus} State=UNKNOWN" for n in self.nodes
                ),
            )
        )

    def env(self, base=None, **extra):
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = env.get("PATH", "") + ":/usr/sbin:/sbin"
        if self.netns:
            env = self.netns.env(env)
        env.update(extra)
        return env

    def client(self, argv):
        """``argv`` where it can reach slurmctld: as is on one node, on the first node of a namespace cluster."""
        argv = [str(a) for a in argv]
        return self.netns.wrap(self.nodes[0], argv) if self.netns else argv

    def _spawn(self, name, argv, node=None):
        """Start a daemon in the foreground: on ``node`` of a namespace cluster, else in this namespace."""
        if self.netns and node:
            argv = self.netns.wrap(node, argv)
        log = open(self.dir / "log" / f"{name}.stdout", "w")
        self.procs[name] = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(),
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()

    def start(self, timeout=30):
        self._write_config()
        sock = self.dir / "munge" / "munge.socket.2"
        if self.netns:
            for node in self.nodes:
                for sub in ("spool", "tmp"):
                    (self.dir / f"{sub}-{node}").mkdir(exist_ok=True)
        # munged stays in this namespace: its socket is a file, which every node sees.
        self._spawn(
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--socket={sock}",
                f"--key-file={self.dir}/munge/munge.key",
                f"--pid-file={self.dir}/run/munged.pid",
                f"--log-file={self.dir}/log/munged.log",
                f"--seed-file={self.dir}/munge/seed",
                "--origin=127.0.0.1",
            ],
        )
        self._wait(lambda: sock.exists(), timeout, "munged socket")
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)], self.nodes[0])
        for node in self.nodes:
            self._spawn(self._slurmd(node), ["slurmd", "-D", "-N", node, "-f", str(self.conf)], node)
        self._wait(self._node_ready, timeout, f"nodes {','.join(self.nodes)} idle")
        return self

    def _slurmd(self, node):
        return f"slurmd-{node}" if self.netns else "slurmd"

    def _node_ready(self):
        proc = self.run("sinfo", "-h", "-N", "-o", "%t", check=False)
        states = proc.stdout.split()
        return (
            proc.returncode == 0
            and len(states) == len(self.nodes)
            and all(s in ("idle", "mix", "alloc") for s in states)
        )

    def _wait(self, ready, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited ({p.returncode}) during start-up:\n{self.logs()}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"timed out waiting for {what}:\n{self.logs()}")

    # Use ------------------------------------------------------------------------------------------
    def run(self, *argv, check=True, timeout=60, **kw):
        proc = subprocess.run(
            self.client(argv), capture_output=True, text=True, env=kw.pop("env", self.env()), timeout=timeout, **kw
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def job(self, job_id):
        """``scontrol show job`` as a dict (the first record for an array)."""
        out = self.run("scontrol", "-o", "show", "job", str(job_id)).stdout.splitlines()[0]
        return dict(item.split("=", 1) for item in out.split() if "=" in item)

    def wait_job(
        self,
        job_id,
        states=(
            "COMPLETED",
            "FAILED",
            "CANCELLED",
            "TIMEOUT",
            "NODE_FAIL",
            "OUT_OF_MEMORY",
            "BOOT_FAIL",
            "DEADLINE",
            "PREEMPTED",
        ),
        timeout=120,
    ):
        """Poll until the job reaches one of ``states``; return its final record."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            rec = self.job(job_id)
            if rec["JobState"] in states:
                return rec
            time.sleep(0.25)
        raise TimeoutError(f"job {job_id} still {rec['JobState']} after {timeout} s:\n{self.logs()}")

    def logs(self, tail=40):
        out = []
        for f in sorted((self.dir / "log").glob("*")):
            lines = f.read_text(errors="replace").splitlines()[-tail:]
            out.append(f"== {f.name}\n" + "\n".join(lines))
        return "\n".join(out)

    # Tear-down ------------------------------------------------------------------------------------
    def stop(self):
        """Cancel every job of this cluster, then end the daemons this object started (by pid)."""
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            self.run("scancel", "--user", _user(), check=False)
            deadline = time.time() + 15
            while time.time() < deadline:
                q = self.run("squeue", "-h", "-t", "R,CG,CF,S", check=False)
                if q.returncode != 0 or not q.stdout.strip():
                    break
                time.sleep(0.2)
        for name in (*map(self._slurmd, self.nodes), "slurmctld", "munged"):
            p = self.procs.get(name)
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
