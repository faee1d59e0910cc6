"""An ASE calculator backed by zzhpc's particle force fields (``zzhpc.ase.Calculator``).

ASE users call zzhpc as they call any calculator: ``atoms.calc = Calculator("examples/lj_melt.toml")``,
then ``atoms.get_potential_energy()``, ``atoms.get_forces()``, optimisers and ASE's own dynamics. Each
evaluation writes the atoms as a LAMMPS data file, builds the md solver on it through
:class:`zzhpc.Simulation` (so the forces are exactly those of a zzhpc run: the same pair kernels,
neighbour lists and decomposition) and reads energy and forces back. ASE is not a dependency of zzhpc:
this module needs it installed next to zzhpc (``pip install ase``).

Units: ASE works in eV and angstrom. A deck in ``real`` units (kcal/mol, angstrom) is converted
(1 kcal/mol = 0.0433641 eV); a deck in ``lj`` units is read with sigma = 1 angstrom and epsilon = 1 eV.
The box must be orthorhombic and periodic, as zzhpc's.
"""

import os
import shutil
import tempfile

import numpy as np
from ase.calculators.calculator import Calculator as _AseCalculator
from ase.calculators.calculator import all_changes

from .errors import InputError

KCAL_PER_MOL_IN_EV = 0.0433641043


class Calculator(_AseCalculator):
    """Energy and forces of an :class:`ase.Atoms` from an md deck's force field.

    Parameters
    ----------
    deck : str or dict
        An md input deck (e.g. ``examples/lj_melt.toml``): its ``pair_style``, ``pair_coeff``, cut-off,
        masses and units are used; its lattice and run length are not.
    set : dict, optional
        Overrides of the deck, as for :class:`zzhpc.Simulation`.
    types : dict, optional
        Chemical symbol -> LAMMPS atom type (default: every atom type 1).
    """

    implemented_properties = ["energy", "forces"]

    def __init__(self, deck, set=None, types=None, **kw):
        super().__init__(**kw)
        self.deck, self.overrides, self.types = deck, dict(set or {}), dict(types or {})

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        import zzhpc

        super().calculate(atoms, properties, system_changes)
        a = self.atoms
        cell = np.asarray(a.cell)
        if not a.pbc.all() or np.abs(cell - np.diag(np.diag(cell))).max() > 1e-12:
            raise InputError("atoms", "zzhpc needs an orthorhombic periodic cell (pbc = True on every axis)")
        tmp = tempfile.mkdtemp(prefix="zzhpc-ase-")
        try:
            types = np.array([self.types.get(s, 1) for s in a.get_chemical_symbols()], dtype=np.int64)
            n = len(a)
            data = os.path.join(tmp, "atoms.data")
            from .solvers.md.datafile import write_data

            ntypes = int(types.max())
            write_data(
                data,
                {
                    "id": np.arange(1, n + 1),
                    "type": types,
                    "x": a.get_positions() % np.diag(cell),
                    "image": np.zeros((n, 3), dtype=np.int64),
                    "ntypes": ntypes,
                    "box_lo": [0.0, 0.0, 0.0],
                    "box_hi": list(np.diag(cell)),
                },
                title="zzhpc.ase",
            )
            sets = dict({"md.data_file": data, "run.steps": 1, "output.fields": False}, **self.overrides)
            sim = zzhpc.Simulation(self.deck, set=sets, output=os.path.join(tmp, "run"))
            try:
                units = sim.solver.units.name
                per_atom = bool(getattr(sim.solver, "norm", False))
                pe = sim.diagnostics_now["pe"] * (n if per_atom else 1)
                local = sim.state(gather=False)
                ids = np.concatenate(sim.comm.allgather(local["id"]))
                f = np.concatenate(sim.comm.allgather(local["f"]))[np.argsort(ids)]
            finally:
                sim.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        scale = KCAL_PER_MOL_IN_EV if units == "real" else 1.0
        self.results = {"energy": pe * scale, "forces": f * scale}
