"""Halo (ghost-layer) exchange on a :class:`~zzhpc.parallel.cartesian.ProcessGrid`.

Axes are exchanged one after the other, each message spanning the ghost layers already filled along the
previous axes, so edge and corner ghosts arrive without diagonal messages.
"""
import numpy as np
from mpi4py import MPI


def _slab(ndim_lead, axis, lo, hi, nd):
    idx = [slice(None)] * (ndim_lead + nd)
    idx[ndim_lead + axis] = slice(lo, hi)
    return tuple(idx)


def halo_exchange(a, grid, width, backend, *, timers=None, tag=7):
    """Fill the ``width``-deep ghost layers of ``a`` from the neighbouring ranks.

    ``a`` has shape ``(*components, n0 + 2w, n1 + 2w, ...)``: any number of leading component axes, then
    one padded axis per grid axis. Ghosts at non-periodic walls are left for the boundary condition.
    Host-staged unless ``backend.gpu_aware_mpi`` is set, in which case device buffers go to MPI directly.
    """
    if width == 0:
        return a
    comm, nd = grid.comm, grid.ndim
    lead = a.ndim - nd
    w = width
    staged = not backend.gpu_aware_mpi
    if timers is not None:
        timers.push("halo")
    try:
        for axis in range(nd):
            n = a.shape[lead + axis] - 2 * w
            lower, upper = grid.neighbours[axis]
            # (send slab, recv slab, destination, source): first send up, then send down.
            plan = ((_slab(lead, axis, n, n + w, nd), _slab(lead, axis, 0, w, nd), upper, lower),
                    (_slab(lead, axis, w, 2 * w, nd), _slab(lead, axis, n + w, n + 2 * w, nd), lower, upper))
            for send_idx, recv_idx, dest, source in plan:
                if dest == MPI.PROC_NULL and source == MPI.PROC_NULL:
                    continue
                if staged:
                    sbuf = backend.to_host(a[send_idx])
                    rbuf = np.empty_like(sbuf)
                    comm.Sendrecv(sbuf, dest=dest, sendtag=tag, recvbuf=rbuf, source=source, recvtag=tag)
                    if source != MPI.PROC_NULL:
                        a[recv_idx] = backend.asarray(rbuf)
                else:
                    xp = backend.xp
                    sbuf = xp.asarray(a[send_idx], copy=True)
                    rbuf = xp.empty_like(sbuf)
                    comm.Sendrecv(backend.mpi_buffer(sbuf), dest=dest, sendtag=tag,
                                  recvbuf=backend.mpi_buffer(rbuf), source=source, recvtag=tag)
                    if source != MPI.PROC_NULL:
                        a[recv_idx] = rbuf
    finally:
        if timers is not None:
            timers.pop()
    return a
