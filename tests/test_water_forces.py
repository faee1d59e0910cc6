"""Water force field: models, builder, compiled kernels vs the xp references, PME vs Ewald, forces and
virial vs finite differences, OpenMM cross-check, bad input."""

import math

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.device import get_backend, kernel_registry
from zzhpc.errors import ConfigError
from zzhpc.solvers.water import cases_forces
from zzhpc.solvers.water.builder import water_box
from zzhpc.solvers.water.forcefield import WaterForceField, dispersion_correction, fft_size, pme_parameters
from zzhpc.solvers.water.models import MODELS, get_model
from zzhpc.solvers.water.pme import bspline_moduli
from zzhpc.solvers.water.pme_kernels import bspline

BE = get_backend("numpy")
REG = kernel_registry()
COMM = MPI.COMM_SELF


def total(ff, x, L):
    return cases_forces.distributed_forces(COMM, BE, ff, x, L)


@pytest.fixture(scope="module")
def box100():
    return water_box(100, "spce", seed=3)


def test_models_and_unknown_name():
    spce, tip3p = get_model("SPCE"), get_model("tip3p")
    assert spce.q_O + 2 * spce.q_H == 0 and tip3p.q_O + 2 * tip3p.q_H == pytest.approx(0, abs=1e-15)
    assert spce.r_HH == pytest.approx(1.63298, abs=1e-5)  # 2 sin(109.47/2) A
    assert tip3p.r_HH == pytest.approx(1.51390, abs=1e-5)
    assert spce.lj_pair(0, 1)[1] == 0.0 and tip3p.lj_pair(1, 1)[1] == 0.0
    with pytest.raises(ConfigError, match=r"water.model = 'tip4p'.*spce, tip3p"):
        get_model("tip4p")


def test_water_box_density_geometry_no_overlap():
    x, L = water_box(250, "tip3p", seed=2)
    m = get_model("tip3p")
    mass = 250 * m.molar_mass / 6.02214076e23
    assert mass / (L[0] ** 3 * 1e-24) == pytest.approx(0.997, rel=1e-12)
    xm = x.reshape(-1, 3, 3)
    assert np.all((xm[:, 0] >= 0) & (xm[:, 0] < L[0]))
    assert np.allclose(np.linalg.norm(xm[:, 1] - xm[:, 0], axis=1), m.r_OH)
    assert np.allclose(np.linalg.norm(xm[:, 2] - xm[:, 1], axis=1), m.r_HH)
    d = x[:, None, :] - x[None, :, :]
    d -= L[0] * np.round(d / L[0])
    r = np.sqrt(np.sum(d * d, axis=-1))
    same = np.arange(750)[:, None] // 3 == np.arange(750)[None, :] // 3
    assert r[~same].min() >= 1.6
    assert np.array_equal(x, water_box(250, "tip3p", seed=2)[0])
    assert not np.array_equal(x, water_box(250, "tip3p", seed=3)[0])


def test_bspline_partition_of_unity_and_moduli():
    w = np.random.default_rng(0).random(20)
    for p in (3, 4, 5, 6):
        c, d = bspline(w, p)
        assert np.allclose(sum(c), 1.0) and np.allclose(sum(d), 0.0, atol=1e-14)
        # derivative against central differences of the weights
        cp, _ = bspline(w + 1e-6, p)
        cm, _ = bspline(w - 1e-6, p)
        for i in range(p):
            assert np.allclose((cp[i] - cm[i]) / 2e-6, d[i], atol=1e-8)
    mod = bspline_moduli(16, 5)
    assert np.all(np.isfinite(mod)) and mod[0] == pytest.approx(1.0)
    assert mod[8] == pytest.approx(0.5 * (mod[7] + mod[9]))  # Nyquist filled as OpenMM does


@pytest.mark.parametrize("name", ["water_pair_forces", "water_pme_spread", "water_pme_gather"])
def test_numba_override_matches_reference(name):
    k = REG[name]
    fns = k["overrides"].get("numpy", [])
    assert fns, f"no numpy override registered for {name}"
    rng = np.random.default_rng(42)
    for half in (True, False):
        args, kw = k["sample"](rng)
        if name == "water_pair_forces":
            args = args[:-1] + (half,)
        ref, got = k["generic"](*args, **kw), fns[0](*args, **kw)
        ref, got = (ref, got) if isinstance(ref, tuple) else ((ref,), (got,))
        for a, b in zip(ref, got):
            a, b = np.asarray(a, float), np.asarray(b, float)
            assert np.max(np.abs(a - b)) <= 1e-12 * max(np.max(np.abs(a)), 1.0)


