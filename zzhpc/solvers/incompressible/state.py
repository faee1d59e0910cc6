"""Fields (HDF5 + XDMF) and checkpoints of the incompressible solver, as global datasets in C order, so
that a run restarts bitwise and on any rank count (``restart_any_ranks``)."""

import numpy as np

from ...errors import InputError
from ...io import read_block, write_block
from . import operators as ops


class FieldsAndCheckpoints:
    """Mixin of :class:`~.solver.IncompressibleSolver`: ``grid``, ``U``, ``P``, ``n_old``, ``dt`` live there."""

    def cell_fields(self):
        """Owned cell-centred velocity (components in C-order axis order: (w,) v, u) and pressure."""
        U = self._velocity_ghosts(self.U)
        cc = [ops.cell_centred(self.grid, U, a) for a in range(self.nd)]
        vel = np.stack(cc[::-1])
        return vel, self.grid.owned(self.P).copy()

    def xdmf_geometry(self):
        return list(reversed(self.grid.shape)), list(reversed(self.grid.h))

    def write_fields(self, h5):
        g = self.grid
        vel, p = self.cell_fields()
        start, _ = g.hyperslab()
        gshape = list(reversed(g.shape))
        write_block(
            h5,
            "fields/velocity",
            vel,
            gshape,
            start,
            attrs={"components": self.nd, "order": "C-order axes (z,) y, x; components (w,) v, u"},
        )
        write_block(h5, "fields/pressure", p, gshape, start)
        return {"velocity": self.nd, "pressure": 1}

    def save_state(self, h5):
        g = self.grid
        start, _ = g.hyperslab()
        gshape = list(reversed(g.shape))
        for a in range(self.nd):
            write_block(h5, f"state/u{a}", g.owned(self.U[a]).copy(), gshape, start)
            if self.n_old is not None:
                write_block(h5, f"state/n_old{a}", self.n_old[a], gshape, start)
        write_block(h5, "state/p", g.owned(self.P).copy(), gshape, start)
        h5.attrs["dt"] = self.dt
        h5.attrs["steady"] = int(self._steady)

    def load_state(self, h5, path):
        g = self.grid
        start, count = g.hyperslab()
        gshape = tuple(reversed(g.shape))
        if "state/p" in h5 and tuple(h5["state/p"].shape) != gshape:
            raise InputError(
                path, f"dataset 'state/p' has shape {h5['state/p'].shape}, the deck asks for {gshape} (C order)"
            )
        dt = float(h5.attrs.get("dt", self.dt))
        if abs(dt - self.dt) > 1e-14 * dt:
            raise InputError(
                path,
                f"written with dt = {dt}, the deck gives dt = {self.dt} (the assembled "
                f"Crank-Nicolson matrices depend on dt)",
            )
        for a in range(self.nd):
            g.owned(self.U[a])[...] = read_block(h5, f"state/u{a}", start, count, path)
            g.touch(self.U[a])
        g.owned(self.P)[...] = read_block(h5, "state/p", start, count, path)
        g.touch(self.P)
        if "state/n_old0" in h5:
            self.n_old = [np.asarray(read_block(h5, f"state/n_old{a}", start, count, path)) for a in range(self.nd)]
        self._steady = bool(h5.attrs.get("steady", 0))
