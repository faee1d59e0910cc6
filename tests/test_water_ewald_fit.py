"""The erfc-free Ewald real-space form (ewald_fit.py): the float32 error bound of the fitted pair force and
energy over the whole range, for the settings in use, and the cluster kernel's float32 lanes against the
float64 kernel."""

import math

import numpy as np
import pytest

from zzhpc.device import kernel_registry
from zzhpc.solvers.water import ewald_fit as ef
from zzhpc.solvers.water.kernels_cluster_numba import cluster_forces_numba

# (alpha [1/A], cutoff [A]): GROMACS's bench settings (ewald-rtol 1e-5), OpenMM's rule at 5e-4 and at
# 1e-5 (9 A), the kernels' test sample
SETTINGS = [
    (0.3470, 9.0),
    (math.sqrt(-math.log(1e-3)) / 9.0, 9.0),
    (math.sqrt(-math.log(2e-5)) / 9.0, 9.0),
    (0.35, 2.2),
]


def _pair_terms32(fit, alpha, r2):
    """The kernels' float32 arithmetic: F/r and E per unit charge product, from float32 r^2."""
    f32 = np.float32
    a2 = f32(alpha * alpha)
    a2_lo = f32(alpha * alpha - float(a2))
    z = a2 * r2 + a2_lo * r2
    dg = ef.horner32(fit.qg, z)
    inv = f32(1.0) / (dg * r2)
    r2i = inv * dg
    rinv = np.sqrt(r2i)
    force = r2i * rinv - f32(alpha**3) * (ef.horner32(fit.pg, z) * inv * r2)
    r2w = r2.astype(np.float64)
    zw = alpha * alpha * r2w
    hw = np.polynomial.polynomial.polyval(zw, fit.ph64) / np.polynomial.polynomial.polyval(zw, fit.qh64)
    energy = 1.0 / np.sqrt(r2w) - alpha * hw
    return force, energy


@pytest.mark.parametrize("alpha,cutoff", SETTINGS)
def test_pair_force_and_energy_at_float32_level(alpha, cutoff):
    """Over 0 < r <= r_c (the close pairs included), against erfc in float64 at the same float32 r^2:
    the force error below 1e-6 of q/r^3 (the scale of the two terms that cancel), the energy (formed in
    float64 from the lane r^2) below 1e-9 of q/r (1.9e-10 at GROMACS's alpha); where the screened force
    is at least half of q/r^3 (alpha r < 1), below 1e-6 of itself. Nearer the cutoff the relative error
    of the small screened force grows as the bare scale over it (4e-4 where it is 1e-3 of q/r^3), as in
    GROMACS."""
    fit = ef.real_space_fit(alpha, cutoff)
    assert fit.zfit >= (alpha * cutoff) ** 2
    assert max(fit.err_force, fit.err_energy) <= ef.MAX_ERROR
    r = np.concatenate([np.linspace(0.05, cutoff, 400001), np.geomspace(1e-3, 0.05, 2000)])
    r2 = (r * r).astype(np.float32)
    r2 = r2[r2 < np.float32(cutoff * cutoff)]
    force, energy = _pair_terms32(fit, alpha, r2)
    rr = np.sqrt(r2.astype(np.float64))
    ar = alpha * rr
    erfc = np.vectorize(math.erfc)(ar)
    f_ex = (erfc / rr + 2.0 * alpha / math.sqrt(math.pi) * np.exp(-ar * ar)) / rr**2
    e_ex = erfc / rr
    err_f = np.abs(force.astype(np.float64) - f_ex) * rr**3
    err_e = np.abs(energy - e_ex) * rr
    assert err_f.max() < 1e-6
    assert err_e.max() < 1e-9
    big = f_ex * rr**3 > 0.5
    assert np.max(np.abs(force[big] / f_ex[big] - 1)) < 1e-6


def test_fit_range_follows_alpha_rc():
    assert ef.fit_range(0.347, 9.0) == pytest.approx(9.8125)
    assert ef.fit_range(0.2920, 9.0) == 6.9375
    assert ef.fit_range(0.1, 2.0) == 1.0
    assert ef.real_space_fit(0.347, 9.0) is ef.real_space_fit(0.3471, 9.0)  # one fit per 1/16 of z
    with pytest.raises(ValueError, match="misses its bound"):
        ef.real_space_fit(0.55, 9.0)  # alpha r_c = 4.95: beyond a (5, 5) rational in float32


def test_exact_functions_are_continuous_at_the_series_switch():
    z = np.array([0.01 * (1 - 1e-12), 0.01])
    for f in (ef.g_exact, ef.h_exact):
        v = f(z)
        assert abs(v[0] - v[1]) < 1e-12
    assert ef.g_exact(np.array([0.0]))[0] == pytest.approx(4.0 / (3.0 * math.sqrt(math.pi)), rel=1e-15)
    assert ef.h_exact(np.array([0.0]))[0] == pytest.approx(2.0 / math.sqrt(math.pi), rel=1e-15)


@pytest.mark.parametrize("seed", [5, 7])
def test_float32_lanes_against_the_float64_kernel(seed):
    """The sample (pairs down to 0.7 A, alpha r = 0.25 and less: the range the scalar close-pair pass
    covered before) and its molecules moved 0.4 A closer: float32 lanes within float32 accuracy."""
    args, _ = kernel_registry()["water_cluster_forces"]["sample"](np.random.default_rng(seed))
    f64 = cluster_forces_numba(*args)
    f32 = cluster_forces_numba(args[0].astype(np.float32), *args[1:])
    rms = float(np.sqrt(np.sum((f32[0] - f64[0]) ** 2) / np.sum(f64[0] ** 2)))
    assert rms < 2e-6
    for u, v in zip(f32[1:], f64[1:]):
        assert float(u) == pytest.approx(float(v), rel=2e-6)
    assert not np.array_equal(f32[0], f64[0])
