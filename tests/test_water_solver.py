"""Water solver: SETTLE, thermostat and barostat maths, NVE/NVT/NPT runs, restart, outputs, errors."""

import math
import os
import subprocess

import numpy as np
import pytest

from conftest import ROOT, read_summary, run_zzhpc
from zzhpc.core.harness import run_deck, write_deck
from zzhpc.particles import analysis, coupling
from zzhpc.solvers.water.cases_common import water_deck
from zzhpc.solvers.water.models import get_model
from zzhpc.solvers.water.settle import SettleGeometry, settle_positions, settle_velocities

SMALL = {"molecules": 125, "cutoff": 6.0, "skin": 1.0, "minimise_steps": 10, "plots": False}


def random_molecules(model, n, rng, box=20.0):
    """``(n, 3, 3)`` rigid molecules of ``model`` at random positions and orientations."""
    from zzhpc.solvers.water.builder import molecule_frame, random_rotations

    rot = random_rotations(rng, n)
    return rng.uniform(0, box, (n, 1, 3)) + np.einsum("mij,aj->mai", rot, molecule_frame(model))


@pytest.mark.parametrize("name", ["spce", "tip3p"])
def test_settle_restores_geometry_and_conserves_momenta(name, backend):
    model = get_model(name)
    g = SettleGeometry(model)
    rng = np.random.default_rng(3)
    x0 = random_molecules(model, 400, rng)
    x1 = x0 + rng.normal(scale=0.04, size=x0.shape)  # an unconstrained step
    m = np.asarray(g.masses())[None, :, None]
    x3, _ = settle_positions(backend.asarray(x0), backend.asarray(x1), g, 2.0)
    x3 = np.asarray(backend.to_host(x3))
    for (a, b), d in (((0, 1), model.r_OH), ((0, 2), model.r_OH), ((1, 2), model.r_HH)):
        assert np.max(np.abs(np.linalg.norm(x3[:, b] - x3[:, a], axis=1) - d)) < 1e-12
    # The correction keeps the centre of mass and exerts no torque (constraint forces along old bonds).
    dx = x3 - x1
    assert np.max(np.abs((m * dx).sum(axis=1))) < 1e-12
    assert np.max(np.abs(np.cross(x0 - x0[:, :1], m * dx).sum(axis=1))) < 1e-12
    v = rng.normal(scale=0.01, size=x3.shape)
    vn, _ = settle_velocities(backend.asarray(x3), backend.asarray(v), g, 2.0)
    vn = np.asarray(backend.to_host(vn))
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert np.max(np.abs(np.sum((vn[:, b] - vn[:, a]) * (x3[:, b] - x3[:, a]), axis=1))) < 1e-15
    assert np.max(np.abs((m * (vn - v)).sum(axis=1))) < 1e-15
    assert np.max(np.abs(np.cross(x3, m * (vn - v)).sum(axis=1))) < 1e-13


def test_svr_samples_the_canonical_kinetic_energy():
    """Stationary K of SVR: mean N_f kT/2 and variance N_f (kT)^2 / 2 (Bussi et al. 2007)."""
    nf, kbar, k = 40, 20.0, 3.0
    ks = []
    for step in range(30000):
        k = coupling.svr_kinetic_energy(k, kbar, nf, 1.0, 4.0, coupling.coupling_rng(7, step, 1))
        ks.append(k)
    ks = np.asarray(ks[500:])
    assert ks.mean() == pytest.approx(kbar, rel=0.02)
    assert ks.var() == pytest.approx(2 * kbar**2 / nf, rel=0.1)
    # Same (seed, step, stream), same numbers: what makes runs independent of the rank count.
    assert coupling.coupling_rng(7, 5, 1).standard_normal() == coupling.coupling_rng(7, 5, 1).standard_normal()


