r"""Protein folding with a C-alpha structure-based model: batched Langevin replicas, temperature exchange.

Walkers ``0 .. R-1`` are spread over the ranks in blocks (:class:`~zzhpc.parallel.ReplicaSet`); each rank
advances its block as ``(R_local, N, 3)`` arrays on its device, in chunks of ``folding.batch`` replicas per
force call. Every walker has its own noise stream, so a walker's trajectory is the same on any rank count.
Units are reduced (:mod:`.model`): energy eps, length nm, mass 1, time nm sqrt(m/eps), k_B = 1.
"""

import json
import math
from types import SimpleNamespace

import numpy as np
from mpi4py import MPI

from ...config import Param
from ...core import Solver, register_solver
from ...device import get_kernel
from ...errors import ConfigError, InputError
from ...io import read_block, write_block
from ...parallel import ReplicaSet
from . import kernels_numba, perfmodel
from .analysis import fraction_native, kabsch_rmsd, radius_of_gyration
from .kernels import mixed_params
from .dynamics import BAOAB, NoiseStreams, TemperatureExchange, geometric_ladder, initial_velocities
from .model import build_model
from .output import FoldingOutput
from .smog import read_smog
from .structure import find_structure, read_structure

SERIES = ("energy", "q", "rmsd", "rg", "rung", "kinetic")
DEFAULT_DT = 0.002


