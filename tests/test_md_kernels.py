"""MD kernels: reference neighbour lists against brute force, overrides and torch against the reference."""

import numpy as np
import pytest

from zzhpc.device import get_backend, kernel_registry
from zzhpc.errors import NotSuitableError
from zzhpc.particles import neighbors_numba
from zzhpc.solvers.md import kernels_numba
from zzhpc.solvers.md.kernels import lj_sample_tables

REG = kernel_registry()
GEN_N = REG["md_neighbor_list"]["generic"]
GEN_F = REG["md_lj_forces"]["generic"]


def system(seed, n=250, ng=100, box=5.0, cut=1.3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, box, (n + ng, 3))
    x[n:] = rng.uniform(-cut, box + cut, (ng, 3))
    return x, n, (-cut,) * 3, (box + cut,) * 3, cut


def pairs(neigh):
    return {(i, int(j)) for i, row in enumerate(neigh) for j in row if j >= 0}


def brute(x, n, cut, half):
    out = set()
    for i in range(n):
        d = x - x[i]
        r2 = np.sum(d * d, axis=1)
        for j in np.nonzero(r2 < cut * cut)[0]:
            if j == i:
                continue
            if half:
                dx, dy, dz = d[j]
                if not (dz > 0 or (dz == 0 and (dy > 0 or (dy == 0 and dx > 0)))):
                    continue
            out.add((i, int(j)))
    return out


@pytest.mark.parametrize("half", [True, False])
@pytest.mark.parametrize("seed", [1, 2])
def test_reference_neighbor_list_is_brute_force(seed, half):
    x, n, lo, hi, cut = system(seed)
    neigh = GEN_N(x, n, lo, hi, cut, half, chunk=64)
    assert pairs(neigh) == brute(x, n, cut, half)
    # rows are packed: no valid entry after a -1
    assert all(np.all(np.diff((row < 0).astype(int)) >= 0) for row in neigh)


def test_half_list_counts_each_local_pair_once():
    x, n, lo, hi, cut = system(3, ng=0)
    half = pairs(GEN_N(x, n, lo, hi, cut, True))
    full = pairs(GEN_N(x, n, lo, hi, cut, False))
    undirected = {(min(i, j), max(i, j)) for i, j in half}
    assert {(min(i, j), max(i, j)) for i, j in full} == undirected and len(full) == 2 * len(half) == 2 * len(undirected)


@pytest.mark.parametrize("half", [True, False])
def test_numba_overrides_match_reference(half):
    pytest.importorskip("numba", reason="numba (the compiled CPU kernels) is not installed")
    x, n, lo, hi, cut = system(4)
    nb = neighbors_numba.neighbor_list_numba(x, n, lo, hi, cut, half)
    ref = GEN_N(x, n, lo, hi, cut, half)
    assert pairs(nb) == pairs(ref)
    types = np.random.default_rng(4).integers(0, 2, x.shape[0])
    tab = lj_sample_tables()
    f1, e1, w1 = kernels_numba.lj_forces_numba(x, types, nb, n, tab, half)
    f2, e2, w2 = GEN_F(x, types, ref, n, tab, half)
    assert np.allclose(f1, f2, rtol=1e-12, atol=1e-9 * np.abs(f2).max())
    assert float(e1) == pytest.approx(float(e2), rel=1e-12)
    assert float(w1) == pytest.approx(float(w2), rel=1e-12)


def test_every_registered_override_matches_reference_on_samples():
    rng = np.random.default_rng(11)
    for name in ("md_neighbor_list", "md_lj_forces"):
        entry = REG[name]
        args, kw = entry["sample"](rng)
        ref = entry["generic"](*args, **kw)
        for fn in entry["overrides"].get("numpy", []):
            try:
                got = fn(*args, **kw)
            except NotSuitableError:
                continue
            if name == "md_neighbor_list":
                assert pairs(got) == pairs(ref)
            else:
                assert np.allclose(got[0], ref[0], rtol=1e-12, atol=1e-12 * np.abs(ref[0]).max())


def test_without_numba_the_reference_runs(monkeypatch):
    from zzhpc.device import get_kernel

    monkeypatch.setattr(neighbors_numba, "numba", None)
    monkeypatch.setattr(neighbors_numba, "_jit", {})
    with pytest.raises(NotSuitableError):
        neighbors_numba.neighbor_list_numba(*system(5)[:2], (-1.3,) * 3, (6.3,) * 3, 1.3, True)
    x, n, lo, hi, cut = system(5)
    got = get_kernel("md_neighbor_list", "numpy")(x, n, lo, hi, cut, True)
    assert pairs(got) == pairs(GEN_N(x, n, lo, hi, cut, True))


def test_torch_reference_matches_numpy():
    torch_be = get_backend("torch", "cpu")
    x, n, lo, hi, cut = system(6)
    types = np.random.default_rng(6).integers(0, 2, x.shape[0])
    tab = lj_sample_tables()
    ref_n = GEN_N(x, n, lo, hi, cut, True)
    f, e, w = GEN_F(x, types, ref_n, n, tab, True)
    tx = torch_be.asarray(x)
    tn = GEN_N(tx, n, lo, hi, cut, True)
    assert pairs(torch_be.to_host(tn)) == pairs(ref_n)
    tt = {k: torch_be.asarray(v) for k, v in tab.items()}
    tf, te, tw = GEN_F(tx, torch_be.asarray(types), tn, n, tt, True)
    assert np.allclose(torch_be.to_host(tf), f, rtol=1e-12, atol=1e-12 * np.abs(f).max())
    assert float(te) == pytest.approx(float(e), rel=1e-12)


def test_half_list_rows_hold_about_half_the_neighbours():
    """The geometric rule balances the rows, so the padded half list is about half as wide as the full one."""
    pytest.importorskip("numba", reason="numba (the compiled CPU kernels) is not installed")
    x, n, lo, hi, cut = system(7, n=2000, ng=0, box=10.0)
    for build in (GEN_N, neighbors_numba.neighbor_list_numba):
        half, full = build(x, n, lo, hi, cut, True), build(x, n, lo, hi, cut, False)
        assert half.shape[1] < 0.7 * full.shape[1]
