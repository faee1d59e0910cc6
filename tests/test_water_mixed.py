"""Mixed precision of water (backend.precision = "mixed"): the float32 pair kernels against float64 and
against each other, the force field's accuracy, a run in the mode, and the GROMACS peer's files."""

import os
import shutil

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.device import get_backend, kernel_registry
from zzhpc.solvers.water import cases_forces, peer_gromacs
from zzhpc.solvers.water.builder import water_box
from zzhpc.solvers.water.forcefield import WaterForceField
from zzhpc.solvers.water.kernels_numba import pair_forces_numba
from zzhpc.core.harness import run_deck as run_inprocess
from zzhpc.solvers.water.cases_common import water_deck

BE = get_backend("numpy")
COMM = MPI.COMM_SELF
GENERIC = kernel_registry()["water_pair_forces"]["generic"]


def _rms_rel(a, b):
    return float(np.sqrt(np.sum((a - b) ** 2) / np.sum(b**2)))


@pytest.fixture(scope="module")
def jittered():
    """216 TIP3P molecules moved off the builder's lattice (rigid random shifts): float32 rounding of
    lattice differences is biased (docs/precision.md), of a liquid's not."""
    x, L = water_box(216, "tip3p", seed=11)
    x = (x.reshape(-1, 3, 3) + np.random.default_rng(3).uniform(-0.05, 0.05, (216, 1, 3))).reshape(-1, 3)
    return x, L


@pytest.mark.parametrize("kernel", [GENERIC, pair_forces_numba], ids=["reference", "numba"])
def test_mixed_pair_kernel_against_float64(kernel):
    args, _ = kernel_registry()["water_pair_forces"]["sample"](np.random.default_rng(5))
    f64, elj, ec, w = GENERIC(*args)
    fm, eljm, ecm, wm = kernel(*args, mixed=True)
    assert fm.dtype == np.float64
    assert _rms_rel(fm, f64) < 1e-5
    assert abs(ecm - ec) <= 1e-5 * max(1.0, abs(ec))
    assert abs(eljm - elj) <= 1e-5 * max(1.0, abs(elj))
    assert abs(wm - w) <= 1e-5 * max(1.0, abs(w))
    # Really float32 inside: not equal to the float64 forces.
    assert not np.array_equal(fm, f64)


def test_mixed_numba_and_reference_agree():
    args, _ = kernel_registry()["water_pair_forces"]["sample"](np.random.default_rng(9))
    a = GENERIC(*args, mixed=True)
    b = pair_forces_numba(*args, mixed=True)
    assert _rms_rel(b[0], a[0]) < 1e-6
    for u, v in zip(a[1:], b[1:]):
        assert abs(float(u) - float(v)) <= 2e-6 * max(1.0, abs(float(u)))


@pytest.mark.parametrize("kernels", ["auto", "reference"])
def test_force_field_mixed_meets_the_accuracy_goal(jittered, kernels):
    """Energy to 1e-6 relative, forces to 1e-5 relative RMS (the water_mixed_precision criteria)."""
    x, L = jittered
    out = {}
    for prec in ("uniform", "mixed"):
        ff = WaterForceField(COMM, BE, "tip3p", L, 8.0, 216, tolerance=5e-4, precision=prec, kernels=kernels)
        out[prec] = cases_forces.distributed_forces(COMM, BE, ff, x, L)
    (f64, e64, _), (fm, em, _) = out["uniform"], out["mixed"]
    assert abs(em["total"] - e64["total"]) <= 1e-6 * abs(e64["total"])
    assert _rms_rel(fm, f64) <= 1e-5
    assert em["coul_recip"] != e64["coul_recip"]  # the PME did run in float32


def test_run_in_mixed_precision(tmp_path):
    deck = water_deck({"molecules": 216, "ensemble": "nve", "minimise_steps": 5}, {"steps": 20, "diag_every": 10})
    s64, r64 = run_inprocess(deck, str(tmp_path / "u"))
    smx, rmx = run_inprocess(dict(deck, backend={"precision": "mixed"}), str(tmp_path / "m"))
    assert s64["precision"] == "uniform" and smx["precision"] == "mixed"
    assert rmx[-1]["etotal"] == pytest.approx(r64[-1]["etotal"], rel=1e-5)
    assert rmx[-1]["etotal"] != r64[-1]["etotal"]
    assert smx["results"]["constraint_error_A"] < 1e-9


