"""Distributed 3-D real-to-complex FFT with slab or pencil decomposition.

Method
------
The global real grid ``u`` of shape ``(N0, N1, N2)`` is transformed like
``numpy.fft.rfftn`` into ``uhat`` of global shape ``(N0, N1, N2//2+1)`` by
local 1-D FFTs along whichever axis is complete on a rank, interleaved with
global transposes (MPI ``Alltoallv``) that make the next axis complete
[Pekurovsky2012]_, [Dalcin2019]_:

* **slab** (``P`` ranks): real blocks split axis 0; ``rfft`` along 2, ``fft``
  along 1, one transpose, ``fft`` along 0. Spectral blocks split axis 1.
* **pencil** (``P0 x P1`` Cartesian grid): real blocks split axes 0 (over
  ``P0``) and 1 (over ``P1``); ``rfft`` along 2, transpose within the ``P1``
  row, ``fft`` along 1, transpose within the ``P0`` column, ``fft`` along 0.
  Spectral blocks split axis 1 (over ``P0``) and axis 2 (over ``P1``).

Arrays keep the global axis order ``(0, 1, 2)`` in every layout; only the
distributed axes change, so ``uhat_local`` is exactly
``numpy.fft.rfftn(u)[spectral_slice_local]``. ``backward`` is the exact
inverse, normalised like ``numpy.fft.irfftn`` (factor ``1/(N0*N1*N2)``).

Padded transforms (3/2-rule dealiasing)
---------------------------------------
With ``padded_shape = (M0, M1, M2)``, ``M_i >= N_i``, the plan also offers
``backward_padded``: the same spectral block evaluated on the finer
``M0 x M1 x M2`` collocation grid, and ``forward_padded``: a field on that
grid -> its spectral block on the ``N`` grid (modes beyond ``N`` dropped).
Each axis is padded with zeros (or truncated) while it is complete on a rank,
just before (after) its 1-D transform, so no rank ever holds a padded
global axis it does not transform [Orszag1971]_, [Dalcin2019]_. The
padded real blocks split ``M0`` over ``P0`` and ``M1`` over ``P1``. Scaling
keeps the ``N``-grid convention: ``backward_padded`` returns the field values,
``forward_padded(backward_padded(uh)) == uh`` to round-off for every ``uh``
whose Nyquist modes (``m_i = -N_i/2`` and ``m_2 = N_2/2`` for even ``N_i``)
are zero; the padded transforms treat those modes as zero. With
``M_i >= 3 N_i / 2`` the product of two fields formed on the padded grid is
alias-free on every mode of the ``N`` grid.

Every split is the block partition of :mod:`zzhpc.parallel.partition` (``n``
items over ``p`` parts, the first ``n % p`` parts get one more). Each transpose is a strided copy into a
contiguous send buffer (at most two reshape/permute copies, one per block
size), one ``Alltoallv`` and one strided copy out; counts, displacements and
buffers are built once in ``__init__``.

References
----------
.. [Pekurovsky2012] D. Pekurovsky, "P3DFFT: a framework for parallel
   computations of Fourier transforms in three dimensions", SIAM J. Sci.
   Comput. 34(4), C192-C209 (2012).
.. [Orszag1971] S. A. Orszag, "On the elimination of aliasing in finite-difference schemes by
   filtering high-wavenumber components", J. Atmos. Sci. 28, 1074 (1971).
.. [Dalcin2019] L. Dalcin, M. Mortensen, D. E. Keyes, "Fast parallel
   multidimensional FFT using advanced MPI", J. Parallel Distrib. Comput.
   128, 137-150 (2019).
"""
from __future__ import annotations

import math

import numpy as np
from mpi4py import MPI

from .partition import block_ranges

__all__ = ["DistributedFFT"]


def _sizes_starts(n, p):
    """Block partition of ``n`` over ``p`` (first ``n % p`` get one more) as ``(sizes, starts)``."""
    ranges = block_ranges(n, p)
    return [c for _, c in ranges], [s for s, _ in ranges]


