"""The PME's mixed mode (weights once per step in float32, float32 grids, float64 energy sums) against float64,
its compiled kernels against the xp reference in float32, and the one-rank path without the brick exchange."""

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.device import get_backend, kernel_registry
from zzhpc.errors import NotSuitableError
from zzhpc.solvers.water.builder import water_box
from zzhpc.solvers.water.pme import PME
from zzhpc.solvers.water import pme_numba

BE = get_backend("numpy")
REG = kernel_registry()


def _rms(a, b):
    return float(np.sqrt(np.sum((a - b) ** 2) / np.sum(b**2)))


@pytest.fixture(scope="module")
def liquid():
    """512 TIP3P molecules moved off the builder's lattice (rigid random shifts, as test_water_mixed)."""
    x, L = water_box(512, "tip3p", seed=5)
    x = (x.reshape(-1, 3, 3) + np.random.default_rng(4).uniform(-0.05, 0.05, (512, 1, 3))).reshape(-1, 3)
    return x, np.tile([-0.834, 0.417, 0.417], 512), L


@pytest.mark.parametrize("order, grid, alpha", [(4, (24, 24, 24), 0.3470), (5, (25, 24, 26), 0.30)])
def test_mixed_pme_against_float64(liquid, order, grid, alpha):
    """Reciprocal energy and virial to 1e-6 relative, forces to 2e-6 relative RMS (measured at order 4:
    1.4e-7, 1.2e-7 and 5.7e-7 on the 4,000-molecule bench box; the float32 FFT is most of the energy's)."""
    x, q, L = liquid
    e64, f64, w64 = PME(MPI.COMM_SELF, BE, grid, order, alpha, L).compute(x, q)
    pme = PME(MPI.COMM_SELF, BE, grid, order, alpha, L, mixed=True)
    e, f, w = pme.compute(x, q)
    assert f.dtype == np.float64 and pme.g_energy.dtype == np.float64 and pme.g_conv.dtype == np.float32
    assert abs(e - e64) <= 1e-6 * abs(e64) and abs(w - w64) <= 1e-6 * abs(w64)
    assert _rms(f, f64) <= 2e-6
    assert e != e64 and not np.array_equal(f, f64)  # it did run in float32


@pytest.mark.parametrize("mixed", [False, True], ids=["float64", "mixed"])
def test_one_rank_skips_the_exchange_bit_for_bit(liquid, mixed):
    """One rank spreads straight into the FFT's grid: the same numbers as the brick sent to itself."""
    x, q, L = liquid
    fast = PME(MPI.COMM_SELF, BE, (24, 24, 24), 4, 0.3470, L, mixed=mixed)
    slow = PME(MPI.COMM_SELF, BE, (24, 24, 24), 4, 0.3470, L, mixed=mixed)
    slow.local = False
    for part in (slice(None), slice(0, 300)):  # the whole box, and a corner of it (a brick smaller than the grid)
        a, b = fast.compute(x[part], q[part]), slow.compute(x[part], q[part])
        assert a[0] == b[0] and a[2] == b[2] and np.array_equal(a[1], b[1])
    assert fast.exchange_bytes["to_self"] == 0 and slow.exchange_bytes["to_self"] > 0


def test_float64_with_shared_weights_agrees(liquid):
    """Float64 through the stencil kernels (``shared_weights``, off by default in float64) against the float64
    kernels: the same energy and virial to rounding, forces to 1e-13 relative RMS."""
    x, q, L = liquid
    ref = PME(MPI.COMM_SELF, BE, (24, 24, 24), 4, 0.3470, L)
    alt = PME(MPI.COMM_SELF, BE, (24, 24, 24), 4, 0.3470, L)
    assert not ref.shared_weights
    alt.shared_weights = True
    (e0, f0, w0), (e1, f1, w1) = ref.compute(x, q), alt.compute(x, q)
    assert e1 == pytest.approx(e0, rel=1e-13) and w1 == pytest.approx(w0, rel=1e-13)
    assert _rms(f1, f0) <= 1e-13 and f1.dtype == np.float64


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("order", [4, 5])
def test_stencil_kernels_against_reference(order, dtype):
    """The compiled spreading and interpolation (order 4: the 4-wide vector rows of pme_simd) against the xp
    reference fed the same weights: grid and forces to the rounding of ``dtype``."""
    rng = np.random.default_rng(order)
    tol = 1e-5 if dtype == "float32" else 1e-12
    (x, scale, _), _ = REG["water_pme_stencil"]["sample"](rng)
    grid, lo = (12, 10, 9), (-5, -5, -5)
    base, w, dw = pme_numba.stencil_numba(x, scale, order, dtype)
    rb, rw, rdw = REG["water_pme_stencil"]["generic"](x, scale, order, dtype)
    assert w.dtype == np.dtype(dtype) and np.array_equal(base, rb)
    assert np.max(np.abs(w - rw)) <= tol / 100 and np.max(np.abs(dw - rdw)) <= tol / 100
    q = rng.normal(size=x.shape[0])
    got = pme_numba.spread_stencil_numba(base, w, q, lo, grid, grid)
    ref = REG["water_pme_spread_stencil"]["generic"](base, w, q, lo, grid, grid)
    assert got.dtype == np.dtype(dtype) and np.max(np.abs(got - ref)) <= tol * np.max(np.abs(ref))
    phi = rng.normal(size=grid).astype(dtype)
    got = pme_numba.gather_stencil_numba(base, w, dw, q, lo, grid, grid, phi, scale)
    ref = REG["water_pme_gather_stencil"]["generic"](base, w, dw, q, lo, grid, grid, phi, scale)
    assert got.dtype == np.float64 and _rms(got, ref) <= tol / 10


def test_convolve_in_place_and_float64_declined():
    """The fused pass multiplies the spectrum in place; a float64 spectrum is left to the reference (NumPy's
    pairwise sums: the float64 results of before)."""
    args, _ = REG["water_pme_convolve"]["sample"](np.random.default_rng(2))
    qhat, ge, gv, gc = args
    want = qhat * gc
    ref = REG["water_pme_convolve"]["generic"](qhat.copy(), ge, gv, gc)
    e, v = pme_numba.convolve_numba(qhat, ge, gv, gc)
    assert np.array_equal(qhat, want)
    assert e == pytest.approx(float(ref[0]), rel=1e-14) and v == pytest.approx(float(ref[1]), rel=1e-12)
    with pytest.raises(NotSuitableError):
        pme_numba.convolve_numba(qhat.astype(np.complex128), ge, gv, gc.astype(np.float64))
    with pytest.raises(NotSuitableError):  # all-single float32 keeps its float32 sums
        pme_numba.convolve_numba(qhat, ge.astype(np.float32), gv.astype(np.float32), gc)
