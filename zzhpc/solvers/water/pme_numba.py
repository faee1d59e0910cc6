"""Compiled CPU versions of the PME spreading and interpolation kernels of :mod:`.pme_kernels` (Numba).

Registered as overrides for the ``numpy`` backend; NotSuitableError without Numba or for inputs other
than float64/float32 NumPy arrays. One pass per atom: B-spline weights and derivatives by the
recursion of :func:`.pme_kernels.bspline`, then the ``p^3`` grid points.
"""
import math

import numpy as np

from ...device import override
from ...errors import NotSuitableError
from .kernels_numba import _check, njit

if njit is not None:
    @njit(cache=True, nogil=True, error_model="numpy")
    def _spline(w, order, c, d):
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
    def _stencil(u, j, lo, grid, order, th, dth, idx):
        for d in range(3):
            b = math.floor(u[j, d])
            _spline(u[j, d] - b, order, th[d], dth[d])
            kb = int(b) - lo[d]
            for i in range(order):
                idx[d, i] = (kb - i) % grid[d]

    @njit(cache=True, nogil=True, error_model="numpy")
    def _spread(u, q, lo, grid, order, out):
        th = np.empty((3, order))
        dth = np.empty((3, order))
        idx = np.empty((3, order), np.int64)
        for j in range(u.shape[0]):
            _stencil(u, j, lo, grid, order, th, dth, idx)
            for a in range(order):
                qa = q[j] * th[0, a]
                ia = idx[0, a]
                for b in range(order):
                    qab = qa * th[1, b]
                    ib = idx[1, b]
                    for c in range(order):
                        out[ia, ib, idx[2, c]] += qab * th[2, c]

    @njit(cache=True, nogil=True, error_model="numpy")
    def _gather(u, q, lo, grid, order, phi, g):
        th = np.empty((3, order))
        dth = np.empty((3, order))
        idx = np.empty((3, order), np.int64)
        for j in range(u.shape[0]):
            _stencil(u, j, lo, grid, order, th, dth, idx)
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


@override("water_pme_spread", "numpy")
def spread_numba(u, q, lo, shape, grid, order):
    _check(u)
    out = np.zeros(tuple(int(v) for v in shape), dtype=u.dtype)
    if u.shape[0]:
        _kernels()["spread"](np.ascontiguousarray(u), np.ascontiguousarray(q, dtype=u.dtype),
                             np.asarray(lo, np.int64), np.asarray(grid, np.int64), int(order), out)
    return out


@override("water_pme_gather", "numpy")
def gather_numba(u, q, lo, shape, grid, order, phi):
    _check(u)
    g = np.zeros((u.shape[0], 3), dtype=u.dtype)
    if u.shape[0]:
        _kernels()["gather"](np.ascontiguousarray(u), np.ascontiguousarray(q, dtype=u.dtype),
                             np.asarray(lo, np.int64), np.asarray(grid, np.int64), int(order),
                             np.ascontiguousarray(phi, dtype=u.dtype), g)
    return g


def _kernels():
    if njit is None:
        raise NotSuitableError("numba is not installed")
    return {"spread": _spread, "gather": _gather}
