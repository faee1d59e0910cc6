"""Ending a local MPI job whole.

``mpiexec`` puts each rank in a process group of its own, so a signal to mpiexec's process group does not
reach the ranks: after ``killpg(mpiexec, SIGKILL)`` the ranks live on as orphans (and may go on writing
into the run's output directory). A job started with ``start_new_session=True`` keeps mpiexec and all its
ranks in one *session*, whose id is mpiexec's pid; :func:`kill_session` signals every process in it, as
Slurm's cgroup kill does for a job step. Linux only (reads ``/proc``).
"""

import os
import signal
import time


def session_pids(sid):
    """Pids of the live processes whose session id is ``sid`` (zombies excluded)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command name: state, ppid, pgrp, session, ...
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(name))
    return pids


def kill_session(sid, sig=signal.SIGKILL, timeout=30.0):
    """Send ``sig`` to every process of session ``sid`` until none is left (SIGKILL) or once (other
    signals). Returns True when the session is empty at the end."""
    deadline = time.monotonic() + timeout
    while True:
        pids = session_pids(sid)
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if sig != signal.SIGKILL or time.monotonic() > deadline:
            return not session_pids(sid)
        time.sleep(0.05)