def test_c_rescale_strain_drifts_towards_the_target_pressure():
    kw = dict(volume=15000.0, kT=0.596, compressibility=4.56e-5, dt=20.0, tau_p=1000.0, nktv2p=68568.415)
    up = [coupling.c_rescale_strain(2000.0, 1.0, rng=coupling.coupling_rng(1, s, 2), **kw) for s in range(2000)]
    down = [coupling.c_rescale_strain(-2000.0, 1.0, rng=coupling.coupling_rng(1, s, 2), **kw) for s in range(2000)]
    drift = 4.56e-5 / 1000.0 * 1999.0 * 20.0
    assert np.mean(up) > 0.5 * drift and np.mean(down) < -0.5 * drift
    eps = coupling.c_rescale_strain(1.0, 1.0, rng=coupling.coupling_rng(1, 0, 2), **kw)
    assert coupling.c_rescale_factor(1.0, 1.0, rng=coupling.coupling_rng(1, 0, 2), **kw) == math.exp(eps / 3.0)


def test_rdf_of_an_ideal_gas_and_diffusion_of_a_random_walk():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 20.0, (3000, 3))
    r, g = analysis.rdf(x, [20.0] * 3, 9.5, nbins=40)
    assert np.mean(g[8:]) == pytest.approx(1.0, abs=0.02)
    walk = np.cumsum(rng.normal(size=(300, 400, 3)), axis=0)  # D = 1/2 per step
    lags, m = analysis.msd(walk, max_lag=60)
    d, _ = analysis.self_diffusion(lags, m)
    assert d == pytest.approx(0.5, rel=0.05)
    rr = np.linspace(2, 4, 41)
    pos, h = analysis.first_peak(rr, 3.0 - (rr - 2.77) ** 2)
    assert pos == pytest.approx(2.77, abs=1e-9) and h == pytest.approx(3.0, abs=1e-9)


def test_nve_conserves_energy_and_constraints(tmp_path):
    s, rows = run_deck(
        water_deck(dict(SMALL, ensemble="nve", ewald_tolerance=1e-5), {"steps": 60, "dt": 1.0, "diag_every": 10}),
        str(tmp_path),
    )
    e = np.array([r["etotal"] for r in rows])
    ke = np.mean([r["ke"] for r in rows])
    assert np.max(np.abs(e - e[0])) < 5e-3 * ke, e
    assert s["results"]["constraint_error_A"] < 1e-10
    assert rows[0]["conserved"] == rows[0]["etotal"] and rows[-1]["conserved"] == rows[-1]["etotal"]


def test_thermostat_brings_the_temperature_to_the_target(tmp_path):
    _, rows = run_deck(
        water_deck(dict(SMALL, ensemble="nvt", temperature=250.0, tau_t=20.0), {"steps": 300, "diag_every": 10}),
        str(tmp_path),
    )
    late = [r["temp"] for r in rows if r["step"] >= 150]
    assert np.mean(late) == pytest.approx(250.0, rel=0.05)
    # The energy the thermostat took out (hundreds of kcal/mol here) is accounted for in the conserved quantity.
    cons = np.array([r["conserved"] for r in rows])
    etot = np.array([r["etotal"] for r in rows])
    assert np.max(np.abs(cons - cons[0])) < 0.02 * np.max(np.abs(etot - etot[0]))


def test_barostat_compresses_a_dilute_start(tmp_path):
    _, rows = run_deck(
        water_deck(
            dict(SMALL, ensemble="npt", density=0.85, tau_p=200.0, pcouple_every=2), {"steps": 200, "diag_every": 20}
        ),
        str(tmp_path),
    )
    assert rows[0]["press"] < -500.0
    assert rows[-1]["density"] > rows[0]["density"] + 0.02
    assert rows[-1]["volume"] < rows[0]["volume"]


