r"""The Ewald real-space terms without exp and erfc: rational fits in :math:`z = \alpha^2 r^2` for float32 lanes.

With :math:`z = \alpha^2 r^2`, the real-space Coulomb pair force and energy of charges with
:math:`k_e q_i q_j = q` are

.. math::
    \frac{F}{r} = q\left[\frac{1}{r^3} - \alpha^3 G(z)\right],\qquad
    E = q\left[\frac{1}{r} - \alpha H(z)\right],

    G(z) = \frac{\operatorname{erf}\sqrt z - 2\sqrt{z/\pi}\,e^{-z}}{z^{3/2}},\qquad
    H(z) = \frac{\operatorname{erf}\sqrt z}{\sqrt z},

both entire functions of :math:`z` (no square root, no exponential: :math:`G(0) = 4/(3\sqrt\pi)`,
:math:`H(0) = 2/\sqrt\pi`), so the bare Coulomb term minus a smooth correction covers every distance, the
closest pairs included (GROMACS's ``pmeForceCorrection``/``pmePotentialCorrection`` idea; S. Páll and
B. Hess, Comput. Phys. Commun. 184, 2641 (2013)). Each of :math:`G` and :math:`H` is fitted here on
:math:`0 \le z \le z_{fit}` (:math:`z_{fit} \ge (\alpha r_c)^2`, so the range follows :math:`\alpha r_c`) by
a rational function of degree (5, 5), the numerator and denominator evaluated by Horner in the lane type:
one division per pair, shared with :math:`1/r^2` in the kernels.

The fit minimises the error that matters in float32: the correction is subtracted from the bare term,
so its error counts relative to :math:`1/r^3` (force) and :math:`1/r` (energy); the weights are
:math:`z^{3/2}` and :math:`z^{1/2}`. Method: the linearised least-squares iteration of Sanathanan and
Koerner (IEEE Trans. Autom. Control 8, 56 (1963)) on Chebyshev-distributed points of
:math:`u = z/z_{fit}`, in float64, numpy only; the coefficients are then rounded to float32 and the
error of the float32 evaluation is measured on a dense grid (:func:`real_space_fit` refuses a fit whose
bound exceeds :data:`MAX_ERROR`). Near the cutoff the pair value itself is small (erfc(3.1) = 1e-5 of the
bare term): its error there is that of the bare term's scale, as in GROMACS.
"""

import functools
import math

import numpy as np

DEGREE = (5, 5)
MAX_ERROR = 1e-6  # bound on the float32 error, relative to q/r^3 (force) and q/r (energy)
_GRID = 1.0 / 16.0  # z_fit is (alpha r_c)^2 rounded up to this grid: nearby alphas share a fit


def _series(z, terms):
    """``sum c_n z^n`` by Horner (float64), for the small-z branch of :func:`g_exact`/:func:`h_exact`."""
    acc = np.zeros_like(z)
    for c in terms[::-1]:
        acc = acc * z + c
    return acc


_G_SERIES = [
    2.0 / math.sqrt(math.pi) * (-1) ** n * 2 * (n + 1) / ((2 * n + 3) * math.factorial(n + 1)) for n in range(14)
]
_H_SERIES = [2.0 / math.sqrt(math.pi) * (-1) ** n / ((2 * n + 1) * math.factorial(n)) for n in range(14)]
_erf = np.vectorize(math.erf, otypes=[np.float64])


def g_exact(z):
    r""":math:`G(z)` in float64 (a Taylor series below z = 0.01, where the closed form cancels)."""
    z = np.asarray(z, dtype=np.float64)
    small = z < 0.01
    zl = np.where(small, 1.0, z)
    sl = np.sqrt(zl)
    closed = (_erf(sl) - 2.0 * np.sqrt(zl / math.pi) * np.exp(-zl)) / (zl * sl)
    return np.where(small, _series(z, _G_SERIES), closed)


def h_exact(z):
    r""":math:`H(z)` in float64 (a Taylor series below z = 0.01)."""
    z = np.asarray(z, dtype=np.float64)
    small = z < 0.01
    zl = np.where(small, 1.0, z)
    return np.where(small, _series(z, _H_SERIES), _erf(np.sqrt(zl)) / np.sqrt(zl))


