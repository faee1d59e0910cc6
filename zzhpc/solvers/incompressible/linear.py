r"""Assembled operators and Krylov solvers (PETSc KSP) of the projection method.

* Pressure: :math:`-\nabla^2_h \phi = -\nabla_h\cdot u^*/\Delta t`, homogeneous Neumann at walls and
  inflow faces (their flux is fixed, so its term drops), Dirichlet :math:`\phi = 0` on an outflow face.
  SPD; with no outflow face it is singular with the constant null space, which is then attached to the
  matrix (``MatSetNullSpace``). Default CG + GAMG, no options prefix:
  ``-ksp_type``, ``-pc_type``, ``-ksp_rtol`` ... act on it.
* Momentum (Crank-Nicolson viscous part): :math:`(I - \alpha \nabla^2_h) u^*_a = r_a`,
  :math:`\alpha = \nu \Delta t / 2`, one SPD matrix per component; fixed faces (upper walls, an upper
  inflow face) are identity rows and their couplings are moved to the right-hand side. Default
  CG + Jacobi, options prefix ``mom_``.

Matrices are assembled once, in CSR form from the DMDA's local-to-global map (vectorised), and reused.
"""

import os
import shlex

import numpy as np
from petsc4py import PETSc

from ...errors import ConfigError, SimulationError


def _reason(code):
    names = {getattr(PETSc.KSP.ConvergedReason, k): k for k in dir(PETSc.KSP.ConvergedReason) if k.isupper()}
    return names.get(code, str(code))


