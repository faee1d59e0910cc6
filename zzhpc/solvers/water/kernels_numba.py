"""Compiled CPU versions of the water kernels (Numba): the real-space pair kernel of :mod:`.nonbonded`
and the PME spreading/interpolation of :mod:`.pme_kernels`, same conventions.

Registered as an override for the ``numpy`` backend; raises NotSuitableError without Numba or for
inputs other than float64/float32 NumPy arrays, and the reference kernel runs instead. Single-threaded:
one MPI rank per core.
"""
import math

import numpy as np

from ...device import override
from ...errors import NotSuitableError

try:
    from numba import njit
except ImportError:  # pragma: no cover - exercised where numba is absent
    njit = None

_jit = {}


def _compile():
    if njit is None:
        raise NotSuitableError("numba is not installed")
    if _jit:
        return _jit

    @njit(cache=True, nogil=True, error_model="numpy", fastmath=False)
    def pair(x, types, mol, neigh, nlocal, lj1, lj2, lj3, lj4, qq, cutsq, alpha, half, f):
        e_lj = 0.0
        e_c = 0.0
        w = 0.0
        a2 = alpha * alpha
        ca = 2.0 / math.sqrt(math.pi) * alpha
        maxn = neigh.shape[1]
        for i in range(nlocal):
            xi, yi, zi = x[i, 0], x[i, 1], x[i, 2]
            ti = types[i]
            mi = mol[i]
            fx = 0.0
            fy = 0.0
            fz = 0.0
            for k in range(maxn):
                j = neigh[i, k]
                if j < 0:
                    break
                if mol[j] == mi:
                    continue
                dx = xi - x[j, 0]
                dy = yi - x[j, 1]
                dz = zi - x[j, 2]
                r2 = dx * dx + dy * dy + dz * dz
                tj = types[j]
                if r2 >= cutsq[ti, tj]:
                    continue
                r2i = 1.0 / r2
                r = math.sqrt(r2)
                c = qq[ti, tj]
                ec = c * math.erfc(alpha * r) / r
                fp = (ec + c * ca * math.exp(-a2 * r2)) * r2i
                e_c += ec
                if lj3[ti, tj] != 0.0:
                    r6i = r2i * r2i * r2i
                    fp += r6i * (lj1[ti, tj] * r6i - lj2[ti, tj]) * r2i
                    e_lj += r6i * (lj3[ti, tj] * r6i - lj4[ti, tj])
                fx += dx * fp
                fy += dy * fp
                fz += dz * fp
                if half:
                    f[j, 0] -= dx * fp
                    f[j, 1] -= dy * fp
                    f[j, 2] -= dz * fp
                w += r2 * fp
            f[i, 0] += fx
            f[i, 1] += fy
            f[i, 2] += fz
        if not half:
            e_lj *= 0.5
            e_c *= 0.5
            w *= 0.5
        return e_lj, e_c, w

    @njit(cache=True, nogil=True, error_model="numpy")
    def spline(w, order, c, d):
        c[0], c[1] = w, 1.0 - w
        for i in range(2, order):
            c[i] = 0.0
        d[0], d[1] = 1.0, -1.0
        for n in range(3, order + 1):
            if n == order:
                d[0] = c[0]
                for i in range(1, n - 1):
                    d[i] = c[i] - c[i - 1]
                d[n - 1] = -c[n - 2]
            div = 1.0 / (n - 1)
            for i in range(n - 1, 0, -1):          # in place, from the top: c[i-1] is still the old one
                c[i] = div * ((w + i) * c[i] + (n - w - i) * c[i - 1])
            c[0] = div * w * c[0]

    @njit(cache=True, nogil=True, error_model="numpy")
    def stencil(u, j, lo, grid, order, th, dth, idx):
        for d in range(3):
            b = math.floor(u[j, d])
            spline(u[j, d] - b, order, th[d], dth[d])
            kb = int(b) - lo[d]
            for i in range(order):
                idx[d, i] = (kb - i) % grid[d]

    @njit(cache=True, nogil=True, error_model="numpy")
    def spread(u, q, lo, grid, order, out):
        th = np.empty((3, order))
        dth = np.empty((3, order))
        idx = np.empty((3, order), np.int64)
        for j in range(u.shape[0]):
            stencil(u, j, lo, grid, order, th, dth, idx)
            for a in range(order):
                qa = q[j] * th[0, a]
                ia = idx[0, a]
                for b in range(order):
                    qab = qa * th[1, b]
                    ib = idx[1, b]
                    for c in range(order):
                        out[ia, ib, idx[2, c]] += qab * th[2, c]

    @njit(cache=True, nogil=True, error_model="numpy")
    def gather(u, q, lo, grid, order, phi, g):
        th = np.empty((3, order))
        dth = np.empty((3, order))
        idx = np.empty((3, order), np.int64)
        for j in range(u.shape[0]):
            stencil(u, j, lo, grid, order, th, dth, idx)
            g0 = g1 = g2 = 0.0
            for a in range(order):
                ia = idx[0, a]
                for b in range(order):
                    ib = idx[1, b]
                    s = 0.0
                    sd = 0.0
                    for c in range(order):
                        v = phi[ia, ib, idx[2, c]]
                        s += th[2, c] * v
                        sd += dth[2, c] * v
                    g0 += dth[0, a] * th[1, b] * s
                    g1 += th[0, a] * dth[1, b] * s
                    g2 += th[0, a] * th[1, b] * sd
            g[j, 0] = q[j] * g0
            g[j, 1] = q[j] * g1
            g[j, 2] = q[j] * g2

    _jit["pair"], _jit["spread"], _jit["gather"] = pair, spread, gather
    return _jit


def _check(x):
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float64, np.float32):
        raise NotSuitableError("NumPy float arrays only")


@override("water_pair_forces", "numpy")
def pair_forces_numba(x, types, mol, neigh, nlocal, tab, alpha, half):
    _check(x)
    pair = _compile()["pair"]
    f = np.zeros((x.shape[0], 3), dtype=x.dtype)
    if nlocal == 0 or neigh.shape[1] == 0:
        return f, np.float64(0.0), np.float64(0.0), np.float64(0.0)
    t = [np.ascontiguousarray(tab[k], dtype=np.float64) for k in ("lj1", "lj2", "lj3", "lj4", "qq", "cutsq")]
    e_lj, e_c, w = pair(np.ascontiguousarray(x), np.ascontiguousarray(types), np.ascontiguousarray(mol),
                        np.ascontiguousarray(neigh), int(nlocal), *t, float(alpha), bool(half), f)
    return f, np.float64(e_lj), np.float64(e_c), np.float64(w)


@override("water_pme_spread", "numpy")
def spread_numba(u, q, lo, shape, grid, order):
    _check(u)
    out = np.zeros(tuple(int(v) for v in shape), dtype=u.dtype)
    if u.shape[0]:
        _compile()["spread"](np.ascontiguousarray(u), np.ascontiguousarray(q, dtype=u.dtype),
                             np.asarray(lo, np.int64), np.asarray(grid, np.int64), int(order), out)
    return out


@override("water_pme_gather", "numpy")
def gather_numba(u, q, lo, shape, grid, order, phi):
    _check(u)
    g = np.zeros((u.shape[0], 3), dtype=u.dtype)
    if u.shape[0]:
        _compile()["gather"](np.ascontiguousarray(u), np.ascontiguousarray(q, dtype=u.dtype),
                             np.asarray(lo, np.int64), np.asarray(grid, np.int64), int(order),
                             np.ascontiguousarray(phi, dtype=u.dtype), g)
    return g
