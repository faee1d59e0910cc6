r"""Smooth particle-mesh Ewald (SPME) on the distributed FFT: reciprocal energy, forces and virial.

Essmann, Perera, Berkowitz, Darden, Lee & Pedersen, J. Chem. Phys. 103, 8577 (1995). With scaled
fractional coordinates :math:`u_{jd} = K_d x_{jd}/L_d` and the cardinal B-spline :math:`M_p` of order
:math:`p`, the charges are spread on a :math:`K_0\times K_1\times K_2` grid

.. math::
    Q(\mathbf{k}) = \sum_j q_j \prod_d M_p(u_{jd} - k_d - n_d K_d)\quad(\text{all images } n_d),

and, with :math:`\mathbf{m} = (m_0/L_0, m_1/L_1, m_2/L_2)` and the Euler spline factors
:math:`|b_d(m_d)|^2 = |\sum_{k=0}^{p-2} M_p(k+1) e^{2\pi i m_d k/K_d}|^{-2}`,

.. math::
    E_{rec} = \frac12 \sum_{\mathbf{m}} G(\mathbf{m}) |\hat Q(\mathbf{m})|^2,\quad
    G(\mathbf{m}) = \frac{k_e}{\pi V}\frac{e^{-\pi^2 m^2/\alpha^2}}{m^2} \prod_d |b_d(m_d)|^2,\ G(0) = 0,

(eq. 4.7). The potential on the grid :math:`\phi = \mathcal{F}^{-1}[G\hat Q]` (unnormalised inverse) gives
:math:`E = \frac12\sum_\mathbf{k} Q\phi` and the forces by the analytic B-spline derivative
:math:`M_p'(x) = M_{p-1}(x) - M_{p-1}(x-1)`:
:math:`F_{jd} = -q_j \frac{K_d}{L_d} \sum_\mathbf{k} M_p'(u_{jd}-k_d) \prod_{e\neq d} M_p(u_{je}-k_e)\,\phi(\mathbf{k})`.
The virial is :math:`W = \sum_\mathbf{m} E_\mathbf{m}(1 - 2\pi^2 m^2/\alpha^2)` (trace of eq. 2.8).
For odd :math:`p` and even :math:`K_d` the Nyquist factor :math:`|b_d(K_d/2)|^{-2}` is infinite; it is
replaced by the mean of its neighbours, as OpenMM does.

Parallel layout: each rank spreads its own atoms (any spatial decomposition) into a *brick*, the
smallest periodic box of grid points their splines touch; the bricks of all ranks (six integers each,
one ``Allgather``) tell every rank which pieces of which brick overlap which FFT slab, so the grid
values travel by one ``Alltoallv`` to the slab owners (summed there), and the potential comes back to
the bricks the same way reversed. The exchanged values travel in the grid's type (``MPI.FLOAT`` for
the float32 grids of the mixed mode, half the bytes of ``MPI.DOUBLE``): they are float32 numbers
already, and the slab owner still sums the overlapping bricks in float64 before rounding, so the
results are those of a float64 exchange bit for bit. ``exchange_bytes`` counts what one ``compute``
sent. On one rank the brick is the whole grid and is the FFT's input: nothing is exchanged (the same
numbers as the exchange with itself, which sums one brick per grid point).

Mixed mode (``mixed=True``; docs/precision.md): the stencil of every atom (``floor(u)``, the weights and
their derivatives, from the float64 positions, rounded to float32) is computed once per step and shared
by spreading and interpolation (``water_pme_stencil``, ``water_pme_spread_stencil``,
``water_pme_gather_stencil``), whose grid sums run in float32; the FFTs are real-to-complex in complex64;
one pass over the spectrum (``water_pme_convolve``) forms :math:`|\hat Q|^2` and the energy and virial
sums in float64 and multiplies by the float32 influence function in place. The float64 mode runs the
kernels it ran before the mixed mode (``water_pme_spread``, ``water_pme_gather``), so its results are
unchanged bit for bit.
"""

import math

import numpy as np
from array_api_compat import array_namespace, device as _dev
from mpi4py import MPI

from ...device import get_kernel, kernel_registry
from ...device.fftlib import fft_namespace
from ...parallel.fft import DistributedFFT
from .nonbonded import QQRD2E
from .pme_kernels import bspline