@pytest.mark.parametrize("kernels", ["auto", "reference"])
def test_two_level_lists_miss_no_pair(tmp_path, monkeypatch, kernels):
    """At every force evaluation of an NPT run (box moving, oxygens and hydrogens moving), the pairs
    from the outer molecule list pruned to atom pairs give the energies, virial and forces of a list
    built afresh from all atoms with the bare cutoff: the two skins never let a pair slip."""
    from zzhpc.device import get_kernel
    from zzhpc.solvers.water.solver import WaterSolver

    seen = []
    forces = WaterSolver._forces

    def checked(self):
        forces(self)
        n, dom = self.nlocal, self.domain
        lo, hi = dom.bin_region()
        fresh = get_kernel("md_neighbor_list", self.backend)(self.x, n, lo, hi, self.params["cutoff"], True)
        f, en, w = self.ff.compute(self.x, self.types, self.molid, n, fresh, half=True)
        dom.reverse_comm(f.reshape(-1, 9))
        assert en["total"] == pytest.approx(self.energies["total"], rel=1e-12, abs=1e-9)
        assert en["lj"] == pytest.approx(self.energies["lj"], rel=1e-12, abs=1e-9)
        assert w == pytest.approx(self.virial, rel=1e-11, abs=1e-8)
        np.testing.assert_allclose(f[:n], self.fm.reshape(-1, 3), rtol=0, atol=1e-9 * np.abs(f[:n]).max())
        seen.append((self.nbuilds, self.nprunes))

    monkeypatch.setattr(WaterSolver, "_forces", checked)
    w = dict(
        SMALL,
        ensemble="npt",
        pcouple_every=2,
        tau_p=200.0,
        skin=0.4,
        molecule_skin=0.6,
        kernels=kernels,
        minimise_steps=0,
    )
    s, _ = run_deck(water_deck(w, {"steps": 40, "diag_every": 10}), str(tmp_path))
    builds, prunes = seen[-1]
    assert len(seen) == 41 and builds >= 2 and prunes >= builds + 3, seen[-1]
    assert s["results"]["list_prunes"] == prunes


def test_restart_is_bitwise_and_outputs_are_written(tmp_path):
    w = dict(SMALL, ensemble="npt", pcouple_every=3, sample_every=5, plots=True)
    deck = water_deck(w, {"steps": 30, "diag_every": 5, "checkpoint_every": 15, "output_every": 10})
    deck["output"]["fields"] = True
    s1, full = run_deck(deck, str(tmp_path / "a"))
    ck = str(tmp_path / "a" / "checkpoints" / "ckpt_0000000015.h5")
    s2, cont = run_deck(water_deck(w, {"steps": 30, "diag_every": 5, "restart": ck}), str(tmp_path / "b"))
    assert cont == [r for r in full if r["step"] > 15]
    # Both list levels were rebuilt during the run, so the restart replayed an outer build and a prune.
    assert s1["results"]["list_prunes"] > s1["results"]["neigh_builds"] >= 2
    assert s1["results"]["analysis"] == s2["results"]["analysis"]
    assert s1["results"]["analysis"]["rdf_frames"] == 6
    for f in ("rdf_oo.png", "density.png", "trajectory.h5md"):
        assert (tmp_path / "a" / f).stat().st_size > 0
    # The trajectory opens in MDAnalysis (peer environment): atoms, frames, whole molecules, box.
    py = ROOT / ".peers" / "bin" / "python"
    if not py.exists():
        pytest.skip("no peer environment (.peers/)")
    code = (
        "import sys, numpy as np, MDAnalysis as mda\n"
        "u = mda.Universe(sys.argv[1])\n"
        "x = [(ts.positions.reshape(-1, 3, 3).copy(), ts.dimensions[0]) for ts in u.trajectory]\n"
        "d = max(float(np.max(np.abs(np.linalg.norm(f[:, 1] - f[:, 0], axis=1) - 1.0))) for f, _ in x)\n"
        "print(len(u.atoms), len(u.trajectory), d, x[-1][1])\n"
    )
    proc = subprocess.run(
        [str(py), "-c", code, str(tmp_path / "a" / "trajectory.h5md")], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    n, frames, d, edge = proc.stdout.split()
    assert int(n) == 375 and int(frames) == 4 and float(d) < 1e-5
    assert float(edge) == pytest.approx(full[-1]["volume"] ** (1 / 3), rel=1e-5)


def test_bad_input_is_one_line_exit_2(tmp_path):
    cases = [
        ({"cutoff": 9.0}, "water.cutoff"),  # cutoff + skin beyond half the box
        ({"model": "tip4p"}, "water.model"),
        ({"ensemble": "nph"}, "water.ensemble"),
    ]
    for i, (bad, key) in enumerate(cases):
        path = tmp_path / f"bad{i}.toml"
        write_deck(water_deck(dict(SMALL, **bad), {"steps": 1}, output={"dir": str(tmp_path / "out")}), str(path))
        proc = run_zzhpc(0, "run", path)
        lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("zzhpc")]
        assert proc.returncode == 2 and len(lines) == 1 and key in lines[0], proc.stderr[-1500:]
    # A checkpoint of another system is refused, naming the file.
    run_deck(water_deck(SMALL, {"steps": 2}), str(tmp_path / "c"))
    ck = tmp_path / "c" / "checkpoints" / "ckpt_0000000002.h5"
    path = tmp_path / "other.toml"
    write_deck(
        water_deck(dict(SMALL, molecules=150), {"steps": 4, "restart": str(ck)}, output={"dir": str(tmp_path / "d")}),
        str(path),
    )
    proc = run_zzhpc(0, "run", path)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("zzhpc")]
    assert proc.returncode == 2 and len(lines) == 1 and "125 molecules" in lines[0], proc.stderr[-1500:]
    assert os.path.exists(ck)


