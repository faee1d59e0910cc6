"""The lock of an output folder: one live run per folder.

The run's rank 0 holds an exclusive ``flock`` on ``OUTPUT/.zzhpc.lock`` from start to end and writes its pid
and host into it. The kernel drops the lock when that process dies (also on SIGKILL), so a stale lock file
means nothing. :func:`holder` tells whether a folder's lock is held now (``zzhpc jobs`` uses it). File systems
without ``flock`` (some Lustre mounts) run unlocked.
"""

import fcntl
import os
import socket
import time

LOCK_NAME = ".zzhpc.lock"


def acquire(outdir, retry_s=1.0):
    """Create ``outdir`` and lock it. Returns ``(open lock file or None, None)``, or ``(None, holder text)``
    when another process holds the lock. A probe by :func:`holder` holds a shared lock for microseconds:
    the exclusive lock is retried for ``retry_s`` before the folder counts as busy."""
    os.makedirs(outdir, exist_ok=True)
    fh = open(os.path.join(outdir, LOCK_NAME), "a+")
    deadline = time.monotonic() + retry_s
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            fh.seek(0)
            text = fh.read().strip() or "another process"
            fh.close()
            return None, text
        except OSError:  # no flock on this file system: run unlocked
            return fh, None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
    fh.flush()
    return fh, None


def holder(outdir):
    """``"pid N on HOST"`` while a run holds ``outdir``'s lock, else None (no lock file, lock free, or no
    ``flock`` here)."""
    path = os.path.join(outdir, LOCK_NAME)
    try:
        fh = open(path)
    except OSError:
        return None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return fh.read().strip() or "another process"
        except OSError:
            return None
        fcntl.flock(fh, fcntl.LOCK_UN)
        return None
