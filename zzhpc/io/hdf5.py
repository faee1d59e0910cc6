"""Collective parallel HDF5 (the ``mpio`` driver) for distributed fields and particle arrays."""

import contextlib
import json
import os
import shutil

import h5py
import numpy as np

from ..errors import InputError, ZzhpcError


def open_parallel(path, mode, comm):
    """Open ``path`` collectively on ``comm`` (``mpio`` driver; a plain file when h5py lacks MPI)."""
    try:
        if h5py.get_config().mpi:
            return h5py.File(path, mode, driver="mpio", comm=comm)
        if comm.Get_size() > 1:
            raise RuntimeError(
                "h5py was built without MPI: parallel HDF5 needs h5py with the mpio driver "
                "(Debian: python3-h5py-mpi; set H5PY_ALWAYS_USE_MPI=1)"
            )
        return h5py.File(path, mode)
    except (OSError, KeyError) as exc:
        if mode == "r":
            raise InputError(path, f"cannot be read as HDF5 ({exc})") from None
        raise


def write_block(f, name, local, global_shape, start, *, attrs=None):
    """Collectively create dataset ``name`` of ``global_shape``; each rank writes ``local`` at ``start``.

    ``local`` is a host array whose trailing axes are the decomposed ones; leading (component) axes are
    written whole. Every rank must call this with the same ``name`` and ``global_shape``.
    """
    local = np.ascontiguousarray(local)
    lead = local.shape[: local.ndim - len(start)]
    dset = f.create_dataset(name, shape=tuple(lead) + tuple(global_shape), dtype=local.dtype)
    sel = (slice(None),) * len(lead) + tuple(slice(s, s + n) for s, n in zip(start, local.shape[len(lead) :]))
    with dset.collective:
        dset[sel] = local
    for k, v in (attrs or {}).items():
        dset.attrs[k] = v
    return dset


def read_block(f, name, start, count, path="file"):
    """This rank's block of dataset ``name`` (trailing axes decomposed, leading axes whole)."""
    if name not in f:
        raise InputError(path, f"dataset '{name}' is missing")
    dset = f[name]
    lead = dset.ndim - len(start)
    if lead < 0 or any(s + n > g for s, n, g in zip(start, count, dset.shape[lead:])):
        raise InputError(
            path, f"dataset '{name}' has shape {dset.shape}, too small for block {tuple(start)}+{tuple(count)}"
        )
    sel = (slice(None),) * lead + tuple(slice(s, s + n) for s, n in zip(start, count))
    with dset.collective:
        return dset[sel]


def write_concatenated(f, name, local, comm):
    """Per-rank arrays of varying length along axis 0 written one after the other (particles)."""
    local = np.ascontiguousarray(local)
    n = local.shape[0]
    offset = comm.exscan(n) or 0
    total = comm.allreduce(n)
    dset = f.create_dataset(name, shape=(total,) + local.shape[1:], dtype=local.dtype)
    if n == 0 and total:
        _empty_collective(dset, local)
    else:
        with dset.collective:
            dset[offset : offset + n] = local
    return offset, total


def _empty_collective(dset, buf):
    """Take part in a collective transfer with no rows: h5py skips empty selections, and the other
    ranks would wait for this one forever."""
    import h5py

    mem = h5py.h5s.create_simple((1,))
    mem.select_none()
    fsp = dset.id.get_space()
    fsp.select_none()
    dxpl = h5py.h5p.create(h5py.h5p.DATASET_XFER)
    dxpl.set_dxpl_mpio(h5py.h5fd.MPIO_COLLECTIVE)
    one = np.zeros((1,) + buf.shape[1:], dtype=buf.dtype)
    dset.id.write(mem, fsp, one, dxpl=dxpl)


def concatenated_share(f, comm, counts="state/count", path="file"):
    """Rows this rank reads of blocks written by :func:`write_concatenated`, whose per-rank row counts are in
    dataset ``counts``: its own block when the file was written by as many ranks, else an even share of all
    rows (to be migrated to their owners). Returns ``(start, count, same_rank_count)``."""
    written = read_concatenated(f, counts, 0, f[counts].shape[0] if counts in f else 0, path)
    r, size = comm.Get_rank(), comm.Get_size()
    if len(written) == size:
        return int(np.sum(written[:r])), int(written[r]), True
    total = int(np.sum(written))
    return total * r // size, total * (r + 1) // size - total * r // size, False


def read_concatenated(f, name, start, count, path="file"):
    if name not in f:
        raise InputError(path, f"dataset '{name}' is missing")
    dset = f[name]
    if start + count > dset.shape[0]:
        raise InputError(path, f"dataset '{name}' has {dset.shape[0]} rows, need {start + count}")
    # Independent reads: a rank with nothing to read takes no part, and h5py's fast read path would
    # not honour a collective transfer on the others anyway.
    if count == 0:
        return np.zeros((0,) + dset.shape[1:], dtype=dset.dtype)
    return dset[start : start + count]


def write_attrs(obj, mapping):
    """Attributes; nested values stored as JSON text."""
    for k, v in mapping.items():
        if isinstance(v, (dict, list, tuple)) or v is None:
            obj.attrs[k] = json.dumps(v, default=str)
        else:
            obj.attrs[k] = v


def all_ok(comm, ok):
    """Collective: True on every rank if ``ok`` on all ranks."""
    from ..parallel.collectives import all_ranks

    return all_ranks(comm, ok)


def _reason(exc, path):
    try:
        free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
    except OSError:
        free = None
    if free is not None and free < 1 << 20:
        return f"no space left on device ({free // 1024} KiB free)"
    return str(exc).splitlines()[0]


@contextlib.contextmanager
def guarded_write(path, comm, what, note=""):
    """Collectively create ``path`` and yield the open file; a failed write (full disk, quota, I/O
    error) becomes one ZzhpcError naming the file and the cause. The file is closed on any outcome."""
    try:
        f = open_parallel(path, "w", comm)
        try:
            yield f
        finally:
            f.close()
    except (OSError, RuntimeError) as exc:
        raise ZzhpcError(f"{what} {path} could not be written: {_reason(exc, path)}{note}") from None
