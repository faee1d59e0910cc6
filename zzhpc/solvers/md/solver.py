r"""Classical molecular dynamics on a spatially decomposed orthorhombic box (LAMMPS-style engine).

Atoms interact through Lennard-Jones pair potentials (:mod:`.pair`) or the Stillinger-Weber three-body
potential (:mod:`.sw`, e.g. mW water), found with cell-binned Verlet
neighbour lists (cutoff + skin, rebuilt when an atom has moved more than half the skin, or every N
steps); they are integrated with velocity Verlet (NVE), Langevin BAOAB or a Nose-Hoover chain
(:mod:`.integrate`), optionally at constant pressure (c-rescale barostat). The box is split over a Cartesian process grid (:mod:`zzhpc.particles.domain`): atoms migrate
between ranks on rebuild steps, ghost atoms are refreshed every step, ghost forces sent back under
Newton's third law. Thermo follows LAMMPS's definitions (``compute temp``/``pressure``):
:math:`T = \sum m v^2 / (N_f k_B)` with :math:`N_f = 3N - 3`,
:math:`P = (\sum m v^2 + \sum_{pairs} \mathbf r\cdot\mathbf f) / (3V)`. Units: :mod:`zzhpc.particles.units`.
Reference: Frenkel & Smit, *Understanding Molecular Simulation* (2nd ed., 2002), ch. 4.
"""

import sys

import numpy as np
from mpi4py import MPI

from ...config import Param
from ...core import Solver, register_solver
from ...device import get_kernel
from ...device.kernels import kernel_registry
from ...errors import ConfigError, InputError
from ...io import read_concatenated, write_concatenated
from ...io.hdf5 import concatenated_share
from ...particles import neighbors
from . import perfmodel
from ...particles.coupling import WATER_COMPRESSIBILITY_ATM
from .datafile import read_data, velocities_by_id, write_data
from ...particles.domain import Domain
from ...particles.state import ParticleState
from .integrate import BAROSTATS, INTEGRATORS, make_barostat, make_integrator
from .lattice import BASIS, lattice_constant, lattice_sites, thermal_velocities
from .pair import PAIR_STYLES, lj_tables, parse_pair_coeff
from .sw import BUILTIN as SW_BUILTIN, sw_constants, sw_params
from ...particles.units import UNITS, get_units
from ...particles import h5md


def _on_state(name):
    """A solver attribute that is the particle state's ``name`` (for the cases and tests that read them)."""
    return property(lambda self: getattr(self.state, name), lambda self, value: setattr(self.state, name, value))


