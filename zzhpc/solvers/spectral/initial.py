r"""Initial velocity fields, returned as divergence-free, dealiased spectra ``(3, local spectral block)``.

* Taylor-Green vortex [Taylor1937]_, [Brachet1983]_ on :math:`[0, 2\pi)^3`:
  :math:`u = V_0 \sin x\cos y\cos z`, :math:`v = -V_0\cos x\sin y\cos z`, :math:`w = 0`
  (:math:`x, y, z` along axes 0, 1, 2); :math:`E_0 = V_0^2/8`, enstrophy :math:`\tfrac12\langle|\omega|^2\rangle = 3V_0^2/8`.
* Random isotropic field with the prescribed spectrum [Rogallo1981]_
  :math:`E(k) \propto k^4 \exp(-2 k^2/k_0^2)` (peak at :math:`k_0`), Gaussian random phases, scaled shell
  by shell so that its shell spectrum equals the prescription and its energy is ``energy``. The random
  numbers of each global ``axis 1`` plane come from ``numpy.random.default_rng([seed, j])``, so the
  field does not depend on the number of ranks or the decomposition.
* A velocity field from an HDF5 file (dataset ``fields/velocity`` of shape ``(3, N0, N1, N2)``, as this
  solver writes it), projected and dealiased.

.. [Taylor1937] G. I. Taylor, A. E. Green, "Mechanism of the production of small eddies from large
   ones", Proc. R. Soc. Lond. A 158, 499 (1937).
.. [Brachet1983] M. E. Brachet et al., "Small-scale structure of the Taylor-Green vortex", J. Fluid
   Mech. 130, 411 (1983).
.. [Rogallo1981] R. S. Rogallo, "Numerical experiments in homogeneous turbulence", NASA TM-81315 (1981).
"""

import numpy as np

from ...errors import InputError
from ...io import open_parallel, read_block
from .navier_stokes import project


def taylor_green(grid, amplitude=1.0):
    x, y, z = grid.coordinates()
    comps = (
        lambda: amplitude * np.sin(x) * np.cos(y) * np.cos(z),
        lambda: -amplitude * np.cos(x) * np.sin(y) * np.cos(z),
        lambda: np.zeros(grid.real_shape_local),
    )
    return _to_spectral(grid, comps)


def _to_spectral(grid, comps):
    """Spectrum ``(3, block)`` of three host fields given as callables (made and sent one at a time, so
    the set-up needs no more memory than a step), dealiased and projected."""
    fft = grid.fft
    uh = fft.xp.empty((3,) + tuple(grid.spectral_shape_local), dtype=fft.complex_dtype, **fft.dev)
    k0, k1, k2 = (grid.backend.asarray(k.astype(grid.dtype)) for k in grid.keep_host)
    for c, make in enumerate(comps):
        fft.forward(grid.backend.asarray(np.asarray(make(), dtype=grid.dtype)), out=uh[c])
        uh[c] *= k0[:, None, None]
        uh[c] *= k1[None, :, None]
        uh[c] *= k2[None, None, :]
    return project(grid, uh)


def shell_spectrum(grid, uh):
    """Shell-summed energy spectrum ``E(k)`` on every rank (host array; shell ``s`` = ``|k|/k_min`` rounded)."""
    xp = grid.xp
    w = (0.5 * grid.norm) * grid.weight

    def density(r):
        return sum(xp.real(uh[c][r] * xp.conj(uh[c][r])) for c in range(3)) * w

    return grid.shell_sum_density(density)


def model_spectrum(k, k0):
    """Prescribed shape :math:`k^4 \\exp(-2 k^2 / k_0^2)` (unnormalised)."""
    k = np.asarray(k, dtype=np.float64)
    return k**4 * np.exp(-2.0 * (k / k0) ** 2)


def random_isotropic(grid, *, energy, k0, seed):
    """Random divergence-free field with shell spectrum ``energy * model / sum(model)`` (see module doc)."""
    be = grid.backend
    n0, _, nh = grid.fft.spectral_shape
    sl1, sl2 = grid.fft.spectral_slice_local[1], grid.fft.spectral_slice_local[2]
    planes = []
    for j in range(sl1.start, sl1.stop):
        g = np.random.default_rng([seed, j]).standard_normal((2, 3, n0, nh))
        planes.append(g[0, :, :, sl2] + 1j * g[1, :, :, sl2])
    white = np.stack(planes, axis=2) if planes else np.zeros((3,) + tuple(grid.spectral_shape_local), complex)
    cdt = "complex64" if grid.dtype == "float32" else "complex128"
    uh = be.asarray(white.astype(cdt)) * grid.mask
    # Make the half-spectrum Hermitian (a real field) by a round trip through physical space.
    uh = grid.forward(grid.backward(uh)) * grid.mask
    project(grid, uh)
    shells = shell_spectrum(grid, uh)
    target = model_spectrum(np.arange(shells.size) * grid.kunit, k0)
    target[0] = 0.0
    have = shells > 0
    target = np.where(have, target, 0.0)
    target *= energy / target.sum()
    scale = np.sqrt(np.divide(target, shells, out=np.zeros_like(target), where=have))
    return uh * be.asarray(scale[grid.shell].astype(grid.dtype))


def from_file(grid, path):
    """Velocity ``fields/velocity`` (3, N0, N1, N2) from an HDF5 field file of the same grid."""
    f = open_parallel(path, "r", grid.comm)
    try:
        name = "fields/velocity"
        if name not in f:
            raise InputError(path, f"dataset '{name}' is missing (expected a field file of the spectral solver)")
        shape = tuple(f[name].shape)
        if shape != (3,) + grid.shape:
            raise InputError(path, f"dataset '{name}' has shape {shape}, the deck asks for {(3,) + grid.shape}")
        u = read_block(f, name, grid.real_start(), list(grid.real_shape_local), path)
    finally:
        f.close()
    return _to_spectral(grid, [lambda c=c: u[c] for c in range(3)])