def test_bad_precision_names_the_key(tmp_path):
    from zzhpc.core.deck import resolve
    from zzhpc.errors import ConfigError

    with pytest.raises(ConfigError, match="backend.precision"):
        resolve(water_deck(backend={"precision": "half"}), 1)


def test_gromacs_files(tmp_path):
    x, L = water_box(8, "tip3p", seed=1)
    n = peer_gromacs.write_gro(str(tmp_path / "c.gro"), x.reshape(-1, 3), L)
    lines = open(tmp_path / "c.gro").read().splitlines()
    assert n == 8 and int(lines[1]) == 24 and len(lines) == 27
    assert float(lines[2][20:29]) == pytest.approx(x[0, 0] / 10.0, abs=1e-4)
    assert [float(v) for v in lines[-1].split()] == pytest.approx([v / 10.0 for v in L], abs=1e-6)
    peer_gromacs.write_top(str(tmp_path / "t.top"), "tip3p", n)
    top = open(tmp_path / "t.top").read()
    assert "[ settles ]" in top and "SOL 8" in top and "0.31506100" in top
    peer_gromacs.write_mdp(str(tmp_path / "m.mdp"), steps=10, cutoff_A=9.0)
    mdp = open(tmp_path / "m.mdp").read()
    assert "rcoulomb = 0.9" in mdp and "tcoupl = v-rescale" in mdp and "DispCorr = EnerPres" in mdp


def test_gromacs_log_parse(tmp_path):
    log = tmp_path / "md.log"
    log.write_text(
        "   fourier-nx                     = 40\n   fourier-ny = 42\n   fourier-nz = 40\n"
        "   pme-order                      = 4\n"
        "Using a Gaussian width (1/beta) of 0.288146 nm for Ewald\n"
        "               Core t (s)   Wall t (s)        (%)\n"
        "       Time:        6.123        6.123      100.0\n"
        "                 (ns/day)    (hour/ns)\nPerformance:       14.112        1.701\n"
        "Conserved energy drift: 1.23e-03 kJ/mol/ps per atom\n"
    )
    r = peer_gromacs.parse_log(str(log))
    assert r["grid"] == [40, 42, 40] and r["pme_order"] == 4 and r["ns_per_day"] == 14.112
    assert r["core_s"] == 6.123 and r["alpha_per_A"] == pytest.approx(1 / 2.88146)
    assert r["drift_kJ_mol_ps_atom"] == 1.23e-3


@pytest.mark.skipif(shutil.which("gmx") is None and not os.environ.get("ZZHPC_GMX"), reason="GROMACS not installed")
def test_gromacs_accepts_the_box(tmp_path):
    x, L = water_box(512, "tip3p", seed=1)
    peer_gromacs.prepare(str(tmp_path), x.reshape(-1, 3), L, "tip3p", 9.0, steps=20, minimise_steps=5)
    r = peer_gromacs.mdrun(str(tmp_path), 1, tag="t")
    assert r["ns_per_day"] > 0 and r["grid"] and r["alpha_per_A"] > 0.3 and r["maxrss_mb"] > 0
    assert peer_gromacs.gmx_version()["precision"] in ("mixed", "double")


GMX = pytest.mark.skipif(
    shutil.which("gmx") is None and not os.environ.get("ZZHPC_GMX"), reason="GROMACS (gmx) not installed"
)