@register_solver
class MDSolver(Solver):
    name = "md"
    description = (
        "molecular dynamics: Lennard-Jones or Stillinger-Weber (mW water) atoms, spatial decomposition, "
        "NVE/Langevin/Nose-Hoover/SVR, c-rescale barostat"
    )
    cases_module = "zzhpc.solvers.md.cases"
    restart_any_ranks = True  # bitwise on the same rank count; re-decomposed on another
    precisions = ("uniform", "mixed")  # mixed: float32 pairs for lj; sw stays in dtype (docs/precision.md)
    work_unit = "atom"
    weak_scaling_key = "md.cells"
    cost_model = perfmodel  # zzhpc scale / zzhpc project: perfmodel.py
    schema = {
        "units": Param(str, "lj", choices=tuple(UNITS), help="lj (reduced) or real (A, fs, kcal/mol, g/mol)"),
        "boundary": Param(
            (list, str),
            ["p", "p", "p"],
            choices=("p", "f"),
            length=3,
            help="per axis: p periodic, f fixed non-periodic",
        ),
        "data_file": Param(str, None, is_file=True, help="LAMMPS data file (atomic or full); else a lattice"),
        "atom_style": Param(str, "auto", choices=("auto", "atomic", "full"), help="style of data_file"),
        "lattice": Param(str, "fcc", choices=tuple(BASIS), help="lattice filling the box"),
        "density": Param(float, 0.8442, lo=0, lo_open=True, help="lattice number density (1/length^3)"),
        "lattice_constant": Param(float, None, lo=0, lo_open=True, help="overrides density"),
        "cells": Param((list, int), [20, 20, 20], lo=1, length=3, help="lattice cells per axis"),
        "masses": Param(
            (list, float),
            [1.0],
            lo=0,
            lo_open=True,
            help="mass per atom type (a lattice has len(masses) types, its atoms type 1)",
        ),
        "temperature": Param(
            float, None, lo=0, help="initial velocities at this T (data_file velocities are used when absent)"
        ),
        "velocity_seed": Param(int, 87287, lo=0, help="seed of the initial velocities"),
        "pair_style": Param(str, "lj/cut", choices=PAIR_STYLES, help="pair potential"),
        "cutoff": Param(float, 2.5, lo=0, lo_open=True, help="global pair cutoff (length)"),
        "pair_coeff": Param((list, str), ["* * 1.0 1.0"], help="lj/cut: 'I J epsilon sigma [cutoff]' lines"),
        "sw_params": Param(
            str,
            "mW",
            choices=tuple(SW_BUILTIN),
            help="sw: built-in parameter set (mW water, units real) used when sw_file is absent",
        ),
        "sw_file": Param(
            str,
            None,
            is_file=True,
            help="sw: LAMMPS .sw potential file (every atom type is sw_element); its cutoff a*sigma replaces md.cutoff",
        ),
        "sw_element": Param(str, "mW", help="sw: element name of the 'E E E' entry read from sw_file"),
        "pair_shift": Param(bool, False, help="shift energies to zero at the cutoff"),
        "skin": Param(float, 0.3, lo=0, help="neighbour-list skin (length)"),
        "neigh_every": Param(int, 1, lo=1, help="consider a rebuild every N steps"),
        "neigh_check": Param(bool, True, help="rebuild only if an atom moved more than skin/2"),
        "newton": Param(bool, True, help="half neighbour lists and reverse ghost-force comm"),
        "integrator": Param(str, "nve", choices=INTEGRATORS, help="nve, langevin (BAOAB), nhc or svr (Bussi)"),
        "t_target": Param(float, 1.0, lo=0, lo_open=True, help="thermostat temperature"),
        "damp": Param(float, 1.0, lo=0, lo_open=True, help="thermostat relaxation time (time units)"),
        "nhc_chain": Param(int, 3, lo=1, help="Nose-Hoover chain length"),
        "barostat": Param(
            str,
            "none",
            choices=BAROSTATS,
            help="c-rescale: isotropic stochastic cell rescaling (NPT with a thermostat)",
        ),
        "p_target": Param(float, 1.0, help="barostat pressure (atm in real units; 1 bar = 0.986923 atm)"),
        "p_damp": Param(float, None, lo=0, lo_open=True, help="barostat relaxation time (time units; default 1000 dt)"),
        "compressibility": Param(
            float,
            None,
            lo=0,
            lo_open=True,
            help="isothermal compressibility (1/pressure unit; default in real units: water's 4.5e-5 1/bar)",
        ),
        "p_every": Param(int, 10, lo=1, help="barostat step every N steps (box change -> list rebuild)"),
        "kernels": Param(str, "auto", choices=("auto", "reference"), help="reference: the xp kernels only"),
        "thermo_norm": Param(bool, None, help="energies per atom (default: yes for lj, no for real)"),
        "balance_every": Param(
            int,
            0,
            lo=0,
            help="shift sub-domain boundaries to even out atom counts at the start and every N steps (0 = never)",
        ),
        "write_data": Param(str, "", help="write a LAMMPS data file of the final state (in output.dir)"),
    }

    @classmethod
    def check_config(cls, cfg, nranks):
        p = cfg["md"]
        dims = cfg["parallel"]["dims"]
        if dims and len(dims) != 3:
            raise ConfigError("parallel.dims", "expected 3 entries (x, y, z)", dims)
        if dims and int(np.prod(dims)) != nranks:
            raise ConfigError("parallel.dims", f"must multiply to the {nranks} ranks", dims)
        if p["pair_style"] == "sw":
            if not p["newton"]:
                raise ConfigError(
                    "md.newton",
                    "pair_style sw needs newton = true (three-body forces on ghost atoms go back to their owners)",
                    p["newton"],
                )
            sw_params(p, p["units"])  # a bad file or unit mismatch fails here, before any work
        if p["barostat"] != "none":
            if p["integrator"] == "nve":
                raise ConfigError(
                    "md.barostat", "c-rescale needs a thermostat (md.integrator = langevin, nhc or svr)", p["barostat"]
                )
            if "f" in p["boundary"]:
                raise ConfigError("md.barostat", "c-rescale needs a periodic box (md.boundary all 'p')", p["barostat"])
            if p["compressibility"] is None and p["units"] != "real":
                raise ConfigError(
                    "md.compressibility",
                    f"give the compressibility for units {p['units']} (a default exists for real units only)",
                )

    # Construction ----------------------------------------------------------------------------------
    def __init__(self, ctx, cfg):
        super().__init__(ctx, cfg)
        p = self.params
        self.units = get_units(p["units"])
        self.dt = self.dt or self.units.dt
        self.norm = self.units.norm if p["thermo_norm"] is None else p["thermo_norm"]
        self.data = None
        if p["data_file"]:
            self.data = (
                read_data(p["data_file"], None if p["atom_style"] == "auto" else p["atom_style"])
                if self.comm.Get_rank() == 0
                else None
            )
            self.data = self.comm.bcast(self.data, root=0)
            lo, hi = self.data["box_lo"], self.data["box_hi"]
            self.ntypes = self.data["ntypes"]
            masses = self.data["masses"] if self.data["masses"] is not None else None
            self.style = self.data["style"]
        else:
            self.a = lattice_constant(p["lattice"], p["density"], p["lattice_constant"])
            lo, hi = [0.0] * 3, [c * self.a for c in p["cells"]]
            self.ntypes, masses, self.style = len(p["masses"]), None, "atomic"  # lattice atoms are type 1
        if masses is None:
            if len(p["masses"]) != self.ntypes:
                raise ConfigError("md.masses", f"expected {self.ntypes} entries, one per atom type", p["masses"])
            masses = np.asarray(p["masses"], dtype=float)
        self.masses = np.asarray(masses, dtype=float)
        be = self.backend
        self.sw = None
        if p["pair_style"] == "sw":
            self.sw = sw_constants(sw_params(p, p["units"]))
            self.tab_host, self.cutmax = {}, self.sw["cut"]
        else:
            coeffs = parse_pair_coeff(p["pair_coeff"], self.ntypes, p["cutoff"])
            self.tab_host, self.cutmax = lj_tables(coeffs, self.ntypes, p["pair_shift"])
        self.cutneigh = self.cutmax + p["skin"]
        self.tab = {k: be.asarray(v, dtype=ctx.dtype) for k, v in self.tab_host.items()}
        self.mass_dev = be.asarray(self.masses, dtype=ctx.dtype)
        self.domain = Domain(self.comm, be, lo, hi, [b == "p" for b in p["boundary"]], self.cutneigh, ctx.dims or None)
        self.state = ParticleState(self.comm, be, self.domain, self.mass_dev, ctx.dtype)
        reg = kernel_registry()
        pair_kernel = "md_lj_forces" if self.sw is None else "md_sw_forces"
        if p["kernels"] == "reference":
            self.k_neigh = reg["md_neighbor_list"]["generic"]
            self.k_pair = reg[pair_kernel]["generic"]
        else:
            self.k_neigh = get_kernel("md_neighbor_list", be)
            self.k_pair = get_kernel(pair_kernel, be)
        # Mixed precision: LJ pairs in float32 lanes. The three-body loop of sw is scalar (a triplet per
        # iteration, scatter to three atoms): float32 would not pay on a CPU, so sw keeps its kernel in
        # ``dtype`` (float32 with pairwise sums on a device without float64).
        self.pair_precision = "float32" if ctx.mixed and self.sw is None else ctx.dtype
        # sw: full lists (three-body terms need every neighbour) but ghost forces still go back.
        self.half = p["newton"] and self.sw is None
        self.reverse = p["newton"]
        self.nbuilds = 0
        self.ago = 0
        self.natoms = 0
        self.energy = self.virial = 0.0
        self.traj = None

    def grid_description(self):
        return self.domain.describe()

    # Atoms: the particle state (zzhpc.particles.state), which the integrators act on ----------------
    x, v, f = _on_state("x"), _on_state("v"), _on_state("f")
    ids, types, image, extra = _on_state("ids"), _on_state("types"), _on_state("image"), _on_state("extra")
    mass_col, natoms = _on_state("mass"), _on_state("natoms")
    nlocal = property(lambda self: self.state.nlocal)
    dof = property(lambda self: self.state.dof)

    def atoms_id(self):
        return self.ids

    def _set_local(self, atoms):
        """Owned per-atom arrays from a dict (ghost rows are rebuilt by ``borders``)."""
        self.state.set_owned(atoms)

    def _local_atoms(self):
        return self.state.owned()

    def _create(self, ids, x, v, types, image, extra):
        be, dt = self.backend, self.ctx.dtype
        atoms = {
            "x": be.asarray(x, dtype=dt),
            "v": be.asarray(v, dtype=dt),
            "id": be.asarray(ids, dtype="int64"),
            "type": be.asarray(types, dtype="int64"),
            "image": be.asarray(image, dtype="int64"),
        }
        for k, a in extra.items():
            atoms[k] = be.asarray(a)
        self._set_local(atoms)

    def initialise(self):
        p, dom = self.params, self.domain
        if self.data is not None:
            d = self.data
            x = d["x"]
            mine = np.all((x >= np.asarray(dom.sublo)) & (x < np.asarray(dom.subhi)), axis=1)
            # Atoms outside the box (unwrapped files) are placed by the first migration: rank 0 keeps them.
            if self.comm.Get_rank() == 0:
                outside = ~np.all((x >= np.asarray(dom.boxlo)) & (x < np.asarray(dom.boxhi)), axis=1)
                mine |= outside
            try:
                v = velocities_by_id(d)
            except ValueError as exc:
                raise InputError(p["data_file"], str(exc)) from None
            extra = {k: d[k][mine] for k in ("mol", "q") if k in d}
            self.natoms = len(d["id"])
            self._create(d["id"][mine], x[mine], v[mine], d["type"][mine] - 1, d["image"][mine], extra)
            self.topology, self.coeffs = d["topology"], d["coeffs"]
            if p["temperature"] is not None:
                self._thermalise()
            self.data = None
        else:
            ids, x = lattice_sites(p["lattice"], self.a, p["cells"], dom.sublo, dom.subhi)
            self.natoms = len(BASIS[p["lattice"]]) * int(np.prod(p["cells"]))
            self._create(ids, x, np.zeros_like(x), np.zeros(len(ids), np.int64), np.zeros((len(ids), 3), np.int64), {})
            self.topology, self.coeffs = {}, {}
            if p["temperature"] is not None:
                self._thermalise()
        self.integrator = make_integrator(self.state, self.units, p, self.dt, self.ctx.seed)
        self.barostat = self._make_barostat()
        self.balance_log = []
        if p["balance_every"]:
            self._balance()
        self._rebuild()
        self._forces()

    def imbalance(self):
        """Max over mean owned atoms per rank (collective)."""
        counts = self.comm.allgather(self.nlocal)
        return max(counts) / (sum(counts) / len(counts))

    def _balance(self):
        before = self.imbalance()
        self.domain.balance(self.x[: self.nlocal])
        atoms = self._local_atoms()
        self.domain.pbc(atoms)
        self._set_local(self.domain.exchange(atoms))
        after = self.imbalance()
        self.balance_log.append({"step": self.step, "before": before, "after": after})
        if self.comm.Get_rank() == 0:
            sys.stderr.write(
                f"[md] step {self.step}: load balance, imbalance (max/mean atoms per rank) "
                f"{before:.3f} -> {after:.3f}\n"
            )

    def _thermalise(self):
        be = self.backend
        ids = be.to_host(self.ids)
        m = self.masses[be.to_host(self.types)]
        v = thermal_velocities(
            ids, m, self.params["temperature"], self.units, self.params["velocity_seed"], self.comm, self.natoms
        )
        self.v = be.asarray(v, dtype=self.ctx.dtype)

    # Neighbours and forces ---------------------------------------------------------------------------
    def _rebuild(self, xbuild=None):
        """Migrate atoms, rebuild ghosts and the neighbour list (at ``xbuild`` when restoring)."""
        dom, xp = self.domain, self.xp
        with self.timers("halo"):
            if xbuild is None:
                atoms = self._local_atoms()
                dom.pbc(atoms)
                self._set_local(self._sorted(dom.exchange(atoms)))
                xbuild = self.x
            self.x, self.types = dom.borders(xbuild, self.types[: self.nlocal])
        lo, hi = dom.bin_region()
        self.neigh = self.k_neigh(self.x, self.nlocal, lo, hi, self.cutneigh, self.half)
        self.xhold = xp.asarray(self.x[: self.nlocal], copy=True)
        self.ago = 0
        self.nbuilds += 1

    def _sorted(self, atoms):
        """Owned atoms in bin order (LAMMPS ``atom_modify sort``): neighbours close in memory."""
        xp = self.xp
        lo, hi = self.domain.bin_region()
        nb, size = neighbors.bin_geometry(lo, hi, self.cutneigh)
        x = atoms["x"]
        key = 0
        for d in (2, 1, 0):
            c = xp.clip(xp.astype(xp.floor((x[:, d] - lo[d]) / size[d]), xp.int64), 0, nb[d] - 1)
            key = key * nb[d] + c
        order = xp.argsort(key, stable=True)
        return {k: v[order] for k, v in atoms.items()}

    def _decide(self):
        """LAMMPS ``Neighbor::decide``: rebuild on this step?"""
        self.ago += 1
        p = self.params
        if self.ago % p["neigh_every"]:
            return False
        if not p["neigh_check"]:
            return True
        d = self.x[: self.nlocal] - self.xhold
        moved = float(self.xp.max(self.xp.sum(d * d, axis=1))) if self.nlocal else 0.0
        lim = 0.5 * p["skin"]
        return bool(self.comm.allreduce(moved > lim * lim))

    def _forces(self):
        if self.sw is None:
            if self.pair_precision == "float32":
                f, e, w = self.k_pair(self.x, self.types, self.neigh, self.nlocal, self.tab, self.half, mixed=True)
            else:
                f, e, w = self.k_pair(self.x, self.types, self.neigh, self.nlocal, self.tab, self.half)
        else:
            f, e, w = self.k_pair(self.x, self.neigh, self.nlocal, self.sw)
        if self.reverse:
            with self.timers("halo"):
                self.domain.reverse_comm(f)
        self.f, self.energy, self.virial = f, e, w

    def _make_barostat(self):
        p = dict(self.params)
        if p["barostat"] != "none" and p["compressibility"] is None:
            p["compressibility"] = WATER_COMPRESSIBILITY_ATM
        return make_barostat(self.state, self.units, p, self.dt, self.ctx.seed)

    def advance(self):
        self.integrator.initial(self.step)
        be = self.params["balance_every"]
        rescaled = self.barostat is not None and self.barostat.apply()
        if be and (self.step + 1) % be == 0:
            self._balance()
            self._rebuild()
        elif rescaled or self._decide():
            self._rebuild()
        else:
            with self.timers("halo"):
                self.domain.forward_comm(self.x)
        self._forces()
        self.integrator.final(self.step)
        if self.barostat is not None and self.barostat.due(self.step):
            self.barostat.measure(self.step, *self.pressure_volume())
        self.step += 1
        self.time = self.step * self.dt

    # Thermo ------------------------------------------------------------------------------------------
    def kinetic_energy(self):
        """Total kinetic energy (collective)."""
        return self.state.kinetic_energy(self.units.mvv2e)

    def pressure_volume(self):
        """Instantaneous pressure :math:`(2K + W)/(3V)` (pressure units) and volume (collective)."""
        u = self.units
        local = np.array([float(self.virial), float(self.xp.sum(self.mass_col * self.v * self.v))])
        w, mv2 = self.comm.allreduce(local)
        vol = float(np.prod(self.domain.length))
        return (mv2 * u.mvv2e + w) / (3 * vol) * u.nktv2p, vol

    def thermo(self):
        """LAMMPS thermo quantities (collective): temp, pe, ke, etotal, press (+ conserved, builds)."""
        u = self.units
        local = np.array([float(self.energy), float(self.virial)])
        e, w = self.comm.allreduce(local)
        ke = self.kinetic_energy()
        vol = float(np.prod(self.domain.length))
        temp = 2 * ke / (self.dof * u.boltz) if self.dof > 0 else 0.0
        press = (2 * ke + w) / (3 * vol) * u.nktv2p
        s = 1.0 / self.natoms if self.norm else 1.0
        out = {"temp": temp, "pe": e * s, "ke": ke * s, "etotal": (e + ke) * s, "press": press}
        if self.params["integrator"] == "nhc":
            out["econserved"] = (e + ke + self.integrator.energy()) * s
        if self.params["integrator"] == "svr":
            out["econserved"] = (e + ke + self.integrator.energy()) * s
        if self.barostat is not None:
            mass = self.comm.allreduce(float(self.xp.sum(self.mass_col)))
            out["volume"] = vol
            # g/cm^3 from g/mol per A^3 in real units (1/N_A * 1e24); mass/length^3 otherwise
            out["density"] = mass / vol * (1.0 / 0.602214076 if self.units.name == "real" else 1.0)
        out["neigh_builds"] = float(self.nbuilds)
        return out

    def diagnostics(self):
        return self.thermo()

    @property
    def diagnostic_units(self):
        """Units of the thermo columns in this run's unit system (``lj``: reduced; ``real``: K, kcal/mol, atm)."""
        u = self.units
        energy = u.energy + ("/atom" if self.norm else "")
        temp, press = ("epsilon/k_B", "epsilon/sigma^3") if u.name == "lj" else ("K", "atm")
        return {"time": u.time, "temp": temp, "pe": energy, "ke": energy, "etotal": energy, "press": press}

    def nonfinite_field(self):
        ok = bool(self.xp.all(self.xp.isfinite(self.v))) and bool(self.xp.all(self.xp.isfinite(self.x)))
        return None if self.comm.allreduce(ok, op=MPI.LAND) else "x/v"

    # Output, checkpoints ----------------------------------------------------------------------------
    def host_atoms(self):
        """Owned atoms as host arrays (positions wrapped into the box)."""
        be, n = self.backend, self.nlocal
        d = {
            "id": be.to_host(self.ids),
            "type": be.to_host(self.types[:n]),
            "x": be.to_host(self.x[:n]).copy(),
            "v": be.to_host(self.v),
            "image": be.to_host(self.image).copy(),
        }
        for k, a in self.extra.items():
            d[k] = be.to_host(a)
        for ax in range(3):
            if self.domain.periodic[ax]:
                L, lo = self.domain.length[ax], self.domain.boxlo[ax]
                shift = np.floor((d["x"][:, ax] - lo) / L)
                d["x"][:, ax] -= shift * L
                d["image"][:, ax] += shift.astype(np.int64)
        return d

    def write_fields(self, h5):
        if self.traj is None:
            self.traj = h5md.H5MDWriter(
                self.ctx.output_dir + "/trajectory.h5md",
                self.comm,
                self.natoms,
                self.domain,
                self.units,
                append=self.step > 0,
            )
        self.traj.write_frame(self.host_atoms(), self.step, self.time)
        return {}

    def local_state(self):
        n = self.nlocal
        return {"x": self.x[:n], "v": self.v, "f": self.f[:n], "id": self.ids, "type": self.types[:n]}

    def save_state(self, h5):
        be, n = self.backend, self.nlocal
        write_concatenated(h5, "state/count", np.array([n], dtype=np.int64), self.comm)
        arrays = {
            "x": self.x[:n],
            "xhold": self.xhold,
            "v": self.v,
            "id": self.ids,
            "type": self.types[:n],
            "image": self.image,
        }
        arrays.update(self.extra)
        for k, a in arrays.items():
            write_concatenated(h5, f"state/{k}", be.to_host(a), self.comm)
        for k, v in self.integrator.state_dict().items():
            h5.attrs[k] = v
        if self.barostat is not None:
            for k, v in self.barostat.state_dict().items():
                h5.attrs[k] = v
        h5.attrs["box_lo"], h5.attrs["box_hi"] = np.array(self.domain.boxlo), np.array(self.domain.boxhi)
        h5.attrs["dt"], h5.attrs["ago"], h5.attrs["nbuilds"], h5.attrs["natoms"] = (
            self.dt,
            self.ago,
            self.nbuilds,
            self.natoms,
        )
        h5.attrs["split"] = np.array([s for ax in self.domain.split for s in ax])
        h5.attrs["extra"] = ",".join(self.extra)

    def load_state(self, h5, path):
        if "state/count" not in h5:
            raise InputError(path, "dataset 'state/count' is missing")
        # on another rank count: an even share of the rows each, migrated to their owners below
        start, n, same = concatenated_share(h5, self.comm, path=path)
        get = {
            k: read_concatenated(h5, f"state/{k}", start, n, path) for k in ("x", "xhold", "v", "id", "type", "image")
        }
        extra = [k for k in str(h5.attrs.get("extra", "")).split(",") if k]
        ex = {k: read_concatenated(h5, f"state/{k}", start, n, path) for k in extra}
        self.natoms = int(h5.attrs["natoms"])
        dom = self.domain
        if "box_lo" in h5.attrs:  # the barostat may have changed the box
            dom.boxlo, dom.boxhi = [float(v) for v in h5.attrs["box_lo"]], [float(v) for v in h5.attrs["box_hi"]]
            dom.length = [h - l for l, h in zip(dom.boxlo, dom.boxhi)]
        flat = list(h5.attrs["split"])
        for ax in range(3):
            k = dom.dims[ax] + 1
            if same:
                dom.split[ax], flat = [float(s) for s in flat[:k]], flat[k:]
            else:  # this rank count's even split of the checkpoint's box
                dom.split[ax] = [dom.boxlo[ax] + dom.length[ax] * i / dom.dims[ax] for i in range(k)]
        dom.split_changed()
        self._create(get["id"], get["x"], get["v"], get["type"], get["image"], ex)
        self.topology, self.coeffs = {}, {}
        self.dt = float(h5.attrs["dt"])
        self.integrator = make_integrator(self.state, self.units, self.params, self.dt, self.ctx.seed)
        self.integrator.load({k: h5.attrs[k] for k in self.integrator.state_dict()})
        self.barostat = self._make_barostat()
        if self.barostat is not None:
            self.barostat.load({k: h5.attrs[k] for k in self.barostat.state_dict()})
        if not same:
            # New sub-domains: migrate, new ghosts and list (the same state; a new summation order).
            self._rebuild()
            self.nbuilds += int(h5.attrs["nbuilds"])
            self._forces()
            return
        # Rebuild ghosts and the list exactly as at the last build, then bring ghosts to the present.
        xnow = self.x
        self._rebuild(xbuild=self.backend.asarray(get["xhold"], dtype=self.ctx.dtype))
        self.x[: self.nlocal] = xnow
        self.domain.forward_comm(self.x)
        self.ago, self.nbuilds = int(h5.attrs["ago"]), int(h5.attrs["nbuilds"])
        self._forces()

    # Results -----------------------------------------------------------------------------------------
    def memory_per_atom(self):
        """Bytes of per-atom arrays, ghosts and neighbour list, per owned atom (collective)."""
        arrays = [self.x, self.v, self.f, self.ids, self.types, self.image, self.xhold, self.neigh, self.mass_col]
        arrays += list(self.extra.values())
        nbytes = sum(self.backend.nbytes(a) for a in arrays)
        tot = self.comm.allreduce(nbytes)
        return tot / max(self.natoms, 1)

    def results(self):
        dom = self.domain
        counts = self.comm.allgather(self.nlocal)
        ghosts = self.comm.allreduce(sum(s.nrecv for s in dom.swaps))
        return {
            "natoms": self.natoms,
            "dt": self.dt,
            "process_grid": dom.dims,
            "neigh_builds": self.nbuilds,
            "ghosts_total": ghosts,
            "atoms_per_rank": counts,
            "imbalance": max(counts) / (sum(counts) / len(counts)),
            "balance": getattr(self, "balance_log", []),
            "memory_bytes_per_atom": self.memory_per_atom(),
            "thermo": self.thermo(),
            "kernels": {
                "neighbor": getattr(self.k_neigh, "__name__", ""),
                "pair": getattr(self.k_pair, "__name__", ""),
            },
            "pair_precision": self.pair_precision,
        }

    def gather_data(self):
        """All atoms on rank 0, sorted by id, as a :func:`write_data` dict (collective; None elsewhere)."""
        parts = self.comm.gather(self.host_atoms(), root=0)
        if self.comm.Get_rank() != 0:
            return None
        d = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        o = np.argsort(d["id"], kind="stable")
        d = {k: v[o] for k, v in d.items()}
        d["type"] = d["type"] + 1
        d.update(
            {
                "ntypes": self.ntypes,
                "box_lo": self.domain.boxlo,
                "box_hi": self.domain.boxhi,
                "masses": self.masses,
                "style": self.style,
                "topology": self.topology,
                "coeffs": self.coeffs,
            }
        )
        return d

    def finish(self, output_dir):
        files = []
        if self.traj is not None:
            self.traj.close()
            files.append("trajectory.h5md")
        if self.params["write_data"]:
            d = self.gather_data()
            if self.comm.Get_rank() == 0:
                write_data(f"{output_dir}/{self.params['write_data']}", d)
            files.append(self.params["write_data"])
        return files
