r"""The staggered (MAC) grid on a PETSc DMDA: one scalar DMDA, one Vec per velocity component and pressure.

Cells of size :math:`h_d = L_d / n_d`. Pressure lives at cell centres :math:`x_d = (i_d + 1/2) h_d`; the
velocity component :math:`u_a` lives on the faces normal to axis ``a``, and index ``i_a`` stores the face
at :math:`x_a = (i_a + 1) h_a` (the upper face of cell ``i``; Harlow & Welch 1965). Along a bounded axis
the last face ``i_a = n_a - 1`` is the upper boundary face itself (a fixed value, an identity row in every
matrix, unless it is an outflow face) and the lower boundary face ``i_a = -1`` is a ghost. Every field
shares the DMDA's layout, so one global-to-local scatter (PETSc's, BOX stencil of width 1 for the cross
terms of the convection) gives every ghost.

Arrays are the DMDA's memory seen in C order, axes ``(z, y, x)``: physical axis ``d`` is array axis
``nd - 1 - d``. Boundary ghosts (``DM_BOUNDARY_GHOSTED``) are filled by :mod:`.boundaries`.
"""

import numpy as np
from petsc4py import PETSc

_B = PETSc.DMDA.BoundaryType


class StaggeredGrid:
    """Decomposed MAC grid.

    Parameters
    ----------
    comm : mpi4py communicator
    shape : list of int, cells per physical axis (x, y[, z])
    lengths : list of float, domain size per axis
    periodic : list of bool, per axis; other axes are bounded (walls, inflow, outflow)
    dims : list of int or None, process grid per physical axis (0 = PETSc decides)
    """

    def __init__(self, comm, shape, lengths, periodic, dims=None):
        self.comm = comm
        self.nd = nd = len(shape)
        self.shape = list(shape)
        self.lengths = list(lengths)
        self.periodic = list(periodic)
        self.h = [L / n for L, n in zip(lengths, shape)]
        kw = {}
        if dims and any(dims):
            kw["proc_sizes"] = tuple(d if d else PETSc.DECIDE for d in dims)
        self.da = PETSc.DMDA().create(
            dim=nd,
            dof=1,
            sizes=tuple(shape),
            boundary_type=tuple(_B.PERIODIC if p else _B.GHOSTED for p in periodic),
            stencil_type=PETSc.DMDA.StencilType.BOX,
            stencil_width=1,
            comm=comm,
            **kw,
        )
        (self.start, self.count) = [list(v) for v in self.da.getCorners()]
        (self.gstart, self.gcount) = [list(v) for v in self.da.getGhostCorners()]
        self.proc_sizes = list(self.da.getProcSizes())
        self.local_shape = tuple(reversed(self.count))  # owned block, C order
        self.ghost_shape = tuple(reversed(self.gcount))
        self.interior = (slice(1, -1),) * nd
        # Global index of every ghosted point per physical axis, and the PETSc global numbering.
        self.gidx = [self.gstart[d] + np.arange(self.gcount[d]) for d in range(nd)]
        self.lg = self.da.getLGMap().getIndices().reshape(self.ghost_shape)
        self.at_lower = [not periodic[d] and self.start[d] == 0 for d in range(nd)]
        self.at_upper = [not periodic[d] and self.start[d] + self.count[d] == shape[d] for d in range(nd)]

    # Layout helpers --------------------------------------------------------------------------------
    def ax(self, d):
        """Array axis of physical axis ``d``."""
        return self.nd - 1 - d

    def shifted(self, shifts):
        """Owned-block slice of a ghosted array, shifted by ``{axis: +-1}`` (physical axes)."""
        sl = [slice(1, -1)] * self.nd
        for d, s in shifts.items():
            sl[self.ax(d)] = slice(1 + s, self.gcount[d] - 1 + s)
        return tuple(sl)

    def line(self, d, i):
        """Slice of a ghosted array: the plane with ghosted index ``i`` along physical axis ``d``."""
        sl = [slice(None)] * self.nd
        sl[self.ax(d)] = slice(i, i + 1 if i != -1 else None)
        return tuple(sl)

    def broadcast(self, d, values):
        """A 1-D array along physical axis ``d`` shaped to broadcast against C-order arrays."""
        shp = [1] * self.nd
        shp[self.ax(d)] = len(values)
        return np.asarray(values).reshape(shp)

    def owned_index(self, d):
        """Global indices of the owned points along physical axis ``d`` (broadcastable)."""
        return self.broadcast(d, self.start[d] + np.arange(self.count[d]))

    # Vectors ---------------------------------------------------------------------------------------
    def global_vec(self):
        v = self.da.createGlobalVec()
        v.set(0.0)
        return v

    def local_vec(self):
        v = self.da.createLocalVec()
        v.set(0.0)
        return v

    def owned(self, gvec):
        """C-order view of a global Vec's owned block (writes go to the Vec; call ``touch`` after)."""
        return gvec.getArray().reshape(self.local_shape)

    @staticmethod
    def touch(vec):
        """Tell PETSc a Vec changed through a NumPy view (drops cached norms)."""
        vec.stateIncrease()

    def ghosted(self, gvec, lvec):
        """Scatter ``gvec`` into ``lvec`` (PETSc global-to-local); return the C-order ghosted view."""
        self.da.globalToLocal(gvec, lvec)
        return lvec.getArray().reshape(self.ghost_shape)

    # Gathering -------------------------------------------------------------------------------------
    def gather(self, owned, root=0):
        """The full C-order field on ``root`` (None elsewhere): for profiles and plots, not for I/O."""
        blocks = self.comm.gather((tuple(self.start), np.ascontiguousarray(owned)), root=root)
        if self.comm.Get_rank() != root:
            return None
        full = np.empty(tuple(reversed(self.shape)), owned.dtype)
        for start, blk in blocks:
            sl = tuple(slice(s, s + n) for s, n in zip(reversed(start), blk.shape))
            full[sl] = blk
        return full

    def hyperslab(self):
        """``(start, count)`` of the owned block in the C-order global dataset."""
        return list(reversed(self.start)), list(reversed(self.count))

    def describe(self):
        return {
            "kind": "staggered MAC grid on a PETSc DMDA",
            "cells": self.shape,
            "lengths": self.lengths,
            "spacing": self.h,
            "periodic": self.periodic,
            "process_grid": self.proc_sizes,
            "stencil": "BOX, width 1",
        }
