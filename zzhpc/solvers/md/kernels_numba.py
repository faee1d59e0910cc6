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
        xs = np.empty(nall, x.dtype)          # positions in bin order: contiguous inner loops
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
        buf = np.empty(stencil.shape[0] * widest * (2 * (int(stencil[:, 3].max()) if stencil.shape[0] else 0) + 1) + 1,
                       np.int32)
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

    @njit(cache=True, nogil=True, error_model="numpy")
    def lj(x, types, neigh, nlocal, lj1, lj2, lj3, lj4, cutsq, offset, half, f):
        # Per atom: (1) the pairs inside the cutoff are compacted into short buffers without a
        # branch, (2) the arithmetic runs over the buffers (with one atom type the coefficients are
        # scalars), (3) energies, virial and forces are summed, forces scattered (Newton's third law).
        e = 0.0
        w = 0.0
        maxn = neigh.shape[1]
        nt = lj1.shape[0]
        t1, t2, t3, t4, tc, to = lj1.ravel(), lj2.ravel(), lj3.ravel(), lj4.ravel(), cutsq.ravel(), offset.ravel()
        one = nt == 1
        a1, a2, a3, a4, ao, ac = t1[0], t2[0], t3[0], t4[0], to[0], tc[0]
        jb = np.empty(maxn, np.int64)
        tb = np.empty(maxn, np.int64)
        dxb, dyb, dzb, r2b, fpb = np.empty(maxn), np.empty(maxn), np.empty(maxn), np.empty(maxn), np.empty(maxn)
        eb = np.empty(maxn)
        for i in range(nlocal):
            xi, yi, zi = x[i, 0], x[i, 1], x[i, 2]
            ti = types[i] * nt
            m = 0
            if one:     # one atom type (in.lj): no type gather; measured ~10 % faster than the general loop
                for k in range(maxn):
                    j = neigh[i, k]
                    if j < 0:
                        break
                    dx = xi - x[j, 0]
                    dy = yi - x[j, 1]
                    dz = zi - x[j, 2]
                    r2 = dx * dx + dy * dy + dz * dz
                    jb[m] = j
                    dxb[m], dyb[m], dzb[m], r2b[m] = dx, dy, dz, r2
                    m += r2 < ac
            else:
                for k in range(maxn):
                    j = neigh[i, k]
                    if j < 0:
                        break
                    dx = xi - x[j, 0]
                    dy = yi - x[j, 1]
                    dz = zi - x[j, 2]
                    r2 = dx * dx + dy * dy + dz * dz
                    tp = ti + types[j]
                    jb[m], tb[m] = j, tp
                    dxb[m], dyb[m], dzb[m], r2b[m] = dx, dy, dz, r2
                    m += r2 < tc[tp]
            # (2) No sums here: a floating-point reduction would keep LLVM from vectorising.
            if one:
                for k in range(m):
                    r2i = 1.0 / r2b[k]
                    r6i = r2i * r2i * r2i
                    fpb[k] = r6i * (a1 * r6i - a2) * r2i
                    eb[k] = r6i * (a3 * r6i - a4) - ao
            else:
                for k in range(m):
                    tp = tb[k]
                    r2i = 1.0 / r2b[k]
                    r6i = r2i * r2i * r2i
                    fpb[k] = r6i * (t1[tp] * r6i - t2[tp]) * r2i
                    eb[k] = r6i * (t3[tp] * r6i - t4[tp]) - to[tp]
            fx = 0.0
            fy = 0.0
            fz = 0.0
            if half:
                for k in range(m):
                    fp = fpb[k]
                    e += eb[k]
                    w += r2b[k] * fp
                    gx, gy, gz = dxb[k] * fp, dyb[k] * fp, dzb[k] * fp
                    fx += gx
                    fy += gy
                    fz += gz
                    j = jb[k]
                    f[j, 0] -= gx
                    f[j, 1] -= gy
                    f[j, 2] -= gz
            else:
                for k in range(m):
                    fp = fpb[k]
                    e += eb[k]
                    w += r2b[k] * fp
                    fx += dxb[k] * fp
                    fy += dyb[k] * fp
                    fz += dzb[k] * fp
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


_BINS_OCCUPANCY = 2.0   # atoms per bin aimed at
_maxn = {}              # width guess per (half, cutoff): the last build's widest row plus a margin


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
    _check(x)
    jit = _compile()
    nb, size = bin_geometry(lo, hi, bin_edge(x.shape[0], lo, hi, cutneigh))
    key = (bool(half), round(float(cutneigh), 9))
    args = (np.ascontiguousarray(x), nlocal, np.asarray(lo, np.float64), np.asarray(size, np.float64),
            np.asarray(nb, np.int64), _stencil(size, cutneigh, half), cutneigh * cutneigh, bool(half))
    while True:
        guess = _maxn.get(key, 64)
        neigh, worst = jit["build"](*args, guess)
        _maxn[key] = int(worst * 1.05) + 4
        if worst <= guess:
            break
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
