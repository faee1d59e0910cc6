"""The output-folder policy: a run never overwrites or deletes another run's results.

A *fresh* run (no restart) into a folder that already holds results of an earlier run (``summary.json``,
``diagnostics.csv``, checkpoints, field or trajectory files) is refused with one line that names the two
ways on: ``--restart auto`` to continue that run, or another ``--output``. With ``output.existing =
"backup"`` the earlier results are moved aside first, into ``DIR.~N~`` (the first free N), as GROMACS backs
up ``#name.N#``; nothing is ever deleted. A replay of ``OLD/summary.json`` writes into ``OLD-replay-N``.
Before any work the folder is created and a probe file written, so an unwritable or full folder is one
line too.
"""

import os
import uuid

from .runlock import LOCK_NAME

MIN_FREE_BYTES = 64 << 10  # less than this is a full disk: refuse before the first step


def new_run_id():
    """A run id: 12 hex digits, recorded in summary.json, every checkpoint and ``LATEST``."""
    return uuid.uuid4().hex[:12]


def earlier_results(outdir):
    """Names in ``outdir`` that are results of an earlier run (empty when there are none)."""
    try:
        names = set(os.listdir(outdir))
    except OSError:
        return []
    found = [
        n
        for n in (
            "summary.json",
            "diagnostics.csv",
            "fields.xdmf",
            "trajectory.h5md",
            "trajectory.dcd",
            "timeseries.h5",
        )
        if n in names
    ]
    for sub, prefix in (("checkpoints", "ckpt_"), ("fields", "fields_")):
        try:
            if any(n.startswith(prefix) for n in os.listdir(os.path.join(outdir, sub))):
                found.append(sub + "/")
        except OSError:
            pass
    return found


def prepare(outdir):
    """Create ``outdir`` and check it takes a file. Returns None, or the reason it cannot be used."""
    try:
        os.makedirs(outdir, exist_ok=True)
        probe = os.path.join(outdir, f".zzhpc-probe-{os.getpid()}")
        with open(probe, "w") as fh:
            fh.write("probe\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.remove(probe)
    except OSError as exc:
        return f"cannot write the output folder ({exc.strerror or exc}); give a writable --output"
    free = free_bytes(outdir)
    if free is not None and free < MIN_FREE_BYTES:
        return f"no space left on device ({free // 1024} KiB free); free some space or give another --output"
    return None


def free_bytes(path):
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def first_free(base, fmt):
    """``fmt.format(base=base, n=N)`` for the first N >= 1 that names nothing yet."""
    n = 1
    while os.path.lexists(fmt.format(base=base, n=n)):
        n += 1
    return fmt.format(base=base, n=n)


def set_aside(outdir):
    """Move everything in ``outdir`` except its lock file into ``outdir.~N~``; returns that folder."""
    outdir = outdir.rstrip(os.sep)
    dest = first_free(outdir, "{base}.~{n}~")
    os.makedirs(dest)
    for name in os.listdir(outdir):
        if name != LOCK_NAME:
            os.rename(os.path.join(outdir, name), os.path.join(dest, name))
    return dest


def replay_dir(old_outdir):
    """The folder a replay of the run in ``old_outdir`` writes into: ``OLD-replay-N``, the first free N."""
    return first_free(os.path.abspath(old_outdir).rstrip(os.sep), "{base}-replay-{n}")


def refusal(outdir, found):
    """The one line for a fresh run into a folder with earlier results."""
    return (
        f"holds the results of an earlier run ({', '.join(found)}); continue that run with --restart auto, "
        f"write this one to a new --output, or --set output.existing=backup to move them aside to "
        f"{outdir.rstrip(os.sep)}.~N~ first"
    )


def check_file_writable(path, key="--json"):
    """Before any work: raise ConfigError unless a file can be written at ``path`` (its folder is created)."""
    from ..errors import ConfigError

    d = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ConfigError(key, "is a folder; expected a file name", path)
    reason = prepare(d)
    if reason:
        raise ConfigError(key, reason.replace("--output", key).replace("output folder", "folder of the file"), path)
