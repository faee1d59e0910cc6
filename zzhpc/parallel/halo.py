"""Halo (ghost-layer) exchange on a :class:`~zzhpc.parallel.cartesian.ProcessGrid`.

Axes are exchanged one after the other, each message spanning the ghost layers already filled along the
previous axes, so edge and corner ghosts arrive without diagonal messages. Within an axis both directions
travel at once: the two outgoing slabs are packed before either ghost slab is written, so the result is
the same as sending up and then down.

The pack buffers and the MPI persistent requests (``MPI_Send_init``/``MPI_Recv_init``, MPI 4.1 sec. 3.9)
are made once per grid, array shape, dtype, width and staging, and reused by every later exchange: a
time step allocates nothing. Buffers live on the host unless ``backend.gpu_aware_mpi`` is set, in which
case they are device arrays handed to MPI directly.
"""

import weakref

import numpy as np
from mpi4py import MPI

_PLANS = weakref.WeakKeyDictionary()  # grid -> {key: _AxisPlan list}
_MAX_PLANS = 16  # per grid; a long run has a handful of shapes


def _slab(ndim_lead, axis, lo, hi, nd):
    idx = [slice(None)] * (ndim_lead + nd)
    idx[ndim_lead + axis] = slice(lo, hi)
    return tuple(idx)


class _Transfer:
    """One direction of one axis: pack ``send_idx`` for ``dest``, unpack ``recv_idx`` from ``source``."""

    def __init__(self, a, send_idx, recv_idx, dest, source, tag, comm, backend, staged):
        self.send_idx, self.recv_idx = send_idx, recv_idx
        self.dest, self.source = dest, source
        if staged:
            self.sbuf = np.array(backend.to_host(a[send_idx]), order="C")
        else:
            self.sbuf = backend.xp.asarray(a[send_idx], copy=True)
        self.rbuf = np.empty_like(self.sbuf) if staged else backend.xp.empty_like(self.sbuf)
        wrap = (lambda b: b) if staged else backend.mpi_buffer
        self.requests = []
        if dest != MPI.PROC_NULL:
            self.requests.append(comm.Send_init(wrap(self.sbuf), dest=dest, tag=tag))
        if source != MPI.PROC_NULL:
            self.requests.append(comm.Recv_init(wrap(self.rbuf), source=source, tag=tag))

    def pack(self, a, backend, staged):
        if self.dest == MPI.PROC_NULL:
            return
        if not staged or isinstance(a, np.ndarray):
            self.sbuf[...] = a[self.send_idx]
        else:
            self.sbuf[...] = backend.to_host(a[self.send_idx])

    def unpack(self, a, backend, staged):
        if self.source == MPI.PROC_NULL:
            return
        a[self.recv_idx] = self.rbuf if (not staged or isinstance(a, np.ndarray)) else backend.asarray(self.rbuf)


def _free(plans):
    if MPI.Is_finalized():
        return
    for axes in plans.values():
        for transfers in axes:
            for t in transfers:
                for r in t.requests:
                    r.Free()


def _plan(a, grid, width, backend, staged, tag):
    """The transfers of every axis for this array layout, made on first use and cached on the grid."""
    key = (tuple(a.shape), str(a.dtype), type(a), str(getattr(a, "device", "")), width, staged, tag)
    plans = _PLANS.get(grid)
    if plans is None:
        plans = _PLANS[grid] = {}
        weakref.finalize(grid, _free, plans)
    if key in plans:
        return plans[key]
    if len(plans) >= _MAX_PLANS:
        _free(plans)
        plans.clear()
    comm, nd, w = grid.comm, grid.ndim, width
    lead = a.ndim - nd
    axes = []
    for axis in range(nd):
        n = a.shape[lead + axis] - 2 * w
        lower, upper = grid.neighbours[axis]
        if lower == MPI.PROC_NULL and upper == MPI.PROC_NULL:
            axes.append(())
            continue
        # Send up (fills the upper neighbour's lower ghosts) with tag, send down with tag + 1.
        axes.append(
            (
                _Transfer(
                    a,
                    _slab(lead, axis, n, n + w, nd),
                    _slab(lead, axis, 0, w, nd),
                    upper,
                    lower,
                    tag,
                    comm,
                    backend,
                    staged,
                ),
                _Transfer(
                    a,
                    _slab(lead, axis, w, 2 * w, nd),
                    _slab(lead, axis, n + w, n + 2 * w, nd),
                    lower,
                    upper,
                    tag + 1,
                    comm,
                    backend,
                    staged,
                ),
            )
        )
    plans[key] = axes
    return axes


def halo_exchange(a, grid, width, backend, *, timers=None, tag=7):
    """Fill the ``width``-deep ghost layers of ``a`` from the neighbouring ranks.

    ``a`` has shape ``(*components, n0 + 2w, n1 + 2w, ...)``: any number of leading component axes, then
    one padded axis per grid axis. Ghosts at non-periodic walls are left for the boundary condition.
    Host-staged unless ``backend.gpu_aware_mpi`` is set, in which case device buffers go to MPI directly.
    Uses message tags ``tag`` and ``tag + 1``.
    """
    if width == 0:
        return a
    staged = not backend.gpu_aware_mpi
    if timers is not None:
        timers.push("halo")
    try:
        for transfers in _plan(a, grid, width, backend, staged, tag):
            for t in transfers:
                t.pack(a, backend, staged)
            if not staged:
                backend.synchronize()  # packing is queued device work; MPI reads the buffers
            requests = [r for t in transfers for r in t.requests]
            MPI.Prequest.Startall(requests)
            MPI.Request.Waitall(requests)
            for t in transfers:
                t.unpack(a, backend, staged)
    finally:
        if timers is not None:
            timers.pop()
    return a