def bspline_moduli(n, order):
    """:math:`|b(m)|^2` for ``m = 0 .. n-1`` (Essmann eq. 4.4), Nyquist zeros filled as OpenMM does."""
    c, _ = bspline(np.zeros(1), order)
    vals = np.array([float(v[0]) for v in c])  # M_p(j), j = 0 .. p-1; M_p(0) = 0
    k = np.arange(order - 1)
    m = np.arange(n)[:, None]
    denom = vals[1:][None, :] * np.exp(2j * np.pi * m * k[None, :] / n)
    mod = np.abs(np.sum(denom, axis=1)) ** 2
    for i in range(n):
        if mod[i] < 1e-7:
            mod[i] = 0.5 * (mod[(i - 1) % n] + mod[(i + 1) % n])
    return 1.0 / mod


def _segments(lo, size, n):
    """Brick ``[lo, lo+size)`` of an axis of length ``n`` as ``[(brick_off, global_start, length)]``."""
    g = lo % n
    if g + size <= n:
        return [(0, g, size)] if size else []
    return [(0, g, n - g), (n - g, 0, size - (n - g))]


def _pieces(brick, slab, shape):
    """Blocks shared by a brick ``(lo0, s0, lo1, s1, lo2, s2)`` and a slab ``(a0, b0, a1, b1)``:
    ``[(brick slices, slab slices)]`` in a fixed order that sender and receiver both compute."""
    per_axis = []
    for d in range(3):
        segs = []
        for off, g, ln in _segments(brick[2 * d], brick[2 * d + 1], shape[d]):
            a, b = (slab[2 * d], slab[2 * d + 1]) if d < 2 else (0, shape[2])
            s, e = max(g, a), min(g + ln, b)
            if s < e:
                segs.append((slice(off + s - g, off + e - g), slice(s - a, e - a)))
        per_axis.append(segs)
    return [
        ((s0[0], s1[0], s2[0]), (s0[1], s1[1], s2[1])) for s0 in per_axis[0] for s1 in per_axis[1] for s2 in per_axis[2]
    ]