def _runs(n, p):
    """The ``p`` blocks as at most two runs of equal size: ``[(nblocks, size, offset)]``."""
    q, r = divmod(n, p)
    return [g for g in ((r, q + 1, 0), (p - r, q, r * (q + 1))) if g[0] and g[1]]


def choose_grid(shape, nproc, decomposition, proc_grid):
    """Validate (shape, nproc, decomposition) without communicating; return (P0, P1)."""
    n0, n1, n2 = shape
    head = (f"DistributedFFT: grid {shape} cannot be split over {nproc} rank(s) with "
            f"decomposition={decomposition!r}")
    lim0, lim1 = min(n0, n1), min(n1, n2 // 2 + 1)
    if decomposition == "slab":
        if proc_grid is not None and tuple(proc_grid) != (nproc, 1):
            raise ValueError(f"{head}: slab takes proc_grid=None or ({nproc}, 1), got {tuple(proc_grid)}")
        if nproc > lim0:
            raise ValueError(f"{head}: slab needs ranks <= min(N0, N1) = {lim0} "
                             f"(pencil allows up to {lim0 * lim1})")
        return nproc, 1
    rule = f"pencil needs P0*P1 = {nproc} with P0 <= min(N0, N1) = {lim0} and P1 <= min(N1, N2//2+1) = {lim1}"
    if proc_grid is not None:
        try:
            p0, p1 = (int(p) for p in proc_grid)
        except (TypeError, ValueError):
            raise ValueError(f"{head}: proc_grid must be two ints, got {proc_grid!r}") from None
        if p0 < 1 or p1 < 1 or p0 * p1 != nproc or p0 > lim0 or p1 > lim1:
            raise ValueError(f"{head}: proc_grid={(p0, p1)} invalid; {rule}")
        return p0, p1
    ok = [(p0, nproc // p0) for p0 in range(1, nproc + 1)
          if nproc % p0 == 0 and p0 <= lim0 and nproc // p0 <= lim1]
    if not ok:
        raise ValueError(f"{head}: no process grid fits; {rule}")
    return min(ok, key=lambda g: (max(g), -g[0]))  # most square, larger P0 on ties


def _kept(n):
    """Modes of an axis of length ``n`` that padding keeps: (count with m >= 0, count with m < 0).

    The Nyquist mode ``-n/2`` of an even axis is dropped (it has no partner on a longer axis).
    """
    return (n + 1) // 2, (n - 1) // 2


class _Transpose:
    """Global transpose within ``comm``: axis ``a`` becomes complete, axis ``b`` gets split.

    ``in_shape`` is the local block (axis ``a`` split over ``comm``, axis ``b``
    complete); ``n_a`` is the global length of axis ``a``.
    """

    def __init__(self, plan, comm, in_shape, a, b, n_a, sendbuf, recvbuf):
        self.plan, self.comm, self.sendbuf, self.recvbuf = plan, comm, sendbuf, recvbuf
        p, rank = comm.Get_size(), comm.Get_rank()
        n_b = in_shape[b]
        (sa, da), (sb, db) = _sizes_starts(n_a, p), _sizes_starts(n_b, p)
        out = list(in_shape)
        out[a], out[b] = n_a, sb[rank]
        self.out_shape = tuple(out)
        plane_in = math.prod(in_shape) // n_b          # elements per unit length of axis b
        plane_out = math.prod(out) // n_a
        self.scounts = [plane_in * s for s in sb]
        self.rcounts = [plane_out * s for s in sa]
        self.sdispls = [plane_in * d for d in db]
        self.rdispls = [plane_out * d for d in da]
        # Pack: split axis b into (block, size) and move the block index first,
        # so that the chunk for rank q is contiguous at sdispls[q].
        self.pack = []
        for nblk, size, off in _runs(n_b, p):
            idx = tuple(slice(off, off + nblk * size) if i == b else slice(None) for i in range(3))
            split = in_shape[:b] + (nblk, size) + in_shape[b + 1:]
            perm = (b,) + tuple(i for i in range(4) if i != b)
            chunk = in_shape[:b] + (size,) + in_shape[b + 1:]
            lo = plane_in * off
            self.pack.append((idx, split, perm, lo, lo + nblk * math.prod(chunk), (nblk,) + chunk))
        # Unpack into memory order (a, others...): chunks from consecutive ranks
        # then land in consecutive slices of the leading axis (contiguous views).
        others = tuple(i for i in range(3) if i != a)
        self.mem_shape = (n_a,) + tuple(out[i] for i in others)
        self.back = tuple(((a,) + others).index(i) for i in range(3))
        self.unpack = []
        for nblk, size, off in _runs(n_a, p):
            chunk = tuple(size if i == a else out[i] for i in range(3))
            lo = plane_out * off
            self.unpack.append((lo, lo + nblk * math.prod(chunk), (nblk,) + chunk,
                                (0, 1 + a) + tuple(1 + i for i in others), off, off + nblk * size,
                                (nblk, size) + self.mem_shape[1:]))

    def __call__(self, x):
        pl, xp = self.plan, self.plan.xp
        for idx, split, perm, lo, hi, cshape in self.pack:
            dst = xp.reshape(self.sendbuf[lo:hi], cshape, copy=False)
            dst[...] = xp.permute_dims(xp.reshape(x[idx], split), perm)
        if pl.gpu_aware_mpi:
            if pl.synchronize is not None:
                pl.synchronize()  # device kernels must finish before MPI reads the buffer
            sbuf = self.sendbuf
        else:
            sbuf = pl.to_host(self.sendbuf)
        self.comm.Alltoallv([sbuf, self.scounts, self.sdispls, pl.mpi_type],
                            [self.recvbuf, self.rcounts, self.rdispls, pl.mpi_type])
        rbuf = self.recvbuf if pl.gpu_aware_mpi else pl.from_host(self.recvbuf)
        mem = xp.empty(self.mem_shape, dtype=pl.complex_dtype, **pl.dev)
        for lo, hi, cshape, perm, o0, o1, tshape in self.unpack:
            dst = xp.reshape(mem[o0:o1], tshape, copy=False)
            dst[...] = xp.permute_dims(xp.reshape(rbuf[lo:hi], cshape), perm)
        return xp.permute_dims(mem, self.back)


class DistributedFFT:
    """Distributed 3-D real-to-complex FFT (see the module docstring for the method).

    Parameters
    ----------
    comm : mpi4py.MPI.Comm
        Communicator; all its ranks take part. It is duplicated (slab) or a
        Cartesian communicator is derived from it without reordering (pencil).
    shape : tuple of 3 int
        Global real grid ``(N0, N1, N2)``.
    decomposition : {"slab", "pencil"}
        Slab needs ``P <= min(N0, N1)``. Pencil needs ``P0*P1 = P``,
        ``P0 <= min(N0, N1)``, ``P1 <= min(N1, N2//2+1)``. Anything else raises
        ``ValueError`` identically on every rank before any communication.
    dtype : {"float64", "float32"}
        Real dtype; the spectral dtype is complex128 or complex64.
    xp : module, optional
        Array namespace (``array_api_compat.numpy`` by default, or ``.torch``,
        ``.cupy``); its ``fft.rfftn/fftn/ifftn/irfftn`` do the local FFTs.
    to_host, from_host : callable, optional
        Device -> contiguous numpy array and numpy -> device array, used
        around ``Alltoallv`` in the host-staged mode. Default ``numpy.asarray``
        and ``xp.asarray`` (enough for numpy and CPU torch).
    gpu_aware_mpi : bool
        Hand the ``xp`` buffers straight to MPI (buffer protocol, DLPack or
        CUDA array interface, as mpi4py accepts) instead of staging via host.
    proc_grid : (int, int), optional
        Pencil process grid ``(P0, P1)``; default: the most square admissible.
    device : optional
        Passed as ``device=`` to ``xp.empty``/``xp.asarray`` when given.
    synchronize : callable, optional
        Called before each ``Alltoallv`` when ``gpu_aware_mpi`` (e.g. a stream
        synchronise), since MPI reads device memory outside the stream order.
    padded_shape : tuple of 3 int, optional
        Finer grid ``(M0, M1, M2)``, ``M_i >= N_i``, of ``backward_padded`` and
        ``forward_padded`` (3/2-rule dealiasing: ``M_i = ceil(3 N_i / 2)``).

    Attributes
    ----------
    shape, spectral_shape : tuple
        Global real ``(N0, N1, N2)`` and spectral ``(N0, N1, N2//2+1)`` shapes.
    real_shape_local, real_slice_local : tuple
        Local real block and its slices into the global ``(N0, N1, N2)`` array.
    spectral_shape_local, spectral_slice_local : tuple
        Local complex block and its slices into the global ``(N0, N1, N2//2+1)``
        array, same axis order as ``numpy.fft.rfftn``.
    proc_grid : (int, int)
        ``(P, 1)`` for slab.
    padded_shape, padded_shape_local, padded_slice_local : tuple or None
        The padded global grid, the local block of it and its slices
        (``None`` without ``padded_shape``).
    """

    def __init__(self, comm, shape, *, decomposition="slab", dtype="float64", xp=None,
                 to_host=None, from_host=None, gpu_aware_mpi=False, proc_grid=None,
                 device=None, synchronize=None, padded_shape=None):
        shape = tuple(int(n) for n in shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"DistributedFFT: shape must be 3 positive ints, got {shape}")
        if decomposition not in ("slab", "pencil"):
            raise ValueError(f"DistributedFFT: decomposition must be 'slab' or 'pencil', got {decomposition!r}")
        rdt = np.dtype(dtype)
        if rdt not in (np.float32, np.float64):
            raise ValueError(f"DistributedFFT: dtype must be float32 or float64, got {dtype!r}")
        p0, p1 = choose_grid(shape, comm.Get_size(), decomposition, proc_grid)  # no communication
        if padded_shape is not None:
            padded_shape = tuple(int(m) for m in padded_shape)
            if len(padded_shape) != 3 or any(m < n for m, n in zip(padded_shape, shape)):
                raise ValueError(f"DistributedFFT: padded_shape must be 3 ints >= shape {shape}, "
                                 f"got {padded_shape}")
        self.padded_shape = padded_shape
        if xp is None:
            import array_api_compat.numpy as xp
        self.xp, self.shape, self.decomposition, self.proc_grid = xp, shape, decomposition, (p0, p1)
        # An FFT library that can reuse its input's memory may do so for arrays made here (never the caller's).
        self._own = {"overwrite_x": True} if getattr(xp.fft, "supports_overwrite", False) else {}
        self.gpu_aware_mpi, self.synchronize = bool(gpu_aware_mpi), synchronize
        self.dev = {} if device is None else {"device": device}
        self.to_host = to_host if to_host is not None else np.asarray
        self.from_host = from_host if from_host is not None else (lambda a: xp.asarray(a, **self.dev))
        self.real_dtype = getattr(xp, rdt.name)
        self.complex_dtype = getattr(xp, "complex64" if rdt == np.float32 else "complex128")
        self.mpi_type = MPI.C_FLOAT_COMPLEX if rdt == np.float32 else MPI.C_DOUBLE_COMPLEX
        self._host_real = rdt.type
        self._host_complex = np.complex64 if rdt == np.float32 else np.complex128
        n0, n1, n2 = shape
        nh = n2 // 2 + 1
        self.spectral_shape = (n0, n1, nh)
        if decomposition == "slab":
            self.comm = comm.Dup()
            comm0, comm1 = self.comm, None
        else:
            self.comm = comm.Create_cart((p0, p1), periods=(False, False), reorder=False)
            comm0, comm1 = self.comm.Sub((True, False)), self.comm.Sub((False, True))
        c0 = comm0.Get_rank()
        c1 = 0 if comm1 is None else comm1.Get_rank()

        def blk(n, p, c):
            sizes, starts = _sizes_starts(n, p)
            return sizes[c], slice(starts[c], starts[c] + sizes[c])

        (a0, r0), (a1, r1) = blk(n0, p0, c0), blk(n1, p1, c1)
        (b1, s1), (b2, s2) = blk(n1, p0, c0), blk(nh, p1, c1)
        self.real_shape_local, self.real_slice_local = (a0, a1, n2), (r0, r1, slice(0, n2))
        mid = (a0, n1, b2)  # after the P1 transpose: axis 1 complete, axis 2 split
        self.spectral_shape_local = (n0, b1, b2)
        self.spectral_slice_local = (slice(0, n0), s1, s2)
        # Each block shape gets one (send, receive) buffer pair, shared by the
        # forward and backward transposes: every call unpacks before returning.
        self._t1 = self._t1r = self._t0 = self._t0r = None
        if p0 * p1 > 1:
            m = self._buffers(mid)
        if p1 > 1:
            i = self._buffers((a0, a1, nh))
            self._t1 = _Transpose(self, comm1, (a0, a1, nh), 1, 2, n1, i[0], m[1])
            self._t1r = _Transpose(self, comm1, mid, 2, 1, nh, m[0], i[1])
        if p0 > 1:
            s = self._buffers(self.spectral_shape_local)
            self._t0 = _Transpose(self, comm0, mid, 0, 1, n0, m[0], s[1])
            self._t0r = _Transpose(self, comm0, self.spectral_shape_local, 1, 0, n1, s[0], m[1])
        self.padded_shape_local = self.padded_slice_local = None
        if padded_shape is not None:
            self._plan_padded(comm0, comm1, c0, c1, blk, b1, b2)

    def _plan_padded(self, comm0, comm1, c0, c1, blk, b1, b2):
        """Transposes of the padded pipeline (their own buffers: the blocks differ from the plain ones)."""
        (_, n1, n2), (m0, m1, m2) = self.shape, self.padded_shape
        p0, p1 = self.proc_grid
        nh = n2 // 2 + 1
        (a0, r0), (a1, r1) = blk(m0, p0, c0), blk(m1, p1, c1)
        self.padded_shape_local = (a0, a1, m2)
        self.padded_slice_local = (r0, r1, slice(0, m2))
        # backward: (M0, b1, b2) -[comm0]-> (a0, N1, b2) -pad 1-> (a0, M1, b2) -[comm1]-> (a0, a1, nh)
        self._pt0r = self._pt1r = self._pt0 = self._pt1 = None
        if p0 > 1:
            s, m = self._buffers((m0, b1, b2)), self._buffers((a0, n1, b2))
            self._pt0r = _Transpose(self, comm0, (m0, b1, b2), 1, 0, n1, s[0], m[1])
            self._pt0 = _Transpose(self, comm0, (a0, n1, b2), 0, 1, m0, m[0], s[1])
        if p1 > 1:
            m, i = self._buffers((a0, m1, b2)), self._buffers((a0, a1, nh))
            self._pt1r = _Transpose(self, comm1, (a0, m1, b2), 2, 1, nh, m[0], i[1])
            self._pt1 = _Transpose(self, comm1, (a0, a1, nh), 1, 2, m1, i[0], m[1])
        self._pad_scale = math.prod(self.padded_shape) / math.prod(self.shape)

    @classmethod
    def from_backend(cls, comm, shape, backend, **kw):
        """Plan for a :mod:`zzhpc.device` backend (its ``xp``, transfers, device, MPI mode)."""
        for key, value in (("gpu_aware_mpi", backend.gpu_aware_mpi), ("xp", backend.xp),
                           ("to_host", backend.to_host), ("from_host", backend.asarray),
                           ("device", backend.device_obj), ("synchronize", backend.synchronize)):
            kw.setdefault(key, value)  # a caller may swap one (e.g. an FFT library for xp)
        return cls(comm, shape, **kw)

    def _buffers(self, shape):
        """(send buffer on device, receive buffer MPI writes into) for a block of ``shape``."""
        dbuf = self.xp.empty((math.prod(shape),), dtype=self.complex_dtype, **self.dev)
        if self.gpu_aware_mpi or isinstance(dbuf, np.ndarray):
            return dbuf, dbuf  # host == device for numpy: no staging copy needed
        return dbuf, np.empty(math.prod(shape), dtype=self._host_complex)

    def _check(self, x, shape, name):
        if tuple(x.shape) != shape:
            raise ValueError(f"DistributedFFT: {name} has shape {tuple(x.shape)}, expected {shape}")

    def forward(self, u_local):
        """Real local block (``real_shape_local``) -> complex local block, unnormalised like ``rfftn``."""
        xp = self.xp
        self._check(u_local, self.real_shape_local, "u_local")
        uh = xp.fft.rfftn(xp.astype(u_local, self.real_dtype, copy=False), axes=(2,))
        if self._t1 is not None:
            uh = self._t1(uh)
        uh = xp.fft.fftn(uh, axes=(1,), **self._own)
        if self._t0 is not None:
            uh = self._t0(uh)
        return xp.fft.fftn(uh, axes=(0,), **self._own)

    def backward(self, uhat_local):
        """Complex local block (``spectral_shape_local``) -> real local block, normalised like ``irfftn``."""
        xp = self.xp
        self._check(uhat_local, self.spectral_shape_local, "uhat_local")
        u = xp.fft.ifftn(xp.astype(uhat_local, self.complex_dtype, copy=False), axes=(0,))
        if self._t0r is not None:
            u = self._t0r(u)
        u = xp.fft.ifftn(u, axes=(1,), **self._own)
        if self._t1r is not None:
            u = self._t1r(u)
        return xp.fft.irfftn(u, s=(self.shape[2],), axes=(2,))

    def _zeros_like_along(self, x, axis, n):
        shape = list(x.shape)
        shape[axis] = n
        return self.xp.zeros(tuple(shape), dtype=self.complex_dtype, **self.dev)

    def _pad(self, x, axis):
        """Zero-pad ``axis`` of a spectral block from ``N`` to ``M`` modes (fftfreq order; half-spectrum on 2).

        One ``concat`` (each output element written once) rather than zeros plus slice assignments."""
        xp, n, m = self.xp, self.shape[axis], self.padded_shape[axis]
        pos, neg = _kept(n)
        sl = lambda a, b: tuple(slice(a, b) if i == axis else slice(None) for i in range(3))  # noqa: E731
        if axis == 2:
            parts = [x[sl(0, pos)], self._zeros_like_along(x, axis, m // 2 + 1 - pos)]
        else:
            parts = [x[sl(0, pos)], self._zeros_like_along(x, axis, m - pos - neg)]
            if neg:
                parts.append(x[sl(n - neg, n)])
        return xp.concat(parts, axis=axis)

    def _truncate(self, x, axis):
        """Inverse of :meth:`_pad`: keep the ``N``-grid modes of ``axis`` (Nyquist set to zero)."""
        xp, n, m = self.xp, self.shape[axis], self.padded_shape[axis]
        pos, neg = _kept(n)
        sl = lambda a, b: tuple(slice(a, b) if i == axis else slice(None) for i in range(3))  # noqa: E731
        full = n // 2 + 1 if axis == 2 else n
        parts = [x[sl(0, pos)]]
        if full - pos - (0 if axis == 2 else neg):
            parts.append(self._zeros_like_along(x, axis, full - pos - (0 if axis == 2 else neg)))
        if axis != 2 and neg:
            parts.append(x[sl(m - neg, m)])
        return xp.concat(parts, axis=axis)

    def backward_padded(self, uhat_local):
        """Complex local block (``spectral_shape_local``) -> its values on the padded grid
        (``padded_shape_local``); Nyquist modes count as zero."""
        if self.padded_shape is None:
            raise ValueError("DistributedFFT: backward_padded needs padded_shape in the constructor")
        xp = self.xp
        self._check(uhat_local, self.spectral_shape_local, "uhat_local")
        u = xp.fft.ifftn(self._pad(uhat_local, 0), axes=(0,), **self._own)
        if self._pt0r is not None:
            u = self._pt0r(u)
        u = xp.fft.ifftn(self._pad(u, 1), axes=(1,), **self._own)
        if self._pt1r is not None:
            u = self._pt1r(u)
        u = xp.fft.irfftn(self._pad(u, 2), s=(self.padded_shape[2],), axes=(2,))
        u *= self._pad_scale
        return u

    def forward_padded(self, u_local):
        """Real block on the padded grid (``padded_shape_local``) -> complex local block of the ``N``
        grid (``spectral_shape_local``), in the unnormalised ``rfftn`` convention of :meth:`forward`;
        modes beyond the ``N`` grid and its Nyquist modes are dropped."""
        if self.padded_shape is None:
            raise ValueError("DistributedFFT: forward_padded needs padded_shape in the constructor")
        xp = self.xp
        self._check(u_local, self.padded_shape_local, "u_local")
        uh = self._truncate(xp.fft.rfftn(xp.astype(u_local, self.real_dtype, copy=False), axes=(2,)), 2)
        if self._pt1 is not None:
            uh = self._pt1(uh)
        uh = self._truncate(xp.fft.fftn(uh, axes=(1,), **self._own), 1)
        if self._pt0 is not None:
            uh = self._pt0(uh)
        uh = self._truncate(xp.fft.fftn(uh, axes=(0,), **self._own), 0)
        uh *= 1.0 / self._pad_scale
        return uh

    def wavenumbers(self, lengths=(2 * math.pi,) * 3):
        """Local angular wavenumbers ``(k0, k1, k2)`` for a box of side ``lengths``.

        Shapes ``(n0, 1, 1)``, ``(1, n1, 1)``, ``(1, 1, n2)`` broadcast to
        ``spectral_shape_local``; ``k_i = 2*pi*m/L_i`` with ``m`` in
        ``numpy.fft.fftfreq`` order (``rfftfreq`` for axis 2). For even ``N``
        the Nyquist mode is ``-N/2`` on axes 0, 1 and ``+N/2`` on axis 2.
        """
        n0, n1, n2 = self.shape
        ks = [np.fft.fftfreq(n0, 1.0 / n0), np.fft.fftfreq(n1, 1.0 / n1), np.fft.rfftfreq(n2, 1.0 / n2)]
        out = []
        for ax, (k, sl, length) in enumerate(zip(ks, self.spectral_slice_local, lengths)):
            k = (2 * math.pi / length) * k[sl]
            shape = [1, 1, 1]
            shape[ax] = k.size
            out.append(self.from_host(np.ascontiguousarray(k.reshape(shape), dtype=self._host_real)))
        return tuple(out)

    def empty_real(self):
        """Uninitialised real array of ``real_shape_local``."""
        return self.xp.empty(self.real_shape_local, dtype=self.real_dtype, **self.dev)

    def empty_spectral(self):
        """Uninitialised complex array of ``spectral_shape_local``."""
        return self.xp.empty(self.spectral_shape_local, dtype=self.complex_dtype, **self.dev)
