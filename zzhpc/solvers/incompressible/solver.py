r"""Incompressible Navier-Stokes on a staggered grid, decomposed by a PETSc DMDA (2-D and 3-D).

.. math:: \partial_t u + \nabla\cdot(u u) = -\nabla p + \nu \nabla^2 u + f, \qquad \nabla\cdot u = 0,

in units where the reference velocity and length are 1, so :math:`\nu = 1/Re` (lengths L, time L/U,
pressure divided by density). Incremental pressure-correction projection (Bell, Colella & Glaz, J. Comput.
Phys. 85, 257, 1989; Kim & Moin, J. Comput. Phys. 59, 308, 1985): Adams-Bashforth 2 for convection,
Crank-Nicolson for viscosity,

.. math::
    \frac{u^* - u^n}{\Delta t} = -\tfrac32 N^n + \tfrac12 N^{n-1} - \nabla p^{n-1/2}
        + \tfrac{\nu}{2}\nabla^2 (u^* + u^n) + f, \quad
    \nabla^2\phi = \frac{\nabla\cdot u^*}{\Delta t}, \quad
    u^{n+1} = u^* - \Delta t\nabla\phi, \quad p^{n+1/2} = p^{n-1/2} + \phi .

Velocity is second order in time and space; a steady state is the exact steady discrete solution, for
any :math:`\Delta t`. Boundaries (:mod:`.boundaries`): no-slip walls (one wall may move tangentially: a
lid), periodic axes, a Dirichlet inflow face and a zero-gradient outflow face with :math:`p = 0` there; a
body force drives periodic channel flow. The run stops early (status ``done``) at a steady state,
:math:`\max|u^{n+1} - u^n|/\Delta t <` ``steady_tol``.
"""

import math

import numpy as np
from mpi4py import MPI

from ...config import Param
from ...core import Solver, register_solver
from ...errors import ConfigError
from . import perfmodel
from . import operators as ops
from .boundaries import AXES, FACES, Boundaries, check_boundaries, lid_of
from .profiles import centreline_profiles, channel_development
from .state import FieldsAndCheckpoints

WALLS = ("none",) + FACES


