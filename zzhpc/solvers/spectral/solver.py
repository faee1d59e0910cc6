r"""Pseudo-spectral DNS of incompressible turbulence in a triply periodic box.

Velocity form, nonlinear term in rotational form :math:`\mathbf u\times\boldsymbol\omega`, pressure by
Leray projection, 2/3-rule or 3/2-rule (padded) dealiasing, low-storage (2N) Runge-Kutta (Carpenter-Kennedy
RK4 or Williamson RK3) with the viscous term exact (integrating factor) or explicit; fixed or CFL-adaptive time step; Taylor-Green, random isotropic or file initial fields;
optional constant-power band forcing. Method and references: :mod:`.navier_stokes`, :mod:`.grid`,
:mod:`.initial`, :mod:`.forcing`, :mod:`.diagnostics`; docs/spectral.md.

Units: any consistent set; the box side is :math:`2\pi` by default, so integer mode numbers are
angular wavenumbers. ``nu`` is the kinematic viscosity [L^2/T].
"""

import math

import numpy as np
from mpi4py import MPI

from ...config import Param
from ...core import Solver, register_solver
from ...errors import ConfigError, InputError
from ...io import read_block, write_block
from ...parallel.fft import choose_process_grid
from . import perfmodel
from . import diagnostics as dg
from . import initial
from .forcing import BandForcing
from .grid import DEALIAS_RULES, SpectralGrid
from .navier_stokes import SCHEMES, LowStorageStepper, NavierStokesRHS, cfl_dt

TWO_PI = 2 * math.pi


