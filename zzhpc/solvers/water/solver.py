r"""Rigid three-site water (SPC/E, TIP3P) with particle-mesh Ewald, on the MD core's decomposition.

Molecules are owned whole by the rank of their oxygen (:mod:`.molecules`) on a
:class:`zzhpc.particles.Domain` whose rows are whole molecules; ghost molecules are refreshed every step
and ghost forces summed back. Neighbours come in two levels (:mod:`.pairlist`): an outer list of
molecule pairs (``md_neighbor_list`` on the oxygens), rebuilt with the migration and the ghosts when an
oxygen has moved more than half of ``molecule_skin``, and the atom list pruned from it
(``water_pair_list``) when an atom has moved more than half of ``skin``. The
force field is :class:`.forcefield.WaterForceField` (LJ, real-space Ewald, smooth PME on the distributed
FFT). The step (:mod:`.integrate`) is velocity Verlet with SETTLE/RATTLE, SVR thermostat and c-rescale
barostat (:mod:`zzhpc.particles.coupling`). Units: A, fs, kcal/mol, g/mol, K, atm (``real``).
Thermo: :math:`T = 2K/(N_f k_B)` with :math:`N_f = 6N_{mol} - 3`,
:math:`P = (2K + W + W_c)/(3V)` with the atomic virial :math:`W` and the constraint virial
:math:`W_c`.
"""

import numpy as np
from mpi4py import MPI

from ...config import Param
from ...core import Solver, register_solver
from ...device import get_kernel
from ...device.kernels import kernel_registry
from ...errors import ConfigError
from ...particles.coupling import WATER_COMPRESSIBILITY_ATM
from ...particles.domain import Domain
from ...particles.units import UNITS
from . import perfmodel
from . import molecules as mol
from . import pairlist
from .builder import box_length
from .checkpoint import load_water_state, save_water_state
from .clusters import ClusterPairList
from .forcefield import WaterForceField
from .initial import check_initial, read_water_gro, start_record
from .integrate import RigidVerlet, file_velocities, initial_velocities, minimise
from .models import MODELS, get_model
from .outputs import Sampler, write_figures
from .settle import SettleGeometry, bond_error
from .trajectory import Trajectory


