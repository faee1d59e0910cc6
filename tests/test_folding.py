"""Folding solver: structure input, model, force kernel (every backend and override), analysis, I/O."""

import os

import numpy as np
import pytest

from zzhpc.device import get_backend, get_kernel, kernel_registry
from zzhpc.errors import InputError
from zzhpc.solvers.folding import analysis
from zzhpc.solvers.folding.dynamics import TemperatureExchange, geometric_ladder
from zzhpc.solvers.folding.kernels import sbm_forces
from zzhpc.solvers.folding.model import build_model, dihedral_angles
from zzhpc.solvers.folding.structure import find_structure, read_structure, write_pdb
from zzhpc.solvers.folding.trajectory import DCDWriter, read_dcd, read_dcd_header, write_ca_pdb


@pytest.fixture(scope="module")
def villin():
    return build_model(read_structure(find_structure("villin_hp35.pdb"), "A", [1, 35]))


@pytest.fixture(scope="module")
def ci2():
    return build_model(read_structure(find_structure("ci2_2ci2.pdb"), "I"))


def test_shipped_structures(villin, ci2):
    assert villin.n == 35 and ci2.n == 65
    assert villin.sequence[:3] == ("LEU", "SER", "ASP")
    assert np.all(np.abs(villin.contacts[:, 1] - villin.contacts[:, 0]) > 3)
    # Bonds are C-alpha to C-alpha (3.8 A, cis-proline 2.9 A), within the chain-break guard.
    assert 0.28 < villin.r0.min() and villin.r0.max() < 0.40


def test_native_energy_is_minus_contacts(villin, ci2):
    # At the native state every bonded term and every contact is at its minimum (-eps); only the weak
    # non-native repulsion adds.
    for m in (villin, ci2):
        f, e = sbm_forces(m.native[None], m.kernel_params(), energy=True)
        assert -len(m.contacts) < e[0] < -len(m.contacts) + 0.05 * len(m.contacts)


def _bad_pdb(tmp_path, text):
    p = tmp_path / "bad.pdb"
    p.write_text(text)
    return str(p)


def test_malformed_pdb_names_file_and_line(tmp_path):
    good = "ATOM      1  CA  ALA A   1      11.104   6.134  -6.504  1.00  0.00           C\n"
    path = _bad_pdb(tmp_path, "REMARK x\n" + good + "ATOM      2  CA  ALA A   2      11.104   6.1\n")
    with pytest.raises(InputError, match=r"bad\.pdb: line 3: truncated"):
        read_structure(path)
    path = _bad_pdb(tmp_path, good.replace("11.104", "11.1x4"))
    with pytest.raises(InputError, match="line 1: unreadable"):
        read_structure(path)
    with pytest.raises(InputError, match="not found"):
        read_structure(str(tmp_path / "missing.pdb"))


def test_chain_selection_and_breaks(tmp_path):
    ci2_path = find_structure("ci2_2ci2.pdb")
    with pytest.raises(InputError, match="no chain 'Q'"):
        read_structure(ci2_path, "Q")
    s = read_structure(ci2_path, "I", [10, 30])
    assert [r.number for r in s.residues] == list(range(10, 31))
    # Remove residue 20: the C-alpha trace has a gap that a chain model cannot bridge.
    lines = [ln for ln in open(ci2_path) if not (ln.startswith("ATOM") and int(ln[22:26]) == 20)]
    p = tmp_path / "gap.pdb"
    p.write_text("".join(lines))
    with pytest.raises(InputError, match="chain break"):
        build_model(read_structure(str(p), "I"))


