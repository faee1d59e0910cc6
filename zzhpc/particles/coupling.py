r"""Thermostat and barostat maths shared by the MD and water solvers: pure functions of scalars.

* Stochastic velocity rescaling, SVR (Bussi, Donadio & Parrinello, J. Chem. Phys. 126, 014101
  (2007)): the kinetic energy :math:`K` of :math:`N_f` degrees of freedom follows

  .. math:: dK = (\bar K - K)\frac{dt}{\tau} + 2\sqrt{\frac{K\bar K}{N_f\tau}}\,dW,
            \qquad \bar K = \tfrac12 N_f k_BT_0,

  integrated exactly over a step (their eq. A7): with :math:`c = e^{-\Delta t/\tau}`, a standard
  normal :math:`R_1` and :math:`S = \sum_{i=2}^{N_f} R_i^2` (a :math:`\chi^2` variate with
  :math:`N_f - 1` degrees of freedom),

  .. math:: K' = cK + (1-c)\frac{\bar K}{N_f}(R_1^2 + S) + 2R_1\sqrt{c(1-c)\frac{K\bar K}{N_f}}.

  Every velocity is multiplied by :math:`\alpha = \sqrt{K'/K}`; the energy taken from the bath,
  :math:`K' - K`, is subtracted in the conserved quantity.
* Stochastic cell rescaling, c-rescale (Bernetti & Bussi, J. Chem. Phys. 153, 114107 (2020), eq. 9),
  isotropic: the strain :math:`\epsilon = \ln(V/V_0)` moves by

  .. math:: d\epsilon = -\frac{\beta_T}{\tau_p}\Big(P_0 - P - \frac{k_BT}{V}\Big)dt
            + \sqrt{\frac{2k_BT\beta_T}{V\tau_p}}\,dW,

  positions (or molecular centres of mass) are scaled by :math:`\mu = e^{d\epsilon/3}` and velocities
  by :math:`1/\mu`. :math:`\beta_T` is the isothermal compressibility (water: 4.5e-5 bar^-1).

Random numbers come from :func:`coupling_rng`, a generator keyed by (seed, step, stream): every rank
draws the same numbers whatever the rank count, and a restart at step ``n`` draws what the
uninterrupted run drew.
"""

import math

import numpy as np

STREAM_THERMOSTAT = 1
STREAM_BAROSTAT = 2
WATER_COMPRESSIBILITY_ATM = 4.5e-5 * 1.01325  # 4.5e-5 bar^-1 in atm^-1


def coupling_rng(seed, step, stream):
    """A NumPy generator that is a pure function of ``(seed, step, stream)`` (same on every rank)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(stream), int(step)])))


def svr_kinetic_energy(kinetic, target, ndf, dt, tau, rng):
    r"""New kinetic energy after one SVR step (Bussi et al. 2007, eq. A7).

    Parameters
    ----------
    kinetic : float
        Current kinetic energy :math:`K` (any energy unit).
    target : float
        :math:`\bar K = N_f k_B T_0 / 2` in the same unit.
    ndf : int
        Degrees of freedom :math:`N_f`.
    dt, tau : float
        Step and relaxation time (same time unit); ``tau = 0`` resamples :math:`K` from the canonical
        distribution at once.
    rng : numpy.random.Generator
        From :func:`coupling_rng`.
    """
    if ndf <= 0 or kinetic <= 0.0:
        return kinetic
    c = math.exp(-dt / tau) if tau > 0 else 0.0
    r1 = float(rng.standard_normal())
    s = 2.0 * float(rng.standard_gamma(0.5 * (ndf - 1))) if ndf > 1 else 0.0  # chi^2 with ndf-1 dof
    return (
        c * kinetic
        + (1.0 - c) * target / ndf * (r1 * r1 + s)
        + 2.0 * r1 * math.sqrt(c * (1.0 - c) * kinetic * target / ndf)
    )


def svr_scale(kinetic, target, ndf, dt, tau, rng):
    """Velocity factor :math:`\\alpha = \\sqrt{K'/K}` of one SVR step, and the new kinetic energy."""
    new = svr_kinetic_energy(kinetic, target, ndf, dt, tau, rng)
    if kinetic <= 0.0:
        return 1.0, kinetic
    return math.sqrt(max(new, 0.0) / kinetic), new


def c_rescale_strain(pressure, p_target, volume, kT, compressibility, dt, tau_p, rng, nktv2p=1.0):
    r"""Volume strain :math:`d\epsilon = \ln(V'/V)` of one isotropic c-rescale step.

    Parameters
    ----------
    pressure, p_target : float
        Instantaneous pressure :math:`P` (with the kinetic part) and target :math:`P_0` (pressure unit).
    volume : float
        :math:`V` (length^3).
    kT : float
        :math:`k_BT_0` (energy unit).
    compressibility : float
        :math:`\beta_T` (1 / pressure unit).
    dt, tau_p : float
        Coupling interval and relaxation time (same time unit).
    rng : numpy.random.Generator
        From :func:`coupling_rng`.
    nktv2p : float
        Energy / volume to pressure (``Units.nktv2p``; 68568.415 for ``real`` units).
    """
    kT_V = kT / volume * nktv2p  # pressure unit
    drift = -compressibility / tau_p * (p_target - pressure - kT_V) * dt
    noise = math.sqrt(2.0 * kT_V * compressibility * dt / tau_p) * float(rng.standard_normal())
    return drift + noise


def c_rescale_factor(pressure, p_target, volume, kT, compressibility, dt, tau_p, rng, nktv2p=1.0):
    """Linear scale factor :math:`\\mu = e^{d\\epsilon/3}` of positions and box edges (velocities by 1/mu)."""
    return math.exp(c_rescale_strain(pressure, p_target, volume, kT, compressibility, dt, tau_p, rng, nktv2p) / 3.0)
