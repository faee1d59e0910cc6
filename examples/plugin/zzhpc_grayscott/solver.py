r"""Gray-Scott reaction-diffusion [Pearson1993]_ on a block-decomposed periodic box.

.. math:: \partial_t u = D_u \nabla^2 u - u v^2 + F (1 - u), \qquad
          \partial_t v = D_v \nabla^2 v + u v^2 - (F + k) v

Second-order central differences on a uniform cell-centred mesh, forward Euler in time, periodic in every
direction; ``u`` and ``v`` share one array with a leading component axis, so one halo exchange per step
serves both. Dimensionless (Pearson's units: box 2.5, ``D_u = 2e-5``, ``D_v = 1e-5``, ``dt = 1``).
Explicit diffusion is stable for :math:`\Delta t\,\max(D_u, D_v) \sum_d 4/h_d^2 \le 2`.

Initial states: ``pearson`` (``u = 1, v = 0`` with a central square at ``u = 1/2, v = 1/4`` and 1 %
noise; the noise is drawn for the square as a whole, so it does not depend on the rank count),
``mode`` (``u = 1 + A \prod_d \sin(2\pi m_d x_d / L_d)``, ``v = 0``: stays linear, decays exactly, used
for validation) and ``uniform`` (``u0``, ``v0`` everywhere: the reaction kinetics alone).

.. [Pearson1993] J. E. Pearson, "Complex patterns in a simple system", Science 261, 189-192 (1993).
"""

import math

import numpy as np

from zzhpc.config import Param
from zzhpc.core import Solver, perfmodel, register_solver
from zzhpc.device import get_kernel
from zzhpc.errors import ConfigError, InputError
from zzhpc.io import read_block, write_block
from zzhpc.parallel import DistributedMesh

from . import kernels  # noqa: F401  (registers grayscott_step)


def _limit(p, shape, lengths):
    """Explicit stability limit of the diffusion part, in time units."""
    return 2.0 / (max(p["du"], p["dv"]) * sum(4.0 * (n / L) ** 2 for n, L in zip(shape, lengths)))