class PME:
    """Reciprocal-space SPME of charges on any spatial decomposition (collective ``compute``).

    Parameters
    ----------
    comm : MPI communicator; backend : :mod:`zzhpc.device` backend.
    grid : ``(K0, K1, K2)``; order : B-spline order ``p`` (OpenMM uses 5).
    alpha : Ewald splitting parameter [1/A]; lengths : box edges [A] (box origin at 0).
    """

    def __init__(
        self, comm, backend, grid, order, alpha, lengths, dtype="float64", qqrd2e=QQRD2E, kernels="auto", mixed=False
    ):
        self.comm, self.backend, self.xp = comm, backend, backend.xp
        # Mixed precision: grids, FFTs, spreading and interpolation in float32; energy and virial
        # summed in ``dtype``; the forces returned in ``dtype``.
        self.mixed, self.acc_dtype = bool(mixed), dtype
        if self.mixed:
            dtype = "float32"
        self.grid, self.order, self.qqrd2e = tuple(int(n) for n in grid), int(order), qqrd2e
        size = comm.Get_size()
        dec = "slab" if size <= min(self.grid[0], self.grid[1]) else "pencil"
        self.fft = DistributedFFT.from_backend(
            comm, self.grid, backend, decomposition=dec, dtype=dtype, xp=fft_namespace(backend)
        )  # scipy.fft on the NumPy backend
        self.dtype = self.fft.real_dtype
        # Brick <-> slab values on the wire: the grid's type (lossless, see the module notes).
        self.wire_dtype = np.dtype(self.dtype_name)
        self.exchange_bytes = {"to_others": 0, "to_self": 0}
        sl = self.fft.real_slice_local
        mine = np.array([sl[0].start, sl[0].stop, sl[1].start, sl[1].stop], np.int64)
        self.slabs = np.empty((size, 4), np.int64)
        comm.Allgather(mine, self.slabs)
        self.moduli = [bspline_moduli(n, self.order) for n in self.grid]
        names = ["water_pme_spread", "water_pme_gather", "water_pme_stencil", "water_pme_spread_stencil"]
        names += ["water_pme_gather_stencil", "water_pme_convolve"]
        if kernels == "reference":
            reg = kernel_registry()
            k = [reg[n]["generic"] for n in names]
        else:
            k = [get_kernel(n, backend) for n in names]
        self.k_spread, self.k_gather, self.k_stencil, self.k_spread_w, self.k_gather_w, self.k_convolve = k
        # One rank: the brick is the whole grid and is the FFT's input (no exchange; the same numbers as
        # the exchange with itself, which sums one brick per grid point).
        self.local = size == 1
        # Weights once per step, shared by spreading and interpolation (the stencil kernels): the mixed
        # mode. Float64 keeps the kernels it had (bitwise as before); with True it runs 2.0 -> 1.4 ms
        # (4,000 TIP3P, 42^3, order 4, loaded machine) with forces changed by 1.5e-15 relative RMS
        # (interpolation sums in another order), energy and virial unchanged.
        self.shared_weights = self.mixed
        self._qhat = self.fft.empty_spectral()
        self._phi = self.fft.empty_real()
        self.set_box(lengths, alpha)

    def set_box(self, lengths, alpha):
        """Recompute the influence function for new box ``lengths`` or ``alpha`` (no communication)."""
        self.lengths, self.alpha = [float(v) for v in lengths], float(alpha)
        n0, n1, n2 = self.grid
        sl = self.fft.spectral_slice_local
        m = [
            np.fft.fftfreq(n0, 1.0 / n0)[sl[0]] / self.lengths[0],
            np.fft.fftfreq(n1, 1.0 / n1)[sl[1]] / self.lengths[1],
            np.fft.rfftfreq(n2, 1.0 / n2)[sl[2]] / self.lengths[2],
        ]
        m2 = m[0][:, None, None] ** 2 + m[1][None, :, None] ** 2 + m[2][None, None, :] ** 2
        b = (
            self.moduli[0][sl[0]][:, None, None]
            * self.moduli[1][sl[1]][None, :, None]
            * self.moduli[2][sl[2]][None, None, :]
        )
        vol = self.lengths[0] * self.lengths[1] * self.lengths[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            g = self.qqrd2e / (math.pi * vol) * np.exp(-(math.pi**2) * m2 / self.alpha**2) / m2 * b
        g[m2 == 0] = 0.0
        i2 = np.arange(n2 // 2 + 1)[sl[2]]
        half = np.where((i2 == 0) | (2 * i2 == n2), 1.0, 2.0)  # rfft stores half of axis 2
        ge = 0.5 * g * half[None, None, :]
        be, acc = self.backend, self.acc_dtype if self.mixed else self.dtype_name
        self.g_conv = be.asarray(g * (n0 * n1 * n2), dtype=self.dtype_name)
        # Energy and virial factors in the accumulation type: they multiply |Q|^2 formed in it.
        self.g_energy = be.asarray(ge, dtype=acc)
        self.g_virial = be.asarray(ge * (1.0 - 2.0 * math.pi**2 * m2 / self.alpha**2), dtype=acc)

    @property
    def dtype_name(self):
        return "float32" if self.fft.real_dtype == self.xp.float32 else "float64"

    # Brick <-> slab transfer ------------------------------------------------------------------------
    def _plans(self, brick):
        size = self.comm.Get_size()
        allb = np.empty((size, 6), np.int64)
        self.comm.Allgather(np.asarray(brick, np.int64), allb)
        me = self.comm.Get_rank()
        send = [_pieces(brick, self.slabs[r], self.grid) for r in range(size)]
        recv = [_pieces(allb[r], self.slabs[me], self.grid) for r in range(size)]
        return send, recv

    @staticmethod
    def _counts(plans):
        counts = [sum(math.prod(s.stop - s.start for s in p[0]) for p in pl) for pl in plans]
        displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        return counts, displs

    def _alltoallv(self, chunks, send_plans, recv_plans):
        """Send ``chunks`` (one flat array per piece of ``send_plans``) as ``wire_dtype``; return the received
        flat buffer; add the bytes sent to ``exchange_bytes``."""
        sc, sd = self._counts(send_plans)
        rc, rd = self._counts(recv_plans)
        wire = self.wire_dtype
        sbuf = np.concatenate(chunks).astype(wire, copy=False) if chunks else np.zeros(0, wire)
        rbuf = np.empty(int(sum(rc)), wire)
        mpitype = MPI.FLOAT if wire == np.float32 else MPI.DOUBLE
        self.comm.Alltoallv([sbuf, sc, sd, mpitype], [rbuf, rc, rd, mpitype])
        me = self.comm.Get_rank()
        self.exchange_bytes["to_self"] += sc[me] * wire.itemsize
        self.exchange_bytes["to_others"] += (sum(sc) - sc[me]) * wire.itemsize
        return rbuf

    @staticmethod
    def _unpack(plans, buf, side):
        """``((brick slices, slab slices), block)`` for each piece of ``plans`` in the flat ``buf``."""
        pos = 0
        for pl in plans:
            for piece in pl:
                shape = tuple(s.stop - s.start for s in piece[side])
                cnt = math.prod(shape)
                yield piece, buf[pos : pos + cnt].reshape(shape)
                pos += cnt

    # Spreading, solve, interpolation ---------------------------------------------------------------
    def _brick(self, xp, first, integer):
        """``(lo, shape)`` of the brick: every grid point the stencils of the atoms touch. ``first`` holds
        per atom ``floor(u)`` (``integer``) or ``u``; on one rank the brick is the whole grid."""
        lo, shape, p = [0, 0, 0], [0, 0, 0], self.order
        if self.local:
            return lo, list(self.grid)
        if first.shape[0]:
            for d in range(3):
                # Column by column: NumPy reduces a (N, 3) array along axis 0 about 15x slower.
                bmin, bmax = xp.min(first[:, d]), xp.max(first[:, d])
                bmin, bmax = (int(bmin), int(bmax)) if integer else (math.floor(float(bmin)), math.floor(float(bmax)))
                lo[d], hi = bmin - (p - 1), bmax + 1
                if hi - lo[d] >= self.grid[d]:
                    lo[d], hi = 0, self.grid[d]
                shape[d] = hi - lo[d]
        return lo, shape

    def _to_slab(self, qb, lo, shape):
        """The charge grid of this rank's FFT slab from the bricks of all ranks (collective)."""
        be = self.backend
        if self.local:
            return qb
        brick = [lo[0], shape[0], lo[1], shape[1], lo[2], shape[2]]
        send, recv = self._plans(brick)
        qb = be.to_host(qb)
        rbuf = self._alltoallv([qb[bs].reshape(-1) for pl in send for bs, _ in pl], send, recv)
        slab = np.zeros(self.fft.real_shape_local, np.float64)  # overlapping bricks summed in float64
        for (_, ss), chunk in self._unpack(recv, rbuf, 1):
            slab[ss] += chunk
        self._last_plans = send, recv
        return be.asarray(slab, dtype=self.dtype_name)

    def _to_brick(self, phi, shape):
        """The potential on this rank's brick from the slabs (collective; the plans of :meth:`_to_slab`)."""
        if self.local:
            return phi
        send, recv = self._last_plans
        phi = self.backend.to_host(phi)
        rbuf = self._alltoallv([np.ascontiguousarray(phi[ss]).reshape(-1) for pl in recv for _, ss in pl], recv, send)
        phib = np.zeros(tuple(shape), self.wire_dtype)
        for (bs, _), chunk in self._unpack(send, rbuf, 0):
            phib[bs] = chunk
        return self.backend.asarray(phib, dtype=self.dtype_name)

    def compute(self, x, q):
        """Reciprocal energy and virial (this rank's share, to be summed over ranks) and forces ``(N, 3)``
        on the atoms ``x`` (``(N, 3)`` [A], owned by this rank) with charges ``q`` ``(N,)`` [e].

        Mixed mode: the B-spline weights of every atom once (float32, from the float64 positions), shared
        by spreading and interpolation, whose grid sums run in float32; the power spectrum, the energy and
        virial in float64; forces returned in ``x``'s dtype. Float64: the kernels as before the mixed mode."""
        xp, be, p = array_namespace(x), self.backend, self.order
        scale = xp.asarray([self.grid[d] / self.lengths[d] for d in range(3)], dtype=x.dtype, device=_dev(x))
        self.exchange_bytes = {"to_others": 0, "to_self": 0}
        if self.shared_weights:
            base, w, dw = self.k_stencil(x, scale, p, self.dtype_name)
            qg = be.asarray(q, dtype=self.dtype_name)
            lo, shape = self._brick(xp, base, True)
            qb = self.k_spread_w(base, w, qg, lo, shape, self.grid)
        else:
            u = x * scale
            lo, shape = self._brick(xp, u, False)
            qb = self.k_spread(u, q, lo, shape, self.grid, p)
        qhat = self.fft.forward(self._to_slab(qb, lo, shape), out=self._qhat)
        energy, virial = self.k_convolve(qhat, self.g_energy, self.g_virial, self.g_conv)  # qhat *= G
        phib = self._to_brick(self.fft.backward(qhat, out=self._phi), shape)
        if self.shared_weights:
            return energy, self.k_gather_w(base, w, dw, qg, lo, shape, self.grid, phib, scale), virial
        g = self.k_gather(u, q, lo, shape, self.grid, p, phib)
        return energy, g * -scale, virial
