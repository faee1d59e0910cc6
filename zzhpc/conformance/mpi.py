"""Checks that need MPI (2 ranks or more): halo exchange, all-to-all and the distributed FFT, each with
host-staged buffers and with device buffers handed to MPI directly.

Device buffers are tried where MPI can read the memory: CPU backends (device memory is host memory), or
a GPU backend declared GPU-aware (``--gpu-aware-mpi``, an explicit setting: a wrong guess crashes MPI).
Every function here is collective: all ranks call it, in the same order.
"""

import copy

import numpy as np

from .local import _norm_error
from .result import SKIP, TOL, Check, merge_ranks, rel_error, run_check


def _padded_reference(mesh, global_field, ncomp):
    """What the padded local array must hold after the exchange: wrapped neighbours, zeros at walls."""
    h = mesh.halo
    idx, valid = [], []
    for a in range(mesh.ndim):
        g = np.arange(mesh.grid.start[a] - h, mesh.grid.start[a] + mesh.local_shape[a] + h)
        n = mesh.shape[a]
        if mesh.grid.periodic[a]:
            idx.append(g % n)
            valid.append(np.ones(g.size, bool))
        else:
            valid.append((g >= 0) & (g < n))
            idx.append(np.clip(g, 0, n - 1))
    ref = global_field[(slice(None),) + np.ix_(*idx)].copy()
    mask = np.ones(ref.shape[1:], bool)
    for a, v in enumerate(valid):
        shape = [1] * mesh.ndim
        shape[a] = v.size
        mask &= v.reshape(shape)
    ref[:, ~mask] = 0.0
    return ref[0] if ncomp == 0 else ref


def halo(be, dtype, comm):
    """Ghost layers of 2-D (halo 2, 2 components, periodic) and 3-D (halo 1, a wall axis) meshes."""
    from ..parallel import DistributedMesh

    err = 0.0
    for shape, periodic, width, ncomp in (((9, 7), (True, True), 2, 2), ((6, 5, 4), (True, False, True), 1, 0)):
        mesh = DistributedMesh(comm, shape, [1.0] * len(shape), periodic, be, halo=width, dtype=dtype)
        nc = max(ncomp, 1)
        grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
        base = sum(g * 10 ** (len(shape) - 1 - a) for a, g in enumerate(grids)).astype(np.float64)
        glob = np.stack([base + 1000 * c for c in range(nc)])  # exact in float32 too
        local = glob[(slice(None),) + mesh.grid.local_slice]
        comps = (ncomp,) if ncomp else ()
        a = mesh.from_host(local if ncomp else local[0], components=comps)
        mesh.exchange(a)
        got = be.to_host(a)
        err = max(err, rel_error(got, _padded_reference(mesh, glob, ncomp)))
        mesh.grid.free()
    return err, TOL[dtype]["exact"]


def alltoall(be, dtype, comm):
    """``MPI_Alltoall`` of a device array: block ``d`` of rank ``r`` holds ``1000 r + 10 d + k``."""
    p, r = comm.Get_size(), comm.Get_rank()
    m = 5
    send = (1000 * r + 10 * np.arange(p)[:, None] + np.arange(m)[None, :]).astype(dtype)
    expect = (1000 * np.arange(p)[:, None] + 10 * r + np.arange(m)[None, :]).astype(dtype)
    S = be.asarray(send)
    if be.gpu_aware_mpi:
        R = be.zeros((p, m), dtype)
        comm.Alltoall(be.mpi_buffer(S), be.mpi_buffer(R))
    else:
        rh = np.empty_like(send)
        comm.Alltoall(be.to_host(S), rh)
        R = be.asarray(rh)
    return rel_error(be.to_host(R), expect), TOL[dtype]["exact"]


def distributed_fft(be, dtype, comm):
    """:class:`~zzhpc.parallel.fft.DistributedFFT` (Alltoallv transposes), slab and pencil, against rfftn."""
    from ..parallel.fft import DistributedFFT

    shape = (8, 6, 10)
    u = np.random.default_rng(12).standard_normal(shape).astype(dtype)
    ref = np.fft.rfftn(u.astype(np.float64))
    err = 0.0
    for decomposition in ("slab", "pencil"):
        plan = DistributedFFT.from_backend(comm, shape, be, decomposition=decomposition, dtype=dtype)
        uh = plan.forward(be.asarray(np.ascontiguousarray(u[plan.real_slice_local])))
        err = max(err, _norm_error(be.to_host(uh), ref[plan.spectral_slice_local]))
        back = be.to_host(plan.backward(uh))
        err = max(err, _norm_error(back, u[plan.real_slice_local].astype(np.float64)))
    return err, TOL[dtype]["fft"]


CHECKS = [("mpi", "halo exchange", halo), ("mpi", "alltoall", alltoall), ("mpi", "distributed fft", distributed_fft)]


def device_buffers_reason(be):
    """``""`` when device buffers may go to MPI on this backend, else why that part is not run."""
    if be.kind == "cpu" or be.gpu_aware_mpi:
        return ""
    return "device buffers go to MPI only when declared GPU-aware (--gpu-aware-mpi)"


def mpi_checks(be, comm, dtypes):
    """All MPI checks on ``comm`` (collective); the merged rows on rank 0, ``None`` elsewhere."""
    rows = []
    why_not = device_buffers_reason(be)
    for mode in ("host-staged", "device buffers"):
        b = copy.copy(be)
        b.gpu_aware_mpi = mode == "device buffers"
        for dtype in dtypes:
            for group, name, fn in CHECKS:
                c = Check(group, f"{name} ({mode})", dtype)
                if mode == "device buffers" and why_not:
                    c.status, c.detail = SKIP, why_not
                else:
                    run_check(c, fn, b, dtype, comm)
                rows.append(c)
    per_rank = comm.gather(rows, root=0)
    if comm.Get_rank() != 0:
        return None
    merged = merge_ranks(per_rank)
    for c in merged:
        c.ranks = comm.Get_size()
    return merged
