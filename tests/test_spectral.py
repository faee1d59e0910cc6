"""Spectral DNS solver, in-process: Taylor-Green against the 512^3 reference, invariants (divergence,
inviscid energy), integrating factor vs explicit viscous term, adaptive dt, forcing budget, random
field spectrum, backends (numpy vs torch, float32), configuration errors."""

import math

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.core.deck import resolve
from zzhpc.core.solver import RunContext
from zzhpc.device import get_backend
from zzhpc.errors import ConfigError
from zzhpc.parallel import PhaseTimers
from zzhpc.solvers.spectral import diagnostics as dg
from zzhpc.solvers.spectral import initial
from zzhpc.solvers.spectral.cases import (
    forced_budget,
    run_spectral,
    spectral_deck,
    taylor_green,
)
from zzhpc.solvers.spectral.grid import SpectralGrid
from zzhpc.solvers.spectral.navier_stokes import NavierStokesRHS


def _grid(n=16, backend="numpy", dtype="float64", **kw):
    return SpectralGrid(MPI.COMM_SELF, (n, n, n), get_backend(backend), dtype=dtype, **kw)


def test_taylor_green_energy_matches_512_reference_to_1e4_at_t2():
    metrics = taylor_green(quick=True)
    assert all(m.passed for m in metrics), [(m.name, m.measured) for m in metrics]
    assert metrics[0].measured < 1e-4


def test_taylor_green_initial_invariants_are_exact():
    g = _grid(16)
    uh = initial.taylor_green(g)
    assert dg.energy(g, uh) == pytest.approx(0.125, rel=1e-14)
    assert dg.enstrophy(g, uh) == pytest.approx(0.375, rel=1e-14)
    speed, _, div = dg.physical_extrema(g, uh)
    assert speed == pytest.approx(1.0, abs=0.05) and div < 1e-14


@pytest.mark.parametrize("rule", ["2/3", "3/2"])
def test_nonlinear_term_transfers_no_energy_and_is_solenoidal(rule):
    """The semi-discrete system conserves energy to round-off: <u . N(u)> = 0, k . N = 0."""
    g = _grid(16, dealias=rule)
    uh = initial.random_isotropic(g, energy=0.5, k0=3.0, seed=3)
    nh = NavierStokesRHS(g, 0.0)(uh)
    scale = math.sqrt(g.average_product(uh, uh) * g.average_product(nh, nh))
    assert abs(g.average_product(uh, nh)) / scale < 1e-14
    k0, k1, k2 = g.k
    div = np.abs(k0 * nh[0] + k1 * nh[1] + k2 * nh[2]).max() / np.abs(nh).max()
    assert div < 1e-13
    assert np.all(nh[:, ~g.mask_host] == 0)  # nothing outside the mask


