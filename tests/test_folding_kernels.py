"""Compiled (Numba) folding kernels against the xp reference: forces, energies, the fused BAOAB step, lanes."""

import math

import numpy as np
import pytest

from zzhpc.errors import NotSuitableError
from zzhpc.solvers.folding import kernels_numba as kn
from zzhpc.solvers.folding.proteins import load_model, perturbed
from zzhpc.solvers.folding.kernels import sbm_baoab_step, sbm_forces

pytest.importorskip("numba", reason="numba (the compiled CPU kernels) is not installed")


@pytest.fixture(scope="module", params=["villin", "ci2"])
def model(request):
    return load_model(request.param)


def conformations(m, count=9):
    """Perturbed native states from gentle to rough (the rough ones have large bonded and pair forces)."""
    return np.concatenate([perturbed(m, count, a, seed=k) for k, a in enumerate((0.005, 0.02, 0.05, 0.1))])


def test_angle_matches_atan2():
    rng = np.random.default_rng(5)
    s = np.abs(rng.standard_normal(20000)) * 10.0 ** rng.uniform(-3, 3, 20000)
    c = rng.standard_normal(20000) * 10.0 ** rng.uniform(-3, 3, 20000)
    # Edges of the range reduction: s = |c|, ratio 0.66, c = 0, s = 0, both signs of c.
    edge_s = np.array([1.0, 1.0, 0.66, 0.66, 1.0, 0.0, 0.0, 2.0, 1e-300, 1.0])
    edge_c = np.array([1.0, -1.0, 1.0, -1.0, 0.0, 1.0, -1.0, 3.03, 1.0, 1e-300])
    s, c = np.concatenate([s, edge_s]), np.concatenate([c, edge_c])
    got = np.array([kn.angle(a, b) for a, b in zip(s, c)])
    ref = np.arctan2(s, c)
    assert np.max(np.abs(got - ref)) <= 4.5e-16  # two ulp of pi
    assert kn.angle(1.0, 1.0) == math.pi / 4 and kn.angle(0.0, -1.0) == math.pi


def test_forces_and_energies_match_reference(model):
    p = model.kernel_params()
    x = conformations(model)
    f0, e0 = sbm_forces(x, p, energy=True)
    f1, e1 = kn.sbm_forces_numba(x, p, energy=True)
    scale = np.max(np.linalg.norm(f0, axis=-1), axis=-1)[:, None, None]
    assert np.max(np.abs(f1 - f0) / scale) < 1e-10
    assert np.max(np.abs(e1 - e0) / np.abs(e0)) < 1e-12
    assert kn.sbm_forces_numba(x, p)[1] is None


def test_fused_step_matches_reference(model):
    p = model.kernel_params()
    rng = np.random.default_rng(2)
    x = conformations(model, 5)
    v = 0.5 * rng.standard_normal(x.shape)
    f = sbm_forces(x, p)[0]
    noise = rng.standard_normal(x.shape)
    scale = rng.uniform(0.02, 0.1, (len(x), 1, 1))
    ref = sbm_baoab_step(x, v, f, noise, scale, p, 0.002, math.exp(-0.002), energy=True)
    got = kn.sbm_baoab_step_numba(x.copy(), v.copy(), f.copy(), noise, scale, p, 0.002, math.exp(-0.002), True)
    for a, b in zip(got, ref):
        assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b))


def test_replicas_do_not_depend_on_their_tile(model):
    """A replica's forces and step are bitwise the same wherever it sits in a batch (rank independence)."""
    p = model.kernel_params()
    rng = np.random.default_rng(8)
    x = conformations(model, 10)  # 40 replicas: two full tiles and a padded one
    v, noise = rng.standard_normal(x.shape), rng.standard_normal(x.shape)
    scale = rng.uniform(0.02, 0.1, (len(x), 1, 1))
    f = kn.sbm_forces_numba(x, p)[0]
    full_f, full_e = kn.sbm_forces_numba(x, p, energy=True)
    full_step = kn.sbm_baoab_step_numba(x.copy(), v.copy(), f.copy(), noise, scale, p, 0.002, 0.99, True)
    for rows in (rng.permutation(len(x))[:7], np.array([39]), np.arange(3, 40, 2)):
        sub_f, sub_e = kn.sbm_forces_numba(x[rows], p, energy=True)
        assert np.array_equal(sub_f, full_f[rows]) and np.array_equal(sub_e, full_e[rows])
        sub = kn.sbm_baoab_step_numba(x[rows], v[rows], f[rows], noise[rows], scale[rows], p, 0.002, 0.99, True)
        for a, b in zip(sub, full_step):
            assert np.array_equal(a, b[rows])


def test_declines_what_it_cannot_serve(model):
    p = model.kernel_params()
    torch = pytest.importorskip("torch", reason="torch (the optional torch backend) is not installed")
    with pytest.raises(NotSuitableError):
        kn.sbm_forces_numba(torch.zeros((2, model.n, 3), dtype=torch.float64), p)
    with pytest.raises(NotSuitableError):
        kn.sbm_forces_numba(np.zeros((2, model.n, 3), dtype=np.int64), p)
    x = model.native[None].copy()
    x.flags.writeable = False
    with pytest.raises(NotSuitableError):
        kn.sbm_baoab_step_numba(x, np.zeros_like(x), np.zeros_like(x), np.zeros_like(x), 0.1, p, 0.002, 0.99)
