"""Rows of per-particle arrays between two ranks as typed MPI buffers (no pickling).

A message is a set of arrays with the same number of rows (positions, velocities, ids, ...): the row
count goes first, then each array with ``Sendrecv`` into a buffer of the receiver's own dtype and
trailing shape (every rank holds the same columns). Arrays stay on the device when the backend says
GPU-aware MPI (``backend.gpu_aware_mpi``); otherwise they are staged through host NumPy buffers. The
rows arrive in the order they were sent, so the particle order after a migration or a ghost exchange
is that of the pickled messages these replace.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Sequence

import numpy as np
from array_api_compat import device as _dev
from mpi4py import MPI

from ..device.base import Array, Backend


def receive_buffer(backend: Backend, like: Array, nrows: int) -> Any:
    """An empty buffer of ``nrows`` rows shaped and typed like ``like``: on the device for GPU-aware MPI,
    else a host NumPy array."""
    shape = (int(nrows),) + tuple(like.shape[1:])
    if backend.gpu_aware_mpi:
        return backend.xp.empty(shape, dtype=like.dtype, device=_dev(like))
    return np.empty(shape, dtype=np.dtype(backend.dtype_name(like)))


def outgoing(backend: Backend, a: Array) -> Any:
    """``a`` as MPI may read it: the device array itself for GPU-aware MPI (after a synchronise), else a
    contiguous host copy."""
    return backend.mpi_buffer(a) if backend.gpu_aware_mpi else backend.to_host(a)


def incoming(backend: Backend, buf: Any) -> Array:
    """A filled :func:`receive_buffer` as an array of the backend."""
    return buf if backend.gpu_aware_mpi else backend.asarray(buf)


def mpi_view(backend: Backend, buf: Any) -> Any:
    """What MPI writes into for a :func:`receive_buffer`."""
    return backend.mpi_buffer(buf) if backend.gpu_aware_mpi else buf


def sendrecv_rows(
    comm: Any, backend: Backend, arrays: Sequence[Array], dest: int, source: int, tag: int
) -> list[Array]:
    """Send the rows of ``arrays`` to ``dest``, receive as many arrays from ``source``; returns them.

    ``MPI.PROC_NULL`` on either side sends or receives nothing (zero rows come back); a rank that is its
    own neighbour gets its own arrays back."""
    if dest == comm.Get_rank() and source == dest:
        return list(arrays)
    count = np.zeros(1, np.int64)
    nsend = int(arrays[0].shape[0]) if arrays else 0
    comm.Sendrecv(np.array([nsend], np.int64), dest=dest, sendtag=tag, recvbuf=count, source=source, recvtag=tag)
    if dest == MPI.PROC_NULL and source == MPI.PROC_NULL:
        return [a[:0] for a in arrays]
    out = []
    for a in arrays:
        recv = receive_buffer(backend, a, int(count[0]))
        comm.Sendrecv(
            outgoing(backend, a), dest=dest, sendtag=tag, recvbuf=mpi_view(backend, recv), source=source, recvtag=tag
        )
        out.append(incoming(backend, recv))
    return out