@GMX
def test_gromacs_nve_energies_and_drift_fit(tmp_path):
    """A real GROMACS NVE (512 TIP3P, 200 steps): the .xvg that ``gmx energy`` writes is read by legend,
    in the units the fit expects, and its end-to-end slope is GROMACS's own "Conserved energy drift"."""
    from zzhpc.solvers.water.drift import gromacs_drift

    x, L = water_box(512, "tip3p", seed=1)
    v = np.random.default_rng(2).normal(0.0, 0.005, (1536, 3))  # A/fs, about 300 K for the oxygens
    g = peer_gromacs.nve_energies(str(tmp_path), x.reshape(-1, 3), v, L, "tip3p", 9.0, 200, energy_every=10)
    assert g["molecules"] == 512 and g["time_ps"].shape == (21,)
    assert np.allclose(np.diff(g["time_ps"]), 0.02) and np.all(g["ke"] > 0)
    own = (g["etotal"][-1] - g["etotal"][0]) / (g["time_ps"][-1] - g["time_ps"][0]) / 1536  # kJ/mol/ps per atom
    assert own == pytest.approx(g["drift_kJ_mol_ps_atom"], rel=6e-3)  # the log prints 3 digits
    d = gromacs_drift(g)
    assert d["samples"] == 20 and d["span_ns"] == pytest.approx(0.38e-3)
    kcal = np.polyfit(g["time_ps"][1:] * 1e-3, g["etotal"][1:] / 4.184, 1)[0] / 512
    assert d["drift"] == pytest.approx(kcal, rel=1e-12) and d["error"] > 0
    # GROMACS's PME of this box is the one computed without it (the fallback of the quick form).
    pme = peer_gromacs.default_pme(L, 9.0)
    assert pme["grid"] == g["grid"] and pme["pme_order"] == g["pme_order"] == 4
    assert pme["alpha_per_A"] == pytest.approx(g["alpha_per_A"], rel=1e-5)


def test_energy_drift_recovers_a_slope_and_its_error():
    """A line plus correlated noise (an AR(1) series, correlation time 20 samples): the fit finds the
    slope within 3 block errors, and the block error is the scatter of the slope over 200 such series."""
    from scipy.signal import lfilter

    from zzhpc.solvers.water.drift import energy_drift

    rng = np.random.default_rng(7)
    t = np.linspace(0.0, 0.1, 5000)  # ns
    slopes, errors = [], []
    for _ in range(200):
        noise = lfilter([1.0], [1.0, -0.95], rng.normal(0.0, 1.0, t.size))
        d = energy_drift(t, -1000.0 + 50.0 * t + noise, np.full_like(t, 500.0), nmol=10)
        slopes.append(d["drift"])
        errors.append(d["error"])
    slopes = np.array(slopes)
    assert abs(np.mean(slopes) - 5.0) < 3.0 * np.std(slopes) / np.sqrt(200)
    assert 0.7 < np.median(errors) / np.std(slopes) < 1.4


def test_drift_rule_fails_a_mixed_drift_worse_than_gromacs():
    """The pass rule: |d_mixed| <= max(|d_GROMACS| + 2 sigma, floor)."""
    from zzhpc.core.metric import Metric
    from zzhpc.solvers.water.drift import DRIFT_FLOOR, drift_threshold

    gmx = {"drift": -0.10, "error": 0.01}

    def passes(d, e):
        thr = drift_threshold({"drift": d, "error": e}, gmx)
        return Metric("rule", abs(d), None, thr, "max").passed

    assert not passes(0.50, 0.01)  # five times GROMACS's, well resolved: fails
    assert not passes(-0.13, 0.001)  # beyond 2 sigma (0.02)
    assert passes(0.11, 0.01)  # within the errors of both
    assert passes(0.001, 0.0001)
    assert drift_threshold({"drift": 0.0, "error": 0.0}, {"drift": 0.0, "error": 0.0}) == DRIFT_FLOOR
    assert passes(0.5, 0.3)  # a run too short to resolve its drift is not called worse


