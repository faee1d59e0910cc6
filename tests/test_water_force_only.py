"""Force-only steps of water (solver.FORCE_ONLY_STEPS): the cluster kernel's force-only and force+virial
variants give the forces of the full kernel bit for bit, and a run's every output (thermo rows, results)
is bitwise that of computing energies and virial every step, in float64 and mixed, NVE and NPT."""

import numpy as np
import pytest

from zzhpc.core.harness import run_deck
from zzhpc.device import kernel_registry
from zzhpc.solvers.water import forcefield, kernels_mixed
from zzhpc.solvers.water import solver as water_solver
from zzhpc.solvers.water.cases_common import water_deck
from zzhpc.solvers.water.kernels_cluster_numba import cluster_forces_numba
from zzhpc.solvers.water.kernels_numba import pair_forces_numba

REG = kernel_registry()["water_cluster_forces"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [5, 6])
def test_kernel_variants_give_the_full_forces(dtype, seed):
    args, _ = REG["sample"](np.random.default_rng(seed))
    args = (args[0].astype(dtype),) + args[1:]
    full = cluster_forces_numba(*args)
    fv = cluster_forces_numba(*args, energy=False)
    fo = cluster_forces_numba(*args, energy=False, virial=False)
    assert np.all(np.isfinite(full[0])) and np.any(full[0] != 0)
    assert np.array_equal(fv[0], full[0]) and np.array_equal(fo[0], full[0])
    assert float(fv[3]) == float(full[3])  # the virial of the force+virial variant, bitwise
    assert np.isnan(float(fv[1])) and np.isnan(float(fv[2])) and np.isnan(float(fo[3]))
    # the reference takes the same flags (one signature for every kernel of the name)
    ref = REG["generic"](*args, energy=False)
    assert np.isnan(float(ref[1])) and float(ref[3]) == float(REG["generic"](*args)[3])


def _runs(tmp_path, monkeypatch, water, run, prec, scheme="cluster"):
    rows, summ = {}, {}
    for on in (True, False):
        monkeypatch.setattr(water_solver, "FORCE_ONLY_STEPS", on)
        deck = water_deck(dict(water, pair_scheme=scheme), run, backend={"precision": prec})
        summ[on], rows[on] = run_deck(deck, str(tmp_path / f"{prec}_{on}"))
    return summ, rows


@pytest.mark.parametrize("prec", ["uniform", "mixed"])
def test_nve_outputs_bitwise_with_force_only_steps(tmp_path, monkeypatch, prec):
    """216 SPC/E, NVE, 24 steps, diagnostics every 6 (so 5 of 6 steps are force-only), thermo every 4
    (other steps again): every row and the results equal, to the last bit."""
    calls = []
    kern = water_solver.WaterForceField.compute

    def counted(self, *a, **kw):
        calls.append(kw.get("energy", True))
        return kern(self, *a, **kw)

    monkeypatch.setattr(water_solver.WaterForceField, "compute", counted)
    refresh = water_solver.WaterSolver._refresh_energies
    late = []

    def counted_refresh(self):
        late.append(self.step)
        refresh(self)

    monkeypatch.setattr(water_solver.WaterSolver, "_refresh_energies", counted_refresh)
    w = {"molecules": 216, "ensemble": "nve", "minimise_steps": 3, "skin": 0.6, "molecule_skin": 0.5}
    summ, rows = _runs(tmp_path, monkeypatch, w, {"steps": 24, "diag_every": 6, "thermo_every": 4}, prec)
    assert calls.count(False) >= 12  # force-only calls did happen in the first run
    assert late == []  # every output step was foreseen: no energies computed after the fact
    assert rows[True] == rows[False] and len(rows[True]) >= 4
    assert summ[True]["results"]["energies"] == summ[False]["results"]["energies"]
    assert summ[True]["results"]["thermo"] == summ[False]["results"]["thermo"]


def test_npt_outputs_bitwise_with_force_only_steps(tmp_path, monkeypatch):
    """NPT (c-rescale every 3 steps, the pressure from the virial of every step), mixed: bitwise."""
    w = {
        "molecules": 216,
        "ensemble": "npt",
        "minimise_steps": 3,
        "skin": 0.6,
        "molecule_skin": 0.5,
        "pcouple_every": 3,
    }
    summ, rows = _runs(tmp_path, monkeypatch, w, {"steps": 18, "diag_every": 9}, "mixed")
    assert rows[True] == rows[False]
    assert rows[True][-1]["volume"] != rows[True][0]["volume"]  # the barostat moved the box


@pytest.mark.parametrize("fit", [False, True])
def test_atom_scheme_mixed_force_only_bitwise(tmp_path, monkeypatch, fit):
    """The atom scheme's mixed kernel with force-only calls (forcefield.ATOM_FORCE_ONLY), in either real-space
    form: forces bitwise those of the full call, and a run's rows bitwise."""
    monkeypatch.setattr(forcefield, "ATOM_FORCE_ONLY", True)
    monkeypatch.setattr(kernels_mixed, "USE_FIT", fit)
    args, _ = kernel_registry()["water_pair_forces"]["sample"](np.random.default_rng(3))
    full = pair_forces_numba(*args, mixed=True)
    fo = pair_forces_numba(*args, mixed=True, energy=False, virial=False)
    fv = pair_forces_numba(*args, mixed=True, energy=False)
    assert np.array_equal(fo[0], full[0]) and np.array_equal(fv[0], full[0]) and float(fv[3]) == float(full[3])
    assert np.isnan(float(fo[1])) and np.isnan(float(fo[3]))
    w = {"molecules": 216, "ensemble": "nve", "minimise_steps": 3, "skin": 0.6, "molecule_skin": 0.5}
    summ, rows = _runs(tmp_path, monkeypatch, w, {"steps": 12, "diag_every": 6}, "mixed", scheme="atom")
    assert summ[True]["results"]["pair_scheme"] == "atom"
    assert rows[True] == rows[False]
