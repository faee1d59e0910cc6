"""The cluster-pair scheme of water (clusters.py, water_cluster_forces): layout invariants, the pairs it
holds against the atom scheme's, the kernels against each other and against the atom kernels, runs,
restart and the deck key."""

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.core.harness import run_deck
from zzhpc.device import get_backend, get_kernel, kernel_registry
from zzhpc.particles import Domain
from zzhpc.solvers.water import clusters, molecules, pairlist
from zzhpc.solvers.water.builder import water_box
from zzhpc.solvers.water.cases_common import water_deck
from zzhpc.solvers.water.forcefield import WaterForceField
from zzhpc.solvers.water.kernels_cluster_numba import cluster_forces_numba
from zzhpc.solvers.water.models import get_model
from zzhpc.solvers.water.solver import AUTO_CLUSTER_WHEN_MIXED

BE = get_backend("numpy")
COMM = MPI.COMM_SELF
REG = kernel_registry()["water_cluster_forces"]
SMALL = {"molecules": 125, "cutoff": 6.0, "skin": 1.0, "minimise_steps": 5, "plots": False}


def _rms_rel(a, b):
    return float(np.sqrt(np.sum((a - b) ** 2) / np.sum(b**2)))


def _pairs(rows):
    return set(map(tuple, np.sort(np.asarray(rows), axis=1)))