def test_numba_pair_kernel_with_per_type_cutoffs():
    """The compiled kernel's uniform-cutoff fast path and its per-type-pair path agree with the reference."""
    k = REG["water_pair_forces"]
    args, kw = k["sample"](np.random.default_rng(7))
    tab = dict(args[5])
    tab["cutsq"] = np.array([[2.2**2, 1.9**2], [1.9**2, 1.6**2]])
    args = args[:5] + (tab,) + args[6:]
    ref, got = k["generic"](*args, **kw), k["overrides"]["numpy"][0](*args, **kw)
    uni = k["generic"](*(args[:5] + (dict(tab, cutsq=np.full((2, 2), 2.2**2)),) + args[6:]))
    assert abs(float(uni[2]) - float(ref[2])) > 1e-6 * abs(float(ref[2]))  # the cutoffs matter
    for a, b in zip(ref, got):
        a, b = np.asarray(a, float), np.asarray(b, float)
        assert np.max(np.abs(a - b)) <= 1e-12 * max(np.max(np.abs(a)), 1.0)


@pytest.mark.parametrize("name", ["water_pair_forces", "water_pme_spread", "water_pme_gather"])
def test_generic_kernel_on_torch_matches_numpy(name):
    # tests/test_kernels.py covers registered kernels; these register when the water force field is
    # first imported, so they are checked here as well.
    from zzhpc.device import backend_status

    ok, why = backend_status().get("torch", (False, "unregistered"))
    if not ok:
        pytest.skip(f"torch backend not available: {why}")
    tb = get_backend("torch")
    k = REG[name]
    args, kw = k["sample"](np.random.default_rng(3))

    def to(o):
        if isinstance(o, np.ndarray):
            return tb.asarray(o.copy())
        if isinstance(o, dict):
            return {a: to(b) for a, b in o.items()}
        return o

    ref = k["generic"](*args, **kw)
    got = k["generic"](*[to(a) for a in args], **kw)
    ref, got = (ref, got) if isinstance(ref, tuple) else ((ref,), (got,))
    for a, b in zip(ref, got):
        np.testing.assert_allclose(tb.to_host(b), np.asarray(a), rtol=1e-12, atol=1e-12)


def test_pair_kernel_sample_is_nontrivial():
    args, _ = REG["water_pair_forces"]["sample"](np.random.default_rng(1))
    f, e_lj, e_c, w = REG["water_pair_forces"]["generic"](*args)
    assert float(e_lj) != 0.0 and float(e_c) != 0.0 and np.max(np.abs(f)) > 0


def test_parameters_from_tolerance():
    alpha, grid = pme_parameters([49.327] * 3, 9.0, 5e-4)
    assert alpha == pytest.approx(math.sqrt(-math.log(1e-3)) / 9.0)
    assert grid == [45, 45, 45]  # ceil(43.9) = 44 -> 45 = 3^2 5
    assert [fft_size(n) for n in (7, 11, 13, 14, 17, 49, 97)] == [8, 12, 15, 15, 18, 50, 100]


def test_dispersion_correction_scales_with_volume():
    e1, w1 = dispersion_correction("spce", 100, 7.0, 3000.0)
    e2, w2 = dispersion_correction("spce", 100, 7.0, 6000.0)
    assert e1 < 0 and w1 < 0 and e2 == pytest.approx(e1 / 2) and w2 == pytest.approx(w1 / 2)
    # Textbook single-type form for the 100 oxygens, scaled by OpenMM's pair counting.
    m = get_model("spce")
    s, eps, rc, n = m.sigma_O, m.epsilon_O, 7.0, 100
    e_ref = 8 * math.pi * n * n / 3000.0 * eps * s**3 * ((s / rc) ** 9 / 9 - (s / rc) ** 3 / 3)
    assert e1 == pytest.approx(e_ref * 3 * (n + 1) / (3 * n + 1), rel=1e-12)


def test_pme_matches_ewald(box100):
    x, L = box100
    pme = WaterForceField(COMM, BE, "spce", L, 7.0, 100, tolerance=1e-6)
    ew = WaterForceField(COMM, BE, "spce", L, 7.0, 100, coulomb="ewald", alpha=pme.alpha)
    fp, ep, wp = total(pme, x, L)
    fe, ee, we = total(ew, x, L)
    assert ep["coul_recip"] == pytest.approx(ee["coul_recip"], rel=1e-6)
    assert cases_forces.rms_rel(fp, fe) < 1e-5
    assert wp == pytest.approx(we, rel=1e-6)
    for k in ("lj", "coul_real", "coul_self", "coul_excl", "tail"):
        assert ep[k] == ee[k]


