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
from .navier_stokes import curl, velocity_bound

REFERENCE = os.path.join(os.path.dirname(__file__), "data", "tgv_re1600_spectral512.dat")


def energy(grid, uh):
    return 0.5 * grid.average_product(uh, uh)


def enstrophy(grid, uh):
    r""":math:`\tfrac12\langle|\omega|^2\rangle = \tfrac12\langle k^2|\hat u|^2\rangle` (no curl transform needed)."""
    xp = grid.xp
    k0, k1, k2 = grid.k
    w = grid.weight

    def rows(r):
        ksq = k0[r] * k0[r] + k1 * k1 + k2 * k2
        return sum(xp.real(uh[c][r] * xp.conj(uh[c][r])) for c in range(3)) * (ksq * w)

    return 0.5 * grid.sum(grid.local_sum(rows)) * grid.norm


def physical_extrema(grid, uh):
    """``(max |u|, max_x sum_i |u_i|/h_i, max |div u|)``: four inverse FFTs, into the grid's three
    real work arrays (the divergence is formed in the FFT's work memory)."""
    xp, fft = grid.xp, grid.fft
    outs = grid.physical_work() if grid.padded_shape is None else [None] * 3  # N-grid values
    r = [fft.backward(uh[c], out=outs[c]) for c in range(3)]
    h = grid.spacing
    parts = grid.chunks(r[0].shape[0])
    speed = grid.max(
        max(
            [float(xp.max(xp.sqrt(r[0][s] * r[0][s] + r[1][s] * r[1][s] + r[2][s] * r[2][s]))) for s in parts],
            default=0.0,
        )
    )
    bound = grid.max(velocity_bound(xp, r, h, parts))
    divh = fft.work_spectral()
    ik0, ik1, ik2 = grid.ik
    for s in grid.chunks():
        divh[s] = ik0[s] * uh[0][s] + ik1 * uh[1][s] + ik2 * uh[2][s]
    div = fft.backward(divh, out=r[0])
    div = grid.max(max([float(xp.max(xp.abs(div[s]))) for s in parts], default=0.0))
    return speed, bound, div


def isotropic_scales(e, eps, nu, kmax):
    """``{u_rms, taylor_scale, re_lambda, eta, kmax_eta}`` (empty when ``nu`` or ``eps`` is zero)."""
    if nu <= 0 or eps <= 0 or e <= 0:
        return {}
    urms = math.sqrt(2 * e / 3)
    lam = math.sqrt(15 * nu * urms * urms / eps)
    eta = (nu**3 / eps) ** 0.25
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
        lines = [line for line in fh if not line.startswith("#")]  # provenance and units comments
    names = lines[0].strip().split(",")
    data = np.atleast_2d(np.genfromtxt(lines[1:], delimiter=","))
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
        t3, y3 = t[i - 1 : i + 2], y[i - 1 : i + 2]
        a, b, c = np.polyfit(t3 - t[i], y3, 2)
        if a < 0:
            dt = -b / (2 * a)
            return float(c - b * b / (4 * a)), float(t[i] + dt)
    return float(y[i]), float(t[i])


def spectrum(grid, uh):
    return shell_spectrum(grid, uh)