@pytest.fixture(scope="module")
def box():
    """216 TIP3P molecules off the builder's lattice (rigid random shifts), whole, oxygens in the box;
    ghosts, molecule list and both schemes' lists as the solver builds them (cutoff 8, skins 1)."""
    nmol, cut, skin, mskin = 216, 8.0, 1.0, 1.0
    model = get_model("tip3p")
    x, L = water_box(nmol, "tip3p", seed=11)
    x = (x.reshape(-1, 3, 3) + np.random.default_rng(3).uniform(-0.05, 0.05, (nmol, 1, 3))).reshape(nmol, 3, 3)
    x = x - np.floor(x[:, :1, :] / L[0]) * L[0]
    dom = Domain(COMM, BE, [0.0] * 3, list(L), [True] * 3, molecules.ghost_cutoff(cut, skin, mskin, model))
    rows, mid = dom.borders(BE.asarray(x.reshape(nmol, 9)), BE.asarray(np.arange(nmol, dtype=np.int64)))
    xa = np.ascontiguousarray(rows.reshape(-1, 3))
    lo, hi = dom.bin_region()
    outer = pairlist.outer_cutoff(cut, skin, mskin, model.r_OH)
    mneigh = get_kernel("md_neighbor_list", BE)(np.ascontiguousarray(rows[:, 0:3]), nmol, lo, hi, outer, True)
    types = np.tile(np.array([0, 1, 1], np.int64), xa.shape[0] // 3)
    mol = np.repeat(np.arange(xa.shape[0] // 3), 3)
    gid = (3 * np.repeat(mid, 3) + np.tile(np.arange(3), mid.size)).astype(np.int64)
    return {
        "x": xa,
        "x0": x,
        "L": L,
        "nmol": nmol,
        "cut": cut,
        "skin": skin,
        "mneigh": mneigh,
        "types": types,
        "mol": mol,
        "dom": dom,
        "outer": outer,
        "gid": gid,
    }


def _clusters(box, x=None, dtype=np.float32):
    x = box["x"] if x is None else x
    return clusters.ClusterPairList.on_domain(BE, box["dom"], x, box["types"], 3 * box["nmol"], box["outer"], dtype)


def _within(x, L, cut):
    """Global-id pairs (a < b) of intermolecular sites closer than ``cut`` by minimum image."""
    flat = x.reshape(-1, 3)
    a, b = np.triu_indices(flat.shape[0], 1)
    d = flat[a] - flat[b]
    d -= np.asarray(L) * np.round(d / np.asarray(L))
    want = (np.sum(d * d, axis=1) < cut * cut) & (a // 3 != b // 3)
    return a[want], b[want]


def test_layout_invariants(box):
    x, n = box["x"], 3 * box["nmol"]
    dom = box["dom"]
    zone = np.repeat(clusters.half_shell(x[0::3], box["nmol"], dom.sublo, dom.subhi), 3)
    perm, center, nown = clusters.zoned_layout(x, n, [n + np.nonzero(zone == k)[0] for k in range(13)])
    ghosts = n + np.nonzero(zone >= 0)[0]
    nclus = center.shape[0]
    assert perm.shape == (4 * nclus,) and perm.dtype == np.int32
    real = perm[perm >= 0]
    assert np.array_equal(np.sort(real), np.concatenate([np.arange(n), ghosts]))  # each atom in one slot
    own = perm[: 4 * nown]
    assert np.all(own[own >= 0] < n) and np.all(perm[4 * nown :][perm[4 * nown :] >= 0] >= n)  # never mixed
    assert np.mean(perm < 0) < 0.1  # fillers only pad the columns' last clusters
    assert np.all(perm.reshape(nclus, 4)[:, 0] >= 0)  # no empty cluster
    # Centres on the 2^-12 A grid: their differences are exact in float32.
    assert np.array_equal(np.round(center / clusters.CENTER_GRID) * clusters.CENTER_GRID, center)
    d = center[:, None, :] - center[None, :50, :]
    assert np.array_equal(d.astype(np.float32).astype(np.float64), d)
    # Spatial: a cluster's atoms lie within a few A of its centre.
    cl = np.arange(perm.size) // 4
    spread = np.linalg.norm(x[real] - center[cl[perm >= 0]], axis=1)
    assert spread.max() < 6.0 and np.median(spread) < 2.5


def test_upper_half_shell_is_half_of_the_ghosts_and_antisymmetric(box):
    """One rank: the half shell holds about half the ghost molecules, and of the two periodic images through
    which two molecules can meet (J shifted by +s near I, I shifted by -s near J) exactly one is upper."""
    dom, nmol = box["dom"], box["nmol"]
    o = box["x"][0::3]
    up = clusters.upper_half(o, nmol, dom.sublo, dom.subhi)
    assert 0.4 < up.mean() < 0.6
    gm = box["gid"][0::3][nmol:] // 3
    shift = np.round((o[nmol:] - box["x0"][gm, 0]) / np.asarray(box["L"])).astype(np.int64)
    images = {(int(m), tuple(s)): bool(u) for m, s, u in zip(gm, shift, up)}
    both = [(k, v) for k, v in images.items() if (k[0], tuple(-np.asarray(k[1]))) in images]
    assert len(both) > 100
    for (m, s), u in both:
        assert u != images[(m, tuple(-np.asarray(s)))]
    with pytest.raises(RuntimeError, match="inside the sub-domain"):
        clusters.upper_half(np.concatenate([o[:nmol], o[:1]]), nmol, dom.sublo, dom.subhi)


def test_outer_list_holds_every_site_pair_of_the_molecule_list_once(box):
    """The outer cluster list holds each pair of rows once and, as global ids, every site pair of the
    molecule list (the atom scheme's outer level); canonical order, no same-molecule bit."""
    cl = _clusters(box)
    gid = box["gid"]
    got = clusters.atom_pairs(cl.perm, *cl.outer)
    g = np.sort(gid[got], axis=1)
    assert len(_pairs(got)) == got.shape[0]  # once (over the images too within r_c + s_a: the prune test)
    assert np.all(got[:, 0] // 3 != got[:, 1] // 3)
    m = box["mneigh"]
    i = np.repeat(np.arange(m.shape[0]), m.shape[1])[m.ravel() >= 0]
    j = m.ravel()[m.ravel() >= 0]
    s = np.arange(3)
    a = (3 * i[:, None, None] + s[None, :, None] + 0 * s).ravel()
    b = (3 * j[:, None, None] + 0 * s[:, None] + s[None, None, :]).ravel()
    assert _pairs(np.stack([gid[a], gid[b]], axis=1)) <= _pairs(g)
    # Canonical: i-cluster owned and <= j-cluster, j-clusters sorted within a row, diagonal bits only a < b.
    ci = np.repeat(np.arange(cl.nclus), np.diff(cl.outer[0]))
    assert np.all(ci <= cl.outer[1]) and np.all(ci < cl.nown)
    assert all(np.all(np.diff(cl.outer[1][cl.outer[0][c] : cl.outer[0][c + 1]]) > 0) for c in range(cl.nown))
    diag = cl.outer[2][ci == cl.outer[1]].astype(np.int64)
    lower = sum(1 << (4 * a + b) for a in range(4) for b in range(4) if a >= b)
    assert not np.any(diag & lower)


def test_pruning_keeps_exactly_the_pairs_within_the_cutoff_plus_skin(box):
    """After the molecules moved (rigidly, up to 0.48 A each, ghosts refreshed from them), the pruned
    cluster list holds every intermolecular pair within cutoff + skin by minimum image, once."""
    cl = _clusters(box)
    nmol, L, dom = box["nmol"], box["L"], box["dom"]
    x0 = box["x0"] + np.random.default_rng(4).uniform(-0.28, 0.28, (nmol, 1, 3))
    rows = np.array(box["x"].reshape(-1, 9))
    rows[:nmol] = x0.reshape(nmol, 9)
    dom.forward_comm(rows)
    x = rows.reshape(-1, 3)
    cut = box["cut"] + box["skin"]
    cl.prune(x, cut)
    got = np.sort(box["gid"][clusters.atom_pairs(cl.perm, cl.ci_start, cl.cj, cl.mask)], axis=1)
    a, b = _within(x0, L, cut)
    assert got.shape[0] == a.size and _pairs(got) == set(zip(a.tolist(), b.tolist()))
    assert np.all(cl.mask != 0)  # empty cluster pairs are dropped
    ci = np.repeat(np.arange(cl.nclus), np.diff(cl.ci_start))
    assert np.array_equal(cl.shift, (cl.center[ci] - cl.center[cl.cj]).astype(np.float32))


def test_ghost_cluster_pairs_are_full(box):
    """The half-shell rule decides per cluster pair: cluster pairs with ghost clusters are about as full as
    owned ones (the molecule-level rule left them a third full), and only half the ghosts get slots."""
    cl = _clusters(box)
    cl.prune(box["x"], box["cut"] + box["skin"])
    eff = clusters.efficiency(box["x"], cl.perm, cl.ci_start, cl.cj, cl.mask, box["cut"], cl.nown)
    own, gh = (eff[k][0] / eff[k][1] for k in ("owned", "ghost"))
    assert gh > 0.6 * own and eff["all"][0] / eff["all"][1] > 0.3, eff
    nghost = box["x"].shape[0] - 3 * box["nmol"]
    assert 0.4 * nghost < np.sum(cl.perm >= 3 * box["nmol"]) < 0.6 * nghost


@pytest.mark.parametrize("seed", [5, 6])
def test_numba_kernel_matches_the_reference(seed):
    args, _ = REG["sample"](np.random.default_rng(seed))
    ref = REG["generic"](*args)
    got = cluster_forces_numba(*args)
    assert _rms_rel(got[0], ref[0]) < 1e-12
    for u, v in zip(got[1:], ref[1:]):
        assert float(u) == pytest.approx(float(v), rel=1e-12)
    # float32 lanes (the mixed mode): the reference and Numba agree to float32 accuracy.
    a32 = (args[0].astype(np.float32),) + args[1:]
    r32, g32 = REG["generic"](*a32), cluster_forces_numba(*a32)
    assert g32[0].dtype == np.float64
    assert _rms_rel(g32[0], ref[0]) < 1e-5 and _rms_rel(r32[0], ref[0]) < 1e-5
    for u, v in zip(g32[1:], ref[1:]):
        assert float(u) == pytest.approx(float(v), rel=1e-5)
    assert not np.array_equal(g32[0], got[0])  # really float32 inside


def _cluster_list(box, dtype):
    cl = _clusters(box, dtype=dtype)
    cl.prune(box["x"], box["cut"] + box["skin"])
    return cl


@pytest.mark.parametrize("kernels", ["auto", "reference"])
def test_cluster_scheme_against_the_atom_scheme(box, kernels):
    """The whole force field on the same configuration: cluster float64 = atom float64 to 1e-12;
    cluster mixed against atom float64 within the water_mixed_precision goals (energy 1e-6, forces 1e-5)."""
    n = 3 * box["nmol"]
    neigh = get_kernel("water_pair_list", BE)(box["x"], box["mneigh"], box["nmol"], box["cut"] + box["skin"])
    out = {}
    for prec in ("uniform", "mixed"):
        ff = WaterForceField(
            COMM, BE, "tip3p", box["L"], box["cut"], box["nmol"], tolerance=5e-4, precision=prec, kernels=kernels
        )
        args = (box["x"], box["types"], box["mol"], n)
        cl = _cluster_list(box, np.float32 if prec == "mixed" else np.float64)
        for name, lst in (("atom", neigh), ("cluster", cl)):
            f, e, w = ff.compute(*args, lst)
            box["dom"].reverse_comm(f.reshape(-1, 9))  # the schemes give ghost forces to different rows
            out[name, prec] = f[:n], e, w
    (f64, e64, w64), (fc, ec, wc), (fm, em, wm) = (
        out["atom", "uniform"],
        out["cluster", "uniform"],
        out["cluster", "mixed"],
    )
    for k in ("lj", "coul_real", "total"):
        assert ec[k] == pytest.approx(e64[k], rel=1e-12)
    assert wc == pytest.approx(w64, rel=1e-12)
    assert _rms_rel(fc, f64) < 1e-12
    assert abs(em["total"] - e64["total"]) <= 1e-6 * abs(e64["total"])
    assert _rms_rel(fm, f64) <= 1e-5
    assert wm == pytest.approx(w64, rel=1e-5)
    assert em["coul_real"] != e64["coul_real"]


def test_runs_with_either_scheme_agree(tmp_path):
    """216 SPC/E, NVE: float64 with the cluster scheme follows the atom scheme to 1e-11 over 30 steps
    (prunes and an outer build on the way); mixed with both schemes to the mixed tolerance; 'auto'
    picks the atom scheme (solver.AUTO_CLUSTER_WHEN_MIXED), bitwise the runs without the key."""
    w = {"molecules": 216, "ensemble": "nve", "minimise_steps": 5, "skin": 0.6, "molecule_skin": 0.5}
    rows, summ = {}, {}
    for name, scheme, prec in (
        ("a64", "atom", "uniform"),
        ("c64", "cluster", "uniform"),
        ("auto64", "auto", "uniform"),
        ("amx", "atom", "mixed"),
        ("automx", "auto", "mixed"),
        ("cmx", "cluster", "mixed"),
    ):
        deck = water_deck(dict(w, pair_scheme=scheme), {"steps": 30, "diag_every": 10}, backend={"precision": prec})
        summ[name], rows[name] = run_deck(deck, str(tmp_path / name))
    assert summ["c64"]["results"]["pair_scheme"] == "cluster"
    assert summ["cmx"]["results"]["pair_scheme"] == "cluster"
    want = "cluster" if AUTO_CLUSTER_WHEN_MIXED else "atom"
    assert summ["auto64"]["results"]["pair_scheme"] == "atom" and summ["automx"]["results"]["pair_scheme"] == want
    assert rows["auto64"] == rows["a64"]  # the default in float64 is the atom scheme, bitwise
    assert rows["automx"] == rows["amx" if want == "atom" else "cmx"]
    assert summ["c64"]["results"]["list_prunes"] > summ["c64"]["results"]["neigh_builds"] >= 2
    for a, c in zip(rows["a64"], rows["c64"]):
        for k in ("pe", "etotal", "press"):
            assert c[k] == pytest.approx(a[k], rel=1e-11), (k, a["step"])
    for a, c in zip(rows["a64"], rows["cmx"]):
        assert c["pe"] == pytest.approx(a["pe"], rel=1e-6)
        assert c["etotal"] == pytest.approx(a["etotal"], rel=1e-6)
    assert rows["cmx"][-1]["etotal"] != rows["amx"][-1]["etotal"]


def test_cluster_lists_miss_no_pair(tmp_path, monkeypatch):
    """At every force evaluation of an NPT run (box and sub-domain moving), the cluster scheme in float64
    gives the energies, virial and forces of an atom list built afresh with the bare cutoff."""
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
        assert w == pytest.approx(self.virial, rel=1e-11, abs=1e-8)
        np.testing.assert_allclose(f[:n], self.fm.reshape(-1, 3), rtol=0, atol=1e-9 * np.abs(f[:n]).max())
        seen.append((self.nbuilds, self.nprunes))

    monkeypatch.setattr(WaterSolver, "_forces", checked)
    w = dict(SMALL, ensemble="npt", pcouple_every=2, tau_p=200.0, skin=0.4, molecule_skin=0.6, minimise_steps=0)
    run_deck(water_deck(dict(w, pair_scheme="cluster"), {"steps": 40, "diag_every": 10}), str(tmp_path))
    builds, prunes = seen[-1]
    assert len(seen) == 41 and builds >= 2 and prunes >= builds + 3, seen[-1]


def test_restart_is_bitwise_with_the_cluster_scheme(tmp_path):
    """Mixed mode, cluster scheme: a restart rebuilds the clusters of the last outer build and
    the inner list of the last prune; the continued run is bitwise the uninterrupted one."""
    w = dict(SMALL, ensemble="npt", pcouple_every=3, skin=0.6, molecule_skin=0.5, pair_scheme="cluster")
    run = {"steps": 30, "diag_every": 5, "checkpoint_every": 15}
    s1, full = run_deck(water_deck(w, run, backend={"precision": "mixed"}), str(tmp_path / "a"))
    assert s1["results"]["pair_scheme"] == "cluster"
    assert s1["results"]["list_prunes"] > s1["results"]["neigh_builds"] >= 2
    ck = str(tmp_path / "a" / "checkpoints" / "ckpt_0000000015.h5")
    _, cont = run_deck(water_deck(w, dict(run, restart=ck), backend={"precision": "mixed"}), str(tmp_path / "b"))
    assert cont == [r for r in full if r["step"] > 15]


def test_bad_pair_scheme_names_the_key():
    from zzhpc.core.deck import resolve
    from zzhpc.errors import ConfigError

    with pytest.raises(ConfigError, match="water.pair_scheme"):
        resolve(water_deck({"pair_scheme": "verlet"}), 1)


def test_memory_and_results_report_the_scheme(tmp_path):
    s, _ = run_deck(water_deck(dict(SMALL, pair_scheme="cluster"), {"steps": 2}), str(tmp_path))
    r = s["results"]
    assert r["pair_scheme"] == "cluster" and r["kernels"]["pair"] == "water_cluster_forces[numpy]"
    assert r["memory_bytes_per_molecule"] > 0


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as fh:
            return next((line.split(":", 1)[1].split() for line in fh if line.startswith("flags")), [])
    except OSError:
        return []


@pytest.mark.skipif("avx512f" not in _cpu_flags(), reason="the check reads AVX-512 code: this CPU has no avx512f")
def test_float32_cluster_kernel_is_vectorised_in_16_lanes():
    """The mixed kernel's speed rests on LLVM vectorising its main loop in 16 float32 lanes, which a Numba
    change (e.g. inlining ``_radd``, whose reassociation flag lets the i-force sums vectorise) could undo
    silently, with the results still right and the loop several times slower. The compiled force-only
    variant must hold packed single-precision divisions and square roots on zmm registers."""
    from zzhpc.solvers.water import kernels_cluster_numba as kc

    rng = np.random.default_rng(0)
    args, _ = kernel_registry()["water_cluster_forces"]["sample"](rng)
    xs = np.asarray(args[0], dtype=np.float32)
    kc.cluster_forces_numba(xs, *args[1:], energy=False, virial=False)  # compiles the variant
    kern = kc._kernel(True, 0, True)
    asm = "\n".join(kern.inspect_asm(sig) for sig in kern.signatures)
    assert "vdivps" in asm and "zmm" in asm
    assert any("vsqrtps" in line and "zmm" in line for line in asm.splitlines())