def test_mmcif_matches_pdb(tmp_path, villin):
    s = read_structure(find_structure("villin_hp35.pdb"), "A")
    rows = []
    k = 0
    for r in s.residues:
        for name, (el, xyz) in r.atoms.items():
            k += 1
            a = 10 * xyz
            rows.append(
                f"ATOM {k} {el} {name} . {r.name} A 1 {r.number} ? {a[0]:.3f} {a[1]:.3f} {a[2]:.3f} "
                f"1.00 0.00 {r.number} {r.name} A {name} 1"
            )
    cols = [
        "group_PDB",
        "id",
        "type_symbol",
        "label_atom_id",
        "label_alt_id",
        "label_comp_id",
        "label_asym_id",
        "label_entity_id",
        "label_seq_id",
        "pdbx_PDB_ins_code",
        "Cartn_x",
        "Cartn_y",
        "Cartn_z",
        "occupancy",
        "B_iso_or_equiv",
        "auth_seq_id",
        "auth_comp_id",
        "auth_asym_id",
        "auth_atom_id",
        "pdbx_PDB_model_num",
    ]
    p = tmp_path / "v.cif"
    p.write_text("data_v\nloop_\n" + "".join(f"_atom_site.{c}\n" for c in cols) + "\n".join(rows) + "\n#\n")
    m = build_model(read_structure(str(p), "A"))
    assert np.allclose(m.native, villin.native, atol=1e-6)
    assert np.array_equal(m.contacts, villin.contacts)


def test_write_pdb_round_trip(tmp_path):
    s = read_structure(find_structure("ci2_2ci2.pdb"), "I")
    write_pdb(str(tmp_path / "c.pdb"), s)
    s2 = read_structure(str(tmp_path / "c.pdb"), "A")
    assert np.allclose(s2.ca, s.ca, atol=1e-6)


def test_forces_match_finite_differences(villin):
    rng = np.random.default_rng(3)
    x = villin.native[None] + 0.05 * rng.standard_normal((2, villin.n, 3))
    p = villin.kernel_params()
    f, _ = sbm_forces(x, p)
    h, fd = 1e-6, np.zeros_like(x)
    for i in range(villin.n):
        for c in range(3):
            xp_, xm = x.copy(), x.copy()
            xp_[:, i, c] += h
            xm[:, i, c] -= h
            fd[:, i, c] = -(sbm_forces(xp_, p, True)[1] - sbm_forces(xm, p, True)[1]) / (2 * h)
    assert np.max(np.abs(fd - f)) < 1e-6 * np.max(np.abs(f))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_kernel_backends_and_overrides_match_generic(backend):
    entry = kernel_registry()["sbm_forces"]
    args, kw = entry["sample"](np.random.default_rng(0))
    x, p = args
    f0, e0 = entry["generic"](x, p, **kw)
    be = get_backend(backend, "local-rank")
    pd = {k: be.asarray(v) if isinstance(v, np.ndarray) else v for k, v in p.items()}
    f1, e1 = get_kernel("sbm_forces", be)(be.asarray(x), pd, **kw)
    assert np.allclose(be.to_host(f1), f0, rtol=1e-12, atol=1e-10 * np.abs(f0).max())
    assert np.allclose(be.to_host(e1), e0, rtol=1e-12)
    for fn in entry["overrides"].get(backend, []):
        f2, e2 = fn(be.asarray(x), pd, **kw)
        assert np.allclose(be.to_host(f2), f0, rtol=1e-12, atol=1e-10 * np.abs(f0).max())
        assert np.allclose(be.to_host(e2), e0, rtol=1e-12)


def test_dihedral_convention():
    # Trans (zig-zag in a plane) is pi; a right-handed quarter turn is +pi/2 (IUPAC).
    x = np.array([[1.0, 0, 0], [0, 0, 0], [0, 1, 0], [-1, 1, 0]])
    assert np.isclose(abs(dihedral_angles(x)[0]), np.pi)
    x[3] = [0, 1, 1]
    assert np.isclose(dihedral_angles(x)[0], np.pi / 2) or np.isclose(dihedral_angles(x)[0], -np.pi / 2)
    x[3] = [0, 1, -1]
    y = x.copy()
    y[3] = [0, 1, 1]
    assert np.isclose(dihedral_angles(x)[0], -dihedral_angles(y)[0])


