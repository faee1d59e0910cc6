"""A Cartesian process grid over a structured domain (any rank count, primes included), and the one
chooser of process grids (:func:`choose_process_grid`), which the distributed FFT's pencils use too."""

import math
from collections.abc import Callable, Sequence
from typing import Any

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

    dims: list[int]
    shape: tuple[int, ...]
    periodic: tuple[bool, ...]
    coords: tuple[int, ...]
    start: tuple[int, ...]
    local_shape: tuple[int, ...]

    def __init__(
        self,
        comm: MPI.Intracomm,
        shape: Sequence[int],
        periodic: Sequence[bool],
        dims: Sequence[int] | None = None,
        *,
        min_cells: int = 1,
        key: str = "parallel.dims",
    ) -> None:
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
            raise ConfigError(
                key, f"the fixed entries multiply to {fixed}, which does not divide the {size} ranks", req
            )
        # Let MPI choose the free axes, but never more ranks on an axis than it has cells.
        try:
            self.dims = list(MPI.Compute_dims(size, req))
        except MPI.Exception:
            raise ConfigError(key, f"cannot arrange {size} ranks as {req}", req) from None
        if any(d == 0 for d in req) and any(self.dims[i] > shape[i] // min_cells for i in range(ndim)):
            # The most even cells per rank among the grids that respect the cell counts.
            fit = choose_process_grid(
                size,
                [n // min_cells for n in shape],
                fixed=req,
                key=lambda d: max(shape[i] / d[i] for i in range(ndim)),
            )
            self.dims = list(fit) if fit else self.dims
        for i, (n, d) in enumerate(zip(shape, self.dims)):
            if n // d < min_cells:
                raise ConfigError(
                    key,
                    f"{d} ranks along axis {i} leave fewer than {min_cells} of its {n} "
                    f"cells per rank; use fewer ranks or a larger grid",
                    self.dims,
                )
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

    def at_lower_wall(self, axis: int) -> bool:
        return not self.periodic[axis] and self.coords[axis] == 0

    def at_upper_wall(self, axis: int) -> bool:
        return not self.periodic[axis] and self.coords[axis] == self.dims[axis] - 1

    def describe(self) -> dict:
        return {"dims": self.dims, "periodic": list(self.periodic), "global_shape": list(self.shape)}

    def free(self) -> None:
        self.comm.Free()


def choose_process_grid(
    nproc: int,
    limits: Sequence[int],
    *,
    fixed: Sequence[int] | None = None,
    key: Callable[[tuple[int, ...]], Any] | None = None,
) -> tuple[int, ...] | None:
    """The one chooser of process grids: factorise ``nproc`` over ``len(limits)`` axes.

    Every factorisation with ``dims[i] <= limits[i]`` that keeps the non-zero entries of ``fixed`` is a
    candidate, in lexicographic order of the free entries; the first that minimises ``key`` wins.
    Default ``key``: most balanced (smallest largest entry, then largest smallest entry), larger leading
    entries on ties, as ``MPI_Dims_create`` orders them. Returns None when nothing fits.
    Used by :class:`ProcessGrid` (stencil solvers) and by :mod:`zzhpc.parallel.fft` (pencils)."""
    ndim = len(limits)
    req = list(fixed or [0] * ndim)
    free = [i for i, d in enumerate(req) if d == 0]
    fixed_prod = math.prod(d for d in req if d)
    if key is None:

        def key(d):
            return (max(d), -min(d), tuple(-x for x in d))

    if nproc % fixed_prod:
        return None
    cands = []

    def rec(k, left, cur):
        if k == len(free):
            if left == 1:
                dims = list(req)
                for i, d in zip(free, cur):
                    dims[i] = d
                if all(d <= lim for d, lim in zip(dims, limits)):
                    cands.append(tuple(dims))
            return
        for d in range(1, left + 1):
            if left % d == 0:
                rec(k + 1, left // d, cur + [d])

    rec(0, nproc // fixed_prod, [])
    return min(cands, key=key) if cands else None
