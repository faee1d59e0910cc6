r"""Turbulence statistics of a spectral velocity field (volume averages over the periodic box).

* kinetic energy :math:`E = \tfrac12\langle|\mathbf u|^2\rangle`, enstrophy
  :math:`\Omega = \tfrac12\langle|\boldsymbol\omega|^2\rangle`, dissipation rate
  :math:`\varepsilon = 2\nu\Omega` (equal to :math:`-dE/dt` without forcing, for periodic boxes);
* the shell spectrum :math:`E(k)`, :math:`\sum_k E(k) = E`;
* for isotropic turbulence [Pope2000]_: :math:`u' = \sqrt{2E/3}`, Taylor microscale
  :math:`\lambda = \sqrt{15\nu u'^2/\varepsilon}`, :math:`Re_\lambda = u'\lambda/\nu`, Kolmogorov scale
  :math:`\eta = (\nu^3/\varepsilon)^{1/4}`, and resolution :math:`k_{max}\eta`.

.. [Pope2000] S. B. Pope, *Turbulent Flows*, Cambridge University Press (2000), ch. 6.
"""
import math
import os

import numpy as np

from ...io.summary import CsvSeries
from .initial import shell_spectrum
from .navier_stokes import curl, divergence

REFERENCE = os.path.join(os.path.dirname(__file__), "data", "tgv_re1600_spectral512.dat")


def energy(grid, uh):
    return 0.5 * grid.average_product(uh, uh)


def enstrophy(grid, uh):
    r""":math:`\tfrac12\langle|\omega|^2\rangle = \tfrac12\langle k^2|\hat u|^2\rangle` (no curl transform needed)."""
    xp = grid.xp
    return 0.5 * grid.sum(xp.sum(xp.real(uh * xp.conj(uh)) * (grid.ksq * grid.weight))) * grid.norm


def physical_extrema(grid, uh):
    """``(max |u|, max_x sum_i |u_i|/h_i, max |div u|)``: four inverse FFTs."""
    xp = grid.xp
    u = grid.backward(uh)
    speed = grid.max(xp.max(xp.sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2])))
    h = grid.spacing
    bound = grid.max(xp.max(xp.abs(u[0]) / h[0] + xp.abs(u[1]) / h[1] + xp.abs(u[2]) / h[2]))
    div = grid.max(xp.max(xp.abs(grid.fft.backward(divergence(grid, uh)))))
    return speed, bound, div


def isotropic_scales(e, eps, nu, kmax):
    """``{u_rms, taylor_scale, re_lambda, eta, kmax_eta}`` (empty when ``nu`` or ``eps`` is zero)."""
    if nu <= 0 or eps <= 0 or e <= 0:
        return {}
    urms = math.sqrt(2 * e / 3)
    lam = math.sqrt(15 * nu * urms * urms / eps)
    eta = (nu ** 3 / eps) ** 0.25
    return {"u_rms": urms, "taylor_scale": lam, "re_lambda": urms * lam / nu, "eta": eta, "kmax_eta": kmax * eta}


def vorticity(grid, uh):
    return grid.backward(curl(grid, uh))


class SpectraFile:
    """``spectra.csv`` on rank 0: one row ``step, time, E(k=0), E(k=1), ...`` per recorded spectrum.

    Shell ``s`` holds the modes with ``|k|/k_min`` nearest to ``s`` (``k_min = 2 pi / max L``)."""

    def __init__(self, grid, output_dir, restart_step=None):
        self.grid = grid
        self.path = os.path.join(output_dir, "spectra.csv")
        self.csv = CsvSeries(self.path, restart_step=restart_step) if grid.comm.Get_rank() == 0 else None

    def record(self, step, time, spectrum):
        if self.csv is not None:
            row = {"step": step, "time": time}
            row.update({f"E_{s}": float(v) for s, v in enumerate(spectrum)})
            self.csv.append(row)


def read_spectra(path):
    """``(steps, times, k_shell, E)`` from a ``spectra.csv``; ``E`` has one row per record."""
    data = np.atleast_2d(np.loadtxt(path, delimiter=",", skiprows=1))
    return data[:, 0].astype(int), data[:, 1], np.arange(data.shape[1] - 2), data[:, 2:]


def read_series(path):
    """Columns of a ``diagnostics.csv`` as ``{name: float array}``."""
    with open(path) as fh:
        names = fh.readline().strip().split(",")
    data = np.atleast_2d(np.genfromtxt(path, delimiter=",", skip_header=1))
    return {n: data[:, i] for i, n in enumerate(names)}


def load_reference():
    """The 512^3 Taylor-Green (Re = 1600) reference: ``{t, energy, dissipation, enstrophy}`` arrays."""
    d = np.loadtxt(REFERENCE)
    return {"t": d[:, 0], "energy": d[:, 1], "dissipation": d[:, 2], "enstrophy": d[:, 3]}


def peak(t, y):
    """Maximum of a sampled series and its time, refined by a parabola through the top three samples."""
    t, y = np.asarray(t, float), np.asarray(y, float)
    i = int(np.argmax(y))
    if 0 < i < len(y) - 1:
        t3, y3 = t[i - 1:i + 2], y[i - 1:i + 2]
        a, b, c = np.polyfit(t3 - t[i], y3, 2)
        if a < 0:
            dt = -b / (2 * a)
            return float(c - b * b / (4 * a)), float(t[i] + dt)
    return float(y[i]), float(t[i])


def spectrum(grid, uh):
    return shell_spectrum(grid, uh)