def test_kabsch_rmsd_and_q(villin):
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    q *= np.sign(np.linalg.det(q))
    moved = villin.native @ q.T + np.array([1.0, -2.0, 3.0])
    noisy = villin.native + 0.01 * rng.standard_normal(villin.native.shape)
    r = analysis.kabsch_rmsd(np.stack([moved, noisy]), villin.native)
    assert r[0] < 1e-10
    assert 0 < r[1] <= np.sqrt(np.mean(np.sum((noisy - villin.native) ** 2, -1)))
    assert analysis.fraction_native(moved[None], villin.contacts, villin.sigma)[0] == 1.0
    stretched = 1.6 * villin.native
    assert analysis.fraction_native(stretched[None], villin.contacts, villin.sigma)[0] == 0.0


def test_wham_finds_two_state_heat_capacity_peak():
    # Two levels: E = 0 (g = 1) and E = -10 (g = e^-10 ... ) gives Cv peaking near T = 1; sampled exactly.
    de, ln_g = 10.0, 10.0  # unfolded state entropically favoured by e^10
    temps = geometric_ladder(0.7, 1.5, 8)
    rng = np.random.default_rng(0)
    n = 4000
    e, rung = [], []
    for k, t in enumerate(temps):
        p_fold = 1.0 / (1.0 + np.exp(ln_g - de / t))
        e.append(np.where(rng.random(n) < p_fold, -de, 0.0) + 0.01 * rng.standard_normal(n))
        rung.append(np.full(n, k))
    series = {"energy": np.array(e), "rung": np.array(rung)}
    th = analysis.folding_temperature(series, temps, n_beads=0, discard=0.0)
    # Exact two-state Cv = (de/T)^2 p (1-p) peaks where d/dT vanishes; find it numerically.
    grid = np.linspace(0.7, 1.5, 100001)
    pf = 1.0 / (1.0 + np.exp(ln_g - de / grid))
    t_exact = grid[np.argmax((de / grid) ** 2 * pf * (1 - pf))]
    assert abs(th["tf"] - t_exact) < 0.01
    assert th["tf_error"] < 0.02


def test_exchange_is_deterministic_and_follows_metropolis():
    t = geometric_ladder(1.0, 2.0, 4)
    a, b = TemperatureExchange(t, 9), TemperatureExchange(t, 9)
    energies = np.array([-50.0, -40.0, -30.0, -20.0])
    for _ in range(10):
        a.attempt(energies)
        b.attempt(energies)
    assert np.array_equal(a.rung, b.rung) and np.array_equal(a.accepted, b.accepted)
    # A colder walker with the higher energy always swaps down (delta >= 0).
    c = TemperatureExchange(t, 1)
    c.attempt(np.array([0.0, -100.0, 0.0, -100.0]))
    assert list(c.rung) == [1, 0, 3, 2]
    assert sorted(c.rung) == [0, 1, 2, 3]


def test_dcd_append_after_a_restart_replaces_later_and_torn_frames(tmp_path, villin):
    """Frames at 10..40 were written, the run restarts from its step-20 checkpoint, and a kill had left
    half a frame at the end: the file keeps 10 and 20, then holds the rewritten 30 and 40."""
    rng = np.random.default_rng(5)
    old = villin.native[None] + 0.01 * rng.standard_normal((4, villin.n, 3))
    new = villin.native[None] + 0.01 * rng.standard_normal((2, villin.n, 3))
    path = str(tmp_path / "r.dcd")
    w = DCDWriter(path, villin.n, first_step=10, interval=10, dt=0.002)
    for k, x in enumerate(old):
        w.write(x, 10 * (k + 1))
    with open(path, "ab") as fh:
        fh.write(b"\0" * 100)  # a torn frame
    w = DCDWriter(path, villin.n, first_step=30, interval=10, dt=0.002, append=True)
    for k, x in enumerate(new):
        w.write(x, 30 + 10 * k)
    assert read_dcd_header(path)["frames"] == 4
    np.testing.assert_allclose(read_dcd(path), np.concatenate([old[:2], new]), atol=1e-6)
    assert os.path.getsize(path) == 276 + 4 * 3 * (4 * villin.n + 8)


