"""The state of every run in an output tree, from its summary.json, checkpoints and Slurm job record.

A run folder is one holding ``summary.json``, ``slurm_job.json`` (written by the job script),
``diagnostics.csv`` or a ``checkpoints/`` folder. Its state is one of

- ``running``: its Slurm job is running, or a live run holds the folder's lock (:mod:`zzhpc.io.runlock`),
  or (a run on a file system without ``flock``) its diagnostics grew after its summary and recently;
- ``queued``: its Slurm job is pending (submitted, or requeued after a time-limit checkpoint);
- ``done``: summary.json says ``"status": "done"``;
- ``resumable``: not done, with a complete checkpoint to resume from (``--restart auto``): stopped by a
  signal or the wall limit, or ended by a fault after a checkpoint;
- ``failed``: not done and nothing to resume from.
"""
import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass

from ..io import runlock
from ..io.checkpoint import is_complete

RUN_MARKERS = ("summary.json", "slurm_job.json", "diagnostics.csv", "checkpoints")
RECENT_S = 600  # a run without a Slurm record counts as running while its diagnostics are this fresh
_RUNNING = ("RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESIZING")
_QUEUED = ("PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD")


@dataclass
class RunState:
    path: str
    state: str
    solver: str = ""
    steps: int = None
    sim_time: float = None
    checkpoint_step: int = None
    job_id: str = ""
    restarts: int = None
    detail: str = ""


def find_runs(root):
    """Run folders under ``root`` (itself included), sorted; their own sub-folders are not searched."""
    runs = []
    for dirpath, dirnames, filenames in os.walk(root):
        if any(m in filenames or m in dirnames for m in RUN_MARKERS):
            runs.append(dirpath)
            dirnames[:] = [d for d in dirnames if d not in ("checkpoints", "fields")]
        dirnames.sort()
    return sorted(runs)


def _read_json(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def latest_checkpoint(run_dir):
    """``(step, path)`` of the newest complete checkpoint, or ``(None, None)``."""
    d = os.path.join(run_dir, "checkpoints")
    if not os.path.isdir(d):
        return None, None
    names = []
    try:
        with open(os.path.join(d, "LATEST")) as fh:
            names.append(fh.read().strip())
    except OSError:
        pass
    names += sorted((n for n in os.listdir(d) if n.startswith("ckpt_") and n.endswith(".h5")), reverse=True)
    for name in names:
        path = os.path.join(d, name)
        if name and os.path.isfile(path) and is_complete(path):
            return int(name[5:-3]), path
    return None, None


def slurm_states(job_ids):
    """``{job_id: STATE}`` from squeue for jobs Slurm still knows (None when squeue cannot answer)."""
    if not job_ids or not shutil.which("squeue"):
        return None
    # Without a configuration, Slurm clients look the controller up in DNS: do not send that query.
    if not (os.environ.get("SLURM_CONF") or os.path.isfile("/etc/slurm/slurm.conf")
            or os.path.isfile("/etc/slurm-llnl/slurm.conf")):
        return None
    try:
        proc = subprocess.run(["squeue", "-h", "-o", "%i %A %T", "-j", ",".join(sorted(job_ids))],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0 and "Invalid job id" not in proc.stderr:
        return None
    states = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            states[parts[0]] = states[parts[1]] = parts[2]  # array tasks: "123_4" and their own id
    return states


def run_state(run_dir, slurm=None, now=None):
    """The :class:`RunState` of one run folder; ``slurm`` is :func:`slurm_states`' answer (or None)."""
    now = time.time() if now is None else now
    summary = _read_json(os.path.join(run_dir, "summary.json")) or {}
    job = _read_json(os.path.join(run_dir, "slurm_job.json")) or {}
    ck_step, _ = latest_checkpoint(run_dir)
    rs = RunState(path=run_dir, state="failed", solver=summary.get("solver", ""), steps=summary.get("steps"),
                  sim_time=summary.get("time"), checkpoint_step=ck_step, job_id=str(job.get("job_id", "")),
                  restarts=job.get("restarts"))
    status = summary.get("status")
    summary_t = _mtime(os.path.join(run_dir, "summary.json"))
    diag_t = _mtime(os.path.join(run_dir, "diagnostics.csv"))

    # A live Slurm job decides: running or queued, whatever the files say.
    if rs.job_id and job.get("state") in ("running", "requeued"):
        if slurm is None:  # no squeue here: trust the job script's record
            live = "RUNNING" if job.get("state") == "running" else "PENDING"
        else:
            live = slurm.get(rs.job_id, "GONE")
        if live in _RUNNING:
            rs.state, rs.detail = "running", f"job {rs.job_id} {live.lower()}"
            return rs
        if live in _QUEUED:
            rs.state = "queued"
            rs.detail = f"job {rs.job_id} {live.lower()}" + (" (requeued after a checkpoint)"
                                                            if job.get("state") == "requeued" else "")
            return rs
        rs.detail = f"job {rs.job_id} {live.lower()} without recording its outcome; "
    held = runlock.holder(run_dir)
    if held:   # a live run holds the folder (zzhpc.io.runlock), whatever the age of its files
        rs.state, rs.detail = "running", f"output folder locked by {held}"
        return rs
    if not rs.job_id and diag_t and diag_t > (summary_t or 0) and now - diag_t < RECENT_S:
        rs.state, rs.detail = "running", "diagnostics written in the last minutes (no Slurm record)"
        return rs
    if status == "done" and ((summary_t or 0) >= (diag_t or 0) or job.get("state") == "done"):
        rs.state, rs.detail = "done", rs.detail + (f"after {rs.restarts} requeue(s)" if rs.restarts else "")
        return rs
    if ck_step is not None:
        rs.state = "resumable"
        if status == "interrupted" and (summary_t or 0) >= (diag_t or 0):
            why = summary.get("stop_signal") or "wall limit"
            rs.detail += f"stopped by {why} at step {summary.get('steps')}"
        else:
            code = job.get("exit_code")
            rs.detail += f"ended without a final summary (exit {code})" if code else "ended early"
        rs.detail += f"; resume from step {ck_step}: zzhpc run DECK -o {run_dir} --restart auto"
        return rs
    code = job.get("exit_code")
    rs.detail += f"exit {code}" if code not in (None, 0) else "no summary, no checkpoint"
    return rs


def _mtime(path):
    try:
        return os.path.getmtime(path)
    except OSError:
        return None


def scan(root, use_slurm=True):
    """States of all runs under ``root``, asking squeue once for every job recorded there."""
    runs = find_runs(root)
    ids = set()
    for r in runs:
        job = _read_json(os.path.join(r, "slurm_job.json")) or {}
        if job.get("job_id") and job.get("state") in ("running", "requeued"):
            ids.add(str(job["job_id"]))
    slurm = slurm_states(ids) if use_slurm else None
    return [run_state(r, slurm) for r in runs]


def as_dicts(states):
    return [asdict(s) for s in states]
