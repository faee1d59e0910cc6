"""The state of every run in an output tree, from its summary.json, checkpoints and Slurm job record.

A run folder is one holding ``summary.json``, ``slurm_job.json`` (written by the job script),
``diagnostics.csv`` or a ``checkpoints/`` folder. Its state is one of

- ``running``: its Slurm job is running, or a live run holds the folder's lock (:mod:`zzhpc.io.runlock`),
  or (a run on a file system without ``flock``) its diagnostics grew after its summary and recently;
- ``queued``: its Slurm job is pending (submitted, or requeued after a time-limit checkpoint);
- ``done``: summary.json says ``"status": "done"``;
- ``resumable``: not done, with a complete checkpoint to resume from (``--restart auto``): stopped by a
  signal or the wall limit, or ended by a fault after a checkpoint;
- ``failed``: summary.json says ``"status": "failed"`` (a physical blow-up: the step and reason are in the
  detail), or not done and nothing to resume from.

The detail also says when the folder's files disagree: a ``LATEST`` that names a missing file, or a
checkpoint of another run (run ids differ) than the summary's.
"""

import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass

from ..io import runlock
from ..io.checkpoint import checkpoint_info, latest_in, read_latest

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
    run_id: str = ""
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
    path = latest_in(d)
    if path is None:
        return None, None
    step = checkpoint_info(path)[2]
    return (int(os.path.basename(path)[5:-3]) if step is None else step), path


def _checkpoint_notes(run_dir, summary, ck_path):
    """What disagrees between the summary, LATEST and the checkpoints (empty when all agree)."""
    d = os.path.join(run_dir, "checkpoints")
    name, rid = read_latest(d)
    notes = []
    if name and not os.path.isfile(os.path.join(d, name)):
        notes.append(f"checkpoints/LATEST names {name}, which is missing")
    srid = summary.get("run_id")
    ck_rid = checkpoint_info(ck_path)[1] if ck_path else None
    if srid and ck_rid and srid != ck_rid:
        notes.append(f"the checkpoint is of run {ck_rid}, the summary of run {srid}")
    return notes


def slurm_states(job_ids):
    """``{job_id: STATE}`` from squeue for jobs Slurm still knows (None when squeue cannot answer)."""
    if not job_ids or not shutil.which("squeue"):
        return None
    # Without a configuration, Slurm clients look the controller up in DNS: do not send that query.
    if not (
        os.environ.get("SLURM_CONF")
        or os.path.isfile("/etc/slurm/slurm.conf")
        or os.path.isfile("/etc/slurm-llnl/slurm.conf")
    ):
        return None
    try:
        proc = subprocess.run(
            ["squeue", "-h", "-o", "%i %A %T", "-j", ",".join(sorted(job_ids))],
            capture_output=True,
            text=True,
            timeout=30,
        )
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
    ck_step, ck_path = latest_checkpoint(run_dir)
    rs = RunState(
        path=run_dir,
        state="failed",
        solver=summary.get("solver", ""),
        steps=summary.get("steps"),
        sim_time=summary.get("time"),
        checkpoint_step=ck_step,
        job_id=str(job.get("job_id", "")),
        restarts=job.get("restarts"),
        run_id=summary.get("run_id") or "",
    )
    notes = _checkpoint_notes(run_dir, summary, ck_path)
    rs = _classify(rs, run_dir, summary, job, ck_step, slurm, now)
    if notes:
        rs.detail = "; ".join(filter(None, [rs.detail] + notes))
    return rs


def _classify(rs, run_dir, summary, job, ck_step, slurm, now):
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
            rs.detail = f"job {rs.job_id} {live.lower()}" + (
                " (requeued after a checkpoint)" if job.get("state") == "requeued" else ""
            )
            return rs
        rs.detail = f"job {rs.job_id} {live.lower()} without recording its outcome; "
    held = runlock.holder(run_dir)
    if held:  # a live run holds the folder (zzhpc.io.runlock), whatever the age of its files
        rs.state, rs.detail = "running", f"output folder locked by {held}"
        return rs
    if not rs.job_id and diag_t and diag_t > (summary_t or 0) and now - diag_t < RECENT_S:
        rs.state, rs.detail = "running", "diagnostics written in the last minutes (no Slurm record)"
        return rs
    if status == "failed" and (summary_t or 0) >= (diag_t or 0):
        rs.state = "failed"
        rs.detail += f"at step {summary.get('failed_at_step')}: {summary.get('reason', '?')}"
        if ck_step is not None:
            rs.detail += f"; a checkpoint at step {ck_step} (zzhpc run DECK -o {run_dir} --restart auto)"
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
