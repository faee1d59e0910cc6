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

# Rational approximations of erf/erfc (Cody 1969; the coefficients of SPECFUN's CALERF).
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03,
      1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
      8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
      2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
      3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
      6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
      2.33520497626869185e-3)
_RSQRTPI = 1.0 / math.sqrt(math.pi)


if njit is not None:
    @njit(cache=True, nogil=True, error_model="numpy", inline="always")
    def _erfc_exp(x, e):
        """erfc(x) for x >= 0 given e = exp(-x*x) (W. J. Cody, Math. Comp. 23, 631 (1969), as in
        SPECFUN's CALERF; relative error below 4e-15)."""
        if x <= 0.46875:
            y = x * x
            num = ((((_A[4] * y + _A[0]) * y + _A[1]) * y + _A[2]) * y + _A[3])
            den = ((((y + _B[0]) * y + _B[1]) * y + _B[2]) * y + _B[3])
            return 1.0 - x * num / den
        if x <= 4.0:
            num = _C[8] * x
            den = x
            for k in range(7):
                num = (num + _C[k]) * x
                den = (den + _D[k]) * x
            return e * (num + _C[7]) / (den + _D[7])
        y = 1.0 / (x * x)
        num = _P[5] * y
        den = y
        for k in range(4):
            num = (num + _P[k]) * y
            den = (den + _Q[k]) * y
        return e * (_RSQRTPI - y * (num + _P[4]) / (den + _Q[4])) / x

    @njit(cache=True, nogil=True, error_model="numpy")
    def _pair(x, types, mol, neigh, nlocal, lj1, lj2, lj3, lj4, qq, cutsq, alpha, half, f):
        e_lj = 0.0
        e_c = 0.0
        w = 0.0
        a2 = alpha * alpha
        ca = 2.0 * _RSQRTPI * alpha
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
                dx = xi - x[j, 0]
                dy = yi - x[j, 1]
                dz = zi - x[j, 2]
                r2 = dx * dx + dy * dy + dz * dz
                tj = types[j]
                if r2 >= cutsq[ti, tj] or mol[j] == mi:
                    continue
                r2i = 1.0 / r2
                r = math.sqrt(r2)
                c = qq[ti, tj]
                e = math.exp(-a2 * r2)
                ec = c * _erfc_exp(alpha * r, e) / r
                fp = (ec + c * ca * e) * r2i
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


def _compile():
    if njit is None:
        raise NotSuitableError("numba is not installed")
    return {"pair": _pair, "spread": _spread, "gather": _gather, "erfc_exp": _erfc_exp}

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