@register_solver
class FoldingSolver(Solver):
    name = "folding"
    description = "C-alpha structure-based protein model, batched Langevin replicas, temperature exchange"
    cases_module = "zzhpc.solvers.folding.cases"
    restart_any_ranks = True
    precisions = ("uniform", "mixed")  # mixed: float32 terms, float64 sums and integrator (kernels_mixed.py)
    work_unit = "replica"
    weak_scaling_key = "folding.replicas"
    cost_model = perfmodel  # zzhpc scale / zzhpc project: perfmodel.py
    schema = {
        "structure": Param(
            str,
            "villin_hp35.pdb",
            help="PDB or mmCIF file, or the name of one in zzhpc/solvers/folding/data; "
            "or a SMOG 2 C-alpha model NAME.top (with NAME.gro and NAME.xml); default: villin HP35",
        ),
        "chain": Param(str, "", help="chain ID (empty: the first chain)"),
        "residues": Param((list, int), None, length=2, help="[first, last] residue numbers (default: all)"),
        "contact_map": Param(
            str,
            "cutoff",
            choices=("cutoff", "shadow"),
            help="native contacts: heavy atoms within contact_cutoff, or the shadow map",
        ),
        "contact_cutoff": Param(float, 4.5, lo=2.0, hi=8.0, help="heavy-atom contact cut-off, angstrom"),
        "shadow_cutoff": Param(float, 6.0, lo=2.0, hi=10.0, help="shadow map: atom-pair cut-off, angstrom"),
        "shadow_radius": Param(float, 1.0, lo=0.1, hi=2.0, help="shadow map: shadowing radius, angstrom"),
        "replicas": Param(int, 8, lo=1, help="number of walkers (one temperature rung each)"),
        "t_min": Param(float, 0.9, lo=0, lo_open=True, help="lowest temperature, eps/k_B"),
        "t_max": Param(float, 1.3, lo=0, lo_open=True, help="highest temperature (geometric ladder)"),
        "temperatures": Param(
            (list, float), None, lo=0, lo_open=True, help="explicit ladder, one per replica (overrides t_min/t_max)"
        ),
        "exchange_every": Param(int, 100, lo=0, help="steps between exchange attempts; 0 = no exchange"),
        "friction": Param(float, 1.0, lo=0, lo_open=True, help="Langevin friction gamma, 1/tau"),
        "initial": Param(str, "native", choices=("native", "extended"), help="starting conformation"),
        "sample_every": Param(int, 100, lo=1, help="steps between samples of E, Q, RMSD, Rg"),
        "q_factor": Param(float, 1.5, lo=1.0, hi=2.0, help="contact formed when r < q_factor * native r"),
        "folded_q": Param(float, 0.9, lo=0, hi=1, help="Q above which (with folded_rmsd) a walker is folded"),
        "folded_rmsd": Param(float, 3.0, lo=0, lo_open=True, help="C-alpha RMSD below which, angstrom"),
        "stop_when_folded": Param(
            float, 0.0, lo=0, hi=1, help="end the run once this fraction of walkers has folded (0: never)"
        ),
        "trajectory_every": Param(int, 0, lo=0, help="steps between DCD frames; 0 = no trajectory"),
        "trajectory_replicas": Param((list, int), [0], lo=0, help="walkers written to traj_<w>.dcd"),
        "discard": Param(float, 0.2, lo=0, hi=0.9, help="fraction of samples dropped before reweighting"),
        "batch": Param(int, 0, lo=0, help="replicas per force call; 0 = automatic"),
    }

    @classmethod
    def check_config(cls, cfg, nranks):
        p = cfg["folding"]
        if find_structure(p["structure"]) is None:
            raise ConfigError(
                "folding.structure", "file not found (nor shipped in zzhpc/solvers/folding/data)", p["structure"]
            )
        if p["temperatures"] is not None and len(p["temperatures"]) != p["replicas"]:
            raise ConfigError(
                "folding.temperatures", f"expected {p['replicas']} entries (folding.replicas)", p["temperatures"]
            )
        if p["t_max"] < p["t_min"]:
            raise ConfigError("folding.t_max", f"must be >= folding.t_min = {p['t_min']}", p["t_max"])
        if p["replicas"] < nranks:
            raise ConfigError("folding.replicas", f"need at least one walker per rank ({nranks} ranks)", p["replicas"])
        bad = [w for w in p["trajectory_replicas"] if w >= p["replicas"]]
        if bad:
            raise ConfigError("folding.trajectory_replicas", f"walkers are 0..{p['replicas'] - 1}", bad)
        if p["residues"] and p["residues"][0] > p["residues"][1]:
            raise ConfigError("folding.residues", "first must be <= last", p["residues"])

    def __init__(self, ctx, cfg):
        super().__init__(ctx, cfg)
        p = self.params
        self.dt = self.dt or DEFAULT_DT
        path = find_structure(p["structure"])
        if path is None:
            raise InputError(p["structure"], "structure file not found")
        if path.endswith(".top"):
            # A SMOG 2 model (.top + .gro + .xml of the same stem): its terms as written, no contact map built.
            self.structure = SimpleNamespace(path=path)
            self.model = read_smog(path)
        else:
            self.structure = read_structure(path, p["chain"], p["residues"])
            self.model = build_model(
                self.structure,
                contact_cutoff=p["contact_cutoff"] / 10.0,
                contact_map=p["contact_map"],
                shadow_cutoff=p["shadow_cutoff"] / 10.0,
                shadow_radius=p["shadow_radius"] / 10.0,
            )
        self.n = self.model.n
        self.replicas = ReplicaSet(self.comm, p["replicas"], key="folding.replicas")
        temps = p["temperatures"] or geometric_ladder(p["t_min"], p["t_max"], p["replicas"])
        self.exchange = TemperatureExchange(temps, ctx.seed)
        self.integrator = BAOAB(self.dt, p["friction"])
        self.np_dtype = np.dtype(ctx.dtype)
        host = self.model.kernel_params()
        self.kparams = {
            k: (self.backend.asarray(v.astype(self.np_dtype)) if isinstance(v, np.ndarray) else v)
            for k, v in host.items()
        }
        # Mixed precision: the terms in float32 with float32 parameters, positions, velocities, the sums
        # and the step in dtype (on a device without float64: float32 state, pairwise sums).
        self.mixed = ctx.mixed
        if self.mixed:
            self.kparams["float32"] = mixed_params(self.kparams)
        self.force_kernel = get_kernel("sbm_forces", self.backend)
        self.step_kernel = get_kernel("sbm_baoab_step", self.backend)
        # The dense kernels hold (batch, N, N) pair matrices (three more in the mixed mode): ~1 MB of them
        # on a CPU; the compiled one none.
        whole = self.backend.kind == "gpu" or (self.backend.name == "numpy" and kernels_numba.usable(self.np_dtype))
        batch = p["batch"] or (self.replicas.count if whole else max(1, 2**17 // (self.n * self.n)))
        ids = self.replicas.local_ids
        self.chunks = [ids[i : i + batch] for i in range(0, len(ids), batch)]
        # Mixed: the Langevin noise drawn and passed in float32 (a random number needs no more digits).
        nt = np.float32 if self.mixed else self.np_dtype
        draw = np.float32 if self.mixed else np.float64
        self.noise = [NoiseStreams(ctx.seed, c, self.n, self.backend, nt, draw=draw) for c in self.chunks]
        self.series = {k: [] for k in SERIES}
        self.sample_steps = []
        self.first_fold = np.full(p["replicas"], -1, dtype=np.int64)
        self.energy = [None] * len(self.chunks)
        self.output = FoldingOutput(self)

    def grid_description(self):
        return dict(self.model.describe(), replicas=self.replicas.n, local_replicas=int(self.replicas.count))

    # State ------------------------------------------------------------------------------------------
    def _force(self, x, energy):
        return self.force_kernel(x, self.kparams, energy=energy, mixed=self.mixed)

    def _set_state(self, x_host, v_host):
        self.x, self.v, self.f = [], [], []
        k = 0
        for c, chunk in enumerate(self.chunks):
            x = self.backend.asarray(x_host[k : k + len(chunk)].astype(self.np_dtype))
            self.x.append(x)
            self.v.append(self.backend.asarray(v_host[k : k + len(chunk)].astype(self.np_dtype)))
            f, e = self._force(x, True)
            self.f.append(f)
            self.energy[c] = e
            k += len(chunk)
        self._update_scales()

    def set_temperatures(self, temperatures):
        """Collective: a new temperature for every rung (e.g. a quench from a callback of
        :class:`zzhpc.Simulation`). The Langevin noise follows at once; velocities relax to the new
        temperature within a few 1/friction."""
        t = np.asarray(temperatures, dtype=np.float64)
        if t.shape != self.exchange.t.shape or not (t > 0).all():
            raise ConfigError(
                "folding.temperatures", f"expected {len(self.exchange.t)} positive values", list(temperatures)
            )
        self.exchange.t = t
        self._update_scales()

    def _update_scales(self):
        t = self.exchange.walker_temperatures()
        self.scales = [self.integrator.noise_scale(self.backend, t[c], self.np_dtype) for c in self.chunks]

    def extended_chain(self):
        """Planar zig-zag at the native bond lengths (bond angles 150 degrees), centred: an unfolded start."""
        x = np.zeros((self.n, 3))
        half = math.radians(15.0)
        for i, r in enumerate(self.model.r0):
            s = half if i % 2 == 0 else -half
            x[i + 1] = x[i] + r * np.array([math.cos(s), math.sin(s), 0.0])
        return x - x.mean(0)

    def initialise(self):
        ids = self.replicas.local_ids
        x0 = self.model.native if self.params["initial"] == "native" else self.extended_chain()
        x = np.repeat(x0[None], len(ids), 0)
        v = initial_velocities(self.ctx.seed, ids, self.n, self.exchange.walker_temperatures()[ids])
        self._set_state(x, v)
        self.sample()

    def host_positions(self):
        return np.concatenate([self.backend.to_host(x) for x in self.x]).astype(np.float64)

    # Time stepping ----------------------------------------------------------------------------------
    def _due(self, every, step):
        return every > 0 and step % every == 0

    def advance(self):
        p = self.params
        nxt = self.step + 1
        swap = self._due(p["exchange_every"], nxt) and self.replicas.n > 1
        need_e = swap or self._due(p["sample_every"], nxt)
        for c in range(len(self.chunks)):
            noise = self.noise[c].at(self.step)
            self.x[c], self.v[c], self.f[c], e = self.step_kernel(
                self.x[c],
                self.v[c],
                self.f[c],
                noise,
                self.scales[c],
                self.kparams,
                self.dt,
                self.integrator.c1,
                need_e,
                force=self._force,
                mixed=self.mixed,
            )
            self.energy[c] = e
        self.step = nxt
        self.time = self.step * self.dt
        if swap:
            with self.timers("reduction"):
                self._exchange()
        if self._due(p["sample_every"], self.step):
            self.sample()
        if self._due(p["trajectory_every"], self.step):
            with self.timers("io"):
                self.output.trajectory_frame()

    def local_energies(self):
        return np.concatenate([self.backend.to_host(e) for e in self.energy]).astype(np.float64)

    def _exchange(self):
        energies = self.replicas.allgather(self.local_energies())
        old = self.exchange.attempt(energies)
        moved = np.nonzero(old != self.exchange.rung)[0]
        if len(moved):
            t = self.exchange.t
            ratio = np.sqrt(t[self.exchange.rung] / t[old])
            for c, chunk in enumerate(self.chunks):
                r = ratio[chunk]
                if np.any(r != 1.0):
                    self.v[c] = self.v[c] * self.backend.asarray(r.reshape(-1, 1, 1).astype(self.np_dtype))
            self._update_scales()

    # Observables ------------------------------------------------------------------------------------
    def sample(self):
        """Record E, Q, RMSD, Rg, rung and kinetic temperature of every walker (collective)."""
        p, m = self.params, self.model
        x = self.host_positions()
        v = np.concatenate([self.backend.to_host(v) for v in self.v]).astype(np.float64)
        local = np.stack(
            [
                self.local_energies(),
                fraction_native(x, m.contacts, m.sigma, p["q_factor"]),
                kabsch_rmsd(x, m.native),
                radius_of_gyration(x),
                self.exchange.rung[self.replicas.local_ids].astype(np.float64),
                np.sum(v * v, axis=(1, 2)) / (3 * self.n),
            ],
            axis=1,
        )
        glob = self.replicas.allgather(local)
        for k, name in enumerate(SERIES):
            self.series[name].append(glob[:, k])
        self.sample_steps.append(self.step)
        folded = (glob[:, 1] >= p["folded_q"]) & (glob[:, 2] * 10.0 < p["folded_rmsd"]) & (self.first_fold < 0)
        self.first_fold[folded] = self.step

    def series_arrays(self):
        """Global time series, ``{name: (R, S)}`` plus ``step (S,)``."""
        out = {k: np.stack(v, axis=1) for k, v in self.series.items()}
        out["step"] = np.asarray(self.sample_steps)
        return out

    def finished(self):
        frac = self.params["stop_when_folded"]
        return frac > 0 and np.mean(self.first_fold >= 0) >= frac

    def diagnostics(self):
        s = {k: v[-1] for k, v in self.series.items()}
        low = int(np.argmin(s["rung"]))
        d = {
            "q_lowest_t": float(s["q"][low]),
            "rmsd_lowest_t_A": float(10 * s["rmsd"][low]),
            "q_mean": float(np.mean(s["q"])),
            "energy_mean": float(np.mean(s["energy"])),
            "kinetic_t_mean": float(np.mean(s["kinetic"])),
            "folded_fraction": float(np.mean(self.first_fold >= 0)),
        }
        if self.replicas.n > 1 and self.params["exchange_every"]:
            d["acceptance_mean"] = (
                float(np.nanmean(self.exchange.acceptance())) if np.any(self.exchange.attempts) else 0.0
            )
        return d

    def nonfinite_field(self):
        ok = all(bool(self.xp.all(self.xp.isfinite(x))) for x in self.x)
        return None if self.comm.allreduce(ok, op=MPI.LAND) else "positions"

    # Output and checkpoints -------------------------------------------------------------------------
    def write_fields(self, h5):
        s = self.replicas.start
        write_block(h5, "fields/positions", self.host_positions(), (self.replicas.n, self.n, 3), (s, 0, 0))
        h5.attrs["units"] = "nm"
        return {"positions": 3}

    def save_state(self, h5):
        s, c = self.replicas.start, self.replicas.count
        shape = (self.replicas.n, self.n, 3)
        write_block(h5, "state/x", self.host_positions(), shape, (s, 0, 0))
        v = np.concatenate([self.backend.to_host(v) for v in self.v]).astype(np.float64)
        write_block(h5, "state/v", v, shape, (s, 0, 0))
        ser = self.series_arrays()
        for k in SERIES:
            write_block(h5, f"state/series/{k}", ser[k][s : s + c], ser[k].shape, (s, 0))
        h5.create_dataset("state/series_steps", data=ser["step"])
        h5.create_dataset("state/first_fold", data=self.first_fold)
        h5.attrs["exchange"] = json.dumps(self.exchange.state())
        h5.attrs["dt"] = self.dt

    def load_state(self, h5, path):
        n_rep = self.replicas.n
        if "state/x" not in h5 or tuple(h5["state/x"].shape) != (n_rep, self.n, 3):
            have = h5["state/x"].shape if "state/x" in h5 else "none"
            raise InputError(path, f"dataset 'state/x' has shape {have}, the deck asks for {(n_rep, self.n, 3)}")
        s, c = self.replicas.start, self.replicas.count
        x = read_block(h5, "state/x", (s, 0, 0), (c, self.n, 3), path)
        v = read_block(h5, "state/v", (s, 0, 0), (c, self.n, 3), path)
        try:
            self.exchange.load(json.loads(h5.attrs["exchange"]))
            steps = np.asarray(h5["state/series_steps"][...])
            self.first_fold = np.asarray(h5["state/first_fold"][...])
        except KeyError as exc:
            raise InputError(path, f"missing checkpoint item {exc}") from None
        self.sample_steps = list(steps)
        for k in SERIES:
            arr = read_block(h5, f"state/series/{k}", (0, 0), (n_rep, len(steps)), path)
            self.series[k] = [arr[:, i] for i in range(arr.shape[1])]
        self.dt = float(h5.attrs.get("dt", self.dt))
        self.integrator = BAOAB(self.dt, self.params["friction"])
        self._set_state(x, v)

    def results(self):
        return self.output.results()

    def finish(self, output_dir):
        return self.output.finish(output_dir)