@register_solver
class IncompressibleSolver(FieldsAndCheckpoints, Solver):
    name = "incompressible"
    description = "incompressible Navier-Stokes, staggered grid on a PETSc DMDA, projection method, KSP"
    cases_module = "zzhpc.solvers.incompressible.cases"
    restart_any_ranks = True
    requires_float64 = True  # PETSc here is built for float64
    work_unit = "grid point"
    weak_scaling_key = "incompressible.shape"
    cost_model = perfmodel  # zzhpc scale / zzhpc project: perfmodel.py
    schema = {
        "shape": Param((list, int), [64, 64], lo=4, length=(2, 3), help="cells per axis (x, y[, z])"),
        "lengths": Param(
            (list, float), None, lo=0, lo_open=True, length=(2, 3), help="domain size per axis (default 1.0 each)"
        ),
        "periodic": Param((list, bool), None, length=(2, 3), help="periodic axes (default none: walls everywhere)"),
        "reynolds": Param(float, 100.0, lo=0, lo_open=True, help="Re = U L / nu; nu = 1/Re"),
        "moving_wall": Param(
            str,
            None,
            choices=WALLS,
            help="the wall that moves tangentially (a lid); default "
            "'y_hi' (the cavity's lid), or 'none' when an inflow or outflow face is set",
        ),
        "wall_velocity": Param(
            (list, float), None, length=(2, 3), help="velocity of the moving wall (default (1, 0[, 0]))"
        ),
        "body_force": Param((list, float), None, length=(2, 3), help="uniform force per unit mass"),
        "inflow": Param(str, "none", choices=WALLS, help="the inflow face (Dirichlet velocity into the domain)"),
        "inflow_profile": Param(
            str,
            "uniform",
            choices=("uniform", "parabolic"),
            help="inflow profile: 'uniform' (plug) or 'parabolic' across the bounded transverse axes",
        ),
        "inflow_velocity": Param(float, 1.0, lo=0, lo_open=True, help="bulk (mean) inflow speed"),
        "outflow": Param(
            str,
            "none",
            choices=WALLS,
            help="the outflow face, an upper face (x_hi, y_hi, z_hi): zero normal gradient of velocity, p = 0",
        ),
        "cfl": Param(
            float, 0.5, lo=0, lo_open=True, hi=1.0, help="dt = cfl * min(h) / velocity_scale when run.dt is absent"
        ),
        "velocity_scale": Param(float, 1.0, lo=0, lo_open=True, help="velocity for the default dt"),
        "steady_tol": Param(float, 0.0, lo=0, help="stop when max|du/dt| falls below this (0: never)"),
        "petsc_options": Param(
            str,
            "",
            help="PETSc options, e.g. '-ksp_type cg -pc_type hypre'; the "
            "pressure KSP has no prefix, the momentum KSPs have prefix 'mom_'",
        ),
        "plot": Param(bool, True, help="write flow.png (speed and streamlines) at the end"),
    }

    @classmethod
    def check_config(cls, cfg, nranks):
        p = cfg["incompressible"]
        nd = len(p["shape"])
        for key in ("lengths", "periodic", "wall_velocity", "body_force"):
            if p[key] is not None and len(p[key]) != nd:
                raise ConfigError(
                    f"incompressible.{key}", f"expected {nd} entries, one per axis of incompressible.shape", p[key]
                )
        if cfg["backend"]["name"] != "numpy":
            raise ConfigError(
                "backend.name",
                "the incompressible solver works on PETSc Vecs in host memory; only 'numpy' is allowed",
                cfg["backend"]["name"],
            )
        if cfg["backend"]["dtype"] != "float64":
            raise ConfigError(
                "backend.dtype", "PETSc here is built for float64; only 'float64' is allowed", cfg["backend"]["dtype"]
            )
        check_boundaries(p, nd)
        dims = cfg["parallel"]["dims"]
        if dims and len(dims) != nd:
            raise ConfigError("parallel.dims", f"expected {nd} entries, one per axis", dims)
        if dims and all(dims) and math.prod(dims) != nranks:
            raise ConfigError("parallel.dims", f"product must equal the number of ranks ({nranks})", dims)

    def __init__(self, ctx, cfg):
        super().__init__(ctx, cfg)
        # petsc4py is imported here, on every rank: importing it initialises PETSc (collective), and
        # solver discovery imports this module on rank 0 alone.
        from .grid import StaggeredGrid
        from .linear import LinearSolver, Options, assemble

        p = self.params
        nd = self.nd = len(p["shape"])
        self.options = Options(p["petsc_options"])
        self.grid = g = StaggeredGrid(
            self.comm, p["shape"], p["lengths"] or [1.0] * nd, p["periodic"] or [False] * nd, ctx.dims or None
        )
        self.nu = 1.0 / p["reynolds"]
        self.force = list(p["body_force"] or [0.0] * nd)
        self.bc = bc = Boundaries(
            g,
            lid=lid_of(p),
            lid_velocity=p["wall_velocity"] or [1.0] + [0.0] * (nd - 1),
            inflow=None if p["inflow"] == "none" else p["inflow"],
            profile=p["inflow_profile"],
            bulk_velocity=p["inflow_velocity"],
            outflow=None if p["outflow"] == "none" else p["outflow"],
        )
        self.dt = self.dt or p["cfl"] * min(g.h) / p["velocity_scale"]
        self.steady_tol = p["steady_tol"]
        self._steady = False
        self.du_dt = float("inf")
        self.U = [g.global_vec() for _ in range(nd)]
        self.Ustar = [g.global_vec() for _ in range(nd)]
        self.P, self.phi, self.rhs_p = g.global_vec(), g.global_vec(), g.global_vec()
        self.rhs = [g.global_vec() for _ in range(nd)]
        self.LU = [g.local_vec() for _ in range(nd)]
        self.LP = g.local_vec()
        self.n_old = None
        self.fixed = [bc.fixed_mask(a) for a in range(nd)]
        alpha = 0.5 * self.nu * self.dt
        # Without an outflow face the pressure is defined up to a constant.
        self.pressure = LinearSolver(assemble(g, bc), "pressure", "", "cg", "gamg", 1e-9, nullspace=bc.singular)
        self.momentum = []
        for a in range(nd):
            s = LinearSolver(
                assemble(g, bc, alpha=alpha, component=a), f"momentum-{AXES[a]}", "mom_", "cg", "jacobi", 1e-10
            )
            s.ksp.setInitialGuessNonzero(True)
            self.momentum.append(s)
        # Given boundary values in the implicit half of the viscous term: alpha * lap(field that holds only
        # them: fixed faces and ghosts); fixed faces start at their values.
        self.bc_rhs = []
        for a in range(nd):
            g.owned(self.U[a])[...] = bc.fixed_values(a)
            g.touch(self.U[a])
            z = g.ghosted(self.U[a], g.local_vec()).copy()
            self.bc_rhs.append(alpha * ops.laplacian(g, bc.velocity_ghosts(z, a)))

    def grid_description(self):
        d = self.grid.describe()
        d["backend_note"] = "PETSc Vecs in host memory; backend.name other than numpy is refused"
        return d

    def initialise(self):
        r"""Fresh run: with an inflow face, the field (zero inside) is projected onto the divergence-free
        fields, :math:`u^0 = -\nabla\phi` with :math:`\nabla^2\phi = 0` and the inflow's flux: the potential
        flow that the inflow drives (one pressure solve, counted in the statistics)."""
        if not self.bc.inflow:
            return
        g = self.grid
        U = self._velocity_ghosts(self.U)
        g.owned(self.rhs_p)[...] = -ops.divergence(g, U)
        g.touch(self.rhs_p)
        self.phi.set(0.0)
        self.pressure.solve(self.rhs_p, self.phi, 0)
        phi = self._scalar_ghosts(self.phi)
        for a in range(self.nd):
            new = U[a][g.interior] - ops.gradient(g, phi, a)
            new[self.fixed[a]] = U[a][g.interior][self.fixed[a]]
            g.owned(self.U[a])[...] = new
            g.touch(self.U[a])

    # Stepping --------------------------------------------------------------------------------------
    def _velocity_ghosts(self, vecs):
        g = self.grid
        with self.timers("halo"):
            arrs = [g.ghosted(vecs[a], self.LU[a]) for a in range(self.nd)]
        return [self.bc.velocity_ghosts(arrs[a], a) for a in range(self.nd)]

    def _scalar_ghosts(self, vec):
        with self.timers("halo"):
            arr = self.grid.ghosted(vec, self.LP)
        return self.bc.pressure_ghosts(arr)

    def advance(self):
        try:
            self._advance()
        except BaseException:
            self.options.close()  # a failed run must not leave its options to the next deck
            raise

    def _advance(self):
        g, dt, nd = self.grid, self.dt, self.nd
        U = self._velocity_ghosts(self.U)
        N = [ops.convection(g, U, a) for a in range(nd)]
        n_old = self.n_old if self.n_old is not None else N
        P = self._scalar_ghosts(self.P)
        with self.timers("momentum_solve"):
            for a in range(nd):
                u = U[a][g.interior]
                r = (
                    u
                    + dt
                    * (
                        -1.5 * N[a]
                        + 0.5 * n_old[a]
                        - ops.gradient(g, P, a)
                        + self.force[a]
                        + 0.5 * self.nu * ops.laplacian(g, U[a])
                    )
                    + self.bc_rhs[a]
                )
                r[self.fixed[a]] = u[self.fixed[a]]
                g.owned(self.rhs[a])[...] = r
                g.touch(self.rhs[a])
                self.U[a].copy(self.Ustar[a])
                self.momentum[a].solve(self.rhs[a], self.Ustar[a], self.step + 1)
        self.n_old = N
        Us = self._velocity_ghosts(self.Ustar)
        g.owned(self.rhs_p)[...] = -ops.divergence(g, Us) / dt
        g.touch(self.rhs_p)
        with self.timers("pressure_solve"):
            self.phi.set(0.0)
            self.pressure.solve(self.rhs_p, self.phi, self.step + 1)
        phi = self._scalar_ghosts(self.phi)
        change = 0.0
        for a in range(nd):
            new = Us[a][g.interior] - dt * ops.gradient(g, phi, a)
            new[self.fixed[a]] = Us[a][g.interior][self.fixed[a]]
            old = g.owned(self.U[a])
            change = max(change, float(np.max(np.abs(new - old), initial=0.0)))
            old[...] = new
            g.touch(self.U[a])
        self.P.axpy(1.0, self.phi)
        with self.timers("reduction"):
            self.du_dt = self.comm.allreduce(change, op=MPI.MAX) / dt
        self.step += 1
        self.time += dt
        if self.steady_tol > 0 and self.du_dt < self.steady_tol:
            self._steady = True

    def finished(self):
        """True once a steady state is reached (the run loop stops with status 'done')."""
        return self._steady

    # Diagnostics -----------------------------------------------------------------------------------
    def max_divergence(self):
        """Collective: max ``|div u|`` over the cells (should sit at the pressure solve's tolerance)."""
        U = self._velocity_ghosts(self.U)
        local = float(np.max(np.abs(ops.divergence(self.grid, U)), initial=0.0))
        return self.comm.allreduce(local, op=MPI.MAX)

    def diagnostics(self):
        g = self.grid
        vol = math.prod(g.h)
        ke = sum(float(np.sum(g.owned(self.U[a]) ** 2)) for a in range(self.nd))
        return {
            "kinetic_energy": 0.5 * vol * self.comm.allreduce(ke),
            "du_dt": self.du_dt if math.isfinite(self.du_dt) else 0.0,
            "max_div": self.max_divergence(),
            "ksp_its_p": float(self.pressure.last_iterations),
            "ksp_res_p": float(self.pressure.last_residual),
            "ksp_its_mom": float(sum(m.last_iterations for m in self.momentum)),
        }

    def nonfinite_field(self):
        bad = 0
        for name, v in [(f"u_{AXES[a]}", self.U[a]) for a in range(self.nd)] + [("p", self.P)]:
            bad = self.comm.allreduce(0 if np.all(np.isfinite(v.getArray())) else 1, op=MPI.MAX)
            if bad:
                return name
        return None

    def results(self):
        g = self.grid
        full = [g.gather(g.owned(self.U[a])) for a in range(self.nd)]
        out = None
        if self.comm.Get_rank() == 0:
            out = centreline_profiles(g, full, self.bc)
            channel = channel_development(g, self.bc, full)
            if channel:
                out["channel"] = channel
        out = self.comm.bcast(out, root=0)
        out.update(
            {
                "dt": self.dt,
                "nu": self.nu,
                "reynolds": self.params["reynolds"],
                "cells": g.shape,
                "process_grid": g.proc_sizes,
                "steady": self._steady,
                "steady_tol": self.steady_tol,
                "du_dt": self.du_dt if math.isfinite(self.du_dt) else None,
                "max_divergence": self.max_divergence(),
                "boundaries": self.bc.describe(),
                "ksp": {"pressure": self.pressure.stats(), "momentum": [m.stats() for m in self.momentum]},
                "backend_note": "PETSc Vecs in host memory: backend numpy only",
            }
        )
        if self.bc.inflow or self.bc.outflow:
            out["mass_flux"] = self.mass_flux()
        if any(self.force) and g.periodic[0] and not g.periodic[1] and self.nd >= 2:
            out["poiseuille"] = self.poiseuille_error()
        return out

    def mass_flux(self):
        """Collective: volume flux in through the inflow face and out through the outflow face."""
        q_in, q_out = self.bc.fluxes([self.grid.owned(u) for u in self.U])
        q_in, q_out = self.comm.allreduce(q_in), self.comm.allreduce(q_out)
        return {"inflow": q_in, "outflow": q_out, "relative_imbalance": abs(q_in - q_out) / q_in if q_in else None}

    def poiseuille_error(self):
        """Collective: max ``|u - u_exact|`` of plane Poiseuille flow driven by body_force[0] between the y walls.

        :math:`u(y) = f y (H - y) / (2\\nu)` (lengths[1] = H); also relative to the centreline velocity.
        """
        g = self.grid
        H = g.lengths[1]
        y = (g.start[1] + np.arange(g.count[1]) + 0.5) * g.h[1]
        exact = g.broadcast(1, self.force[0] * y * (H - y) / (2 * self.nu))
        U = self._velocity_ghosts(self.U)
        err = float(np.max(np.abs(U[0][g.interior] - exact), initial=0.0))
        err = self.comm.allreduce(err, op=MPI.MAX)
        umax = self.force[0] * H * H / (8 * self.nu)
        return {"max_abs_error": err, "u_centre_exact": umax, "max_rel_error": err / umax}

    def finish(self, output_dir):
        files = []
        if self.params["plot"]:
            from .plotting import flow_png

            vel, _ = self.cell_fields()
            full = [self.grid.gather(np.ascontiguousarray(vel[self.nd - 1 - a])) for a in range(self.nd)]
            if self.comm.Get_rank() == 0:
                files.append(
                    flow_png(
                        self.grid,
                        full,
                        output_dir,
                        title=f"Re = {self.params['reynolds']:g}, "
                        f"t = {self.time:.4g}, {'x'.join(map(str, self.grid.shape))} cells",
                    )
                )
        self.options.close()
        return files
