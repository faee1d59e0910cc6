r"""Heat (diffusion) equation :math:`\partial_t u = \alpha \nabla^2 u` on a box, explicit in time.

Second-order central differences on a uniform cell-centred mesh, forward Euler (FTCS) in time, periodic
or homogeneous Dirichlet walls (ghost cell = minus the first interior cell, which puts ``u = 0`` on the
wall). Stable for :math:`\alpha\,\Delta t \sum_d 2/h_d^2 \le 1`.

A Fourier mode decays exactly by the factor :math:`G = 1 - \Delta t \sum_d \lambda_d` per step, with
:math:`\lambda_d = 4\alpha/h_d^2 \sin^2(\kappa_d h_d/2)`; against the continuous solution
:math:`e^{-\alpha|\kappa|^2 t}` the error is :math:`O(h^2)` when :math:`\Delta t \propto h^2`.
Units: any consistent set (lengths L, time T, diffusivity L^2/T).
"""

import math

import numpy as np

from ...config import Param
from ...core import Solver, register_solver
from ...device import get_kernel
from ...errors import ConfigError, InputError
from ...io import read_block, write_block
from ...parallel import DistributedMesh
from . import perfmodel


@register_solver
class HeatSolver(Solver):
    name = "heat"
    description = "heat equation, explicit finite differences on a decomposed box (1-D to 3-D)"
    cases_module = "zzhpc.solvers.heat.cases"
    restart_any_ranks = True
    work_unit = "grid point"
    weak_scaling_key = "heat.shape"
    cost_model = perfmodel  # zzhpc scale / zzhpc project: perfmodel.py
    schema = {
        "shape": Param((list, int), [64, 64], lo=2, length=(1, 3), help="global cells per axis"),
        "lengths": Param(
            (list, float), None, lo=0, lo_open=True, length=(1, 3), help="domain size per axis (default 1.0 each)"
        ),
        "boundary": Param(str, "periodic", choices=("periodic", "dirichlet"), help="all walls alike"),
        "diffusivity": Param(float, 1.0, lo=0, lo_open=True, help="alpha [L^2/T]"),
        "initial": Param(str, "mode", choices=("mode", "gaussian"), help="initial condition"),
        "mode": Param(
            (list, int),
            None,
            lo=1,
            length=(1, 3),
            help="wave numbers of the initial mode "
            "(default 1 each); periodic: sin(2 pi k x / L), dirichlet: sin(pi k x / L)",
        ),
        "stability": Param(
            float,
            0.5,
            lo=0,
            lo_open=True,
            hi=1.0,
            help="dt as a fraction of the explicit stability limit when run.dt is absent",
        ),
    }

    @classmethod
    def check_config(cls, cfg, nranks):
        p = cfg["heat"]
        nd = len(p["shape"])
        for key in ("lengths", "mode"):
            if p[key] is not None and len(p[key]) != nd:
                raise ConfigError(f"heat.{key}", f"expected {nd} entries, one per axis of heat.shape", p[key])
        lengths = p["lengths"] or [1.0] * nd
        limit = 1.0 / (2 * p["diffusivity"] * sum((n / L) ** 2 for n, L in zip(p["shape"], lengths)))
        dt = cfg["run"]["dt"]
        if dt is not None and dt > limit:
            raise ConfigError("run.dt", f"exceeds the explicit stability limit {limit:.6g} for this mesh", dt)
        dims = cfg["parallel"]["dims"]
        if dims and len(dims) != nd:
            raise ConfigError("parallel.dims", f"expected {nd} entries, one per axis of heat.shape", dims)

    def __init__(self, ctx, cfg):
        super().__init__(ctx, cfg)
        p = self.params
        nd = len(p["shape"])
        self.lengths = p["lengths"] or [1.0] * nd
        self.periodic = p["boundary"] == "periodic"
        self.alpha = p["diffusivity"]
        self.mesh = DistributedMesh(
            self.comm,
            p["shape"],
            self.lengths,
            [self.periodic] * nd,
            self.backend,
            halo=1,
            dims=ctx.dims or None,
            dtype=ctx.dtype,
            timers=self.timers,
        )
        h = self.mesh.spacing
        limit = 1.0 / (2 * self.alpha * sum(1 / hd**2 for hd in h))
        self.dt = self.dt or p["stability"] * limit
        self.coefs = tuple(self.alpha * self.dt / hd**2 for hd in h)
        self.kappa = [
            (2 if self.periodic else 1) * math.pi * k / L for k, L in zip(p["mode"] or [1] * nd, self.lengths)
        ]
        self.stencil = get_kernel("heat_ftcs", self.backend)
        self.u = self.mesh.zeros()
        self.u_new = self.mesh.zeros()

    def grid_description(self):
        return self.mesh.describe()

    # Initial state ----------------------------------------------------------------------------------
    def exact(self, t):
        """Continuous solution of the mode initial condition at time ``t`` (host array, local block)."""
        xs = self.mesh.meshgrid()
        u = np.ones(self.mesh.local_shape)
        for x, k in zip(xs, self.kappa):
            u = u * np.sin(k * x)
        return u * math.exp(-self.alpha * sum(k * k for k in self.kappa) * t)

    def discrete_decay(self, steps):
        """Amplification of the mode after ``steps`` FTCS steps (the scheme's exact answer)."""
        g = 1.0 - sum(4 * c * math.sin(k * h / 2) ** 2 for c, k, h in zip(self.coefs, self.kappa, self.mesh.spacing))
        return g**steps

    def initialise(self):
        if self.params["initial"] == "mode":
            u0 = self.exact(0.0)
        else:
            xs = self.mesh.meshgrid()
            r2 = sum((x - L / 2) ** 2 for x, L in zip(xs, self.lengths))
            u0 = np.exp(-r2 / (2 * (0.1 * min(self.lengths)) ** 2))
        self.u = self.mesh.from_host(u0)

    # Time stepping ----------------------------------------------------------------------------------
    def _fill_walls(self, u):
        """Homogeneous Dirichlet: odd reflection across every wall face this rank owns."""
        g = self.mesh.grid
        nd = self.mesh.ndim
        for a in range(nd):

            def sl(i, a=a):
                return tuple(slice(i, i + 1) if b == a else slice(None) for b in range(nd))

            if g.at_lower_wall(a):
                u[sl(0)] = -u[sl(1)]
            if g.at_upper_wall(a):
                n = u.shape[a]
                u[sl(n - 1)] = -u[sl(n - 2)]

    def advance(self):
        self.mesh.exchange(self.u)
        if not self.periodic:
            self._fill_walls(self.u)
        self.stencil(self.u, self.u_new, self.coefs)
        self.u, self.u_new = self.u_new, self.u
        self.step += 1
        self.time = self.step * self.dt

    # Diagnostics, output, state ---------------------------------------------------------------------
    def diagnostics(self):
        m = self.mesh
        u = m.interior_of(self.u)
        xp = self.xp
        d = {
            "integral": m.integral(self.u),
            "l2": math.sqrt(m.global_sum(xp.sum(u * u)) / np.prod(m.shape)),
            "max": m.global_max(xp.max(xp.abs(u))),
        }
        if self.params["initial"] == "mode":
            err = xp.abs(u - self.backend.asarray(self.exact(self.time)))
            d["error_max"] = m.global_max(xp.max(err))
        return d

    def nonfinite_field(self):
        return None if self.mesh.all_finite(self.u) else "u"

    def local_nonfinite_field(self):
        return None if bool(self.xp.all(self.xp.isfinite(self.mesh.interior_of(self.u)))) else "u"

    def poison(self):
        self.u[(1,) * self.mesh.ndim] = float("nan")

    def xdmf_geometry(self):
        return self.mesh.shape, self.mesh.spacing

    def write_fields(self, h5):
        start, _ = self.mesh.hyperslab()
        write_block(h5, "fields/u", self.backend.to_host(self.mesh.interior_of(self.u)), self.mesh.shape, start)
        return {"u": 1}

    def local_state(self):
        start, _ = self.mesh.hyperslab()
        return {"u": self.mesh.interior_of(self.u), "offset": np.asarray(start)}

    def save_state(self, h5):
        start, _ = self.mesh.hyperslab()
        write_block(h5, "state/u", self.backend.to_host(self.mesh.interior_of(self.u)), self.mesh.shape, start)
        h5.attrs["dt"] = self.dt

    def load_state(self, h5, path):
        if "state/u" in h5 and tuple(h5["state/u"].shape) != tuple(self.mesh.shape):
            raise InputError(
                path, f"dataset 'state/u' has shape {h5['state/u'].shape}, the deck asks for {tuple(self.mesh.shape)}"
            )
        start, count = self.mesh.hyperslab()
        self.u = self.mesh.from_host(read_block(h5, "state/u", start, count, path))
        self.dt = float(h5.attrs.get("dt", self.dt))

    def results(self):
        out = {"dt": self.dt, "global_shape": list(self.mesh.shape), "process_grid": self.mesh.grid.dims}
        if self.params["initial"] == "mode":
            out["exact_decay"] = math.exp(-self.alpha * sum(k * k for k in self.kappa) * self.time)
            out["discrete_decay"] = self.discrete_decay(self.step)
        return out