@register_solver
class GrayScottSolver(Solver):
    name = "grayscott"
    description = "Gray-Scott reaction-diffusion (Pearson 1993), explicit, periodic box (plugin example)"
    cases_module = "zzhpc_grayscott.cases"
    restart_any_ranks = True
    # What `zzhpc scale` and `zzhpc project` need (docs/extending.md, "The performance model").
    work_unit = "grid point"
    weak_scaling_key = "grayscott.shape"
    schema = {
        "shape": Param((list, int), [128, 128], lo=2, length=(1, 3), help="global cells per axis"),
        "lengths": Param(
            (list, float),
            None,
            lo=0,
            lo_open=True,
            length=(1, 3),
            help="box size per axis (default 2.5 * shape / 256, Pearson's cell size)",
        ),
        "du": Param(float, 2e-5, lo=0, lo_open=True, help="diffusivity of u"),
        "dv": Param(float, 1e-5, lo=0, lo_open=True, help="diffusivity of v"),
        "feed": Param(float, 0.04, lo=0, help="feed rate F"),
        "kill": Param(float, 0.06, lo=0, help="kill rate k"),
        "initial": Param(str, "pearson", choices=("pearson", "mode", "uniform"), help="initial state"),
        "square": Param(
            float,
            20 / 256,
            lo=0,
            lo_open=True,
            hi=1.0,
            help="pearson: side of the seeded central square, as a fraction of the box",
        ),
        "noise": Param(float, 0.01, lo=0, help="pearson: relative noise amplitude in the square"),
        "amplitude": Param(float, 0.01, lo=0, help="mode: amplitude A of the perturbation of u"),
        "mode": Param((list, int), None, lo=0, length=(1, 3), help="mode: wave numbers (default 1 each)"),
        "u0": Param(float, 0.5, help="uniform: initial u"),
        "v0": Param(float, 0.25, help="uniform: initial v"),
        "stability": Param(
            float, 0.8, lo=0, lo_open=True, hi=1.0, help="dt as a fraction of the stability limit when run.dt is absent"
        ),
    }

    @classmethod
    def model_params(cls, cfg, results, dtype):
        return {
            "shape": list(cfg["grayscott"]["shape"]),
            "diag_every": cfg["run"]["diag_every"],
            "value_bytes": perfmodel.value_bytes(dtype),
        }

    @classmethod
    def step_model(cls, params, ranks, net):
        # One halo exchange of (u, v) per step; 4 reductions per diagnostics step.
        return perfmodel.stencil_step(params, ranks, net, diag_reductions=4, components=2)

    @classmethod
    def target_params(cls, units, diag_every=100, **geometry):
        return {"shape": perfmodel.cube(units, ndim=2), "diag_every": diag_every, "value_bytes": 8}

    @classmethod
    def check_config(cls, cfg, nranks):
        p = cfg["grayscott"]
        nd = len(p["shape"])
        for key in ("lengths", "mode"):
            if p[key] is not None and len(p[key]) != nd:
                raise ConfigError(f"grayscott.{key}", f"expected {nd} entries, one per axis of grayscott.shape", p[key])
        dims = cfg["parallel"]["dims"]
        if dims and len(dims) != nd:
            raise ConfigError("parallel.dims", f"expected {nd} entries, one per axis of grayscott.shape", dims)
        lengths = p["lengths"] or [2.5 * n / 256 for n in p["shape"]]
        dt, limit = cfg["run"]["dt"], _limit(p, p["shape"], lengths)
        if dt is not None and dt > limit:
            raise ConfigError("run.dt", f"exceeds the explicit stability limit {limit:.6g} for this mesh", dt)

    def __init__(self, ctx, cfg):
        super().__init__(ctx, cfg)
        p = self.params
        nd = len(p["shape"])
        self.lengths = p["lengths"] or [2.5 * n / 256 for n in p["shape"]]
        self.mesh = DistributedMesh(
            self.comm,
            p["shape"],
            self.lengths,
            [True] * nd,
            self.backend,
            halo=1,
            dims=ctx.dims or None,
            dtype=ctx.dtype,
            timers=self.timers,
        )
        self.dt = self.dt or p["stability"] * _limit(p, p["shape"], self.lengths)
        self._coefficients()
        self.kappa = [2 * math.pi * m / L for m, L in zip(p["mode"] or [1] * nd, self.lengths)]
        self.kernel = get_kernel("grayscott_step", self.backend)
        self.w = self.mesh.zeros((2,))
        self.w_new = self.mesh.zeros((2,))

    def _coefficients(self):
        h, p = self.mesh.spacing, self.params
        self.cu = tuple(p["du"] * self.dt / hd**2 for hd in h)
        self.cv = tuple(p["dv"] * self.dt / hd**2 for hd in h)

    def grid_description(self):
        return self.mesh.describe()

    # Initial state ----------------------------------------------------------------------------------
    def _pearson(self):
        p, m = self.params, self.mesh
        u, v = np.ones(m.local_shape), np.zeros(m.local_shape)
        lo = [int(round(n * (1 - p["square"]) / 2)) for n in m.shape]
        side = [max(1, int(round(n * p["square"]))) for n in m.shape]
        noise = np.random.default_rng(self.ctx.seed).uniform(-1, 1, size=(2, *side))  # the whole square
        dst, src = [], []
        for a in range(m.ndim):
            s0, s1 = max(lo[a], m.grid.start[a]), min(lo[a] + side[a], m.grid.start[a] + m.local_shape[a])
            if s1 <= s0:
                return u, v
            dst.append(slice(s0 - m.grid.start[a], s1 - m.grid.start[a]))
            src.append(slice(s0 - lo[a], s1 - lo[a]))
        dst, src = tuple(dst), tuple(src)
        u[dst] = 0.5 * (1 + p["noise"] * noise[(0,) + src])
        v[dst] = 0.25 * (1 + p["noise"] * noise[(1,) + src])
        return u, v

    def exact_mode(self, t):
        """Continuous ``u - 1`` of the mode state at time ``t`` (host array, local block)."""
        p = self.params
        s = np.ones(self.mesh.local_shape)
        for x, k in zip(self.mesh.meshgrid(), self.kappa):
            s = s * np.sin(k * x)
        return p["amplitude"] * s * math.exp(-(p["feed"] + p["du"] * sum(k * k for k in self.kappa)) * t)

    def discrete_decay(self, steps):
        """Amplification of the mode after ``steps`` forward-Euler steps: the scheme's exact answer."""
        g = (
            1.0
            - self.dt * self.params["feed"]
            - sum(4 * c * math.sin(k * h / 2) ** 2 for c, k, h in zip(self.cu, self.kappa, self.mesh.spacing))
        )
        return g**steps

    def initialise(self):
        p, shape = self.params, self.mesh.local_shape
        if p["initial"] == "pearson":
            u, v = self._pearson()
        elif p["initial"] == "mode":
            u, v = 1.0 + self.exact_mode(0.0), np.zeros(shape)
        else:
            u, v = np.full(shape, p["u0"]), np.full(shape, p["v0"])
        self.w = self.mesh.from_host(np.stack([u, v]), components=(2,))

    # Time stepping ----------------------------------------------------------------------------------
    def advance(self):
        p = self.params
        self.mesh.exchange(self.w)
        self.kernel(self.w, self.w_new, self.cu, self.cv, p["feed"], p["kill"], self.dt)
        self.w, self.w_new = self.w_new, self.w
        self.step += 1
        self.time = self.step * self.dt

    # Diagnostics, output, state ---------------------------------------------------------------------
    def diagnostics(self):
        m, xp = self.mesh, self.xp
        w = m.interior_of(self.w)
        n = float(np.prod(m.shape))
        d = {
            "u_mean": m.global_sum(xp.sum(w[0])) / n,
            "v_mean": m.global_sum(xp.sum(w[1])) / n,
            "v_max": m.global_max(xp.max(w[1])),
            "u_min": -m.global_max(xp.max(-w[0])),
        }
        if self.params["initial"] == "mode":
            err = xp.abs(w[0] - 1.0 - self.backend.asarray(self.exact_mode(self.time).astype(self.ctx.dtype)))
            d["mode_amplitude"] = m.global_max(xp.max(xp.abs(w[0] - 1.0)))
            d["error_max"] = m.global_max(xp.max(err))
        return d

    def nonfinite_field(self):
        return None if self.mesh.all_finite(self.w) else "u, v"

    def poison(self):
        self.w[(0,) + (1,) * self.mesh.ndim] = float("nan")

    def xdmf_geometry(self):
        return self.mesh.shape, self.mesh.spacing

    def _write(self, h5, group):
        start, _ = self.mesh.hyperslab()
        w = self.backend.to_host(self.mesh.interior_of(self.w))
        write_block(h5, f"{group}/u", w[0], self.mesh.shape, start)
        write_block(h5, f"{group}/v", w[1], self.mesh.shape, start)

    def write_fields(self, h5):
        self._write(h5, "fields")
        return {"u": 1, "v": 1}

    def save_state(self, h5):
        self._write(h5, "state")
        h5.attrs["dt"] = self.dt

    def load_state(self, h5, path):
        for name in ("u", "v"):
            ds = f"state/{name}"
            if ds not in h5:
                raise InputError(path, f"dataset '{ds}' is missing")
            if tuple(h5[ds].shape) != tuple(self.mesh.shape):
                raise InputError(
                    path, f"dataset '{ds}' has shape {h5[ds].shape}, the deck asks for {tuple(self.mesh.shape)}"
                )
        start, count = self.mesh.hyperslab()
        uv = [read_block(h5, f"state/{n}", start, count, path) for n in ("u", "v")]
        self.w = self.mesh.from_host(np.stack(uv), components=(2,))
        self.dt = float(h5.attrs.get("dt", self.dt))
        self._coefficients()

    def results(self):
        out = {"dt": self.dt, "global_shape": list(self.mesh.shape), "process_grid": self.mesh.grid.dims}
        if self.params["initial"] == "mode":
            p = self.params
            out["exact_decay"] = math.exp(-(p["feed"] + p["du"] * sum(k * k for k in self.kappa)) * self.time)
            out["discrete_decay"] = self.discrete_decay(self.step)
        return out
