"""Precision modes of the folding solver (docs/precision.md, docs/folding.md): the mixed kernels against
float64, float32 and mixed runs served by the compiled kernels, a mixed run on a device without float64."""

import json
import math
import os
import subprocess
import sys
from contextlib import contextmanager

import zzhpc.io  # noqa: F401,I001  (sets H5PY_ALWAYS_USE_MPI before h5py is first imported)
import h5py
import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.core.deck import resolve
from zzhpc.core.run import run
from zzhpc.device.kernels import _OVERRIDES
from zzhpc.solvers.folding import kernels_numba as kn
from zzhpc.solvers.folding.kernels import sbm_baoab_step, sbm_forces
from zzhpc.solvers.folding.proteins import TF, load_model, thermal

numba = pytest.importorskip("numba", reason="numba (the compiled CPU kernels) is not installed")


def _rms(a, b):
    return float(np.sqrt(np.sum((a - b) ** 2) / np.sum(b**2)))


@pytest.fixture(scope="module", params=["villin", "ci2"])
def states(request):
    """A protein's model and 16 conformations equilibrated at its Tf (float64)."""
    m = load_model(request.param)
    return m, thermal(m, 16, TF[request.param], 2000)


def test_mixed_forces_and_energies_match_float64(states):
    """Measured (villin / CI2): compiled 1.3e-7 / 1.6e-7 (forces, relative RMS), max |dE| 4.7e-6 / 1.3e-5
    eps (1.9e-7 / 4.1e-7 of max |E|); generic 2.3e-6 / 2.3e-6, 2.4e-5 / 4.5e-5 eps."""
    m, x = states
    p = m.kernel_params()
    f64, e64 = kn.sbm_forces_numba(x, p, energy=True)
    for kernel, ftol in ((kn.sbm_forces_numba, 1e-6), (sbm_forces, 1e-5)):
        f, e = kernel(x, p, energy=True, mixed=True)
        assert f.dtype == e.dtype == np.float64
        assert 0 < _rms(f, f64) < ftol, kernel.__name__
        assert 0 < np.max(np.abs(e - e64)) < 1e-5 * np.max(np.abs(e64)), kernel.__name__
    # A float32 state on a device without float64: the generic kernel's float32 sums.
    f, e = sbm_forces(x.astype(np.float32), p, energy=True, mixed=True)
    assert f.dtype == np.float32 and _rms(f.astype(np.float64), f64) < 3e-5


def test_mixed_compiled_replicas_are_independent_of_their_batch(states):
    """Each replica goes through the same operations in any tile (bitwise rank-count independence)."""
    m, x = states
    p = m.kernel_params()
    f, e = kn.sbm_forces_numba(x, p, energy=True, mixed=True)
    perm = np.random.default_rng(1).permutation(len(x))
    for idx in (perm, perm[:5], np.array([3])):
        g, d = kn.sbm_forces_numba(x[idx], p, energy=True, mixed=True)
        assert np.array_equal(g, f[idx]) and np.array_equal(d, e[idx])


def test_mixed_fused_step_matches_generic_step(states):
    m, x = states
    p = m.kernel_params()
    rng = np.random.default_rng(2)
    v = 0.5 * rng.standard_normal(x.shape)
    f = sbm_forces(x, p, mixed=True)[0]
    noise = rng.standard_normal(x.shape)
    scale = rng.uniform(0.02, 0.1, (len(x), 1, 1))
    c1 = math.exp(-0.002)
    ref = sbm_baoab_step(x, v, f, noise, scale, p, 0.002, c1, energy=True, mixed=True)
    got = kn.sbm_baoab_step_numba(x.copy(), v.copy(), f.copy(), noise, scale, p, 0.002, c1, True, mixed=True)
    assert np.max(np.abs(got[0] - ref[0])) < 1e-12  # positions: the forces enter at second order
    assert _rms(got[2], ref[2]) < 1e-5 and _rms(got[1], ref[1]) < 1e-5
    assert np.allclose(got[3], ref[3], rtol=0, atol=1e-4)


@contextmanager
def serving(name):
    """Names of the ``numpy`` overrides of kernel ``name`` that served calls while the block runs (a
    decline, NotSuitableError, is not recorded). The list is changed in place: get_kernel holds it."""
    lst = _OVERRIDES[name]["numpy"]
    orig, served = list(lst), []

    def wrap(fn):
        def w(*a, **kw):
            out = fn(*a, **kw)
            served.append(fn.__name__)
            return out

        return w

    lst[:] = [wrap(fn) for fn in orig]
    try:
        yield served
    finally:
        lst[:] = orig


