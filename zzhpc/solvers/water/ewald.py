r"""Classical Ewald summation of the reciprocal-space energy, by explicit wave vectors: the PME reference.

For point charges :math:`q_j` at :math:`\mathbf{r}_j` in an orthorhombic box of volume :math:`V`,

.. math::
    E_{rec} = \frac{2\pi k_e}{V} \sum_{\mathbf{k}\neq 0} \frac{e^{-k^2/4\alpha^2}}{k^2} |S(\mathbf{k})|^2,
    \qquad S(\mathbf{k}) = \sum_j q_j e^{i\mathbf{k}\cdot\mathbf{r}_j},
    \qquad \mathbf{k} = 2\pi (m_0/L_0, m_1/L_1, m_2/L_2),

the force :math:`\mathbf{F}_j = \frac{4\pi k_e q_j}{V}\sum_{\mathbf{k}\neq 0} \frac{e^{-k^2/4\alpha^2}}{k^2}\,
\mathbf{k}\,\operatorname{Im}[S^*(\mathbf{k}) e^{i\mathbf{k}\cdot\mathbf{r}_j}]` and the virial (the trace of the
reciprocal-space virial tensor, i.e. :math:`-\mathrm{d}E/\mathrm{d}\lambda` under the uniform scaling
:math:`\mathbf{r}\to\lambda\mathbf{r}, L\to\lambda L`)
:math:`W = \sum_{\mathbf{k}} E_{\mathbf{k}} (1 - k^2/2\alpha^2)`. Only the half space of wave vectors is
summed (:math:`S(-\mathbf{k}) = S^*(\mathbf{k})`). Ewald, Ann. Phys. 369, 253 (1921); the formulas as in
Essmann et al., J. Chem. Phys. 103, 8577 (1995), eqs. (2.1)-(2.6).

This is O(N K^3) work on the gathered system: a reference for tests and validation, not for production.
"""

import math

import numpy as np
from array_api_compat import array_namespace, device as _dev

from .nonbonded import QQRD2E


def kmax_for(lengths, alpha, tolerance=1e-12):
    """Smallest ``|m|`` bound per axis with :math:`e^{-\\pi^2 m^2/\\alpha^2 L^2} <` ``tolerance``."""
    return [int(math.ceil(alpha * L / math.pi * math.sqrt(-math.log(tolerance)))) for L in lengths]


def half_space(kmax):
    """Integer wave vectors ``(nk, 3)`` of the half space ``m0 > 0``, or ``m0 = 0, m1 > 0``, or
    ``m0 = m1 = 0, m2 > 0``, with ``|m_d| <= kmax[d]``."""
    r = [np.arange(-k, k + 1) for k in kmax]
    m = np.stack(np.meshgrid(*r, indexing="ij"), axis=-1).reshape(-1, 3)
    keep = (m[:, 0] > 0) | ((m[:, 0] == 0) & ((m[:, 1] > 0) | ((m[:, 1] == 0) & (m[:, 2] > 0))))
    return m[keep]


def ewald_reciprocal(x, q, lengths, alpha, kmax, qqrd2e=QQRD2E, chunk=2048):
    """Reciprocal-space energy, forces ``(N, 3)`` and virial of all charges (see module notes).

    ``x`` ``(N, 3)`` [A] (any image: the sum is periodic), ``q`` ``(N,)`` [e], ``alpha`` [1/A],
    ``kmax`` three ints. Returns ``(energy, f, virial)`` (energies in kcal/mol, 0-d arrays).
    """
    xp = array_namespace(x)
    vol = lengths[0] * lengths[1] * lengths[2]
    m = half_space(kmax)
    k_all = 2.0 * np.pi * m / np.asarray(lengths, dtype=float)[None, :]
    f = xp.zeros(x.shape, dtype=x.dtype, device=_dev(x))
    energy = virial = xp.sum(f[:0, 0])
    for c in range(0, k_all.shape[0], chunk):
        kh = k_all[c : c + chunk]
        k2h = np.sum(kh * kh, axis=1)
        k = xp.asarray(kh, dtype=x.dtype, device=_dev(x))
        k2 = xp.asarray(k2h, dtype=x.dtype, device=_dev(x))
        a = xp.exp(-k2 / (4.0 * alpha * alpha)) / k2
        phase = x @ xp.matrix_transpose(k)  # (N, nk)
        c_, s_ = xp.cos(phase), xp.sin(phase)
        re = q @ c_
        im = q @ s_
        ek = (4.0 * np.pi * qqrd2e / vol) * a * (re * re + im * im)  # both k and -k
        energy = energy + xp.sum(ek)
        virial = virial + xp.sum(ek * (1.0 - k2 / (2.0 * alpha * alpha)))
        # Im[S* e^{ik.r_j}] = re sin_j - im cos_j
        g = (s_ * re - c_ * im) * a  # (N, nk)
        f = f + (8.0 * np.pi * qqrd2e / vol) * q[:, None] * (g @ k)
    return energy, f, virial