def test_example_decks_are_valid():
    from zzhpc.config.loader import load_deck
    from zzhpc.core.deck import resolve

    for name in ("water_spce.toml", "water_tip3p.toml"):
        _, cfg = resolve(load_deck(str(ROOT / "examples" / name)), 2, base_dir=str(ROOT / "examples"))
        assert cfg["solver"] == "water"


def test_numpy_and_torch_runs_agree(tmp_path):
    """The solver is written once against xp: the torch backend follows the numpy run (NPT)."""
    from zzhpc.device import backend_status

    ok, why = backend_status()["torch"]
    if not ok:
        pytest.skip(f"torch backend not available: {why}")
    deck = water_deck(dict(SMALL, ensemble="npt", pcouple_every=2, minimise_steps=3), {"steps": 10, "diag_every": 5})
    _, a = run_deck(deck, str(tmp_path / "np"))
    _, b = run_deck(dict(deck, backend={"name": "torch"}), str(tmp_path / "torch"))
    for x, y in zip(a, b):
        for k in ("pe", "ke", "press", "volume"):
            assert y[k] == pytest.approx(x[k], rel=1e-10), (k, x["step"])


@pytest.mark.peers
@pytest.mark.slow
def test_quick_benchmark_times_zzhpc_and_openmm_on_the_same_box(peer_py):
    """The quick form of `zzhpc bench water_tip3p_openmm`: real MPI ranks and OpenMM in the same run."""
    from zzhpc.solvers.water.cases import bench_tip3p

    rows = bench_tip3p(True)
    assert [r["ranks"] for r in rows] == [1, 2]
    for r in rows:
        assert r["zzhpc_s_per_step"] > 0 and r["peer_s_per_step"] > 0 and r["zzhpc_bytes_per_molecule"] > 0
        assert r["ratio_ns_per_day"] == pytest.approx(r["peer_s_per_step"] / r["zzhpc_s_per_step"])
        assert r["zzhpc_pme"]["grid"] and r["peer_pme"]["alpha"] == pytest.approx(r["zzhpc_pme"]["alpha"], rel=1e-6)
        # Processor time of all ranks: single-threaded ranks use at most about one core each (the lower
        # bound only says it was counted: a loaded machine gives a rank much less than a core).
        assert 0.05 * r["ranks"] < r["zzhpc_cpu_s_per_step"] / r["zzhpc_s_per_step"] < 1.5 * r["ranks"]
    # One rank: OpenMM also pinned to one core.
    assert rows[0]["peer_1core_s_per_step"] > 0 and rows[0]["peer_1core_cpu_s_per_step"] > 0
    assert "peer_1core_s_per_step" not in rows[1]