def _rational(zfit, f, wexp, m, n, npts=8001, iters=40):
    """Weighted rational least-squares fit ``p(z)/q(z)``, ``q(0) = 1``, coefficients ascending in z."""
    u = 0.5 * (1.0 - np.cos(np.linspace(0.0, math.pi, npts)))
    z = u * zfit
    y = f(z)
    w = np.maximum(z, 1e-6 * zfit) ** wexp
    pw_p = u[:, None] ** np.arange(m + 1)
    pw_q = u[:, None] ** np.arange(1, n + 1)
    qprev = np.ones_like(u)
    for _ in range(iters):
        a = np.hstack([pw_p, -y[:, None] * pw_q]) * (w / qprev)[:, None]
        sol = np.linalg.lstsq(a, y * w / qprev, rcond=None)[0]
        p, q = sol[: m + 1], np.concatenate([[1.0], sol[m + 1 :]])
        qprev = pw_q @ q[1:] + 1.0
    scale = float(zfit) ** -np.arange(max(m, n) + 1.0)
    return p * scale[: m + 1], q * scale[: n + 1]


def horner32(c, z):
    """``sum c_k z^k`` by Horner in float32, as the kernels evaluate it (``c`` ascending, float32)."""
    z = np.asarray(z, dtype=np.float32)
    acc = np.full_like(z, c[-1])
    for k in range(len(c) - 2, -1, -1):
        acc = acc * z + c[k]
    return acc


class RealSpaceFit:
    """Coefficients (float32, ascending in z) of :math:`G \\approx` ``pg/qg`` and :math:`H \\approx` ``ph/qh``
    on ``0 <= z <= zfit``, and the measured bounds ``err_force``, ``err_energy`` of the float32 evaluation
    (relative to :math:`1/r^3` and :math:`1/r`)."""

    def __init__(self, zfit):
        self.zfit = float(zfit)
        m, n = DEGREE
        self.pg, self.qg = (c.astype(np.float32) for c in _rational(self.zfit, g_exact, 1.5, m, n))
        self.ph64, self.qh64 = _rational(self.zfit, h_exact, 0.5, m, n)
        self.ph, self.qh = self.ph64.astype(np.float32), self.qh64.astype(np.float32)
        self.err_force, self.err_energy = self.errors()
        self.err_energy64 = self.error64()

    def g32(self, z):
        return horner32(self.pg, z) / horner32(self.qg, z)

    def h32(self, z):
        return horner32(self.ph, z) / horner32(self.qh, z)

    def errors(self, npts=200001):
        """Max over ``0 < z <= zfit`` of ``|G32 - G| z^1.5`` and ``|H32 - H| z^0.5`` (float32 input z)."""
        z = np.linspace(0.0, self.zfit, npts).astype(np.float32)
        zz = z.astype(np.float64)
        eg = np.max(np.abs(self.g32(z).astype(np.float64) - g_exact(zz)) * zz**1.5)
        eh = np.max(np.abs(self.h32(z).astype(np.float64) - h_exact(zz)) * zz**0.5)
        return float(eg), float(eh)

    def error64(self, npts=200001):
        """Max over ``0 < z <= zfit`` of ``|H64 - H| z^0.5``: the float64 evaluation of the H fit (the
        kernels' energies)."""
        z = np.linspace(0.0, self.zfit, npts)
        h = np.polynomial.polynomial.polyval(z, self.ph64) / np.polynomial.polynomial.polyval(z, self.qh64)
        return float(np.max(np.abs(h - h_exact(z)) * z**0.5))

    def packed(self):
        """The 24 coefficients as one float32 array ``pg, qg, ph, qh`` (the kernels' argument)."""
        return np.concatenate([self.pg, self.qg, self.ph, self.qh]).astype(np.float32)


def fit_range(alpha, cutoff):
    r""":math:`z_{fit}`: :math:`(\alpha r_c)^2` with a margin of 1e-5 (the float32 cutoff test), rounded up
    to a multiple of 1/16, at least 1."""
    z = (float(alpha) * float(cutoff)) ** 2 * (1.0 + 1e-5)
    return max(1.0, math.ceil(z / _GRID) * _GRID)


@functools.lru_cache(maxsize=16)
def _fit(zfit):
    fit = RealSpaceFit(zfit)
    if not max(fit.err_force, fit.err_energy) <= MAX_ERROR:
        raise ValueError(
            f"the real-space fit on 0 <= z <= {zfit} misses its bound ({fit.err_force:.2e}, {fit.err_energy:.2e})"
        )
    return fit


def real_space_fit(alpha, cutoff):
    """The cached :class:`RealSpaceFit` for ``alpha`` [1/A] and ``cutoff`` [A]; ValueError where a (5, 5)
    rational cannot reach :data:`MAX_ERROR` (alpha r_c above about 4.2)."""
    return _fit(fit_range(alpha, cutoff))