@register_solver
class WaterSolver(Solver):
    name = "water"
    description = "rigid water (SPC/E, TIP3P): SETTLE, PME, SVR thermostat, c-rescale barostat"
    cases_module = "zzhpc.solvers.water.cases"
    restart_any_ranks = True  # bitwise on the same rank count; re-decomposed on another
    precisions = ("uniform", "mixed")  # mixed: float32 pair terms and PME, float64 sums (docs/precision.md)
    work_unit = "molecule"
    weak_scaling_key = "water.molecules"
    cost_model = perfmodel  # zzhpc scale / zzhpc project: perfmodel.py
    schema = {
        "model": Param(str, "spce", choices=tuple(MODELS), help="water model"),
        "initial": Param(
            str,
            None,
            is_file=True,
            help="start from this GROMACS .gro water box (e.g. from gmx solvate): water only, O, H, H "
            "per molecule, orthorhombic box; box and molecule count from the file (molecules "
            "and density must be left at their defaults), geometry made rigid to the model; the "
            "file's velocities are used when it has them and minimise_steps = 0",
        ),
        "molecules": Param(int, 512, lo=2, help="number of molecules (a cubic box at water.density)"),
        "density": Param(float, 0.997, lo=0.1, hi=2.0, help="initial density [g/cm^3]"),
        "box_seed": Param(int, 1, lo=0, help="seed of the molecules' orientations"),
        "cutoff": Param(float, 9.0, lo=2.0, help="LJ and real-space Coulomb cutoff [A]"),
        "skin": Param(
            float,
            2.0,
            lo=0,
            help="atom-list skin [A] (the list is pruned from the outer list when an atom has moved half of it)",
        ),
        "molecule_skin": Param(
            float,
            1.0,
            lo=0,
            help="outer-list skin [A]: migration, ghosts and the outer "
            "molecule-pair list are rebuilt when an oxygen has moved "
            "half of it",
        ),
        "pair_scheme": Param(
            str,
            "auto",
            choices=("auto", "atom", "cluster"),
            help="real-space pairs: 'atom' (atom list pruned from the molecule list), 'cluster' (4-atom "
            "spatial clusters, masked cluster-pair list, float32 lanes in the mixed mode; numpy backend with "
            "numba; docs/water.md), 'auto' (cluster in the mixed mode on the numpy backend with numba, atom "
            "otherwise)",
        ),
        "coulomb": Param(str, "pme", choices=("pme", "ewald"), help="reciprocal-space method"),
        "ewald_tolerance": Param(
            float, 5e-4, lo=0, lo_open=True, hi=0.1, help="Ewald error tolerance (alpha and PME grid from it)"
        ),
        "ewald_alpha": Param(float, None, lo=0, lo_open=True, help="Ewald splitting parameter [1/A] (overrides)"),
        "pme_grid": Param((list, int), None, lo=4, length=3, help="PME grid points per axis (overrides)"),
        "pme_order": Param(int, 5, lo=3, hi=8, help="B-spline interpolation order"),
        "dispersion_correction": Param(bool, True, help="long-range LJ energy and pressure correction"),
        "ensemble": Param(str, "npt", choices=("nve", "nvt", "npt"), help="nve, nvt (SVR) or npt (SVR + c-rescale)"),
        "temperature": Param(float, 300.0, lo=0, lo_open=True, help="target and initial temperature [K]"),
        "tau_t": Param(float, 100.0, lo=0, help="thermostat time constant [fs] (0: resample every step)"),
        "pressure": Param(float, 1.0, help="target pressure [atm]"),
        "tau_p": Param(float, 1000.0, lo=0, lo_open=True, help="barostat time constant [fs]"),
        "compressibility": Param(
            float,
            WATER_COMPRESSIBILITY_ATM,
            lo=0,
            lo_open=True,
            help="isothermal compressibility [1/atm] (water: 4.5e-5 1/bar)",
        ),
        "pcouple_every": Param(int, 10, lo=1, help="steps between barostat moves"),
        "minimise_steps": Param(int, 50, lo=0, help="steepest-descent steps before dynamics (gentle start)"),
        "minimise_displacement": Param(
            float, 0.05, lo=0, lo_open=True, hi=0.5, help="first steepest-descent displacement [A]"
        ),
        "velocity_seed": Param(int, 4928459, lo=0, help="seed of the initial velocities"),
        "sample_every": Param(int, 0, lo=0, help="steps between RDF/MSD samples (0 = none)"),
        "sample_start": Param(int, 0, lo=0, help="first step sampled (equilibration before)"),
        "rdf_rmax": Param(float, 10.0, lo=1.0, help="largest O-O distance of g(r) [A] (capped at 0.45 L)"),
        "rdf_bins": Param(int, 200, lo=10, help="bins of g(r)"),
        "plots": Param(bool, True, help="PNG figures at the end: g_OO(r), density, MSD (rank 0)"),
        "kernels": Param(str, "auto", choices=("auto", "reference"), help="reference: the xp neighbour kernel"),
    }

    @classmethod
    def check_config(cls, cfg, nranks):
        dims = cfg["parallel"]["dims"]
        if dims and len(dims) != 3:
            raise ConfigError("parallel.dims", "expected 3 entries (x, y, z)", dims)
        if dims and int(np.prod(dims)) != nranks:
            raise ConfigError("parallel.dims", f"must multiply to the {nranks} ranks", dims)
        if cfg["water"]["initial"]:
            check_initial(cfg["water"], cls.schema)

    # Construction ----------------------------------------------------------------------------------
    def __init__(self, ctx, cfg):
        super().__init__(ctx, cfg)
        p = self.params
        self.units = UNITS["real"]
        self.dt = self.dt or 2.0
        self.model = get_model(p["model"])
        self.geom = SettleGeometry(self.model)
        self.start = None
        if p["initial"]:
            first = self.comm.Get_rank() == 0  # one reader; every rank gets the box
            self.start = self.comm.bcast(read_water_gro(p["initial"], self.model) if first else None)
            self.nmol, lengths = self.start["nmol"], list(self.start["lengths"])
        else:
            self.nmol = int(p["molecules"])
            lengths = [box_length(self.nmol, self.model, p["density"])] * 3
        L = min(lengths)
        if p["cutoff"] + p["skin"] > 0.5 * L:
            raise ConfigError(
                "water.cutoff",
                f"cutoff + skin must not exceed half the box edge ({0.5 * L:.3f} A "
                f"for {self.nmol} molecules); use more molecules or a shorter cutoff",
                p["cutoff"],
            )
        self.cutneigh = p["cutoff"] + p["skin"]
        self.cutouter = pairlist.outer_cutoff(p["cutoff"], p["skin"], p["molecule_skin"], self.model.r_OH)
        be = self.backend
        self.domain = Domain(
            self.comm,
            be,
            [0.0] * 3,
            lengths,
            [True] * 3,
            mol.ghost_cutoff(p["cutoff"], p["skin"], p["molecule_skin"], self.model),
            ctx.dims or None,
            key="parallel.dims",
        )
        self.ff = WaterForceField(
            self.comm,
            be,
            self.model,
            lengths,
            p["cutoff"],
            self.nmol,
            coulomb=p["coulomb"],
            tolerance=p["ewald_tolerance"],
            alpha=p["ewald_alpha"],
            grid=p["pme_grid"],
            order=p["pme_order"],
            dispersion_correction=p["dispersion_correction"],
            dtype=ctx.dtype,
            precision=ctx.precision,
        )
        self.pair_scheme = pair_scheme(p["pair_scheme"], ctx.precision, be)
        self.cluster_dtype = "float32" if ctx.precision == "mixed" else ctx.dtype
        self.clusters = None
        reg = kernel_registry()
        ref = p["kernels"] == "reference"
        self.k_neigh = reg["md_neighbor_list"]["generic"] if ref else get_kernel("md_neighbor_list", be)
        self.k_prune = reg["water_pair_list"]["generic"] if ref else get_kernel("water_pair_list", be)
        self.nbuilds = self.nprunes = self.ago = 0
        self.energies, self.virial = {}, 0.0
        # Force-only steps: the steps whose outputs read the potential energy or the virial (docs/water.md).
        runc = cfg.get("run", {}) if hasattr(cfg, "get") else {}
        self._output_every = tuple(int(k) for k in (runc.get("diag_every"), runc.get("thermo_every")) if k)
        self._stepping = False
        self.traj = None
        rmax = min(p["rdf_rmax"], 0.45 * L)
        self.sampler = Sampler(self.comm, self.nmol, rmax, p["rdf_bins"])
        self.minimise_log = None

    def grid_description(self):
        d = self.domain.describe()
        d["pme"] = {"alpha": getattr(self.ff, "alpha", None), "grid": list(getattr(self.ff, "grid", []) or [])}
        return d

    @property
    def dof(self):
        return 6 * self.nmol - 3

    @property
    def nlocal(self):
        return 3 * int(self.xm.shape[0])

    @property
    def lengths(self):
        return list(self.domain.length)

    @property
    def volume(self):
        return float(np.prod(self.domain.length))

    # Initial state ---------------------------------------------------------------------------------
    def initialise(self):
        from .builder import water_box

        p, dom, be = self.params, self.domain, self.backend
        if self.start is not None:
            x = self.start["x"]
        else:
            x, _ = water_box(self.nmol, self.model, p["density"], p["box_seed"])
            x = x.reshape(self.nmol, 3, 3)
        o = x[:, 0]
        mine = np.all((o >= np.asarray(dom.sublo)) & (o < np.asarray(dom.subhi)), axis=1)
        mid = np.nonzero(mine)[0].astype(np.int64)
        dt = self.ctx.dtype
        self.xm = be.asarray(x[mine], dtype=dt)
        self.vm = be.asarray(np.zeros((len(mid), 3, 3)), dtype=dt)
        self.mid = be.asarray(mid, dtype="int64")
        self.image = be.asarray(np.zeros((len(mid), 3), np.int64), dtype="int64")
        self.box_hold = self.lengths
        self.integrator = RigidVerlet(self)
        self._rebuild()
        self._forces()
        self._compile_force_variants()
        if p["minimise_steps"]:
            self.minimise_log = minimise(self, p["minimise_steps"], p["minimise_displacement"])
        if self.start is not None and self.start["v"] is not None and not p["minimise_steps"]:
            # molecules were re-sorted by bin at the first build: index by their ids
            self.vm = file_velocities(self, be.asarray(self.start["v"][be.to_host(self.mid)], dtype=dt))
        else:
            self.vm = initial_velocities(self, p["temperature"], p["velocity_seed"])
        self._drop_start_arrays()
        self.integrator.refresh_pressure()

    # Neighbours and forces ---------------------------------------------------------------------------
    def _rebuild(self, restore=None):
        """Migrate whole molecules, rebuild the ghost molecules and the outer list, prune the atom list.

        ``restore = (xm_hold, x_hold, box_prune)`` (a checkpoint's) rebuilds exactly as the run did: the
        outer level from the owned molecules at its build (in the box and split set by the caller),
        the atom list from the owned atoms at the last prune in the box of that prune."""
        dom, xp = self.domain, self.xp
        with self.timers("halo"):
            if restore is None:
                x, v, mid, img = mol.migrate(dom, self.xm, self.vm, self.mid, self.image)
                self.xm, self.vm, self.mid, self.image = mol.sort_by_bin(dom, self.cutneigh, x, v, mid, img)
                rows = xp.reshape(self.xm, (-1, 9))
                self.box_hold, self.split_hold = self.lengths, [list(s) for s in dom.split]
            else:
                rows = restore[0]
            nm = int(rows.shape[0])
            self.xrows, mid_all = dom.borders(rows, self.mid)
            self.x = xp.reshape(self.xrows, (-1, 3))  # a view: sites O, H, H of each molecule
            self.types, self.molid = mol.atom_types(int(self.xrows.shape[0]), xp), mol.atom_mols(mid_all, xp)
        lo, hi = dom.bin_region()
        self.xmhold = xp.asarray(rows, copy=True)
        if self.pair_scheme == "cluster":
            # The cluster lists search cluster boxes themselves: no molecule list.
            self.mneigh = xp.zeros((nm, 0), dtype=xp.int64)
            with self.timers("neighbor"):
                self.clusters = ClusterPairList.on_domain(
                    self.backend, dom, self.x, self.types, 3 * nm, self.cutouter, self.cluster_dtype
                )
        else:
            self.mneigh = self.k_neigh(xp.asarray(self.xrows[:, 0:3], copy=True), nm, lo, hi, self.cutouter, True)
        self.nbuilds += 1
        if restore is None:
            self._prune()
            return
        keep = list(dom.length), [list(sp) for sp in dom.split]
        mol.set_box(dom, restore[2])
        mol.reset_shifts(dom)
        self.x[: 3 * nm] = restore[1]
        dom.forward_comm(self.xrows)
        self._prune()
        mol.set_box(dom, keep[0])
        dom.split = keep[1]
        dom.split_changed()
        mol.reset_shifts(dom)

    def _prune(self):
        """The atom list from the outer list at the present positions (ghosts refreshed)."""
        n = self.nlocal
        if self.clusters is not None:
            self.clusters.prune(self.x, self.cutneigh)
            self.neigh = self.clusters
        else:
            self.neigh = self.k_prune(self.x, self.mneigh, n // 3, self.cutneigh)
        self.xhold = self.xp.asarray(self.x[:n], copy=True)
        self.box_prune = self.lengths
        self.ago = 0
        self.nprunes += 1

    def _decide(self):
        """2: rebuild everything (an oxygen moved more than (molecule_skin - box change) / 2 since the
        outer build); 1: prune the atom list (an atom moved more than (skin - box change) / 2 since the
        last prune); 0: neither. The same answer on every rank."""
        self.ago += 1
        n, xp, p = self.nlocal, self.xp, self.params
        code = 0
        if n:
            moved = _max_sq(self.x[:n] - self.xhold, xp)
            moved_o = _max_sq(self.x[0:n:3] - xp.reshape(self.xmhold, (-1, 3, 3))[:, 0], xp)
        else:
            moved = moved_o = 0.0
        now = np.asarray(self.lengths)
        lim_o = 0.5 * (p["molecule_skin"] - float(np.linalg.norm(now - np.asarray(self.box_hold))))
        lim = 0.5 * (p["skin"] - float(np.linalg.norm(now - np.asarray(self.box_prune))))
        if lim_o <= 0 or moved_o > lim_o * lim_o:
            code = 2
        elif lim <= 0 or moved > lim * lim:
            code = 1
        return self.comm.allreduce(code, op=MPI.MAX)

    def update_ghosts(self):
        """Copy owned positions into ``x``, then rebuild, or refresh the ghosts (and prune if due)."""
        n = self.nlocal
        self.x[:n] = self.xp.reshape(self.xm, (n, 3))
        code = self._decide()
        if code == 2:
            self._rebuild()
            return
        with self.timers("halo"):
            self.domain.forward_comm(self.xrows)
        if code == 1:
            self._prune()

    def _needs(self):
        """``(energy, virial)``: what the forces being computed must come with. Inside a step (the forces
        of step ``self.step + 1``) the energies only on a diagnostics or thermo step, the virial then and
        on every NPT step (the barostat's pressure); outside a step (start, minimisation, restart) both."""
        if not (self._stepping and FORCE_ONLY_STEPS):
            return True, True
        s = self.step + 1
        energy = any(s % k == 0 for k in self._output_every)
        return energy, energy or self.integrator.ensemble == "npt"

    def _compile_force_variants(self):
        """Compile, at set-up, the kernel variants the step loop calls on force-only steps (forces only;
        with the virial too under NPT), so that the first steps do not pay for it: the cluster kernel's
        variants take 2-3 s each per process and Numba does not cache them (their helpers are closures
        of the variant factory). Pure calls on the initial state: nothing is kept. Collective."""
        if not FORCE_ONLY_STEPS:
            return
        variants = [(False, False)] + ([(False, True)] if self.integrator.ensemble == "npt" else [])
        with self.timers("forces"):
            for energy, virial in variants:
                self.ff.compute(
                    self.x, self.types, self.molid, self.nlocal, self.neigh, half=True, energy=energy, virial=virial
                )

    def _forces(self):
        energy, virial = self._needs()
        with self.timers("forces"):
            f, e, w = self.ff.compute(
                self.x, self.types, self.molid, self.nlocal, self.neigh, half=True, energy=energy, virial=virial
            )
        with self.timers("halo"):
            self.domain.reverse_comm(self.xp.reshape(f, (-1, 9)))  # a view: sums into f
        self.fm = self.xp.reshape(f[: self.nlocal], (-1, 3, 3))
        self._energies, self._virial = e, float(w)
        self._e_stale, self._w_stale = not energy, not virial

    def _refresh_energies(self):
        """Energies and virial at the state of the last force call, which skipped them (collective: every
        rank reads them alike). The same positions, lists and box, the same kernels: the values are those
        a full force call would have given, bit for bit; the forces are not touched."""
        with self.timers("forces"):
            _, e, w = self.ff.compute(self.x, self.types, self.molid, self.nlocal, self.neigh, half=True)
        self._energies, self._virial = e, float(w)
        self._e_stale = self._w_stale = False

    @property
    def energies(self):
        """Potential energy terms [kcal/mol] of the current state (computed now if the last force call
        skipped them; collective then)."""
        if self._e_stale:
            self._refresh_energies()
        return self._energies

    @energies.setter
    def energies(self, value):
        self._energies, self._e_stale = value, False

    @property
    def virial(self):
        """Atomic virial [kcal/mol] of the current state (as :attr:`energies`)."""
        if self._w_stale:
            self._refresh_energies()
        return self._virial

    @virial.setter
    def virial(self, value):
        self._virial, self._w_stale = value, False

    def advance(self):
        self._stepping = True
        try:
            self.integrator.step()
        finally:
            self._stepping = False
        self.step += 1
        self.time = self.step * self.dt
        p = self.params
        if p["sample_every"] and self.step >= p["sample_start"] and self.step % p["sample_every"] == 0:
            self._sample()

    def _sample(self):
        be = self.backend
        self.sampler.sample(
            self.time, be.to_host(self.mid), mol.unwrapped_oxygens(be, self.xm, self.image, self.lengths), self.lengths
        )

    # Thermo ------------------------------------------------------------------------------------------
    def thermo(self):
        """temp, pe, ke, etotal, press [atm], volume [A^3], density [g/cm^3], conserved (collective)."""
        integ = self.integrator
        ke = integ.kinetic_energy()
        pe = float(self.energies["total"])
        temp = 2 * ke / (self.dof * self.units.boltz)
        return {
            "temp": temp,
            "pe": pe,
            "ke": ke,
            "etotal": pe + ke,
            "press": integ.pressure(ke),
            "volume": self.volume,
            "density": mol.density_g_cm3(self.nmol, self.model.molar_mass, self.volume),
            "conserved": pe + ke - integ.thermostat_work - integ.barostat_work,
            "neigh_builds": float(self.nbuilds),
            "list_prunes": float(self.nprunes),
        }

    def diagnostics(self):
        return self.thermo()

    def local_nonfinite_field(self):
        xp = self.xp
        return None if bool(xp.all(xp.isfinite(self.vm))) and bool(xp.all(xp.isfinite(self.xm))) else "x/v"

    def nonfinite_field(self):
        return None if self.comm.allreduce(self.local_nonfinite_field() is None, op=MPI.LAND) else "x/v"

    def poison(self):
        if self.xm.shape[0]:
            self.vm[0, 0, 0] = float("nan")

    # Output, checkpoints ----------------------------------------------------------------------------
    def write_fields(self, h5):
        if self.traj is None:
            self.traj = Trajectory(self.ctx.output_dir + "/trajectory.h5md", self, append=self.step > 0)
        self.traj.write(self, self.step, self.time)
        return {}

    def save_state(self, h5):
        save_water_state(self, h5)
        self.sampler.save(h5)

    def _drop_start_arrays(self):
        """The file's whole box is not kept on every rank once the owned molecules are taken from it."""
        if self.start is not None:
            self.start["x"] = self.start["v"] = None

    def load_state(self, h5, path):
        self._drop_start_arrays()
        load_water_state(self, h5, path)
        self.sampler.load(h5, path)

    # Results -----------------------------------------------------------------------------------------
    def memory_per_molecule(self):
        """Bytes of per-atom arrays, ghosts and neighbour list per molecule (collective; PME grids excluded)."""
        arrays = [
            self.x,
            self.types,
            self.molid,
            self.xhold,
            self.xmhold,
            self.mneigh,
            self.xm,
            self.vm,
            self.fm,
            self.mid,
            self.image,
        ]
        nbytes = sum(self.backend.nbytes(a) for a in arrays)
        nbytes += self.clusters.nbytes() if self.clusters is not None else self.backend.nbytes(self.neigh)
        return self.comm.allreduce(nbytes) / self.nmol

    def constraint_error(self):
        """Largest deviation of an O-H or H-H distance from the model's [A] (collective)."""
        return self.comm.allreduce(bond_error(self.xm, self.geom), op=MPI.MAX)

    def results(self):
        dom = self.domain
        counts = self.comm.allgather(int(self.xm.shape[0]))
        out = {
            "molecules": self.nmol,
            "model": self.model.name,
            "dt_fs": self.dt,
            "process_grid": dom.dims,
            "box_A": self.lengths,
            "neigh_builds": self.nbuilds,
            "list_prunes": self.nprunes,
            "molecules_per_rank": counts,
            "ghosts_total": self.comm.allreduce(dom.nghost()),
            "memory_bytes_per_molecule": self.memory_per_molecule(),
            "constraint_error_A": self.constraint_error(),
            "pme": {
                "alpha": getattr(self.ff, "alpha", None),
                "grid": list(getattr(self.ff, "grid", []) or []),
                "order": self.params["pme_order"],
                "coulomb": self.params["coulomb"],
            },
            "energies": dict(self.energies),
            "thermo": self.thermo(),
            "minimise": self.minimise_log,
            "initial": start_record(self.start, self.params),
            "kernels": {
                "neighbor": getattr(self.k_neigh, "__name__", ""),
                "prune": "clusters.prune" if self.clusters is not None else getattr(self.k_prune, "__name__", ""),
                "pair": getattr(self.ff.k_cluster if self.clusters is not None else self.ff.kernel, "__name__", ""),
            },
            "pair_scheme": self.pair_scheme,
        }
        analysis = self.sampler.results()
        out["analysis"] = self.comm.bcast(analysis, root=0)
        return out

    def finish(self, output_dir):
        files = []
        if self.traj is not None:
            self.traj.close()
            files.append("trajectory.h5md")
        if self.params["plots"] and self.comm.Get_rank() == 0:
            files += write_figures(self.sampler, output_dir, self.model.name)
        return self.comm.bcast(files, root=0)


#: ``water.pair_scheme = "auto"`` picks the cluster scheme in the mixed mode when this is true: on the
#: 4,000-molecule bench box (quiet machine, 12-07) its whole step took 11.8 ms against the atom scheme's
#: 16.0-17.8 on one rank, and 7.2 against 10.6 ms on two (docs/water.md, "Cluster-pair scheme").
AUTO_CLUSTER_WHEN_MIXED = True
#: Steps that output neither the energies nor the virial compute forces only (cluster scheme; GROMACS's
#: ``nstcalcenergy``); every output is bitwise that of computing them every step (tests/test_water_force_only.py).
FORCE_ONLY_STEPS = True


def pair_scheme(choice, precision, backend):
    """'atom' or 'cluster' for the deck's ``water.pair_scheme`` (see its help); 'cluster' needs the numpy
    backend with numba (its lists are built by compiled host code)."""
    from .cody import njit

    usable = getattr(backend, "name", "") == "numpy" and njit is not None
    if choice == "auto":
        return "cluster" if AUTO_CLUSTER_WHEN_MIXED and usable and precision == "mixed" else "atom"
    if choice == "cluster" and not usable:
        raise ConfigError(
            "water.pair_scheme", "'cluster' needs the numpy backend with numba; expected 'atom' or 'auto' here", choice
        )
    return choice


def _max_sq(d, xp):
    """Largest squared length of the rows of ``d`` (N, 3); the sum by columns, not ``sum(axis=1)``, which
    NumPy does 9x slower on rows of three (0.42 against 0.045 ms for 12,000 rows), same bits."""
    return float(xp.max(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2]))
