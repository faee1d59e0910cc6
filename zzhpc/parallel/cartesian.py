"""A Cartesian process grid over a structured domain (any rank count, primes included)."""
from mpi4py import MPI

from ..errors import ConfigError
from .partition import block_partition


class ProcessGrid:
    """Ranks arranged as a ``dims[0] x dims[1] x ...`` grid with optional periodic wrap-around.

    Parameters
    ----------
    comm : MPI communicator to arrange.
    shape : global number of cells along each axis (``len(shape)`` = number of decomposed axes).
    periodic : one bool per axis.
    dims : requested ranks per axis; 0 (or an empty list) lets ``MPI_Dims_create`` choose.
    min_cells : a rank must own at least this many cells per axis (e.g. the halo width).
    """

    def __init__(self, comm, shape, periodic, dims=None, *, min_cells=1, key="parallel.dims"):
        ndim = len(shape)
        size = comm.Get_size()
        req = list(dims or [])
        if req and len(req) != ndim:
            raise ConfigError(key, f"expected {ndim} entries (one per axis), got {len(req)}", req)
        req = req or [0] * ndim
        fixed = 1
        for d in req:
            fixed *= d or 1
        if size % fixed:
            raise ConfigError(key, f"the fixed entries multiply to {fixed}, which does not divide "
                                   f"the {size} ranks", req)
        # Let MPI choose the free axes, but never more ranks on an axis than it has cells.
        try:
            self.dims = list(MPI.Compute_dims(size, req))
        except MPI.Exception:
            raise ConfigError(key, f"cannot arrange {size} ranks as {req}", req) from None
        if any(d == 0 for d in req) and any(self.dims[i] > shape[i] // min_cells for i in range(ndim)):
            self.dims = _fit_dims(size, shape, req, min_cells) or self.dims
        for i, (n, d) in enumerate(zip(shape, self.dims)):
            if n // d < min_cells:
                raise ConfigError(key, f"{d} ranks along axis {i} leave fewer than {min_cells} of its {n} "
                                       f"cells per rank; use fewer ranks or a larger grid", self.dims)
        self.shape = tuple(int(n) for n in shape)
        self.periodic = tuple(bool(p) for p in periodic)
        self.comm = comm.Create_cart(self.dims, periods=list(self.periodic), reorder=False)
        self.rank = self.comm.Get_rank()
        self.size = size
        self.coords = tuple(self.comm.Get_coords(self.rank))
        self.ndim = ndim
        # Neighbours (lower, upper) along each axis; MPI.PROC_NULL at a non-periodic wall.
        self.neighbours = [self.comm.Shift(a, 1) for a in range(ndim)]
        parts = [block_partition(shape[a], self.dims[a], self.coords[a]) for a in range(ndim)]
        self.start = tuple(p[0] for p in parts)
        self.local_shape = tuple(p[1] for p in parts)
        self.local_slice = tuple(slice(s, s + c) for s, c in parts)

    def at_lower_wall(self, axis):
        return not self.periodic[axis] and self.coords[axis] == 0

    def at_upper_wall(self, axis):
        return not self.periodic[axis] and self.coords[axis] == self.dims[axis] - 1

    def describe(self):
        return {"dims": self.dims, "periodic": list(self.periodic), "global_shape": list(self.shape)}

    def free(self):
        self.comm.Free()


def _fit_dims(size, shape, req, min_cells):
    """Factorisation of ``size`` over the free axes that respects the cell counts, most balanced first."""
    best = None
    free = [i for i, d in enumerate(req) if d == 0]
    fixed = 1
    for d in req:
        fixed *= d or 1

    def rec(k, left, cur):
        nonlocal best
        if k == len(free):
            if left != 1:
                return
            dims = list(req)
            for i, d in zip(free, cur):
                dims[i] = d
            if all(shape[i] // dims[i] >= min_cells for i in range(len(shape))):
                score = max(shape[i] / dims[i] for i in range(len(shape)))
                if best is None or score < best[0]:
                    best = (score, dims)
            return
        for d in range(1, left + 1):
            if left % d == 0:
                rec(k + 1, left // d, cur + [d])
    rec(0, size // fixed, [])
    return best[1] if best else None
