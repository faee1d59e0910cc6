r"""The Fourier grid of the pseudo-spectral solver: distributed FFT, wavenumbers, dealiasing, sums.

A periodic box :math:`[0, L_0) \times [0, L_1) \times [0, L_2)` carries :math:`N_0 N_1 N_2` collocation
points :math:`x_i = j L_i / N_i`. Fields are stored as the ``rfftn`` half-spectrum of
:class:`zzhpc.parallel.fft.DistributedFFT` (unnormalised forward transform), so volume averages follow
from Parseval's theorem,

.. math:: \langle f g \rangle = \frac{1}{N^2} \sum_{\mathbf k} w_{k_2}\, \mathrm{Re}(\hat f^* \hat g),
          \qquad N = N_0 N_1 N_2,

with weight :math:`w = 2` for the modes :math:`0 < m_2 < N_2/2` of the half-spectrum (they stand for
their conjugates as well) and :math:`w = 1` on the planes :math:`m_2 = 0` and :math:`m_2 = N_2/2`.

Dealiasing (``dealias``) follows one of Orszag's two rules [Orszag1971]_:

* ``"2/3"`` (default): quadratic products are formed on the :math:`N` grid and are alias-free on the
  modes :math:`|m_i| < N_i/3` of every axis; all others (the Nyquist modes included) are kept at zero.
* ``"3/2"``: products are formed on a padded grid of :math:`M_i = \lceil 3N_i/2 \rceil` points
  (:meth:`DistributedFFT.backward_padded`, ``forward_padded``), so every mode :math:`|m_i| < N_i/2`
  stays alias-free and is kept: the same :math:`N` resolves :math:`3/2` times the wavenumber, at the
  cost of transforms on the :math:`M` grid.
* ``"none"``: every mode but the Nyquist ones is kept and products alias (for tests and studies).

.. [Orszag1971] S. A. Orszag, "On the elimination of aliasing in finite-difference schemes by
   filtering high-wavenumber components", J. Atmos. Sci. 28, 1074 (1971).
"""

import math

import numpy as np
from mpi4py import MPI

from ...device.fftlib import fft_namespace
from ...parallel.fft import DistributedFFT

DEALIAS_RULES = ("2/3", "3/2", "none")