def test_mixed_on_a_device_without_float64(tmp_path):
    """numpy32 (no float64) runs water in the mixed mode: float32 state, pairwise float32 sums; its
    thermo follows the float64 run's within the float32 tolerance."""
    import json
    import subprocess
    import sys

    sys.path.insert(0, os.path.dirname(__file__))
    from conftest import ROOT, install_example_package, zzhpc_cmd
    from zzhpc.core.harness import write_deck as write_toml

    env = install_example_package("backend_plugin", tmp_path / "plugin")
    rows = {}
    for name, backend in (
        ("f64", {"precision": "uniform"}),
        ("n32", {"name": "numpy32", "dtype": "float32", "precision": "mixed"}),
    ):
        deck = water_deck(
            {"molecules": 216, "ensemble": "nve", "minimise_steps": 5}, {"steps": 10, "diag_every": 10}, backend=backend
        )
        deck["output"] = dict(deck["output"], dir=str(tmp_path / name))
        write_toml(deck, str(tmp_path / f"{name}.toml"))
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
    a, b = rows["f64"], rows["n32"]
    assert b["precision"] == "mixed" and b["dtype"] == "float32"
    assert b["results"]["thermo"]["etotal"] == pytest.approx(a["results"]["thermo"]["etotal"], rel=1e-4)
    # LJ MD (in.lj, 864 atoms) likewise.
    from zzhpc.solvers.md.cases_common import md_deck

    for name, backend in (
        ("md64", {"precision": "uniform"}),
        ("md32", {"name": "numpy32", "dtype": "float32", "precision": "mixed"}),
    ):
        deck = md_deck(run={"steps": 20, "diag_every": 20}, backend=backend)
        deck["output"] = dict(deck["output"], dir=str(tmp_path / name))
        write_toml(deck, str(tmp_path / f"{name}.toml"))
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
    assert rows["md32"]["results"]["pair_precision"] == "float32"
    assert rows["md32"]["results"]["thermo"]["etotal"] == pytest.approx(
        rows["md64"]["results"]["thermo"]["etotal"], rel=1e-5
    )


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("gmx") is None and not os.environ.get("ZZHPC_GMX"), reason="GROMACS not installed")
def test_quick_benchmark_against_gromacs():
    """The quick form of `zzhpc bench water_tip3p_gromacs`: GROMACS and zzhpc (mixed with atom and with
    cluster pairs, float64) on 1 and 2 ranks, zzhpc given GROMACS's Ewald coefficient, grid and order."""
    from zzhpc.solvers.water.cases_gromacs import bench_gromacs

    rows = bench_gromacs(True)
    want = [(n, p, s) for n in (1, 2) for p, s in (("mixed", "atom"), ("mixed", "cluster"), ("float64", "atom"))]
    assert [(r["ranks"], r["precision"], r["pair_scheme"]) for r in rows] == want
    for r in rows:
        assert r["zzhpc_s_per_step"] > 0 and r["peer_ns_per_day"] > 0
        assert r["ratio_ns_per_day"] == pytest.approx(r["zzhpc_ns_per_day"] / r["peer_ns_per_day"])
        assert r["zzhpc_pme"]["alpha"] == r["peer_pme"]["alpha"] and r["zzhpc_pme"]["grid"] == r["peer_pme"]["grid"]
        assert r["zzhpc_pme"]["order"] == r["peer_pme"]["order"] == 4
        assert r["peer_version"]["precision"] and r["peer_version"]["simd"]
        assert r["peer_rss_bytes_per_molecule"] > 0 and r["zzhpc_bytes_per_molecule"] > 0
    assert "-pin on" in rows[0]["peer_command"] and "-ntmpi 2" in rows[3]["peer_command"]


@pytest.mark.parametrize("name", ["water_pair_forces", "md_lj_forces"])
def test_mixed_reference_on_torch_matches_numpy(name):
    from zzhpc.device import backend_status

    ok, why = backend_status().get("torch", (False, "not registered"))
    if not ok:
        pytest.skip(f"torch: {why}")
    be = get_backend("torch")
    k = kernel_registry()[name]
    args, _ = k["sample"](np.random.default_rng(5))

    def to(o):
        if isinstance(o, np.ndarray):
            return be.asarray(o.copy())
        return {a: to(b) for a, b in o.items()} if isinstance(o, dict) else o

    ref = k["generic"](*args, mixed=True)
    got = k["generic"](*[to(a) for a in args], mixed=True)
    for g, r in zip(got, ref):
        r = np.asarray(r)
        assert np.max(np.abs(be.to_host(g) - r)) <= 1e-6 * max(1.0, float(np.max(np.abs(r))))


@pytest.mark.slow
def test_quick_validation_case_passes():
    """`zzhpc validate water_mixed_precision --quick`, the CI form (about a minute on a quiet core)."""
    from zzhpc.core.registry import validation_cases

    metrics = validation_cases()["water_mixed_precision"]["run"](True)
    have_gmx = shutil.which("gmx") is not None or bool(os.environ.get("ZZHPC_GMX"))
    assert len(metrics) == (15 if have_gmx else 12)
    assert any("GROMACS" in m.name for m in metrics) == have_gmx
    assert all(m.passed for m in metrics), [(m.name, m.measured) for m in metrics if not m.passed]