@register_solver
class SpectralSolver(Solver):
    name = "spectral"
    description = "pseudo-spectral DNS of incompressible turbulence (periodic box, distributed FFT, 2N RK)"
    cases_module = "zzhpc.solvers.spectral.cases"
    restart_any_ranks = True
    work_unit = "grid point"
    weak_scaling_key = "spectral.shape"
    cost_model = perfmodel  # zzhpc scale / zzhpc project: perfmodel.py
    schema = {
        "shape": Param((list, int), [32, 32, 32], lo=4, length=3, help="collocation points per axis"),
        "lengths": Param((list, float), None, lo=0, lo_open=True, length=3, help="box sides (default 2 pi each)"),
        "nu": Param(float, 1.0 / 1600, lo=0, help="kinematic viscosity [L^2/T]; 0 = inviscid"),
        "initial": Param(
            str, "taylor_green", choices=("taylor_green", "random", "file"), help="initial velocity field"
        ),
        "amplitude": Param(float, 1.0, lo=0, lo_open=True, help="Taylor-Green velocity scale V0"),
        "energy": Param(float, 0.5, lo=0, lo_open=True, help="random field: kinetic energy <|u|^2>/2"),
        "peak_wavenumber": Param(
            float, 4.0, lo=0, lo_open=True, help="random field: k0 of E(k) ~ k^4 exp(-2 k^2/k0^2)"
        ),
        "initial_file": Param(
            str, None, is_file=True, help="initial = 'file': HDF5 with fields/velocity (3, N0, N1, N2)"
        ),
        "decomposition": Param(
            str,
            "slab",
            choices=("slab", "pencil"),
            help="distributed FFT layout (pencil grid from parallel.dims if given)",
        ),
        "viscous": Param(
            str,
            "integrating_factor",
            choices=("integrating_factor", "explicit"),
            help="viscous term exact (integrating factor) or explicit",
        ),
        "time_stepper": Param(
            str,
            "rk4",
            choices=tuple(SCHEMES),
            help="2N-storage Runge-Kutta: rk4 = Carpenter-Kennedy 5-stage 4th order, "
            "rk3 = Williamson 3-stage 3rd order",
        ),
        "dealias": Param(
            str,
            "2/3",
            choices=DEALIAS_RULES,
            help="2/3: truncate |m| >= N/3; 3/2: products on a 3N/2 padded grid, keep |m| < N/2; none: aliased",
        ),
        "cfl": Param(
            float,
            0.5,
            lo=0,
            lo_open=True,
            hi=2.5,
            help="Courant number dt*max(sum |u_i|/h_i) when run.dt is absent (adaptive dt)",
        ),
        "dt_max": Param(float, None, lo=0, lo_open=True, help="upper bound of the adaptive dt"),
        "forcing": Param(str, "none", choices=("none", "band"), help="band: constant-power forcing"),
        "forcing_power": Param(float, 0.1, lo=0, lo_open=True, help="injected power P [L^2/T^3]"),
        "forcing_band": Param(
            (list, float), [0.5, 2.5], lo=0, length=2, help="forced shell [k_a, k_b] of angular wavenumbers"
        ),
        "fft_library": Param(
            str,
            "auto",
            choices=("auto", "native"),
            help="local FFTs: auto = scipy.fft for the numpy backend, native = xp.fft",
        ),
        "spectrum_every": Param(
            int, 0, lo=0, help="record E(k) at diagnostics steps that are multiples of this (0: every diagnostics step)"
        ),
    }

    @classmethod
    def check_config(cls, cfg, nranks):
        p = cfg["spectral"]
        shape, dims = p["shape"], cfg["parallel"]["dims"]
        proc_grid = None
        if dims:
            if p["decomposition"] != "pencil" or len(dims) != 2:
                raise ConfigError(
                    "parallel.dims", "only a pencil decomposition takes a process grid, as 2 entries [P0, P1]", dims
                )
            proc_grid = dims
        try:
            choose_process_grid(tuple(shape), nranks, p["decomposition"], proc_grid)
        except ValueError as exc:
            raise ConfigError("spectral.decomposition", str(exc).split(": ", 1)[-1], p["decomposition"]) from None
        if p["initial"] == "file" and not p["initial_file"]:
            raise ConfigError("spectral.initial_file", "required when spectral.initial = 'file'", None)
        if p["initial"] == "taylor_green" and p["lengths"] and any(abs(L - TWO_PI) > 1e-12 for L in p["lengths"]):
            raise ConfigError("spectral.lengths", "the Taylor-Green field needs the box [0, 2 pi)^3", p["lengths"])
        ka, kb = p["forcing_band"]
        if not ka < kb:
            raise ConfigError("spectral.forcing_band", "expected [k_a, k_b] with k_a < k_b", p["forcing_band"])
        dt = cfg["run"]["dt"]
        if dt is not None and p["viscous"] == "explicit" and p["nu"] > 0:
            lengths = p["lengths"] or [TWO_PI] * 3
            kmax2 = sum((n // 2 * TWO_PI / L) ** 2 for n, L in zip(shape, lengths))
            limit = SCHEMES[p["time_stepper"]].axis_limit(-1.0) / (p["nu"] * kmax2)
            if dt > limit:
                raise ConfigError(
                    "run.dt",
                    f"exceeds {p['time_stepper']}'s explicit viscous limit {limit:.4g}; use "
                    "spectral.viscous = 'integrating_factor' or a smaller dt",
                    dt,
                )

    def __init__(self, ctx, cfg):
        super().__init__(ctx, cfg)
        p = self.params
        self.nu = p["nu"]
        dims = ctx.dims or None
        self.grid = SpectralGrid(
            self.comm,
            p["shape"],
            self.backend,
            lengths=p["lengths"],
            decomposition=p["decomposition"],
            dtype=ctx.dtype,
            proc_grid=dims,
            dealias=p["dealias"],
            timers=self.timers,
            fft_library=p["fft_library"],
        )
        self.forcing = BandForcing(self.grid, p["forcing_power"], p["forcing_band"]) if p["forcing"] == "band" else None
        self.explicit = p["viscous"] == "explicit"
        self.rhs = NavierStokesRHS(self.grid, self.nu, explicit_viscous=self.explicit, forcing=self.forcing)
        self.rk = LowStorageStepper(
            self.grid, self.rhs, self.nu, scheme=p["time_stepper"], integrating_factor=not self.explicit
        )
        self.adaptive = cfg["run"]["dt"] is None
        self.t_end = cfg["run"]["t_end"]
        self.uh = None
        self.spectra = None
        self.last_spectrum = None
        self.spectrum_step = None
        self._time_base = None
        self._restart_dt = None

    def grid_description(self):
        return self.grid.describe()

    # Initial state ----------------------------------------------------------------------------------
    def initialise(self):
        p = self.params
        if p["initial"] == "taylor_green":
            self.uh = initial.taylor_green(self.grid, p["amplitude"])
        elif p["initial"] == "random":
            self.uh = initial.random_isotropic(
                self.grid, energy=p["energy"], k0=p["peak_wavenumber"], seed=self.ctx.seed
            )
        else:
            self.uh = initial.from_file(self.grid, p["initial_file"])
        if self.adaptive:
            self.dt = self._adaptive_dt(dg.physical_extrema(self.grid, self.uh)[1])
        self.spectra = dg.SpectraFile(self.grid, self.ctx.output_dir)

    def _adaptive_dt(self, velocity_bound):
        p = self.params
        dt = cfl_dt(
            p["cfl"],
            velocity_bound,
            nu=self.nu,
            kmax=self.grid.kmax,
            explicit_viscous=self.explicit,
            scheme=p["time_stepper"],
        )
        if p["dt_max"]:
            dt = min(dt, p["dt_max"])
        if not math.isfinite(dt):
            dt = p["dt_max"] or 1.0  # a fluid at rest: any step is stable
        if self.t_end and self.t_end - self.time > 0:
            dt = min(dt, self.t_end - self.time)  # land on t_end exactly
        return dt

    # Time stepping ----------------------------------------------------------------------------------
    def advance(self):
        self.dt = self.rk.step(self.uh, self.dt, choose_dt=self._adaptive_dt if self.adaptive else None)
        if self._time_base is None:  # fixed dt: t = t0 + (step - s0) dt, exact multiples from a fresh start
            self._time_base = (self.step, self.time) if self._restart_dt not in (None, self.dt) else (0, 0.0)
        self.step += 1
        s0, t0 = self._time_base
        self.time = self.time + self.dt if self.adaptive else t0 + (self.step - s0) * self.dt

    # Diagnostics ------------------------------------------------------------------------------------
    def diagnostics(self):
        g, uh = self.grid, self.uh
        e = dg.energy(g, uh)
        ens = dg.enstrophy(g, uh)
        speed, bound, div = dg.physical_extrema(g, uh)
        d = {
            "energy": e,
            "dissipation": 2 * self.nu * ens,
            "enstrophy": ens,
            "max_velocity": speed,
            "max_divergence": div,
            "cfl": self.dt * bound,
            "dt": float(self.dt),
        }
        if self.forcing is not None:
            d["band_energy"] = self.forcing.band_energy(uh)
            d["power_in"] = self.forcing.power
        scales = dg.isotropic_scales(e, d["dissipation"], self.nu, g.kmax)
        if scales:
            d["re_lambda"] = scales["re_lambda"]
            d["kmax_eta"] = scales["kmax_eta"]
        every = self.params["spectrum_every"]
        if every == 0 or self.step % every == 0:
            self._record_spectrum()
        return d

    def _record_spectrum(self):
        self.last_spectrum = dg.spectrum(self.grid, self.uh)
        self.spectrum_step = self.step
        self.spectra.record(self.step, self.time, self.last_spectrum)

    def nonfinite_field(self):
        xp = self.xp
        ok = all(bool(xp.all(xp.isfinite(self.uh[c][r]))) for c in range(3) for r in self.grid.chunks())
        return None if self.grid.comm.allreduce(ok, op=MPI.LAND) else "velocity"

    def poison(self):
        self.uh[(0, 0, 0, 0)] = float("nan")

    # Output and state -------------------------------------------------------------------------------
    def xdmf_geometry(self):
        return self.grid.shape, self.grid.spacing, (0.0, 0.0, 0.0)  # grid points at x = j h

    def write_fields(self, h5):
        g, to_host = self.grid, self.backend.to_host
        start = g.real_start()
        write_block(h5, "fields/velocity", to_host(g.backward(self.uh)), g.shape, start, attrs={"components": 3})
        write_block(h5, "fields/vorticity", to_host(dg.vorticity(g, self.uh)), g.shape, start, attrs={"components": 3})
        return {"velocity": 3, "vorticity": 3}

    def save_state(self, h5):
        g = self.grid
        write_block(h5, "state/velocity_hat", self.backend.to_host(self.uh), g.fft.spectral_shape, g.spectral_start())
        h5.attrs["dt"] = float(self.dt)
        h5.attrs["grid_shape"] = list(g.shape)

    def load_state(self, h5, path):
        g = self.grid
        name = "state/velocity_hat"
        want = (3,) + tuple(g.fft.spectral_shape)
        if name not in h5:
            raise InputError(path, f"dataset '{name}' is missing")
        if tuple(h5[name].shape) != want:
            raise InputError(
                path,
                f"dataset '{name}' has shape {tuple(h5[name].shape)}, the deck's grid {list(g.shape)} needs {want}",
            )
        block = read_block(h5, name, g.spectral_start(), list(g.spectral_shape_local), path)
        cdt = np.complex64 if g.dtype == "float32" else np.complex128
        self.uh = self.backend.asarray(np.ascontiguousarray(block, dtype=cdt))
        self._restart_dt = float(h5.attrs.get("dt", 0.0))
        if self.adaptive:  # recomputed at the next step; kept for the diagnostics before it
            self.dt = self._restart_dt
        self.spectra = dg.SpectraFile(g, self.ctx.output_dir, restart_step=int(h5.attrs["step"]))

    def results(self):
        g = self.grid
        if self.spectrum_step != self.step:
            self._record_spectrum()  # the final state's spectrum is always stored
        out = {
            "dt": float(self.dt),
            "global_shape": list(g.shape),
            "lengths": list(g.lengths),
            "decomposition": g.fft.decomposition,
            "process_grid": list(g.fft.proc_grid),
            "ffts_per_step": self.rk.ffts_per_step,
            "time_stepper": self.rk.scheme.name,
            "kmax": g.kmax,
            "spectrum": {
                "k": (np.arange(len(self.last_spectrum)) * g.kunit).tolist(),
                "E": self.last_spectrum.tolist(),
                "time": self.time,
            }
            if self.last_spectrum is not None
            else None,
            "spectra_csv": "spectra.csv",
        }
        peak = None
        if self.comm.Get_rank() == 0:
            try:
                s = dg.read_series(f"{self.ctx.output_dir}/diagnostics.csv")
                if "dissipation" in s and len(s["time"]) > 2:
                    peak = dg.peak(s["time"], s["dissipation"])
            except (OSError, ValueError):
                peak = None
        peak = self.comm.bcast(peak, root=0)
        if peak:
            out["dissipation_peak"], out["dissipation_peak_time"] = peak
        if self._is_reference_case():
            ref = dg.load_reference()
            rp = dg.peak(ref["t"], ref["dissipation"])
            out["reference"] = {
                "dissipation_peak": rp[0],
                "dissipation_peak_time": rp[1],
                "source": "512^3 spectral DNS (tgv_re1600_spectral512.dat)",
            }
            if peak:
                out["dissipation_peak_rel_error"] = (peak[0] - rp[0]) / rp[0]
        return out

    def _is_reference_case(self):
        p = self.params
        return (
            p["initial"] == "taylor_green"
            and abs(p["amplitude"] - 1) < 1e-12
            and abs(self.nu - 1 / 1600) < 1e-12 * self.nu
            and self.forcing is None
            and all(abs(L - TWO_PI) < 1e-12 for L in self.grid.lengths)
        )

    def finish(self, output_dir):
        files = []
        if self.comm.Get_rank() == 0:
            from .plots import make_plots

            title = f"spectral {'x'.join(map(str, self.grid.shape))}, nu = {self.nu:.4g}"
            try:
                files = make_plots(output_dir, reference=self._is_reference_case(), kmax=self.grid.kmax, title=title)
            except Exception as exc:  # a plotting problem must not fail a finished run
                files = [f"(plots failed: {type(exc).__name__}: {exc})"]
        return self.comm.bcast(files, root=0)
