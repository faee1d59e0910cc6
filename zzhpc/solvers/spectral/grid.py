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

from ...parallel.fft import DistributedFFT
from ...device.fftlib import fft_namespace

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

    def __init__(self, comm, shape, backend, *, lengths=None, decomposition="slab", dtype="float64",
                 proc_grid=None, dealias="2/3", timers=None, fft_library="auto"):
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
        self.fft = DistributedFFT(comm, self.shape, decomposition=decomposition, dtype=dtype,
                                  proc_grid=proc_grid, xp=fft_namespace(backend, fft_library),
                                  to_host=backend.to_host, from_host=backend.asarray, device=backend.device_obj,
                                  synchronize=backend.synchronize, gpu_aware_mpi=backend.gpu_aware_mpi,
                                  padded_shape=self.padded_shape)
        self.dtype = dtype
        self.npoints = math.prod(self.shape)
        self.spacing = tuple(L / n for L, n in zip(self.lengths, self.shape))
        xp = self.xp
        self.k = self.fft.wavenumbers(self.lengths)            # (n0,1,1), (1,n1,1), (1,1,n2)
        k0, k1, k2 = self.k
        self.ik = tuple(1j * k for k in self.k)                # i k_j, so a derivative is one array pass
        self.ksq = k0 * k0 + k1 * k1 + k2 * k2                 # |k|^2, full local spectral block
        self.inv_ksq = xp.where(self.ksq > 0, 1 / xp.where(self.ksq > 0, self.ksq, 1), 0 * self.ksq)
        # Integer mode numbers m_i of the local block (host), for masks, weights and shells.
        sl = self.fft.spectral_slice_local
        m = [np.fft.fftfreq(self.shape[0], 1 / self.shape[0])[sl[0]],
             np.fft.fftfreq(self.shape[1], 1 / self.shape[1])[sl[1]],
             np.fft.rfftfreq(self.shape[2], 1 / self.shape[2])[sl[2]]]
        third = dealias == "2/3"
        keep = [np.abs(mi) < (n / 3 if third else n / 2) for mi, n in zip(m, self.shape)]
        keep[2] = keep[2] & (m[2] < self.shape[2] / 2)  # the +N2/2 Nyquist plane of the half-spectrum
        self.mask_host = keep[0][:, None, None] & keep[1][None, :, None] & keep[2][None, None, :]
        self.mask = backend.asarray(self.mask_host.astype(self.dtype))
        w2 = np.where((m[2] == 0) | (2 * m[2] == self.shape[2]), 1.0, 2.0)
        self.weight = backend.asarray(w2.reshape(1, 1, -1).astype(self.dtype))
        self.norm = 1.0 / float(self.npoints) ** 2
        # Spherical shells |k| / k_min rounded to the nearest integer (k_min = 2 pi / max L).
        kunit = 2 * math.pi / max(self.lengths)
        kk = [2 * math.pi * mi / L / kunit for mi, L in zip(m, self.lengths)]
        kmag = np.sqrt(kk[0][:, None, None] ** 2 + kk[1][None, :, None] ** 2 + kk[2][None, None, :] ** 2)
        self.shell = np.rint(kmag).astype(np.int64)
        self.kunit = kunit
        self.nshells = int(math.floor(math.sqrt(sum((n // 2 * 2 * math.pi / L / kunit) ** 2
                                                    for n, L in zip(self.shape, self.lengths))))) + 2
        # Largest resolved wavenumber (dealiased), for k_max * eta.
        self.kmax = min((math.ceil(n / 3) - 1 if third else (n - 1) // 2) * 2 * math.pi / L
                        for n, L in zip(self.shape, self.lengths))

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
        return {"kind": "Fourier pseudo-spectral", "shape": list(self.shape), "lengths": list(self.lengths),
                "decomposition": self.fft.decomposition, "process_grid": list(self.fft.proc_grid),
                "dealias": self.dealias,
                "product_grid": list(self.padded_shape or self.shape),
                "real_block": list(self.real_shape_local), "spectral_block": list(self.spectral_shape_local)}

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

    # Global reductions ---------------------------------------------------------------------------
    def sum(self, local):
        return self.comm.allreduce(float(local), op=MPI.SUM)

    def max(self, local):
        return self.comm.allreduce(float(local), op=MPI.MAX)

    def average_product(self, ah, bh):
        """Volume average ``<a . b>`` of two spectral fields (any leading component axes)."""
        xp = self.xp
        prod = xp.real(ah * xp.conj(bh)) * self.weight
        return self.sum(xp.sum(prod)) * self.norm

    def shell_sum(self, density):
        """Sum a host array over the shells ``|k| / k_min`` (all ranks get the global result)."""
        local = np.bincount(self.shell.ravel(), weights=np.asarray(density, dtype=np.float64).ravel(),
                            minlength=self.nshells)[: self.nshells]
        out = np.zeros_like(local)
        self.comm.Allreduce(np.ascontiguousarray(local), out, op=MPI.SUM)
        return out
