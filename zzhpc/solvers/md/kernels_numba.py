"""Compiled CPU versions of the MD kernels (Numba), same conventions as :mod:`.kernels`.

Registered as overrides for the ``numpy`` backend; when Numba is not installed (or the inputs are not
float64/float32 NumPy arrays) they raise NotSuitableError and the reference kernel runs instead.
Single-threaded by design: one MPI rank per core, as LAMMPS runs.
"""
import numpy as np

from ...device import override
from ...errors import NotSuitableError
from .kernels import bin_geometry

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
    def build(x, nlocal, lo, size, nb, cut2, half, maxn):
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
        order = np.empty(nall, np.int64)
        for i in range(nall):
            k = (cz[i] * nb[1] + cy[i]) * nb[0] + cx[i]
            order[start[k]] = i
            start[k] += 1
        xs = np.empty((nall, 3), x.dtype)     # positions in bin order: contiguous inner loops
        for s in range(nall):
            xs[s, 0] = x[order[s], 0]
            xs[s, 1] = x[order[s], 1]
            xs[s, 2] = x[order[s], 2]
        neigh = np.full((nlocal, maxn), -1, np.int32)
        worst = 0
        for i in range(nlocal):
            n = 0
            xi, yi, zi = x[i, 0], x[i, 1], x[i, 2]
            for dz in range(-1, 2):
                c2 = cz[i] + dz
                if c2 < 0 or c2 >= nb[2]:
                    continue
                for dy in range(-1, 2):
                    c1 = cy[i] + dy
                    if c1 < 0 or c1 >= nb[1]:
                        continue
                    for dx in range(-1, 2):
                        c0 = cx[i] + dx
                        if c0 < 0 or c0 >= nb[0]:
                            continue
                        k = (c2 * nb[1] + c1) * nb[0] + c0
                        for s in range(count[k], count[k + 1]):
                            j = order[s]
                            if j == i:
                                continue
                            ddx = xs[s, 0] - xi
                            ddy = xs[s, 1] - yi
                            ddz = xs[s, 2] - zi
                            if half:
                                if j < nlocal:
                                    if j < i:
                                        continue
                                elif not (ddz > 0 or (ddz == 0 and (ddy > 0 or (ddy == 0 and ddx > 0)))):
                                    continue
                            if ddx * ddx + ddy * ddy + ddz * ddz < cut2:
                                if n < maxn:
                                    neigh[i, n] = j
                                n += 1
            worst = max(worst, n)
        return neigh, worst

    @njit(cache=True, nogil=True, error_model="numpy")
    def lj(x, types, neigh, nlocal, lj1, lj2, lj3, lj4, cutsq, offset, half, f):
        e = 0.0
        w = 0.0
        maxn = neigh.shape[1]
        for i in range(nlocal):
            xi, yi, zi = x[i, 0], x[i, 1], x[i, 2]
            ti = types[i]
            fx = 0.0
            fy = 0.0
            fz = 0.0
            for k in range(maxn):
                j = neigh[i, k]
                if j < 0:
                    break
                dx = xi - x[j, 0]
                dy = yi - x[j, 1]
                dz = zi - x[j, 2]
                r2 = dx * dx + dy * dy + dz * dz
                tj = types[j]
                if r2 < cutsq[ti, tj]:
                    r2i = 1.0 / r2
                    r6i = r2i * r2i * r2i
                    fp = r6i * (lj1[ti, tj] * r6i - lj2[ti, tj]) * r2i
                    fx += dx * fp
                    fy += dy * fp
                    fz += dz * fp
                    if half:
                        f[j, 0] -= dx * fp
                        f[j, 1] -= dy * fp
                        f[j, 2] -= dz * fp
                    e += r6i * (lj3[ti, tj] * r6i - lj4[ti, tj]) - offset[ti, tj]
                    w += r2 * fp
            f[i, 0] += fx
            f[i, 1] += fy
            f[i, 2] += fz
        if not half:
            e *= 0.5
            w *= 0.5
        return e, w

    _jit["build"], _jit["lj"] = build, lj
    return _jit


def _check(x):
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float64, np.float32):
        raise NotSuitableError("NumPy float arrays only")


_maxn = [64]


@override("md_neighbor_list", "numpy")
def neighbor_list_numba(x, nlocal, lo, hi, cutneigh, half, chunk=None):
    _check(x)
    jit = _compile()
    nb, size = bin_geometry(lo, hi, cutneigh)
    args = (np.ascontiguousarray(x), nlocal, np.asarray(lo, np.float64), np.asarray(size, np.float64),
            np.asarray(nb, np.int64), cutneigh * cutneigh, bool(half))
    while True:
        neigh, worst = jit["build"](*args, _maxn[0])
        if worst <= _maxn[0]:
            break
        _maxn[0] = int(worst * 1.2) + 8
    width = max(int(worst), 0)
    return np.ascontiguousarray(neigh[:, :width]) if width < neigh.shape[1] else neigh


@override("md_lj_forces", "numpy")
def lj_forces_numba(x, types, neigh, nlocal, tab, half):
    _check(x)
    jit = _compile()
    f = np.zeros((x.shape[0], 3), dtype=x.dtype)
    if nlocal == 0 or neigh.shape[1] == 0:
        return f, np.float64(0.0), np.float64(0.0)
    t = {k: np.ascontiguousarray(tab[k], dtype=np.float64) for k in ("lj1", "lj2", "lj3", "lj4", "cutsq", "offset")}
    e, w = jit["lj"](np.ascontiguousarray(x), np.ascontiguousarray(types), np.ascontiguousarray(neigh), nlocal,
                     t["lj1"], t["lj2"], t["lj3"], t["lj4"], t["cutsq"], t["offset"], bool(half), f)
    return f, np.float64(e), np.float64(w)
