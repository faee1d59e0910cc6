"""Atomic checkpoints: a killed or failed write never damages the previous one.

Each checkpoint is written collectively to ``ckpt_<step>.h5.partial``, flushed to disk, marked complete,
renamed to ``ckpt_<step>.h5`` and only then named in ``LATEST`` (itself replaced atomically). ``LATEST``
holds two lines, the file name and ``run <RUN_ID>``; every checkpoint carries its run's id as an attribute,
so a restart never continues from a checkpoint of another run that shared the folder. After the new
checkpoint is safe, this run's checkpoints beyond ``keep`` are removed, oldest *written* first (not lowest
step: a run restarted from an earlier step writes lower step numbers); the file ``LATEST`` names and the
checkpoints of other runs are never removed.
"""

import glob
import os

import h5py

from ..errors import InputError
from .hdf5 import guarded_write, open_parallel, write_attrs

FORMAT = 1
LATEST = "LATEST"


def _fsync_path(path, directory=False):
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_latest(directory):
    """``(file name, run id)`` from ``directory/LATEST``; ``(None, None)`` without one. A pointer written
    before run ids existed gives ``(name, None)``."""
    try:
        with open(os.path.join(directory, LATEST)) as fh:
            lines = fh.read().split("\n")
    except OSError:
        return None, None
    name = lines[0].strip() or None
    rid = next((ln.split(None, 1)[1].strip() for ln in lines[1:] if ln.startswith("run ")), None)
    return name, rid


def checkpoint_info(path):
    """``(complete, run id or None, step or None)`` of a checkpoint file, without raising."""
    try:
        with h5py.File(path, "r") as f:
            rid = f.attrs.get("run_id")
            step = f.attrs.get("step")
            return (
                int(f.attrs.get("complete", 0)) == 1,
                None if rid is None else str(rid),
                None if step is None else int(step),
            )
    except (OSError, KeyError, ValueError):
        return False, None, None


class CheckpointManager:
    """Checkpoints of one run (``run_id``) in ``directory``; collective on ``comm``."""

    def __init__(self, directory, comm, keep=3, run_id=None):
        self.dir, self.comm, self.keep, self.run_id = directory, comm, keep, run_id
        self._ids = {}  # path -> run id, read once per file
        if comm.Get_rank() == 0:
            os.makedirs(directory, exist_ok=True)
        comm.Barrier()

    def path(self, step):
        return os.path.join(self.dir, f"ckpt_{step:010d}.h5")

    def save(self, step, write, meta):
        """Collective. ``write(h5file)`` stores the state; ``meta`` (dict) becomes root attributes."""
        final = self.path(step)
        tmp = final + ".partial"
        attrs = dict(meta, step=step, checkpoint_format=FORMAT)
        if self.run_id:
            attrs["run_id"] = self.run_id
        with guarded_write(tmp, self.comm, "checkpoint", "; the previous checkpoint stays the latest") as f:
            write_attrs(f, attrs)
            write(f)
            f.attrs["complete"] = 1
        self.comm.Barrier()
        if self.comm.Get_rank() == 0:
            _fsync_path(tmp)
            os.replace(tmp, final)
            self._ids[final] = self.run_id
            latest_tmp = os.path.join(self.dir, LATEST + ".tmp")
            with open(latest_tmp, "w") as fh:
                fh.write(os.path.basename(final) + "\n" + (f"run {self.run_id}\n" if self.run_id else ""))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(latest_tmp, os.path.join(self.dir, LATEST))
            _fsync_path(self.dir, directory=True)
            self._prune(final)
        self.comm.Barrier()
        return final

    def _run_id_of(self, path):
        if path not in self._ids:
            self._ids[path] = checkpoint_info(path)[1]
        return self._ids[path]

    def _prune(self, newest):
        """Remove this run's checkpoints beyond ``keep``, oldest written first; never ``newest``."""
        mine = [p for p in self.complete() if self._run_id_of(p) == self.run_id]
        mine.sort(key=lambda p: (os.path.getmtime(p), p == newest))
        for old in mine[: -self.keep]:
            if old != newest:
                os.remove(old)
                self._ids.pop(old, None)

    def complete(self):
        """Complete checkpoint files, sorted by name (partial ones are never listed)."""
        return sorted(glob.glob(os.path.join(self.dir, "ckpt_*.h5")))

    def latest(self):
        """The checkpoint to continue from (same answer on every rank), or None: the file ``LATEST`` names,
        else the newest written complete checkpoint of the run ``LATEST`` names (of any run, when there
        is no ``LATEST``)."""
        found = None
        if self.comm.Get_rank() == 0:
            found = latest_in(self.dir)
        return self.comm.bcast(found, root=0)


def latest_in(directory):
    """Rank-local: the path :meth:`CheckpointManager.latest` would answer, or None."""
    name, rid = read_latest(directory)
    files = sorted(glob.glob(os.path.join(directory, "ckpt_*.h5")), key=os.path.getmtime, reverse=True)
    if name:
        files.insert(0, os.path.join(directory, name))
    for path in files:
        ok, prid, _ = checkpoint_info(path)
        if ok and (rid is None or prid == rid):
            return path
    return None


def is_complete(path):
    """True when ``path`` is an HDF5 checkpoint marked complete."""
    return checkpoint_info(path)[0]


def open_checkpoint(path, comm):
    if not os.path.isfile(path):
        raise InputError(path, "restart file not found")
    if comm.Get_rank() == 0:
        ok = is_complete(path)
    else:
        ok = None
    if not comm.bcast(ok, root=0):
        raise InputError(path, "not a complete zzhpc checkpoint (truncated, corrupt or still being written)")
    return open_parallel(path, "r", comm)
