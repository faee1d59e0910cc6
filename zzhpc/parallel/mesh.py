"""A structured mesh block-decomposed over a process grid, with ghost layers on the device."""

import numpy as np
from mpi4py import MPI

from .cartesian import ProcessGrid
from .halo import halo_exchange
from .timers import PHASE_REDUCTION


class DistributedMesh:
    """Uniform cell-centred mesh on ``[0, L0) x [0, L1) x ...``; cell ``i`` is centred at ``(i + 1/2) h``.

    Each rank owns a block of ``grid.local_shape`` cells, stored with ``halo`` ghost layers on each side.

    Parameters
    ----------
    comm : MPI communicator.
    shape, lengths, periodic : global cells, domain lengths and periodicity per axis.
    backend : :class:`~zzhpc.device.base.Backend` holding the arrays.
    halo : ghost-layer width (the stencil radius).
    dims : process grid request (see :class:`ProcessGrid`).
    """

    def __init__(self, comm, shape, lengths, periodic, backend, *, halo=1, dims=None, dtype="float64", timers=None):
        self.grid = ProcessGrid(comm, shape, periodic, dims, min_cells=max(halo, 1))
        self.comm = self.grid.comm
        self.backend, self.xp = backend, backend.xp
        self.shape, self.lengths = tuple(shape), tuple(float(x) for x in lengths)
        self.spacing = tuple(L / n for L, n in zip(self.lengths, self.shape))
        self.halo, self.dtype, self.timers = halo, dtype, timers
        self.ndim = len(shape)
        h = halo
        self.local_shape = self.grid.local_shape
        self.padded_shape = tuple(n + 2 * h for n in self.local_shape)
        self.interior = tuple(slice(h, h + n) for n in self.local_shape)

    def coords(self, axis):
        """Host array of this rank's cell centres along ``axis``."""
        s, n, d = self.grid.start[axis], self.local_shape[axis], self.spacing[axis]
        return (np.arange(s, s + n) + 0.5) * d

    def meshgrid(self):
        return np.meshgrid(*[self.coords(a) for a in range(self.ndim)], indexing="ij")

    def zeros(self, components=()):
        """A padded field on the device, shape ``(*components, *padded_shape)``."""
        return self.backend.zeros(tuple(components) + self.padded_shape, self.dtype)

    def from_host(self, values, components=()):
        """A padded device field whose interior is ``values`` (a host array of the local shape)."""
        a = self.zeros(components)
        lead = (slice(None),) * len(components)
        a[lead + self.interior] = self.backend.asarray(np.asarray(values, dtype=self.dtype))
        return a

    def interior_of(self, a):
        return a[(slice(None),) * (a.ndim - self.ndim) + self.interior]

    def exchange(self, a):
        """Fill ghost layers from the neighbours (periodic wrap included)."""
        return halo_exchange(a, self.grid, self.halo, self.backend, timers=self.timers)

    def _reduce(self, value, op):
        if self.timers is not None:
            with self.timers(PHASE_REDUCTION):
                return self.comm.allreduce(value, op=op)
        return self.comm.allreduce(value, op=op)

    def sum(self, a):
        """Global sum over the interior of the padded field ``a`` (all components)."""
        return self._reduce(float(self.xp.sum(self.interior_of(a))), MPI.SUM)

    def max(self, a):
        """Global maximum over the interior of the padded field ``a``."""
        return self._reduce(float(self.xp.max(self.interior_of(a))), MPI.MAX)

    def global_sum(self, local_value):
        """Sum of a per-rank scalar (e.g. computed on an interior view) over all ranks."""
        return self._reduce(float(local_value), MPI.SUM)

    def global_max(self, local_value):
        return self._reduce(float(local_value), MPI.MAX)

    def integral(self, a):
        return self.sum(a) * float(np.prod(self.spacing))

    def all_finite(self, a):
        ok = bool(self.xp.all(self.xp.isfinite(self.interior_of(a))))
        return self._reduce(ok, MPI.LAND)

    def gather(self, a, root=0):
        """The global interior (host array) on ``root``; ``None`` elsewhere. For tests and plots."""
        local = self.backend.to_host(self.interior_of(a))
        parts = self.comm.gather((self.grid.local_slice, local), root=root)
        if self.comm.Get_rank() != root:
            return None
        lead = local.shape[: local.ndim - self.ndim]
        out = np.empty(lead + self.shape, dtype=local.dtype)
        for sl, block in parts:
            out[(slice(None),) * len(lead) + tuple(sl)] = block
        return out

    def hyperslab(self):
        """``(start, count)`` of this rank's block in the global array (for parallel HDF5)."""
        return self.grid.start, self.local_shape

    def describe(self):
        d = self.grid.describe()
        d.update(lengths=list(self.lengths), halo=self.halo)
        return d
