"""zzhpc.ase.Calculator: ASE calls zzhpc's LJ force field; checked against ASE's own LennardJones
calculator (forces to 1e-10, energy after LAMMPS's unshifted vs ASE's shifted cut-off), and usable by an
ASE optimiser."""

import numpy as np
import pytest

from conftest import ROOT

ase = pytest.importorskip("ase", reason="ASE is a test extra (pip install ase), never a zzhpc dependency")
from ase.calculators.lj import LennardJones  # noqa: E402
from ase.lattice.cubic import FaceCenteredCubic  # noqa: E402

from zzhpc.ase import Calculator  # noqa: E402
from zzhpc.errors import InputError  # noqa: E402

RC = 2.5


def melt(seed=1, size=4):
    a = (4 / 0.8442) ** (1 / 3)
    atoms = FaceCenteredCubic(symbol="Ar", size=(size,) * 3, latticeconstant=a, pbc=True)
    atoms.positions += np.random.default_rng(seed).normal(0, 0.05, atoms.positions.shape)
    return atoms


def test_energy_and_forces_equal_ases_lennard_jones():
    atoms = melt()
    atoms.calc = Calculator(ROOT / "examples" / "lj_melt.toml")
    e, f = atoms.get_potential_energy(), atoms.get_forces()
    ref = atoms.copy()
    ref.calc = LennardJones(sigma=1.0, epsilon=1.0, rc=RC, smooth=False)
    # ASE shifts each pair's energy to zero at rc; LAMMPS's lj/cut (and zzhpc's) does not.
    d = ref.get_all_distances(mic=True)
    pairs = int(((d < RC) & (d > 0)).sum() // 2)
    e_ref = ref.get_potential_energy() + pairs * 4 * (RC**-12 - RC**-6)
    assert abs(e - e_ref) <= 1e-10 * abs(e_ref)
    assert np.abs(f - ref.get_forces()).max() <= 1e-10 * np.abs(f).max()
    assert abs(f.sum(axis=0)).max() < 1e-9  # Newton's third law across the periodic box


def test_an_ase_optimiser_lowers_the_energy():
    from ase.optimize import FIRE

    atoms = melt(seed=2, size=3)
    atoms.calc = Calculator(ROOT / "examples" / "lj_melt.toml")
    e0 = atoms.get_potential_energy()
    FIRE(atoms, logfile=None).run(fmax=1.0, steps=15)
    assert atoms.get_potential_energy() < e0


def test_a_non_orthorhombic_cell_is_refused():
    atoms = melt(size=3)
    atoms.set_cell(atoms.cell + np.array([[0, 0.5, 0], [0, 0, 0], [0, 0, 0]]))
    atoms.calc = Calculator(ROOT / "examples" / "lj_melt.toml")
    with pytest.raises(InputError, match="orthorhombic"):
        atoms.get_potential_energy()