def test_restart_in_the_same_folder_replaces_later_frames_and_keeps_npt_box(tmp_path):
    """A run checkpointed at step 10 went on to 15 (frame 15 written) and restarts from step 10 in its own
    folder: the H5MD file ends with the frames of the uninterrupted run (15 rewritten), box edges per frame."""
    w = dict(SMALL, ensemble="npt", pcouple_every=2, tau_p=100.0)
    run = {"diag_every": 5, "output_every": 5, "checkpoint_every": 10}
    deck = water_deck(w, dict(run, steps=20))
    deck["output"]["fields"] = True
    run_deck(deck, str(tmp_path / "full"))
    part = dict(deck, run=dict(deck["run"], steps=15))
    run_deck(part, str(tmp_path / "a"))
    ck = str(tmp_path / "a" / "checkpoints" / "ckpt_0000000010.h5")
    run_deck(dict(deck, run=dict(deck["run"], restart=ck)), str(tmp_path / "a"))
    import h5py

    with h5py.File(tmp_path / "a" / "trajectory.h5md") as fa, h5py.File(tmp_path / "full" / "trajectory.h5md") as ff:
        ga, gf = fa["particles/trajectory"], ff["particles/trajectory"]
        assert list(ga["position/step"][()]) == list(gf["position/step"][()]) == [0, 5, 10, 15, 20]
        np.testing.assert_array_equal(ga["position/value"][()], gf["position/value"][()])
        edges = ga["box/edges/value"][()]
        np.testing.assert_array_equal(edges, gf["box/edges/value"][()])
        assert len(set(edges[:, 0])) == 5  # the barostat moved the box between frames


def test_cli_requeue_on_more_ranks_in_the_same_folder(tmp_path):
    """The Slurm-requeue path through the CLI: a 2-rank NPT run stopped at step 10 (checkpoint, frames
    written), then `mpiexec -n 3 zzhpc run ... --restart auto` into the same folder: thermo and trajectory
    follow the uninterrupted 2-rank run."""
    from zzhpc.io.summary import read_csv_rows
    import h5py

    w = dict(SMALL, ensemble="npt", pcouple_every=2)
    run = {"diag_every": 5, "output_every": 5, "checkpoint_every": 10}
    decks = {}
    for name, steps in (("full", 20), ("short", 10), ("long", 20)):
        d = water_deck(
            w,
            dict(run, steps=steps),
            output={"dir": str(tmp_path / ("full" if name == "full" else "a")), "fields": True},
        )
        decks[name] = tmp_path / f"{name}.toml"
        write_deck(d, str(decks[name]))
    run_zzhpc(2, "run", decks["full"], "-q", check=True)
    run_zzhpc(2, "run", decks["short"], "-q", check=True)
    run_zzhpc(3, "run", decks["long"], "-q", "--restart", "auto", check=True)
    rows = {d: read_csv_rows(tmp_path / d / "diagnostics.csv") for d in ("full", "a")}
    assert [r["step"] for r in rows["a"]] == [r["step"] for r in rows["full"]] == ["0", "5", "10", "15", "20"]
    for ra, rf in zip(rows["a"], rows["full"]):
        for k in ("pe", "ke", "press", "volume"):
            assert float(ra[k]) == pytest.approx(float(rf[k]), rel=1e-9), (k, ra["step"])
    s = read_summary(tmp_path / "a")
    assert s["ranks"] == 3 and s["restarted_from"].endswith("ckpt_0000000010.h5")
    with h5py.File(tmp_path / "a" / "trajectory.h5md") as fa, h5py.File(tmp_path / "full" / "trajectory.h5md") as ff:
        ga, gf = fa["particles/trajectory"], ff["particles/trajectory"]
        assert list(ga["position/step"][()]) == [0, 5, 10, 15, 20]
        np.testing.assert_allclose(ga["position/value"][()], gf["position/value"][()], atol=1e-9)