class SpectralGrid:
    """Wavenumbers, masks and global reductions for one :class:`DistributedFFT` plan.

    Parameters
    ----------
    comm : mpi4py communicator
    shape : 3 ints, the global grid ``(N0, N1, N2)``
    backend : a :mod:`zzhpc.device` backend
    lengths : 3 floats, box sides (default ``2 pi`` each)
    decomposition : ``"slab"`` or ``"pencil"``
    dtype : ``"float64"`` or ``"float32"``
    proc_grid : ``(P0, P1)`` for pencils, optional
    dealias : ``"2/3"``, ``"3/2"`` or ``"none"`` (see above; ``True``/``False`` mean ``"2/3"``/``"none"``)
    timers : PhaseTimers, optional; distributed FFTs are charged to the phase ``"fft"``
    fft_library : ``"auto"`` (scipy.fft for the NumPy backend, :mod:`zzhpc.device.fftlib`) or ``"native"``
    """

    def __init__(
        self,
        comm,
        shape,
        backend,
        *,
        lengths=None,
        decomposition="slab",
        dtype="float64",
        proc_grid=None,
        dealias="2/3",
        timers=None,
        fft_library="auto",
    ):
        self.comm, self.backend, self.xp = comm, backend, backend.xp
        self.timers = timers
        self.shape = tuple(int(n) for n in shape)
        dealias = {True: "2/3", False: "none"}.get(dealias, dealias)
        if dealias not in DEALIAS_RULES:
            raise ValueError(f"SpectralGrid: dealias must be one of {DEALIAS_RULES}, got {dealias!r}")
        self.dealias = dealias
        self.padded_shape = tuple(-(-3 * n // 2) for n in self.shape) if dealias == "3/2" else None
        self.lengths = tuple(lengths or (2 * math.pi,) * 3)
        # from_backend's arguments, with the local FFT library chosen by fft_namespace.
        self.fft = DistributedFFT(
            comm,
            self.shape,
            decomposition=decomposition,
            dtype=dtype,
            proc_grid=proc_grid,
            xp=fft_namespace(backend, fft_library),
            to_host=backend.to_host,
            from_host=backend.asarray,
            device=backend.device_obj,
            synchronize=backend.synchronize,
            gpu_aware_mpi=backend.gpu_aware_mpi,
            padded_shape=self.padded_shape,
            timers=timers,
        )
        self.dtype = dtype
        self.npoints = math.prod(self.shape)
        self.spacing = tuple(L / n for L, n in zip(self.lengths, self.shape))
        # Only 1-D factors are stored: a full-block wavenumber, |k|^2 or mask array would cost 4-8 bytes
        # per grid point each (docs/spectral.md, memory). Full arrays are made on demand (ksq, mask).
        self.k = self.fft.wavenumbers(self.lengths)  # (n0,1,1), (1,n1,1), (1,1,n2)
        self.ik = tuple(1j * k for k in self.k)  # i k_j, so a derivative is one array pass
        # Integer mode numbers m_i of the local block (host), for masks, weights and shells.
        sl = self.fft.spectral_slice_local
        m = [
            np.fft.fftfreq(self.shape[0], 1 / self.shape[0])[sl[0]],
            np.fft.fftfreq(self.shape[1], 1 / self.shape[1])[sl[1]],
            np.fft.rfftfreq(self.shape[2], 1 / self.shape[2])[sl[2]],
        ]
        self._m = m
        third = dealias == "2/3"
        keep = [np.abs(mi) < (n / 3 if third else n / 2) for mi, n in zip(m, self.shape)]
        keep[2] = keep[2] & (m[2] < self.shape[2] / 2)  # the +N2/2 Nyquist plane of the half-spectrum
        self.keep_host = keep  # the mask is their outer product
        self.kept = KeptModes(self, keep)
        w2 = np.where((m[2] == 0) | (2 * m[2] == self.shape[2]), 1.0, 2.0)
        self.weight_host = w2
        self.weight = backend.asarray(w2.reshape(1, 1, -1).astype(self.dtype))
        self.norm = 1.0 / float(self.npoints) ** 2
        # Spherical shells |k| / k_min rounded to the nearest integer (k_min = 2 pi / max L).
        kunit = 2 * math.pi / max(self.lengths)
        self._kk = [2 * math.pi * mi / L / kunit for mi, L in zip(m, self.lengths)]
        self.kunit = kunit
        self.nshells = (
            int(
                math.floor(
                    math.sqrt(sum((n // 2 * 2 * math.pi / L / kunit) ** 2 for n, L in zip(self.shape, self.lengths)))
                )
            )
            + 2
        )
        # Largest resolved wavenumber (dealiased), for k_max * eta.
        self.kmax = min(
            (math.ceil(n / 3) - 1 if third else (n - 1) // 2) * 2 * math.pi / L
            for n, L in zip(self.shape, self.lengths)
        )
        self._physical = None

    # Full-block arrays, made on demand (tests, initial fields, forcing set-up) -----------------------
    @property
    def mask_host(self):
        k0, k1, k2 = self.keep_host
        return k0[:, None, None] & k1[None, :, None] & k2[None, None, :]

    @property
    def mask(self):
        """Dealiasing mask (1 on kept modes, else 0) of the local block, as a new array."""
        return self.backend.asarray(self.mask_host.astype(self.dtype))

    @property
    def ksq(self):
        """|k|^2 on the local spectral block, as a new array."""
        k0, k1, k2 = self.k
        return k0 * k0 + k1 * k1 + k2 * k2

    def shells(self, rows=slice(None)):
        """Shell index ``rint(|k|/k_min)`` of the axis-0 rows ``rows`` of the local block (host int64)."""
        kk = self._kk
        kmag = np.sqrt(kk[0][rows, None, None] ** 2 + kk[1][None, :, None] ** 2 + kk[2][None, None, :] ** 2)
        return np.rint(kmag).astype(np.int64)

    @property
    def shell(self):
        return self.shells()

    def chunks(self, n=None):
        """Slices of axis 0 of the local spectral block (``n`` rows in all) in about 16 pieces: whole-block
        expressions are evaluated piece by piece so that their temporaries stay small."""
        n = self.spectral_shape_local[0] if n is None else n
        step = max(1, -(-n // 16))
        return [slice(i, min(n, i + step)) for i in range(0, n, step)]

    def physical_work(self):
        """Three real arrays on the product grid, shared by the right-hand side and the diagnostics
        (made on first use; nothing else holds real-space fields)."""
        if self._physical is None:
            shape = self.fft.padded_shape_local if self.padded_shape is not None else self.real_shape_local
            self._physical = [self.xp.empty(shape, dtype=self.fft.real_dtype, **self.fft.dev) for _ in range(3)]
        return self._physical

    # Layout ------------------------------------------------------------------------------------------
    @property
    def real_shape_local(self):
        return self.fft.real_shape_local

    @property
    def spectral_shape_local(self):
        return self.fft.spectral_shape_local

    def real_start(self):
        return [s.start for s in self.fft.real_slice_local]

    def spectral_start(self):
        return [s.start for s in self.fft.spectral_slice_local]

    def coordinates(self):
        """Host coordinates ``(x0, x1, x2)`` of the local real block, broadcastable, ``x_i = j L_i / N_i``."""
        out = []
        for ax, (sl, n, L) in enumerate(zip(self.fft.real_slice_local, self.shape, self.lengths)):
            x = np.arange(n)[sl] * (L / n)
            shape = [1, 1, 1]
            shape[ax] = x.size
            out.append(x.reshape(shape))
        return out

    def describe(self):
        return {
            "kind": "Fourier pseudo-spectral",
            "shape": list(self.shape),
            "lengths": list(self.lengths),
            "decomposition": self.fft.decomposition,
            "process_grid": list(self.fft.proc_grid),
            "dealias": self.dealias,
            "product_grid": list(self.padded_shape or self.shape),
            "real_block": list(self.real_shape_local),
            "spectral_block": list(self.spectral_shape_local),
        }

    # Transforms of 3-vectors (leading axis = component) -------------------------------------------
    def _each(self, transform, comps):
        """``[transform(c) for c in comps]``, charged to the timer phase ``"fft"`` when timing."""
        if self.timers is None:
            return [transform(c) for c in comps]
        with self.timers("fft"):
            return [transform(c) for c in comps]

    def forward(self, u):
        return self.xp.stack(self._each(self.fft.forward, [u[i] for i in range(u.shape[0])]))

    def backward(self, uh):
        return self.xp.stack(self._each(self.fft.backward, [uh[i] for i in range(uh.shape[0])]))

    def forward_components(self, comps):
        """List of real fields -> list of spectra (no stacking copy)."""
        return self._each(self.fft.forward, comps)

    def backward_components(self, comps):
        """List of spectra -> list of real fields (no stacking copy)."""
        return self._each(self.fft.backward, comps)

    def to_physical(self, comps):
        """Spectra -> real fields on the grid where products are formed (the padded grid for ``"3/2"``)."""
        return self._each(self.fft.backward if self.padded_shape is None else self.fft.backward_padded, comps)

    def from_physical(self, comps):
        """Inverse of :meth:`to_physical`: real fields on the product grid -> spectra (not yet masked)."""
        return self._each(self.fft.forward if self.padded_shape is None else self.fft.forward_padded, comps)

    def to_physical_into(self, uh_c, out):
        """One spectrum (zero off the kept modes) -> real field on the product grid, written into ``out``
        (timed as ``"fft"``; truncated transforms skip the zero columns)."""
        with self._timed():
            if self.padded_shape is None:
                return self.fft.backward(uh_c, out=out, kept=self.kept.runs)
            return self.fft.backward_padded(uh_c, out=out)

    def product_buffer(self):
        """A real array on the product grid that :meth:`from_physical_work` may consume (FFT work memory)."""
        return self.fft.work_real(padded=self.padded_shape is not None)

    def from_physical_work(self, f):
        """Real field on the product grid -> its spectrum, left in FFT work memory where the plan allows it
        (valid until the next transform) and only on the kept modes (truncated transform)."""
        with self._timed():
            if self.padded_shape is None:
                return self.fft.forward(f, out="work", kept=self.kept.runs)
            return self.fft.forward_padded(f)

    def _timed(self):
        if self.timers is None:
            return _NoTimer()
        return self.timers("fft")

    # Global reductions ---------------------------------------------------------------------------
    def sum(self, local):
        return self.comm.allreduce(float(local), op=MPI.SUM)

    def max(self, local):
        return self.comm.allreduce(float(local), op=MPI.MAX)

    def local_sum(self, fn):
        """Sum over the local block of ``fn(rows)`` (an expression on the axis-0 rows ``rows``), piece by
        piece, accumulated in float64 whatever the field precision."""
        xp, total = self.xp, 0.0
        for rows in self.chunks():
            total += float(xp.sum(xp.astype(fn(rows), xp.float64)))
        return total

    def average_product(self, ah, bh):
        """Volume average ``<a . b>`` of two spectral fields (any leading component axes); float64 sums."""
        xp = self.xp
        if ah.ndim == 3:
            ah, bh = ah[None], bh[None]
        w = self.weight
        total = 0.0
        for c in range(ah.shape[0]):
            a, b = ah[c], bh[c]
            total += self.local_sum(lambda r, a=a, b=b: xp.real(a[r] * xp.conj(b[r])) * w)
        return self.sum(total) * self.norm

    def shell_sum_density(self, density_rows):
        """Sum ``density_rows(rows)`` (a device array of the axis-0 rows ``rows``) over the shells
        ``|k| / k_min``; all ranks get the global float64 result."""
        local = np.zeros(self.nshells)
        for rows in self.chunks():
            d = np.asarray(self.backend.to_host(density_rows(rows)), dtype=np.float64)
            local += np.bincount(self.shells(rows).ravel(), weights=d.ravel(), minlength=self.nshells)[: self.nshells]
        out = np.zeros_like(local)
        self.comm.Allreduce(np.ascontiguousarray(local), out, op=MPI.SUM)
        return out

    def shell_sum(self, density):
        """Sum a host array over the shells ``|k| / k_min`` (all ranks get the global result)."""
        density = np.asarray(density, dtype=np.float64)
        return self.shell_sum_density(lambda r: density[r])


class _NoTimer:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


class KeptModes:
    """The modes the dealiasing rule keeps on this rank, stored compactly.

    The mask is an outer product of per-axis masks, and on each axis the kept local indices form at
    most two contiguous runs (``m >= 0`` and ``m < 0``), so the kept set is at most four boxes of the
    local block. A field that lives only on kept modes (the Runge-Kutta register) is stored as one
    ``(K0, K1, K2)`` array: with the 2/3 rule ``(2/3)^3 = 30 %`` of the block.

    Attributes: ``shape`` (K0, K1, K2); ``boxes`` [(block slices, compact slices)]; ``k`` the
    wavenumbers of the kept modes (1-D, broadcast shapes like ``SpectralGrid.k``).
    """

    def __init__(self, grid, keep):
        self.grid, self.xp = grid, grid.xp
        runs = []
        for kp in keep:
            idx = np.nonzero(kp)[0]
            cut = np.nonzero(np.diff(idx) > 1)[0] + 1
            runs.append([(int(g[0]), int(g[-1]) + 1) for g in np.split(idx, cut) if g.size])
        self.shape = tuple(int(kp.sum()) for kp in keep)
        self.boxes = []
        offs = []
        for r in runs:
            o, out = 0, []
            for lo, hi in r:
                out.append((slice(lo, hi), slice(o, o + hi - lo)))
                o += hi - lo
            offs.append(out)
        # Runs of the local spectral axes 1 and 2: the truncated transforms skip the other columns.
        self.runs = ([f for f, _ in offs[1]], [f for f, _ in offs[2]])
        for b0 in offs[0]:
            for b1 in offs[1]:
                for b2 in offs[2]:
                    self.boxes.append(((b0[0], b1[0], b2[0]), (b0[1], b1[1], b2[1])))
        idx = [np.nonzero(kp)[0] for kp in keep]
        self.k = []
        for ax, (k, i) in enumerate(zip(grid.k, idx)):
            kh = np.asarray(grid.backend.to_host(k)).reshape(-1)[i]
            shape = [1, 1, 1]
            shape[ax] = kh.size
            self.k.append(grid.backend.asarray(np.ascontiguousarray(kh.reshape(shape))))

    def zeros(self, ncomp=3):
        g = self.grid
        return self.xp.zeros((ncomp,) + self.shape, dtype=g.fft.complex_dtype, **g.fft.dev)

    def to_full(self, compact):
        """A full local block (zeros off the kept modes) from a compact field (leading component axes)."""
        g = self.grid
        out = self.xp.zeros(compact.shape[:-3] + tuple(g.spectral_shape_local), dtype=compact.dtype, **g.fft.dev)
        for full, comp in self.boxes:
            out[(...,) + full] = compact[(...,) + comp]
        return out

    def chunks(self):
        return self.grid.chunks(self.shape[0])
