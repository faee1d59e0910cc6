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
size), one ``Alltoallv`` (timed as the phase ``"alltoall"`` when the plan has
timers) and one strided copy out; counts and displacements are built once in
``__init__``.

Memory
------
The plan owns two flat complex work buffers ``A`` and ``B``, each as large as
the largest local block (about 8 bytes per grid point each in float64, 4 in
float32). A transpose reads its input from one of them, sends from the other,
receives into the first (its input is already packed) and unpacks into the
second, so the whole pipeline runs on ``A`` and ``B`` plus the caller's input
and output: ``forward(u, out=...)`` and ``backward(uh, out=...)`` write into a
given array, and ``forward(u, out="work")`` leaves the spectrum in a work
buffer (valid until the next transform), which lets a caller that consumes the
spectrum at once (the Navier-Stokes right-hand side) hold no spectrum of its
own. ``work_real()`` is a real block in ``B`` that ``forward(..., out="work")``
may consume. Local transforms write into these buffers when the FFT
namespace offers ``c2c_into``/``r2c_into``/``c2r_into``
(:mod:`zzhpc.device.fftlib`); otherwise the result is copied in.

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
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from mpi4py import MPI

from .cartesian import choose_process_grid as _balanced
from .partition import block_ranges

__all__ = ["DistributedFFT", "choose_process_grid"]

PHASE_ALLTOALL = "alltoall"  # parallel/timers.py gets the same constant


def _sizes_starts(n, p):
    """Block partition of ``n`` over ``p`` (first ``n % p`` get one more) as ``(sizes, starts)``."""
    ranges = block_ranges(n, p)
    return [c for _, c in ranges], [s for s, _ in ranges]


def _runs(n, p):
    """The ``p`` blocks as at most two runs of equal size: ``[(nblocks, size, offset)]``."""
    q, r = divmod(n, p)
    return [g for g in ((r, q + 1, 0), (p - r, q, r * (q + 1))) if g[0] and g[1]]


