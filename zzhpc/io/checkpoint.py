"""Atomic checkpoints: a killed or failed write never damages the previous one.

Each checkpoint is written collectively to ``ckpt_<step>.h5.partial``, flushed to disk, marked complete,
renamed to ``ckpt_<step>.h5`` and only then named in ``LATEST`` (itself replaced atomically). Older
checkpoints beyond ``keep`` are removed after the new one is safe.
"""
import glob
import os

import h5py

from ..errors import InputError
from .hdf5 import guarded_write, open_parallel, write_attrs

FORMAT = 1


def _fsync_path(path, directory=False):
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CheckpointManager:
    def __init__(self, directory, comm, keep=3):
        self.dir, self.comm, self.keep = directory, comm, keep
        if comm.Get_rank() == 0:
            os.makedirs(directory, exist_ok=True)
        comm.Barrier()

    def path(self, step):
        return os.path.join(self.dir, f"ckpt_{step:010d}.h5")

    def save(self, step, write, meta):
        """Collective. ``write(h5file)`` stores the state; ``meta`` (dict) becomes root attributes."""
        final = self.path(step)
        tmp = final + ".partial"
        with guarded_write(tmp, self.comm, "checkpoint", "; the previous checkpoint stays the latest") as f:
            write_attrs(f, dict(meta, step=step, checkpoint_format=FORMAT))
            write(f)
            f.attrs["complete"] = 1
        self.comm.Barrier()
        if self.comm.Get_rank() == 0:
            _fsync_path(tmp)
            os.replace(tmp, final)
            latest_tmp = os.path.join(self.dir, "LATEST.tmp")
            with open(latest_tmp, "w") as fh:
                fh.write(os.path.basename(final) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(latest_tmp, os.path.join(self.dir, "LATEST"))
            _fsync_path(self.dir, directory=True)
            for old in self.complete()[:-self.keep]:
                os.remove(old)
        self.comm.Barrier()
        return final

    def complete(self):
        """Complete checkpoint files, oldest first (partial ones are never listed)."""
        return sorted(glob.glob(os.path.join(self.dir, "ckpt_*.h5")))

    def latest(self):
        """Newest readable, complete checkpoint (same answer on every rank), or None."""
        found = None
        if self.comm.Get_rank() == 0:
            names = []
            pointer = os.path.join(self.dir, "LATEST")
            if os.path.isfile(pointer):
                with open(pointer) as fh:
                    names.append(os.path.join(self.dir, fh.read().strip()))
            names += reversed(self.complete())
            for name in names:
                if is_complete(name):
                    found = name
                    break
        return self.comm.bcast(found, root=0)


def is_complete(path):
    """True when ``path`` is an HDF5 checkpoint marked complete."""
    try:
        with h5py.File(path, "r") as f:
            return int(f.attrs.get("complete", 0)) == 1
    except (OSError, KeyError):
        return False


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