def _embed(uh, n, big):
    """A spectrum of the n^3 grid placed at the same signed modes of the big^3 grid (rfftn convention)."""
    out = np.zeros(uh.shape[:1] + (big, big, big // 2 + 1), dtype=uh.dtype)
    m = np.fft.fftfreq(n, 1 / n).astype(int)
    i = np.nonzero(2 * np.abs(m) < n)[0]
    j = i[: n // 2]
    out[np.ix_(range(uh.shape[0]), m[i] % big, m[i] % big, m[j])] = uh[np.ix_(range(uh.shape[0]), i, i, j)]
    return out * (big / n) ** 3


def test_three_halves_rule_gives_the_alias_free_nonlinear_term():
    """With dealias = "3/2" on 16^3, N(u) on every kept mode |m| < 8 equals N(u) computed on 32^3 (where
    the product of modes |m| < 8 cannot alias); the 2/3 rule and the aliased product do not."""
    g = _grid(16, dealias="3/2")
    assert g.padded_shape == (24, 24, 24) and g.kmax == 7
    uh = initial.random_isotropic(g, energy=0.5, k0=5.0, seed=5)  # energy up to |m| = 7
    nh = NavierStokesRHS(g, 0.0)(uh)
    fine = _grid(32, dealias="none")
    exact = NavierStokesRHS(fine, 0.0)(_embed(uh, 16, 32)) * (16 / 32) ** 3
    m = np.fft.fftfreq(16, 1 / 16).astype(int)
    i = np.nonzero(2 * np.abs(m) < 16)[0]
    sel = np.ix_(range(3), m[i] % 32, m[i] % 32, m[i[:8]])
    ref = np.zeros_like(nh)
    ref[np.ix_(range(3), i, i, i[:8])] = exact[sel]
    scale = np.abs(ref).max()
    assert np.abs(nh - ref).max() < 1e-12 * scale
    aliased = NavierStokesRHS(_grid(16, dealias="none"), 0.0)(uh)
    assert np.abs(aliased - ref).max() > 1e-3 * scale


def _inviscid_drift(dt, steps, **kw):
    deck = spectral_deck((16, 16, 16), steps=steps, dt=dt, nu=0.0, initial="random", peak_wavenumber=3.0, **kw)
    _, s = run_spectral(deck)
    return float(np.max(np.abs(s["energy"] - s["energy"][0])) / s["energy"][0]), s


@pytest.mark.parametrize("rule", ["2/3", "3/2"])
def test_inviscid_energy_drift_is_rk4_time_error_only(rule):
    d1, s = _inviscid_drift(0.02, 5, dealias=rule)
    d2, _ = _inviscid_drift(0.01, 10, dealias=rule)
    assert d1 < 5e-9 and d2 < 5e-10
    assert 8 < d1 / d2 < 40  # O(dt^4) over a fixed time: the scheme, not a leak
    assert np.max(s["max_divergence"]) < 1e-13 * np.sqrt(2 * np.max(s["enstrophy"]))


def test_integrating_factor_and_explicit_viscous_agree():
    a = run_spectral(spectral_deck((16, 16, 16), t_end=0.2, dt=0.01, nu=0.02, diag_every=5))[1]
    b = run_spectral(spectral_deck((16, 16, 16), t_end=0.2, dt=0.01, nu=0.02, diag_every=5, viscous="explicit"))[1]
    assert np.allclose(a["energy"], b["energy"], rtol=1e-8, atol=0)
    assert a["energy"][-1] < a["energy"][0]


def test_adaptive_dt_keeps_cfl_and_lands_on_t_end():
    summary, s = run_spectral(spectral_deck((16, 16, 16), t_end=0.37, dt=None, cfl=0.4))
    assert summary["time"] == pytest.approx(0.37, abs=1e-14)
    assert np.all(s["cfl"][1:-1] <= 0.4 * 1.05)  # CFL of the new state, dt chosen on the old one
    assert s["cfl"][1] > 0.3


def test_forcing_injects_exactly_its_power():
    m = forced_budget(quick=True)
    assert all(x.passed for x in m), [(x.name, x.measured) for x in m]


def test_random_field_has_the_prescribed_spectrum_and_energy():
    g = _grid(24)
    uh = initial.random_isotropic(g, energy=0.7, k0=4.0, seed=11)
    spec = dg.spectrum(g, uh)
    assert spec.sum() == pytest.approx(0.7, rel=1e-12)
    assert dg.energy(g, uh) == pytest.approx(0.7, rel=1e-12)
    target = initial.model_spectrum(np.arange(spec.size), 4.0)
    filled = spec > 0
    ratio = spec[filled] / target[filled]
    assert np.allclose(ratio, ratio[0], rtol=1e-10)
    assert dg.physical_extrema(g, uh)[2] < 1e-12
    u = g.backward(uh)
    assert np.allclose(g.forward(u) * g.mask, uh, atol=1e-12 * np.abs(uh).max())  # a real field


def test_torch_backend_gives_numpy_result(tmp_path):
    pytest.importorskip("torch", reason="torch (the optional torch backend) is not installed")
    deck = spectral_deck((16, 16, 16), steps=4, dt=0.05, initial="random", forcing="band", diag_every=2)
    _, a = run_spectral(deck)
    _, b = run_spectral(deck, backend="torch")
    for key in ("energy", "dissipation", "enstrophy", "max_velocity", "band_energy"):
        assert np.allclose(a[key], b[key], rtol=1e-12, atol=0), key


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_float32_follows_float64(backend):
    pytest.importorskip(backend, reason=f"the optional {backend} backend is not installed")
    deck = spectral_deck((12, 12, 12), t_end=0.2, dt=0.05)
    _, a = run_spectral(deck, backend=backend)
    _, b = run_spectral(deck, backend=backend, dtype="float32")
    assert np.allclose(a["energy"], b["energy"], rtol=1e-5)
    assert not np.array_equal(a["energy"], b["energy"])


def test_native_and_scipy_local_ffts_agree():
    a = run_spectral(spectral_deck((16, 16, 16), steps=4, dt=0.05, initial="random"))[1]
    b = run_spectral(spectral_deck((16, 16, 16), steps=4, dt=0.05, initial="random", fft_library="native"))[1]
    assert np.allclose(a["energy"], b["energy"], rtol=1e-13, atol=0)


def _check(deck, nranks=1):
    return resolve(deck, nranks)


@pytest.mark.parametrize(
    "change, nranks, key",
    [
        ({"spectral": {"shape": [8, 8, 8]}}, 16, "spectral.decomposition"),
        ({"spectral": {"lengths": [1.0, 1.0, 1.0]}}, 1, "spectral.lengths"),
        ({"spectral": {"viscous": "explicit", "nu": 1.0}, "run": {"dt": 0.5}}, 1, "run.dt"),
        ({"spectral": {"forcing_band": [3.0, 1.0]}}, 1, "spectral.forcing_band"),
        ({"spectral": {"initial": "file"}}, 1, "spectral.initial_file"),
        ({"parallel": {"dims": [2, 1]}}, 2, "parallel.dims"),
        ({"spectral": {"shape": [16, 16]}}, 1, "spectral.shape"),
        ({"spectral": {"cfl": 5.0}}, 1, "spectral.cfl"),
        ({"spectral": {"dealias": "1/2"}}, 1, "spectral.dealias"),
        ({"spectral": {"dealias": True}}, 1, "spectral.dealias"),
    ],
)
def test_bad_decks_are_config_errors_naming_the_key(change, nranks, key):
    deck = spectral_deck((16, 16, 16), steps=1)
    for section, vals in change.items():
        deck.setdefault(section, {}).update(vals)
    deck["output"]["dir"] = "/tmp/unused"
    with pytest.raises(ConfigError) as err:
        _check(deck, nranks)
    assert key in str(err.value)


def test_grid_masks_weights_and_shells():
    g = _grid(12)
    kept = g.mask_host
    m0 = np.fft.fftfreq(12, 1 / 12)
    assert kept[:, 0, 0].tolist() == (np.abs(m0) < 4).tolist()  # 2/3 rule: |m| < N/3
    assert not kept[6].any() and not kept[:, :, 6].any()  # Nyquist planes removed
    w = np.asarray(g.weight).ravel()
    assert w[0] == 1 and w[6] == 1 and np.all(w[1:6] == 2)
    g32 = _grid(12, dealias="3/2")
    assert g32.mask_host[:, 0, 0].tolist() == (np.abs(m0) < 6).tolist()  # 3/2 rule: all but Nyquist
    assert g32.kmax == 5 and g32.describe()["product_grid"] == [18, 18, 18]
    with pytest.raises(ValueError, match="dealias must be one of"):
        _grid(12, dealias="4/3")
    ctx_backend = get_backend("numpy")
    assert RunContext(comm=MPI.COMM_SELF, backend=ctx_backend, timers=PhaseTimers()).rank == 0


def test_comparison_plot_of_runs_against_the_reference(tmp_path):
    from zzhpc.solvers.spectral.plots import main

    run_dir = tmp_path / "run"
    run_spectral(spectral_deck((16, 16, 16), t_end=0.2, dt=0.05), keep=str(run_dir))
    png = tmp_path / "cmp.png"
    assert main(["compare", str(png), f"16^3={run_dir}"]) == 0
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert main(["compare", str(png), f"x={tmp_path / 'nothing'}"]) == 2
    assert main(["compare"]) == 2


@pytest.mark.parametrize("scheme", ["rk3", "rk4"])
def test_low_storage_scheme_reaches_its_order_with_the_integrating_factor(scheme):
    """Error at t = 0.4 against a run with dt/16: halving dt divides it by 2^order (3 or 4)."""
    from zzhpc.solvers.spectral.navier_stokes import SCHEMES, LowStorageStepper

    g = _grid(16)
    u0 = initial.random_isotropic(g, energy=0.5, k0=3.0, seed=2)
    nu, t_end = 0.05, 0.4

    def run(dt):
        uh = u0.copy()
        st = LowStorageStepper(g, NavierStokesRHS(g, nu), nu, scheme=scheme)
        for _ in range(round(t_end / dt)):
            st.step(uh, dt)
        return uh

    ref = run(t_end / 64)
    e1, e2 = (np.abs(run(dt) - ref).max() for dt in (t_end / 4, t_end / 8))
    order = math.log2(e1 / e2)
    assert SCHEMES[scheme].order - 0.3 < order < SCHEMES[scheme].order + 0.5, order


def test_scheme_stability_bounds_and_explicit_limit():
    from zzhpc.solvers.spectral.navier_stokes import SCHEMES, cfl_dt

    rk3, rk4 = SCHEMES["rk3"], SCHEMES["rk4"]
    assert rk3.axis_limit(1j) == pytest.approx(math.sqrt(3), abs=1e-3)  # RK3's imaginary-axis bound
    assert rk3.axis_limit(-1.0) == pytest.approx(2.5127, abs=1e-3)
    assert rk4.axis_limit(1j) > 3.3 and rk4.axis_limit(-1.0) > 4.6  # Carpenter-Kennedy: larger
    for s in (rk3, rk4):  # R(z) = exp(z) + O(z^(order+1))
        assert abs(s.amplification(0.01) - math.exp(0.01)) < 0.01 ** (s.order + 1)
    assert cfl_dt(10.0, 1.0, nu=1.0, kmax=1.0, explicit_viscous=True, scheme="rk3") == pytest.approx(2.5127, abs=1e-3)


def _held_bytes(*objs):
    """Bytes of the NumPy arrays an object graph holds (attributes, lists, tuples), each array once."""
    seen, total, stack = set(), 0, list(objs)
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, np.ndarray):
            base = o if o.base is None else o.base
            if id(base) not in seen and isinstance(base, np.ndarray):
                seen.add(id(base))
                total += base.nbytes
            elif o.base is None:
                total += o.nbytes
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif hasattr(o, "__dict__") and type(o).__module__.startswith("zzhpc"):
            stack.extend(vars(o).values())
    return total


@pytest.mark.parametrize("dtype, limit", [("float64", 80), ("float32", 40)])
def test_step_holds_state_register_and_work_arrays_only(dtype, limit):
    """What a 2/3-rule step keeps between calls: the state (3 spectra), the kept-mode register (30 % of
    3 spectra), three real work arrays and the FFT's two work buffers, nothing else of the grid's size."""
    from zzhpc.solvers.spectral.navier_stokes import LowStorageStepper

    n = 32
    g = _grid(n, dtype=dtype)
    uh = initial.taylor_green(g)
    st = LowStorageStepper(g, NavierStokesRHS(g, 1 / 1600), 1 / 1600)
    st.step(uh, 0.01)
    real = np.dtype(dtype).itemsize
    spectrum = math.prod(g.spectral_shape_local) * 2 * real
    expected = 5 * spectrum + 3 * n**3 * real + 3 * math.prod(g.kept.shape) * 2 * real
    held = _held_bytes(g, st, uh)
    assert expected <= held < expected + 16 * n * 2 * real * 3 * 4  # plus 1-D wavenumbers and factors
    assert held / n**3 < limit


def test_float32_taylor_green_meets_the_float64_tolerances():
    from zzhpc.solvers.spectral.cases import taylor_green_float32

    metrics = taylor_green_float32(quick=True)
    assert all(m.passed for m in metrics), [(m.name, m.measured) for m in metrics]
    assert [m.tolerance for m in metrics] == [m.tolerance for m in taylor_green(quick=True)]