def choose_process_grid(
    shape: Sequence[int], nproc: int, decomposition: str = "slab", proc_grid: Sequence[int] | None = None
) -> tuple[int, int]:
    """The FFT process grid ``(P0, P1)`` for ``shape`` on ``nproc`` ranks, validated without communicating.

    Slab: ``(nproc, 1)`` with ``nproc <= min(N0, N1)``. Pencil: ``proc_grid`` if admissible, else the
    most square admissible grid (larger ``P0`` on ties) from :func:`zzhpc.parallel.cartesian.choose_process_grid`,
    the one chooser of process grids. Raises ``ValueError`` (one line, the same on every rank)."""
    n0, n1, n2 = shape
    head = (
        f"DistributedFFT: grid {tuple(shape)} cannot be split over {nproc} rank(s) with decomposition={decomposition!r}"
    )
    lim0, lim1 = min(n0, n1), min(n1, n2 // 2 + 1)
    if decomposition == "slab":
        if proc_grid is not None and tuple(proc_grid) != (nproc, 1):
            raise ValueError(f"{head}: slab takes proc_grid=None or ({nproc}, 1), got {tuple(proc_grid)}")
        if nproc > lim0:
            raise ValueError(f"{head}: slab needs ranks <= min(N0, N1) = {lim0} (pencil allows up to {lim0 * lim1})")
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
    dims = _balanced(nproc, (lim0, lim1))
    if dims is None:
        raise ValueError(f"{head}: no process grid fits; {rule}")
    return dims[0], dims[1]


choose_grid = choose_process_grid  # the name the spectral solver's deck check uses


def _kept(n):
    """Modes of an axis of length ``n`` that padding keeps: (count with m >= 0, count with m < 0).

    The Nyquist mode ``-n/2`` of an even axis is dropped (it has no partner on a longer axis).
    """
    return (n + 1) // 2, (n - 1) // 2


class _Transpose:
    """Global transpose within ``comm``: axis ``a`` becomes complete, axis ``b`` gets split.

    ``in_shape`` is the local block (axis ``a`` split over ``comm``, axis ``b``
    complete); ``n_a`` is the global length of axis ``a``. Buffers are passed per call
    (the plan's work buffers), so forward and backward pipelines share them.
    """

    def __init__(self, plan, comm, in_shape, a, b, n_a):
        self.plan, self.comm = plan, comm
        p, rank = comm.Get_size(), comm.Get_rank()
        n_b = in_shape[b]
        (sa, da), (sb, db) = _sizes_starts(n_a, p), _sizes_starts(n_b, p)
        out = list(in_shape)
        out[a], out[b] = n_a, sb[rank]
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out)
        plane_in = math.prod(in_shape) // n_b  # elements per unit length of axis b
        plane_out = math.prod(out) // n_a
        self.scounts = [plane_in * s for s in sb]
        self.rcounts = [plane_out * s for s in sa]
        self.sdispls = [plane_in * d for d in db]
        self.rdispls = [plane_out * d for d in da]
        self.nsend, self.nrecv = math.prod(in_shape), math.prod(out)
        # Pack: split axis b into (block, size) and move the block index first,
        # so that the chunk for rank q is contiguous at sdispls[q].
        self.pack = []
        for nblk, size, off in _runs(n_b, p):
            idx = tuple(slice(off, off + nblk * size) if i == b else slice(None) for i in range(3))
            split = in_shape[:b] + (nblk, size) + in_shape[b + 1 :]
            perm = (b,) + tuple(i for i in range(4) if i != b)
            chunk = in_shape[:b] + (size,) + in_shape[b + 1 :]
            lo = plane_in * off
            self.pack.append((idx, split, perm, lo, lo + nblk * math.prod(chunk), (nblk,) + chunk))
        # Unpack into memory order (a, others...): chunks from consecutive ranks
        # then land in consecutive slices of the leading axis (contiguous views).
        others = tuple(i for i in range(3) if i != a)
        self.order = (a,) + others
        self.mem_shape = (n_a,) + tuple(out[i] for i in others)
        self.back = tuple(self.order.index(i) for i in range(3))
        self.unpack = []
        for nblk, size, off in _runs(n_a, p):
            chunk = tuple(size if i == a else out[i] for i in range(3))
            lo = plane_out * off
            self.unpack.append(
                (
                    lo,
                    lo + nblk * math.prod(chunk),
                    (nblk,) + chunk,
                    (0, 1 + a) + tuple(1 + i for i in others),
                    off,
                    off + nblk * size,
                    (nblk, size) + self.mem_shape[1:],
                )
            )

    def __call__(self, x, send, recv, out=None):
        """Transpose ``x`` (``in_shape``; it may live in ``recv``, never in ``send``).

        Packs into ``send``, exchanges into ``recv`` and unpacks into ``out`` (an ``out_shape``
        array) or, when ``out`` is None, into ``send`` (returned as an ``out_shape`` view)."""
        pl, xp = self.plan, self.plan.xp
        for idx, split, perm, lo, hi, cshape in self.pack:
            dst = xp.reshape(send[lo:hi], cshape, copy=False)
            dst[...] = xp.permute_dims(xp.reshape(x[idx], split), perm)
        rbuf = pl.exchange(
            self.comm, send, self.nsend, recv, self.nrecv, (self.scounts, self.sdispls, self.rcounts, self.rdispls)
        )
        if out is None:
            mem = xp.reshape(send[: self.nrecv], self.mem_shape, copy=False)
            result = xp.permute_dims(mem, self.back)
        else:
            mem, result = xp.permute_dims(out, self.order), out
        for lo, hi, cshape, perm, o0, o1, tshape in self.unpack:
            dst = xp.reshape(mem[o0:o1], tshape, copy=False)
            dst[...] = xp.permute_dims(xp.reshape(rbuf[lo:hi], cshape), perm)
        return result


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
        Real dtype; the spectral dtype is complex128 or complex64 (and so are the
        messages: float32 mode sends half the bytes).
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
    timers : PhaseTimers, optional
        Each ``Alltoallv`` (with its host staging) is timed as the phase ``"alltoall"``.

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
    work_elements : int
        Complex elements of each of the two work buffers.
    """

    shape: tuple[int, int, int]
    spectral_shape: tuple[int, int, int]
    real_shape_local: tuple[int, int, int]
    spectral_shape_local: tuple[int, int, int]
    proc_grid: tuple[int, int]
    padded_shape: tuple[int, int, int] | None

    def __init__(
        self,
        comm: MPI.Intracomm,
        shape: Sequence[int],
        *,
        decomposition: str = "slab",
        dtype: str = "float64",
        xp: Any = None,
        to_host: Callable | None = None,
        from_host: Callable | None = None,
        gpu_aware_mpi: bool = False,
        proc_grid: Sequence[int] | None = None,
        device: Any = None,
        synchronize: Callable[[], None] | None = None,
        padded_shape: Sequence[int] | None = None,
        timers: Any = None,
    ) -> None:
        shape = tuple(int(n) for n in shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"DistributedFFT: shape must be 3 positive ints, got {shape}")
        if decomposition not in ("slab", "pencil"):
            raise ValueError(f"DistributedFFT: decomposition must be 'slab' or 'pencil', got {decomposition!r}")
        rdt = np.dtype(dtype)
        if rdt not in (np.float32, np.float64):
            raise ValueError(f"DistributedFFT: dtype must be float32 or float64, got {dtype!r}")
        p0, p1 = choose_process_grid(shape, comm.Get_size(), decomposition, proc_grid)  # no communication
        if padded_shape is not None:
            padded_shape = tuple(int(m) for m in padded_shape)
            if len(padded_shape) != 3 or any(m < n for m, n in zip(padded_shape, shape)):
                raise ValueError(f"DistributedFFT: padded_shape must be 3 ints >= shape {shape}, got {padded_shape}")
        self.padded_shape = padded_shape
        if xp is None:
            import array_api_compat.numpy as xp
        self.xp, self.shape, self.decomposition, self.proc_grid = xp, shape, decomposition, (p0, p1)
        self.timers = timers
        # An FFT library that can reuse its input's memory may do so for arrays made here (never the caller's).
        self._own = {"overwrite_x": True} if getattr(xp.fft, "supports_overwrite", False) else {}
        self._into = bool(getattr(xp.fft, "supports_out", False))
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
        self._x_shape = (a0, a1, nh)  # after the rfft along axis 2
        mid = (a0, n1, b2)  # after the P1 transpose: axis 1 complete, axis 2 split
        self._y_shape = mid if p1 > 1 else self._x_shape
        self.spectral_shape_local = (n0, b1, b2)
        self.spectral_slice_local = (slice(0, n0), s1, s2)
        self._t1 = self._t1r = self._t0 = self._t0r = None
        if p1 > 1:
            self._t1 = _Transpose(self, comm1, (a0, a1, nh), 1, 2, n1)
            self._t1r = _Transpose(self, comm1, mid, 2, 1, nh)
        if p0 > 1:
            self._t0 = _Transpose(self, comm0, self._y_shape, 0, 1, n0)
            self._t0r = _Transpose(self, comm0, self.spectral_shape_local, 1, 0, self._y_shape[1])
        sizes = [
            math.prod(self._x_shape),
            math.prod(mid),
            math.prod(self.spectral_shape_local),
            -(-math.prod(self.real_shape_local) // 2),
        ]
        self.padded_shape_local = self.padded_slice_local = None
        if padded_shape is not None:
            sizes += self._plan_padded(comm0, comm1, c0, c1, blk, b1, b2)
        self.work_elements = max(sizes)
        self._work = [xp.empty((self.work_elements,), dtype=self.complex_dtype, **self.dev) for _ in range(2)]
        self._host_recv: np.ndarray | None = None

    def _plan_padded(self, comm0, comm1, c0, c1, blk, b1, b2):
        """Transposes of the padded pipeline; returns the block sizes the work buffers must hold."""
        (_, n1, n2), (m0, m1, m2) = self.shape, self.padded_shape
        p0, p1 = self.proc_grid
        nh = n2 // 2 + 1
        (a0, r0), (a1, r1) = blk(m0, p0, c0), blk(m1, p1, c1)
        self.padded_shape_local = (a0, a1, m2)
        self.padded_slice_local = (r0, r1, slice(0, m2))
        # backward: (M0, b1, b2) -[comm0]-> (a0, N1, b2) -pad 1-> (a0, M1, b2) -[comm1]-> (a0, a1, nh)
        self._pt0r = self._pt1r = self._pt0 = self._pt1 = None
        if p0 > 1:
            self._pt0r = _Transpose(self, comm0, (m0, b1, b2), 1, 0, n1)
            self._pt0 = _Transpose(self, comm0, (a0, n1, b2), 0, 1, m0)
        if p1 > 1:
            self._pt1r = _Transpose(self, comm1, (a0, m1, b2), 2, 1, nh)
            self._pt1 = _Transpose(self, comm1, (a0, a1, nh), 1, 2, m1)
        self._pad_scale = math.prod(self.padded_shape) / math.prod(self.shape)
        return [m0 * b1 * b2, a0 * n1 * b2, a0 * m1 * b2, a0 * a1 * nh, -(-a0 * a1 * m2 // 2)]

    @classmethod
    def from_backend(cls, comm: MPI.Intracomm, shape: Sequence[int], backend: Any, **kw: Any) -> DistributedFFT:
        """Plan for a :mod:`zzhpc.device` backend (its ``xp``, transfers, device, MPI mode)."""
        for key, value in (
            ("gpu_aware_mpi", backend.gpu_aware_mpi),
            ("xp", backend.xp),
            ("to_host", backend.to_host),
            ("from_host", backend.asarray),
            ("device", backend.device_obj),
            ("synchronize", backend.synchronize),
        ):
            kw.setdefault(key, value)  # a caller may swap one (e.g. an FFT library for xp)
        return cls(comm, shape, **kw)

    # Communication -------------------------------------------------------------------------------
    def exchange(self, comm: MPI.Comm, send: Any, nsend: int, recv: Any, nrecv: int, layout: tuple) -> Any:
        """One ``Alltoallv`` from ``send[:nsend]`` into ``recv[:nrecv]``; returns the received block.

        Device buffers go to MPI directly when GPU-aware (after ``synchronize``), else through the host;
        NumPy buffers are host buffers. Timed as the phase ``"alltoall"``."""
        scounts, sdispls, rcounts, rdispls = layout
        if self.timers is not None:
            self.timers.push(PHASE_ALLTOALL)
        try:
            host = isinstance(send, np.ndarray)
            if self.gpu_aware_mpi or host:
                if self.gpu_aware_mpi and self.synchronize is not None:
                    self.synchronize()  # device kernels must finish before MPI reads the buffer
                sbuf, rbuf = send, recv
            else:
                sbuf = self.to_host(send[:nsend])
                if self._host_recv is None:
                    self._host_recv = np.empty(self.work_elements, dtype=self._host_complex)
                rbuf = self._host_recv
            comm.Alltoallv([sbuf, scounts, sdispls, self.mpi_type], [rbuf, rcounts, rdispls, self.mpi_type])
            return recv if rbuf is recv else self.from_host(rbuf[:nrecv])
        finally:
            if self.timers is not None:
                self.timers.pop()

    def _transpose(self, t, x, where, out=None):
        """Run transpose ``t`` on ``x``, which lives in work buffer ``where`` (0, 1) or elsewhere (None).

        Returns ``(result, buffer index it lives in, or None when in out)``."""
        recv = 0 if where is None else where
        send = 1 - recv
        res = t(x, self._work[send], self._work[recv], out)
        return res, (None if out is not None else send)

    def _view(self, i, shape, real=False):
        buf = self._work[i]
        if real:
            return self._real_view(buf, shape)
        return self.xp.reshape(buf[: math.prod(shape)], shape, copy=False)

    def _real_view(self, buf, shape):
        xp = self.xp
        n = math.prod(shape)
        if isinstance(buf, np.ndarray):
            return buf.view(self._host_real)[:n].reshape(shape)
        try:
            return xp.reshape(xp.view_as_real(buf)[: -(-n // 2)], (-1,), copy=False)[:n].reshape(shape)
        except AttributeError:
            return buf.view(self.real_dtype)[:n].reshape(shape)

    def work_real(self, padded: bool = False) -> Any:
        """A real block (``real_shape_local``, or ``padded_shape_local``) in work buffer ``B``, for a
        field that goes straight into ``forward(..., out="work")`` (or ``forward_padded``): no other
        transform may run while it is in use."""
        return self._view(1, self.padded_shape_local if padded else self.real_shape_local, real=True)

    def work_spectral(self) -> Any:
        """A spectral block (``spectral_shape_local``) in work buffer ``B``, for a field that goes straight
        into :meth:`backward` (which consumes it): no other transform may run while it is in use."""
        return self._view(1, self.spectral_shape_local)

    # Local one-axis transforms, into a given array where the FFT library allows it ---------------
    def _c2c(self, x, axis, forward, out):
        if self._into:
            return self.xp.fft.c2c_into(x, axis, forward, out)
        f = self.xp.fft.fftn if forward else self.xp.fft.ifftn
        if out is x:
            out[...] = f(x, axes=(axis,), **self._own)
        else:
            out[...] = f(x, axes=(axis,))
        return out

    def _r2c(self, u, out):
        if self._into:
            return self.xp.fft.r2c_into(u, 2, out)
        out[...] = self.xp.fft.rfftn(u, axes=(2,))
        return out

    def _c2r(self, x, out, n=None):
        n = self.shape[2] if n is None else n
        if self._into:
            return self.xp.fft.c2r_into(x, 2, n, out)
        out[...] = self.xp.fft.irfftn(x, s=(n,), axes=(2,))
        return out

    def _check(self, x, shape, name):
        if tuple(x.shape) != shape:
            raise ValueError(f"DistributedFFT: {name} has shape {tuple(x.shape)}, expected {shape}")

    def _c2c_part(self, x, axis, forward, out, kept, boxes):
        """One-axis pass on the sub-blocks that can be non-zero (all of ``x`` when ``kept`` is None).

        ``boxes``: which of the local spectral axes 1, 2 restrict the pass (axis-0 pass: both; axis-1
        pass: axis 2 only, which the Y layout splits as the spectral block does)."""
        if kept is None:
            return self._c2c(x, axis, forward, out)
        runs1, runs2 = kept
        sel = (
            [(slice(None), r1, r2) for r1 in runs1 for r2 in runs2]
            if boxes == 2
            else [(slice(None), slice(None), r2) for r2 in runs2]
        )
        for s in sel:
            self._c2c(x[s], axis, forward, out[s])
        return out

    def forward(self, u_local: Any, out: Any = None, kept: tuple | None = None) -> Any:
        """Real local block (``real_shape_local``) -> complex local block, unnormalised like ``rfftn``.

        ``out``: an array of ``spectral_shape_local`` to write into, ``"work"`` to leave the result in a
        work buffer (valid until the next transform), or None for a new array. ``u_local`` is kept.
        ``kept = (runs1, runs2)``: lists of slices of the local spectral axes 1 and 2; only the modes in
        their boxes are wanted (a dealiased product), so the passes along axes 1 and 0 skip the rest,
        which is left undefined in the result (truncated transform: about a third less work with the
        2/3 rule)."""
        xp = self.xp
        self._check(u_local, self.real_shape_local, "u_local")
        u = xp.astype(u_local, self.real_dtype, copy=False)
        dst = None if isinstance(out, str) else out
        if dst is None and out is None:
            dst = xp.empty(self.spectral_shape_local, dtype=self.complex_dtype, **self.dev)
        last = self._t0 if self._t0 is not None else self._t1
        if last is None:  # one rank: all three passes in the destination
            x = self._r2c(u, dst if dst is not None else self._view(0, self._x_shape))
            x = self._c2c_part(x, 1, True, x, kept, 1)
            return self._c2c_part(x, 0, True, x, kept, 2)
        x, where = self._r2c(u, self._view(0, self._x_shape)), 0
        if self._t1 is not None:
            x, where = self._transpose(self._t1, x, where, dst if last is self._t1 else None)
        x = self._c2c_part(x, 1, True, x, kept, 1)
        if self._t0 is not None:
            x, where = self._transpose(self._t0, x, where, dst)
        return self._c2c_part(x, 0, True, x, kept, 2)

    def backward(self, uhat_local: Any, out: Any = None, kept: tuple | None = None) -> Any:
        """Complex local block (``spectral_shape_local``) -> real local block, normalised like ``irfftn``.

        ``out``: an array of ``real_shape_local`` to write into (not a work buffer), or None for a new
        array. ``uhat_local`` is kept. ``kept = (runs1, runs2)`` (see :meth:`forward`): the input is
        zero outside those boxes, so the passes along axes 0 and 1 skip the zero columns."""
        xp = self.xp
        self._check(uhat_local, self.spectral_shape_local, "uhat_local")
        uh = xp.astype(uhat_local, self.complex_dtype, copy=False)
        first = self._view(0, self.spectral_shape_local)
        if kept is not None:
            first[...] = 0
        x, where = self._c2c_part(uh, 0, False, first, kept, 2), 0
        if self._t0r is not None:
            x, where = self._transpose(self._t0r, x, where)
        x = self._c2c_part(x, 1, False, x, kept, 1)
        if self._t1r is not None:
            x, where = self._transpose(self._t1r, x, where)
        if out is None:
            out = xp.empty(self.real_shape_local, dtype=self.real_dtype, **self.dev)
        return self._c2r(x, out)

    def _zeros_like_along(self, x, axis, n):
        shape = list(x.shape)
        shape[axis] = n
        return self.xp.zeros(tuple(shape), dtype=self.complex_dtype, **self.dev)

    def _pad(self, x, axis):
        """Zero-pad ``axis`` of a spectral block from ``N`` to ``M`` modes (fftfreq order; half-spectrum on 2).

        One ``concat`` (each output element written once) rather than zeros plus slice assignments."""
        xp, n, m = self.xp, self.shape[axis], self.padded_shape[axis]
        pos, neg = _kept(n)

        def sl(a, b):
            return tuple(slice(a, b) if i == axis else slice(None) for i in range(3))

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

        def sl(a, b):
            return tuple(slice(a, b) if i == axis else slice(None) for i in range(3))

        full = n // 2 + 1 if axis == 2 else n
        parts = [x[sl(0, pos)]]
        if full - pos - (0 if axis == 2 else neg):
            parts.append(self._zeros_like_along(x, axis, full - pos - (0 if axis == 2 else neg)))
        if axis != 2 and neg:
            parts.append(x[sl(m - neg, m)])
        return xp.concat(parts, axis=axis)

    def backward_padded(self, uhat_local: Any, out: Any = None) -> Any:
        """Complex local block (``spectral_shape_local``) -> its values on the padded grid
        (``padded_shape_local``); Nyquist modes count as zero."""
        if self.padded_shape is None:
            raise ValueError("DistributedFFT: backward_padded needs padded_shape in the constructor")
        xp = self.xp
        self._check(uhat_local, self.spectral_shape_local, "uhat_local")
        u = xp.fft.ifftn(self._pad(uhat_local, 0), axes=(0,), **self._own)
        if self._pt0r is not None:
            u = self._transpose(self._pt0r, u, None)[0]
        u = xp.fft.ifftn(self._pad(u, 1), axes=(1,), **self._own)
        if self._pt1r is not None:
            u = self._transpose(self._pt1r, u, None)[0]
        if out is None:
            out = xp.empty(self.padded_shape_local, dtype=self.real_dtype, **self.dev)
        u = self._c2r(self._pad(u, 2), out, self.padded_shape[2])
        u *= self._pad_scale
        return u

    def forward_padded(self, u_local: Any, out: Any = None) -> Any:
        """Real block on the padded grid (``padded_shape_local``) -> complex local block of the ``N``
        grid (``spectral_shape_local``), in the unnormalised ``rfftn`` convention of :meth:`forward`;
        modes beyond the ``N`` grid and its Nyquist modes are dropped."""
        if self.padded_shape is None:
            raise ValueError("DistributedFFT: forward_padded needs padded_shape in the constructor")
        xp = self.xp
        self._check(u_local, self.padded_shape_local, "u_local")
        uh = self._truncate(xp.fft.rfftn(xp.astype(u_local, self.real_dtype, copy=False), axes=(2,)), 2)
        if self._pt1 is not None:
            uh = self._transpose(self._pt1, uh, None)[0]
        uh = self._truncate(xp.fft.fftn(uh, axes=(1,), **self._own), 1)
        if self._pt0 is not None:
            uh = self._transpose(self._pt0, uh, None)[0]
        uh = self._truncate(xp.fft.fftn(uh, axes=(0,), **self._own), 0)
        uh *= 1.0 / self._pad_scale
        if out is not None and not isinstance(out, str):
            out[...] = uh
            return out
        return uh

    def wavenumbers(self, lengths: Sequence[float] = (2 * math.pi,) * 3) -> tuple:
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

    def empty_real(self) -> Any:
        """Uninitialised real array of ``real_shape_local``."""
        return self.xp.empty(self.real_shape_local, dtype=self.real_dtype, **self.dev)

    def empty_spectral(self) -> Any:
        """Uninitialised complex array of ``spectral_shape_local``."""
        return self.xp.empty(self.spectral_shape_local, dtype=self.complex_dtype, **self.dev)