def test_dcd_and_multimodel_pdb(tmp_path, villin):
    frames = villin.native[None] + 0.01 * np.random.default_rng(2).standard_normal((4, villin.n, 3))
    path = str(tmp_path / "t.dcd")
    w = DCDWriter(path, villin.n, first_step=10, interval=10, dt=0.002)
    for k, x in enumerate(frames[:2]):
        w.write(x, 10 * (k + 1))
    w = DCDWriter(path, villin.n, append=True)  # a restart appends
    for k, x in enumerate(frames[2:]):
        w.write(x, 30 + 10 * k)
    assert read_dcd_header(path)["frames"] == 4
    assert np.allclose(read_dcd(path), frames, atol=1e-6)
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) - 10)
    with pytest.raises(InputError, match="truncated"):
        read_dcd(path)
    pdb = str(tmp_path / "m.pdb")
    write_ca_pdb(pdb, None, villin.sequence, models=frames)
    assert open(pdb).read().count("MODEL") == 4


def _beads(positions):
    """A structure of one-atom residues (carbon at each position, angstrom), for contact-map geometry."""
    from zzhpc.solvers.folding.structure import Residue, Structure

    return Structure(
        "beads",
        [Residue("A", k + 1, "", "GLY", {"CA": ("C", 0.1 * np.asarray(p, float))}) for k, p in enumerate(positions)],
    )


def test_shadow_map_geometry():
    from zzhpc.solvers.folding.contacts import shadow_contacts

    # Residues 0 and 8 are 5 A apart; residue 4 sits on the line between them, or 3 A off it.
    far = [[100.0 + 10 * k, 0, 0] for k in range(7)]
    on_line = [[0, 0, 0]] + far[:3] + [[2.5, 0, 0]] + far[3:6] + [[5.0, 0, 0]]
    off_line = [[0, 0, 0]] + far[:3] + [[2.5, 3.0, 0]] + far[3:6] + [[5.0, 0, 0]]
    assert [0, 8] not in shadow_contacts(_beads(on_line)).tolist()
    assert [0, 8] in shadow_contacts(_beads(off_line)).tolist()
    # Either side of the tangent cones: the angle at residue 0, atan(h / 2.5), against
    # asin(1/5) + asin(1/d) with d = sqrt(2.5^2 + h^2) crosses at h = 1.55 A.
    for h, shadowed in ((1.4, True), (1.7, False)):
        pos = [[0, 0, 0]] + far[:3] + [[2.5, h, 0]] + far[3:6] + [[5.0, 0, 0]]
        assert ([0, 8] not in shadow_contacts(_beads(pos)).tolist()) == shadowed


def test_shadow_map_of_the_shipped_proteins(villin, ci2):
    from zzhpc.solvers.folding.contacts import cutoff_contacts
    from zzhpc.solvers.folding.structure import find_structure, read_structure

    for name, chain, res, model, count in (
        ("villin_hp35.pdb", "A", [1, 35], villin, 65),
        ("ci2_2ci2.pdb", "I", None, ci2, 163),
    ):
        s = read_structure(find_structure(name), chain, res)
        shadow = build_model(s, contact_map="shadow").contacts
        within6 = set(map(tuple, cutoff_contacts(s, 0.6).tolist()))
        assert set(map(tuple, shadow.tolist())) <= within6 and len(shadow) == count
        # The shadow map keeps most 4.5 A contacts (occluded ones go) and adds longer-range ones.
        common = set(map(tuple, shadow.tolist())) & set(map(tuple, model.contacts.tolist()))
        assert len(common) > 0.8 * len(model.contacts)
