"""Compiled CPU neighbour lists (Numba), same conventions as :mod:`.neighbors`.

Registered as overrides for the ``numpy`` backend; when Numba is not installed (or the inputs are not
float64/float32 NumPy arrays) they raise NotSuitableError and the reference kernel runs instead.
Single-threaded by design: one MPI rank per core, as LAMMPS runs.
"""

import numpy as np

from ..device import override
from ..errors import NotSuitableError
from .neighbors import bin_geometry

try:
    import numba
    from numba import njit
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None

_jit = {}


def _compile():
    if numba is None:
        raise NotSuitableError("numba is not installed")
    if _jit:
        return _jit

    @njit(cache=True, nogil=True, error_model="numpy")
    def build(x, nlocal, lo, size, nb, stencil, cut2, half, maxn):
        nall = x.shape[0]
        ncell = nb[0] * nb[1] * nb[2]
        cx = np.empty(nall, np.int64)
        cy = np.empty(nall, np.int64)
        cz = np.empty(nall, np.int64)
        count = np.zeros(ncell + 1, np.int64)
        for i in range(nall):
            a = int(np.floor((x[i, 0] - lo[0]) / size[0]))
            b = int(np.floor((x[i, 1] - lo[1]) / size[1]))
            c = int(np.floor((x[i, 2] - lo[2]) / size[2]))
            cx[i] = min(max(a, 0), nb[0] - 1)
            cy[i] = min(max(b, 0), nb[1] - 1)
            cz[i] = min(max(c, 0), nb[2] - 1)
            count[(cz[i] * nb[1] + cy[i]) * nb[0] + cx[i] + 1] += 1
        for k in range(ncell):
            count[k + 1] += count[k]
        start = count.copy()
        order = np.empty(nall, np.int32)
        for i in range(nall):
            k = (cz[i] * nb[1] + cy[i]) * nb[0] + cx[i]
            order[start[k]] = i
            start[k] += 1
        xs = np.empty(nall, x.dtype)  # positions in bin order: contiguous inner loops
        ys = np.empty(nall, x.dtype)
        zs = np.empty(nall, x.dtype)
        for s in range(nall):
            xs[s] = x[order[s], 0]
            ys[s] = x[order[s], 1]
            zs[s] = x[order[s], 2]
        neigh = np.full((nlocal, maxn), -1, np.int32)
        # Candidates are written unconditionally and kept by advancing the count: no branch to
        # mispredict on the cutoff test. The buffer holds every candidate of one atom.
        widest = 0
        for k in range(ncell):
            widest = max(widest, count[k + 1] - count[k])
        buf = np.empty(
            stencil.shape[0] * widest * (2 * (int(stencil[:, 3].max()) if stencil.shape[0] else 0) + 1) + 1, np.int32
        )
        worst = 0
        for i in range(nlocal):
            n = 0
            xi, yi, zi = x[i, 0], x[i, 1], x[i, 2]
            for t in range(stencil.shape[0]):
                # One stencil row: the bins (c0 - r .. c0 + r, c1, c2) are contiguous in bin order.
                c1 = cy[i] + stencil[t, 1]
                c2 = cz[i] + stencil[t, 2]
                if c1 < 0 or c1 >= nb[1] or c2 < 0 or c2 >= nb[2]:
                    continue
                r = stencil[t, 3]
                row = (c2 * nb[1] + c1) * nb[0]
                s0 = count[row + max(cx[i] - r, 0)]
                s1 = count[row + min(cx[i] + r, nb[0] - 1) + 1]
                if half and stencil[t, 2] == 0:
                    # A half list keeps a pair on the row of its lower atom (z, then y, then x):
                    # the stencil holds no layer below, and the same layer needs the test.
                    for s in range(s0, s1):
                        ddx = xs[s] - xi
                        ddy = ys[s] - yi
                        ddz = zs[s] - zi
                        above = (ddz > 0) | ((ddz == 0) & ((ddy > 0) | ((ddy == 0) & (ddx > 0))))
                        buf[n] = order[s]
                        n += (ddx * ddx + ddy * ddy + ddz * ddz < cut2) & above
                else:
                    for s in range(s0, s1):
                        ddx = xs[s] - xi
                        ddy = ys[s] - yi
                        ddz = zs[s] - zi
                        buf[n] = order[s]
                        n += (ddx * ddx + ddy * ddy + ddz * ddz < cut2) & (order[s] != i)
            if n <= maxn:
                for m in range(n):
                    neigh[i, m] = buf[m]
            worst = max(worst, n)
        return neigh, worst

    _jit["build"] = build
    return _jit


def check_numpy_float(x):
    """Decline (NotSuitableError) unless ``x`` is a float64/float32 NumPy array."""
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float64, np.float32):
        raise NotSuitableError("NumPy float arrays only")


_BINS_OCCUPANCY = 2.0  # atoms per bin aimed at
_maxn = {}  # width guess per (half, cutoff): the last build's widest row plus a margin


def bin_edge(nall, lo, hi, cutneigh):
    """Bin edge for the search: the cutoff over k = 2, 3 or 4, k chosen for about two atoms per bin
    (measured fastest for the LJ liquid, k = 2 as LAMMPS's default, and for water, k = 4). A whole
    fraction keeps the stencil's reach at k bins."""
    vol = float(np.prod(np.asarray(hi, float) - np.asarray(lo, float)))
    edge = (_BINS_OCCUPANCY * vol / max(nall, 1)) ** (1.0 / 3.0)
    return cutneigh / min(4, max(2, round(cutneigh / edge)))


def _stencil(size, cutneigh, half):
    """Rows of bins within reach of ``cutneigh`` for bins of edges ``size``: ``(0, dy, dz, r)`` stands for
    the bins dx = -r..r of row (dy, dz). A half list takes only the layers dz >= 0 (the partner of a
    pair lies above its row atom)."""
    reach = [int(np.ceil(cutneigh / s)) for s in size]
    out = []
    for dz in range(0 if half else -reach[2], reach[2] + 1):
        for dy in range(-reach[1], reach[1] + 1):
            gyz = (max(abs(dy) - 1, 0) * size[1]) ** 2 + (max(abs(dz) - 1, 0) * size[2]) ** 2
            r = [dx for dx in range(reach[0] + 1) if (max(dx - 1, 0) * size[0]) ** 2 + gyz < cutneigh * cutneigh]
            if r:
                out.append((0, dy, dz, max(r)))
    return np.asarray(out, np.int64).reshape(-1, 4)


@override("md_neighbor_list", "numpy")
def neighbor_list_numba(x, nlocal, lo, hi, cutneigh, half, chunk=None):
    """Bins of about two atoms (see :func:`bin_edge`), searched row by row through a pruned stencil."""
    check_numpy_float(x)
    jit = _compile()
    nb, size = bin_geometry(lo, hi, bin_edge(x.shape[0], lo, hi, cutneigh))
    key = (bool(half), round(float(cutneigh), 9))
    args = (
        np.ascontiguousarray(x),
        nlocal,
        np.asarray(lo, np.float64),
        np.asarray(size, np.float64),
        np.asarray(nb, np.int64),
        _stencil(size, cutneigh, half),
        cutneigh * cutneigh,
        bool(half),
    )
    while True:
        guess = _maxn.get(key, 64)
        neigh, worst = jit["build"](*args, guess)
        _maxn[key] = int(worst * 1.05) + 4
        if worst <= guess:
            break
    width = max(int(worst), 0)
    return np.ascontiguousarray(neigh[:, :width]) if width < neigh.shape[1] else neigh
