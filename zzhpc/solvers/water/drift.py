"""Energy drift of an NVE run and the rule that compares two codes' drifts (``water_mixed_precision``).

Units: time [ns], energy [kcal/mol], drift [kcal/mol per ns per molecule]. GROMACS's energies (ps,
kJ/mol, :func:`.peer_gromacs.nve_energies`) are converted before the same fit.
"""

import numpy as np

KB = 0.0019872067  # kcal/mol/K
# Floor of the drift rule: 1 K/ns of a rigid molecule's 6 degrees of freedom, 3 kB x 1 K per ns [kcal/mol/ns].
DRIFT_FLOOR = 3.0 * KB
DRIFT_SIGMAS = 2.0  # margin of the rule, in standard errors of the difference of two drifts


def energy_drift(t_ns, e, ke, nmol, blocks=10):
    """Drift of a conserved energy ``e`` [kcal/mol] sampled at times ``t_ns`` [ns]: the least-squares
    slope over all samples, per molecule [kcal/mol/ns per molecule], its standard error, and the
    fluctuation RMS(E - line)/<KE> (``ke`` [kcal/mol]; about the fitted line, so that a long run's drift
    does not count as fluctuation).

    The error: the samples are correlated (a few tens of fs), so the ordinary least-squares error of the
    slope is too small. The run is cut into ``blocks`` equal blocks, each much longer than that
    correlation time, whose means are nearly independent; the standard error is that of the slope of
    the least-squares line through the block means, ``sqrt(sum r_b^2 / (B - 2) / sum (t_b - <t>)^2)``
    (Flyvbjerg and Petersen, J. Chem. Phys. 91, 461 (1989), for block averaging). Returns a dict:
    ``drift``, ``error``, ``rms_over_ke``, ``samples``, ``span_ns``."""
    t, e = np.asarray(t_ns, float), np.asarray(e, float)
    slope, icpt = (float(c) for c in np.polyfit(t, e, 1))
    n = len(t) // blocks * blocks
    tb, eb = t[:n].reshape(blocks, -1).mean(axis=1), e[:n].reshape(blocks, -1).mean(axis=1)
    b, a = np.polyfit(tb, eb, 1)
    resid = eb - (a + b * tb)
    err = float(np.sqrt(np.sum(resid**2) / (blocks - 2) / np.sum((tb - tb.mean()) ** 2)))
    return {
        "drift": slope / nmol,
        "error": err / nmol,
        "rms_over_ke": float(np.sqrt(np.mean((e - icpt - slope * t) ** 2))) / float(np.mean(ke)),
        "samples": int(len(t)),
        "span_ns": float(t[-1] - t[0]),
    }


def zzhpc_drift(rows, nmol):
    """:func:`energy_drift` of zzhpc's diagnostics rows (time [fs], conserved and kinetic [kcal/mol])."""
    return energy_drift([r["time"] * 1e-6 for r in rows], [r["conserved"] for r in rows], [r["ke"] for r in rows], nmol)


def gromacs_drift(g):
    """:func:`energy_drift` of :func:`.peer_gromacs.nve_energies` (ps, kJ/mol) in zzhpc's units. The
    first frame is left out: its kinetic energy is that of the start's velocities alone, not leap-frog's
    average of the two half steps around it (0.5 kJ/mol off for 512 molecules)."""
    kj, s = 4.184, slice(1, None)
    return energy_drift(g["time_ps"][s] * 1e-3, g["etotal"][s] / kj, g["ke"][s] / kj, g["molecules"])


def drift_threshold(mixed, gromacs, floor=DRIFT_FLOOR, sigmas=DRIFT_SIGMAS):
    """The pass rule of zzhpc mixed's NVE drift against GROMACS's, both :func:`energy_drift` dicts:
    ``|d_mixed| <= max(|d_GROMACS| + sigmas * sqrt(e_mixed^2 + e_GROMACS^2), floor)``; returns the
    right-hand side [kcal/mol/ns per molecule].

    "No worse than GROMACS" read with the statistical error of two finite runs (``sigmas`` = 2: a
    mixed drift equal to GROMACS's fails about 2 % of the time). The floor, 3 kB x 1 K per ns
    (0.006 kcal/mol/ns per molecule: the kinetic energy of a rigid molecule's 6 degrees of freedom
    warming by 1 K per ns), is where a drift stops mattering: any thermostat removes it, and GROMACS's
    own default buffer tolerance (0.005 kJ/mol/ps per atom = 3.6 in these units) is 600 times larger."""
    sigma = float(np.hypot(mixed["error"], gromacs["error"]))
    return max(abs(gromacs["drift"]) + sigmas * sigma, floor)