def assemble(grid, bc, *, alpha=None, component=None):
    """Pressure matrix (``alpha is None``) or momentum matrix of ``component`` as a PETSc AIJ Mat.

    Row of an owned point: ``sum_b w_b (2 q - q_{+b} - q_{-b})`` (times ``alpha`` plus the identity for
    momentum), with a neighbour outside the domain replaced by its ghost ``c q`` (``bc.coefficient``) and
    a neighbour that is a fixed face dropped: both of their given values live in the right-hand side.
    """
    nd, I = grid.nd, grid.interior
    lg = grid.lg
    rows = lg[I].ravel()
    n_own = rows.size
    width = 1 + 2 * nd
    cols = np.full((n_own, width), -1, dtype=np.int64)
    vals = np.zeros((n_own, width))
    field = "p" if alpha is None else component
    diag = np.zeros(grid.local_shape) if alpha is None else np.ones(grid.local_shape)
    fixed_rows = np.zeros(grid.local_shape, bool) if alpha is None else bc.fixed_mask(component)
    k = 1
    for b in range(nd):
        w = 1.0 / grid.h[b] ** 2 if alpha is None else alpha / grid.h[b] ** 2
        for s, side in ((-1, "lo"), (1, "hi")):
            nb = lg[grid.shifted({b: s})]
            outside = nb < 0  # a boundary ghost (DMDA_BOUNDARY_GHOSTED)
            fixed = np.zeros(grid.local_shape, bool)
            if alpha is not None and b == component and s == 1 and bc.kinds[(b, "hi")] in ("wall", "inflow"):
                gi = grid.gidx[b][2 : grid.gcount[b]]
                fixed = np.broadcast_to(grid.broadcast(b, gi == grid.shape[b] - 1), grid.local_shape)
            couple = ~outside & ~fixed
            diag = diag + w - w * bc.coefficient(field, b, side) * outside
            cols[:, k] = np.where(couple, nb, -1).ravel()
            vals[:, k] = -w
            k += 1
    cols[:, 0] = rows
    vals[:, 0] = diag.ravel()
    fixed_rows = fixed_rows.ravel()
    cols[fixed_rows, 1:] = -1
    vals[fixed_rows, 0] = 1.0
    # CSR with sorted columns; dropped entries (-1) sort last and are cut.
    big = np.iinfo(np.int64).max
    key = np.where(cols < 0, big, cols)
    order = np.argsort(key, axis=1, kind="stable")
    key = np.take_along_axis(key, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    keep = key != big
    indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(PETSc.IntType)
    indices = key[keep].astype(PETSc.IntType)
    data = vals[keep]
    N = int(np.prod(grid.shape))
    mat = PETSc.Mat().createAIJ(size=((n_own, N), (n_own, N)), csr=(indptr, indices, data), comm=grid.comm)
    mat.assemble()
    return mat


class Options:
    """PETSc options from the deck string, removed again by ``close`` (one process may run many decks).

    Precedence: ``PETSC_OPTIONS`` (environment, read by PETSc itself) over the deck's ``petsc_options``
    over the solver's defaults.
    """

    def __init__(self, text, key="incompressible.petsc_options"):
        self.db = PETSc.Options()
        env = _parse(os.environ.get("PETSC_OPTIONS", ""), "PETSC_OPTIONS")
        self.added = []
        for name, value in _parse(text, key):
            if name in dict(env):
                continue
            self.db.setValue(name, value if value is not None else "")
            self.added.append(name)
        if self.db.hasName("log_view") and not PETSc.Log.isActive():
            PETSc.Log.begin()

    def close(self):
        # -log_* stay: PETSc reads them at finalisation to print its log.
        for name in self.added:
            if not name.startswith("log_"):
                self.db.delValue(name)
        self.added = []


def _parse(text, key):
    out = []
    try:
        toks = shlex.split(text or "")
    except ValueError as exc:
        raise ConfigError(key, f"cannot be split into options ({exc})", text) from None
    i = 0
    while i < len(toks):
        t = toks[i]
        if not t.startswith("-") or len(t) < 2 or t[1].isdigit():
            raise ConfigError(key, f"expected '-name [value]' PETSc options, found '{t}'", text)
        value = None
        if i + 1 < len(toks) and not (toks[i + 1].startswith("-") and not _is_number(toks[i + 1])):
            value = toks[i + 1]
            i += 1
        out.append((t.lstrip("-"), value))
        i += 1
    return out


def _is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


class LinearSolver:
    """One KSP with its operator, convergence check and statistics.

    Parameters
    ----------
    mat : PETSc Mat (assembled; reused every step)
    label : name in messages and statistics ("pressure", "momentum-x", ...)
    prefix : PETSc options prefix
    ksp_type, pc_type, rtol : defaults that the options database overrides
    nullspace : attach the constant null space
    """

    def __init__(self, mat, label, prefix, ksp_type, pc_type, rtol, nullspace=False):
        self.label = label
        self.mat = mat
        if nullspace:
            self.nullspace = PETSc.NullSpace().create(constant=True, comm=mat.getComm())
            mat.setNullSpace(self.nullspace)
            mat.setTransposeNullSpace(self.nullspace)
        else:
            self.nullspace = None
        ksp = PETSc.KSP().create(comm=mat.getComm())
        ksp.setOptionsPrefix(prefix)
        ksp.setOperators(mat)
        ksp.setType(ksp_type)
        ksp.getPC().setType(pc_type)
        ksp.setTolerances(rtol=rtol, atol=1e-50, max_it=1000)
        ksp.setFromOptions()
        ksp.setUp()
        self.ksp = ksp
        self.solves = 0
        self.iterations = 0
        self.max_iterations = 0
        self.last_iterations = 0
        self.last_residual = 0.0
        self.max_residual = 0.0

    def solve(self, b, x, step):
        """Solve ``A x = b``; raise SimulationError naming ``step`` if the KSP diverges."""
        if self.nullspace is not None:
            self.nullspace.remove(b)
        self.ksp.solve(b, x)
        reason = self.ksp.getConvergedReason()
        its = self.ksp.getIterationNumber()
        res = self.ksp.getResidualNorm()
        if reason < 0:
            raise SimulationError(
                f"{self.label} solve (KSP {self.ksp.getType()}/{self.ksp.getPC().getType()}) did not "
                f"converge at step {step}: {_reason(reason)} after {its} iterations, "
                f"residual norm {res:.3e}; change the PETSc options (incompressible.petsc_options) or "
                f"reduce run.dt"
            )
        self.solves += 1
        self.iterations += its
        self.max_iterations = max(self.max_iterations, its)
        self.last_iterations = its
        self.last_residual = res
        self.max_residual = max(self.max_residual, res)
        return its

    def multigrid_sizes(self):
        """Unknowns per multigrid level, finest first (GAMG/MG preconditioners; None for others)."""
        pc = self.ksp.getPC()
        if pc.getType() not in ("gamg", "mg"):
            return None
        levels = pc.getMGLevels()
        return [int(pc.getMGSmoother(k).getOperators()[0].getSize()[0]) for k in reversed(range(levels))]

    def stats(self):
        ksp = self.ksp
        return {
            "ksp_type": ksp.getType(),
            "pc_type": ksp.getPC().getType(),
            "rtol": ksp.getTolerances()[0],
            "multigrid_sizes": self.multigrid_sizes(),
            "solves": self.solves,
            "iterations_total": self.iterations,
            "iterations_mean": self.iterations / self.solves if self.solves else None,
            "iterations_max": self.max_iterations,
            "last_residual_norm": self.last_residual,
            "max_residual_norm": self.max_residual,
        }

    def destroy(self):
        self.ksp.destroy()
        self.mat.destroy()
        if self.nullspace is not None:
            self.nullspace.destroy()
