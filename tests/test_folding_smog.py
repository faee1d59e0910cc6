"""SMOG 2 / OpenSMOG files of C-alpha models: written and read back exactly, bad files refused with one line,
runs started from them, and (with the peer environment) energies equal OpenSMOG's on the same files."""

import os
import re

import numpy as np
import pytest

from conftest import ROOT, read_summary, run_zzhpc
from zzhpc.errors import InputError
from zzhpc.solvers.folding.proteins import load_model, perturbed
from zzhpc.solvers.folding.kernels import sbm_forces
from zzhpc.solvers.folding.smog import read_smog, write_smog


def energies(m, x):
    return sbm_forces(x, m.kernel_params(), energy=True)[1]


def test_write_then_read_gives_the_same_hamiltonian(tmp_path):
    m = load_model("villin")
    paths = write_smog(m, str(tmp_path / "villin"))
    back = read_smog(paths["top"])  # .gro and .xml found by the stem
    assert np.array_equal(back.contacts, m.contacts)
    x = perturbed(m, 4, 0.05)
    e0, e1 = energies(m, x), energies(back, x)
    assert np.max(np.abs(e1 - e0) / np.abs(e0)) < 1e-10
    assert (back.k_bond, back.k_angle, back.k1, back.k3) == (m.k_bond, m.k_angle, m.k1, m.k3)


def _edit(src, dst, old, new, count=1):
    text = open(src).read()
    assert old in text, old
    open(dst, "w").write(text.replace(old, new, count))


@pytest.mark.parametrize(
    "what, old, new, message",
    [
        ("6-12 contacts", "A/r^12-B/r^10", "A/r^12-B/r^6", "10-12 contacts"),
        ("an all-atom model", " CA ", " CB ", "all-atom"),
        ("other exclusions", "nrexcl\n Macromolecule 3", "nrexcl\n Macromolecule 4", "nrexcl = 4"),
        ("varied bond constants", "2.000000000000e+04\n", "2.100000000000e+04\n", "bond force constants differ"),
    ],
)
def test_files_zzhpc_cannot_evaluate_are_refused_with_one_line(tmp_path, what, old, new, message):
    m = load_model("villin")
    paths = write_smog(m, str(tmp_path / "v"))
    ext = "xml" if "r^" in old else "top"
    _edit(paths[ext], paths[ext], old, new)
    with pytest.raises(InputError) as exc:
        read_smog(paths["top"])
    text = str(exc.value)
    assert message in text and "\n" not in text, (what, text)


def test_a_run_from_smog_files_equals_the_run_from_the_pdb(tmp_path):
    m = load_model("villin")
    paths = write_smog(m, str(tmp_path / "villin"))
    common = [
        "--set",
        "run.steps=200",
        "--set",
        "folding.replicas=2",
        "--set",
        "output.fields=false",
        "--set",
        "folding.sample_every=50",
    ]
    a = run_zzhpc(0, "run", ROOT / "examples" / "fold_villin.toml", "-o", tmp_path / "pdb", *common, check=True)
    b = run_zzhpc(
        0,
        "run",
        ROOT / "examples" / "fold_villin.toml",
        "-o",
        tmp_path / "smog",
        *common,
        "--set",
        f"folding.structure={paths['top']}",
        check=True,
    )
    assert a.returncode == b.returncode == 0
    ea = read_summary(tmp_path / "pdb")["diagnostics"]
    eb = read_summary(tmp_path / "smog")["diagnostics"]
    # Same Hamiltonian to 1e-12 in its parameters, but the native start is the .gro's 3-decimal copy.
    for key in ea:
        if isinstance(ea[key], float) and re.search(r"energy|^e_|_e$", key):
            assert abs(ea[key] - eb[key]) <= 1e-3 * max(1.0, abs(ea[key])), (key, ea[key], eb[key])


@pytest.mark.peers
def test_energies_equal_opensmogs_on_smog2_and_zzhpc_files():
    if not os.path.isfile(ROOT / ".peers" / "bin" / "python"):
        pytest.skip("peer environment .peers/ not set up (make peers)")
    from zzhpc.solvers.folding.cases_smog import opensmog_energies

    rows = opensmog_energies(quick=True)
    assert len(rows) == 4
    assert all(r.passed for r in rows), [(r.name, r.measured) for r in rows]
    assert rows[0].measured < 1e-6 and rows[2].measured < 1e-6