def deck(out, backend=None, run=None, **folding):
    return {
        "solver": "folding",
        "run": dict({"steps": 200, "dt": 0.002, "seed": 4, "diag_every": 100, "progress_every": 1e9}, **(run or {})),
        "backend": dict({"name": "numpy"}, **(backend or {})),
        "folding": dict(
            {
                "structure": "villin_hp35.pdb",
                "chain": "A",
                "replicas": 6,
                "t_min": 0.8,
                "t_max": 1.0,
                "exchange_every": 50,
            },
            sample_every=20,
            **folding,
        ),
        "output": {"dir": str(out), "fields": False},
    }


def go(d):
    cls, cfg = resolve(d, 1)
    return run(cls, cfg, MPI.COMM_SELF, quiet=True, install_signals=False)


def energies(out):
    with h5py.File(os.path.join(out, "timeseries.h5"), "r") as f:
        return f["energy"][...]


@pytest.mark.parametrize(
    "backend, term",
    [
        ({"dtype": "float32"}, "float32"),  # was feared to fall back to the dense kernel (issue 20)
        ({"precision": "mixed"}, "float32"),
        ({"dtype": "float32", "precision": "mixed"}, "float32"),
    ],
)
def test_runs_are_served_by_the_compiled_kernels(tmp_path, backend, term):
    """float32 and mixed runs go through the Numba step, not the dense NumPy kernels, start from the
    float64 run's energies within float32 rounding and stay in the same basin."""
    ref = go(deck(tmp_path / "f64"))
    with serving("sbm_baoab_step") as steps, serving("sbm_forces") as forces:
        s = go(deck(tmp_path / "x", backend))
    assert set(steps) == {"sbm_baoab_step_numba"} and len(steps) == 200
    assert set(forces) <= {"sbm_forces_numba"}
    assert s["results"]["term_precision"] == term
    assert ref["results"]["term_precision"] == "float64"
    e64, ex = energies(tmp_path / "f64"), energies(tmp_path / "x")
    assert np.allclose(ex[:, 0], e64[:, 0], rtol=0, atol=1e-3)  # the native start: rounding only
    # Later the walkers have moved apart (mixed: other noise, float32 draws) but sample the same basin:
    # mean energies over 10 samples of 6 walkers differed by 0.4-1.8 eps over four seeds, ~-23 eps each.
    assert abs(np.mean(ex[:, 1:]) - np.mean(e64[:, 1:])) < 5.0


def test_mixed_restart_continues_bitwise(tmp_path):
    mixed = {"precision": "mixed"}
    go(deck(tmp_path / "full", mixed))
    go(deck(tmp_path / "part", mixed, run={"steps": 100, "checkpoint_every": 100}))
    ckpt = os.path.join(tmp_path, "part", "checkpoints", "ckpt_0000000100.h5")
    go(deck(tmp_path / "part", mixed, run={"restart": ckpt}))
    assert np.array_equal(energies(tmp_path / "full"), energies(tmp_path / "part"))


def test_mixed_generic_kernel_on_torch(states):
    """The generic mixed path on PyTorch (as on a GPU) agrees with NumPy's to float32 rounding."""
    torch = pytest.importorskip("torch", reason="torch (the PyTorch backend) is not installed")
    m, x = states
    p = m.kernel_params()
    pt = {k: (torch.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in p.items()}
    f, e = sbm_forces(torch.asarray(x), pt, energy=True, mixed=True)
    fn, en = sbm_forces(x, p, energy=True, mixed=True)
    assert f.dtype == torch.float64
    assert _rms(f.numpy(), fn) < 1e-5 and np.max(np.abs(e.numpy() - en)) < 1e-3


def test_mixed_run_on_a_device_without_float64(tmp_path):
    """numpy32 (no float64: examples/backend_plugin) runs folding in the mixed mode (float32 state, the
    generic kernels' float32 terms with pairwise float32 sums); its energies follow the float64 run's."""
    sys.path.insert(0, os.path.dirname(__file__))
    from conftest import ROOT, install_example_package, zzhpc_cmd

    from zzhpc.core.harness import write_deck

    env = install_example_package("backend_plugin", tmp_path / "plugin")
    rows = {}
    for name, backend in (("f64", {}), ("n32", {"name": "numpy32", "dtype": "float32", "precision": "mixed"})):
        d = deck(tmp_path / name, backend, replicas=4)
        d["run"]["steps"] = 100
        write_deck(d, str(tmp_path / f"{name}.toml"))
        proc = subprocess.run(
            zzhpc_cmd(0, "run", tmp_path / f"{name}.toml", "-q"),
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            cwd=ROOT,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        rows[name] = json.load(open(tmp_path / name / "summary.json"))
    assert rows["n32"]["precision"] == "mixed" and rows["n32"]["dtype"] == "float32"
    assert rows["n32"]["results"]["term_precision"] == "float32"
    e64, e32 = energies(tmp_path / "f64"), energies(tmp_path / "n32")
    assert np.allclose(e32[:, 0], e64[:, 0], rtol=0, atol=1e-3)
    assert abs(np.mean(e32[:, 1:]) - np.mean(e64[:, 1:])) < 6.0  # 5 samples of 4 walkers
