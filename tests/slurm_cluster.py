"""A private single-node Slurm (munged, slurmctld, slurmd) on 127.0.0.1, for the tests.

Everything lives under one temporary folder: the munge key and socket, slurm.conf, state, spool and
logs. The daemons run in the foreground as children of the test process, listen on the loopback address
only (``CommunicationParameters=NoCtldInAddrAny,NoInAddrAny``) and are ended by their process ids.
Clients find the cluster through ``SLURM_CONF`` (see :meth:`SlurmCluster.env`).

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
# Private single-node test cluster (tests/slurm_cluster.py); nothing listens beyond 127.0.0.1.
ClusterName=zzhpctest
SlurmctldHost=localhost(127.0.0.1)
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
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/run/slurmctld.pid
SlurmdPidFile={dir}/run/slurmd.pid
SlurmctldLogFile={dir}/log/slurmctld.log
SlurmdLogFile={dir}/log/slurmd.log
MailProg=/bin/true
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
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
"""


def missing_binaries():
    return [b for b in DAEMONS + CLIENTS if not shutil.which(b, path=os.environ.get("PATH", "") +
                                                              ":/usr/sbin:/sbin")]


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
    def __init__(self, directory, cpus=2):
        self.dir = Path(directory)
        self.cpus = cpus
        self.procs = {}
        self.conf = self.dir / "etc" / "slurm.conf"

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
        self.conf.write_text(SLURM_CONF.format(
            dir=self.dir, ctld_port=_free_port(), slurmd_port=_free_port(), srun_lo=lo, srun_hi=lo + 199,
            user=_user(), cpus=self.cpus))

    def env(self, base=None, **extra):
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = env.get("PATH", "") + ":/usr/sbin:/sbin"
        env.update(extra)
        return env

    def _spawn(self, name, argv):
        log = open(self.dir / "log" / f"{name}.stdout", "w")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env(),
                                            start_new_session=True, preexec_fn=_die_with_parent)
        log.close()

    def start(self, timeout=30):
        self._write_config()
        sock = self.dir / "munge" / "munge.socket.2"
        self._spawn("munged", ["munged", "--foreground", "--force", f"--socket={sock}",
                               f"--key-file={self.dir}/munge/munge.key", f"--pid-file={self.dir}/run/munged.pid",
                               f"--log-file={self.dir}/log/munged.log", f"--seed-file={self.dir}/munge/seed",
                               "--origin=127.0.0.1"])
        self._wait(lambda: sock.exists(), timeout, "munged socket")
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", str(self.conf)])
        self._wait(self._node_ready, timeout, "node localhost idle")
        return self

    def _node_ready(self):
        proc = self.run("sinfo", "-h", "-N", "-o", "%t", check=False)
        return proc.returncode == 0 and proc.stdout.strip() in ("idle", "mix", "alloc")

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
        proc = subprocess.run(list(argv), capture_output=True, text=True, env=kw.pop("env", self.env()),
                              timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def job(self, job_id):
        """``scontrol show job`` as a dict (the first record for an array)."""
        out = self.run("scontrol", "-o", "show", "job", str(job_id)).stdout.splitlines()[0]
        return dict(item.split("=", 1) for item in out.split() if "=" in item)

    def wait_job(self, job_id, states=("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL",
                                       "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "PREEMPTED"), timeout=120):
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
        for name in ("slurmd", "slurmctld", "munged"):
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