def test_forces_and_virial_are_derivatives_of_the_energy(box100):
    x, L = box100
    x = x + np.random.default_rng(9).normal(scale=0.05, size=x.shape)
    ff = WaterForceField(COMM, BE, "spce", L, 7.0, 100, tolerance=1e-4, dispersion_correction=False)
    f, en, w = total(ff, x, L)
    h = 1e-5
    for a in (0, 1, 101, 299):
        for d in range(3):
            e = []
            for s in (h, -h):
                xs = x.copy()
                xs[a, d] += s
                e.append(total(ff, xs, L)[1]["total"])
            assert -(e[0] - e[1]) / (2 * h) == pytest.approx(f[a, d], rel=1e-6, abs=1e-6)
    # W = -dE/dlambda under r -> lambda r, L -> lambda L (no tail: its virial is 3 V P_tail).
    lam = 1e-6
    e = []
    for s in (1 + lam, 1 - lam):
        ff.set_box([v * s for v in L])
        e.append(total(ff, x * s, [v * s for v in L])[1]["total"])
    assert -(e[0] - e[1]) / (2 * lam) == pytest.approx(w, rel=1e-5)


def test_half_and_full_lists_agree(box100):
    from zzhpc.device import get_kernel
    from zzhpc.particles.domain import Domain

    x, L = box100
    ff = WaterForceField(COMM, BE, "spce", L, 7.0, 100)
    dom = Domain(COMM, BE, [0.0] * 3, L, [True] * 3, 9.0)
    types, mol = np.tile([0, 1, 1], 100), np.repeat(np.arange(100), 3)
    xa, ta, ma = dom.borders(x, types, mol)
    lo, hi = dom.bin_region()
    out = []
    for half in (True, False):
        neigh = get_kernel("md_neighbor_list", BE)(xa, 300, lo, hi, 9.0, half)
        f, en, w = ff.compute(xa, ta, ma, 300, neigh, half)
        if half:
            dom.reverse_comm(f)
        out.append((f[:300], en, w))
    assert np.allclose(out[0][0], out[1][0], rtol=1e-10, atol=1e-10)
    assert out[0][1]["total"] == pytest.approx(out[1][1]["total"], rel=1e-12)
    assert out[0][2] == pytest.approx(out[1][2], rel=1e-12)


def test_reference_kernels_give_the_same_result(box100):
    x, L = box100
    a = WaterForceField(COMM, BE, "tip3p", L, 7.0, 100)
    b = WaterForceField(COMM, BE, "tip3p", L, 7.0, 100, kernels="reference")
    fa, ea, wa = total(a, x, L)
    fb, eb, wb = total(b, x, L)
    assert ea["total"] == pytest.approx(eb["total"], rel=1e-12) and wa == pytest.approx(wb, rel=1e-12)
    assert cases_forces.rms_rel(fa, fb) < 1e-12


def test_bad_input_is_one_clear_line(box100):
    _, L = box100
    with pytest.raises(ConfigError) as err:
        WaterForceField(COMM, BE, "spce", L, 8.0, 100)
    msg = str(err.value)
    assert "\n" not in msg and "water.cutoff = 8.0" in msg and "half the smallest box length" in msg
    with pytest.raises(ConfigError, match="water.coulomb"):
        WaterForceField(COMM, BE, "spce", L, 7.0, 100, coulomb="reaction-field")
    with pytest.raises(ConfigError, match="water.pme_grid"):
        WaterForceField(COMM, BE, "spce", L, 7.0, 100, grid=[4, 4, 4])
    with pytest.raises(ConfigError, match="water.ewald_tolerance"):
        WaterForceField(COMM, BE, "spce", L, 7.0, 100, tolerance=0.0)


@pytest.mark.peers
def test_openmm_energy_and_forces(peer_py):
    metrics = cases_forces.case_openmm(True)
    assert len(metrics) == 4
    for m in metrics:
        assert m.passed, (m.name, m.measured, m.reference)
    # Dispersion correction off, and a grid that is not the tolerance's: still OpenMM's numbers.
    x, L = water_box(216, "tip3p", seed=4)
    ff = WaterForceField(COMM, BE, "tip3p", L, 8.5, 216, alpha=0.33, grid=[20, 24, 25], dispersion_correction=False)
    f, en, _ = total(ff, x, L)
    ref = cases_forces.openmm_reference(x, L, "tip3p", ff)
    assert ref["grid"] == [20, 24, 25] and ref["alpha"] == pytest.approx(0.33)
    assert en["total"] == pytest.approx(ref["energy"], rel=1e-8)
    assert cases_forces.rms_rel(f, np.asarray(ref["forces"])) < 1e-8


def test_models_table_is_what_the_docs_say():
    assert set(MODELS) == {"spce", "tip3p"}
    assert (MODELS["spce"].sigma_O, MODELS["spce"].epsilon_O) == (3.166, 0.1553)
    assert (MODELS["tip3p"].sigma_O, MODELS["tip3p"].epsilon_O) == (3.15061, 0.1521)
