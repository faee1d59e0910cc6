r"""Mixed-precision compiled kernels of the C-alpha model (``backend.precision = "mixed"``, docs/precision.md).

The tile layout and loops are those of :mod:`.kernels_numba`; the pair terms, O(N^2) of the work, run in
float32 as in GROMACS and OpenMM's CPU platform:

* each replica's positions, less its centroid (taken in float64: walkers diffuse freely, and float32
  coordinates far from the origin would round their differences), are rounded into a float32 tile;
* per pair the difference, :math:`r^{-2}`, :math:`r^{-12}, r^{-10}` and the scalar force are float32
  with float32 coefficients (16 replicas fill one AVX-512 register, against 8 in float64), and so are
  the pair-force sums of each bead (at most N - 4 terms, in a fixed order): with float64 sums (or float64
  differences) the conversions cost the whole gain of the float32 lanes (timed per kernel on CPUs);
* the pair energies are the float32 :math:`r^{-10}, r^{-12}` times the float64 coefficients (a float32
  coefficient, e.g. the common repulsion :math:`\sigma_r^{12}`, would bias every pair alike), summed in
  float64 per replica;
* bonds, angles and dihedrals (O(N)) stay float64 (:mod:`.kernels_numba`'s loops): in float32, with the
  differences taken in float64 as accuracy needs, they ran slower (the conversions at both ends cost more
  than the arithmetic saves), and the stiff bonds' :math:`r - r_0` would lose four digits;
* the per-bead totals of forces, the energies and the BAOAB step are float64.

No fused multiply-adds and no reordering, as in the float64 kernels: a replica goes through the same IEEE
operations in any tile, batch or rank, so rank-count independence stays bitwise in this mode too.
"""

import numpy as np

from . import kernels_numba
from .kernels_numba import B, T, _angles, _bonds, _compiled, _dihedrals, _load, _store, params64

_f32 = np.float32
_ZERO, _ONE = _f32(0.0), _f32(1.0)


@_compiled(cache=True)
def _centred(X, Y, S):
    """``Y`` (float32) = the tile ``X`` less each replica's centroid (``S``: float64 scratch of ``B``),
    taken in float64 before rounding: walkers diffuse freely, and float32 coordinates far from the
    origin would round their differences."""
    n = X.shape[0] // B
    S[:] = 0.0
    for i in range(n):
        for k in range(B):
            S[k] += X[i * B + k]
    for k in range(B):
        S[k] /= n
    for i in range(n):
        for k in range(B):
            Y[i * B + k] = _f32(X[i * B + k] - S[k])


@_compiled(cache=True)
def _pairs(Y, G, E, A, a12, b10, a, b, want_e):
    """Pair forces into ``G`` from the float32 centred tile ``Y``: terms and per-bead sums in float32."""
    n = Y.shape[0] // B
    G[:] = _ZERO
    for i in range(n - 4):
        A[:] = _ZERO
        for j in range(i + 4, n):
            ca, cb = a12[i, j], b10[i, j]
            for t in range(T):
                p, q = i * B + t, j * B + t
                dx, dy, dz = Y[p] - Y[q], Y[p + T] - Y[q + T], Y[p + 2 * T] - Y[q + 2 * T]
                u = _ONE / (dx * dx + dy * dy + dz * dz)
                u3 = u * u * u
                fs = (u3 * u3) * (ca * u - cb)
                A[t] += fs * dx
                A[t + T] += fs * dy
                A[t + 2 * T] += fs * dz
                G[q] -= fs * dx
                G[q + T] -= fs * dy
                G[q + 2 * T] -= fs * dz
            if want_e:
                ea, eb = a[i, j], b[i, j]
                for t in range(T):
                    p, q = i * B + t, j * B + t
                    dx, dy, dz = Y[p] - Y[q], Y[p + T] - Y[q + T], Y[p + 2 * T] - Y[q + 2 * T]
                    u = _ONE / (dx * dx + dy * dy + dz * dz)
                    E[t] += np.float64(u * u * u * u * u) * (ea * np.float64(u) - eb)
        for k in range(B):
            G[i * B + k] += A[k]


@_compiled(cache=True)
def _tile_forces(X, F, E, Y, G, A, S, want_e, r0, kb, th0, ka, cph, sph, k1, k3, a12, b10, a, b):
    F[:] = 0.0
    E[:] = 0.0
    _bonds(X, F, E, r0, kb)
    _angles(X, F, E, th0, ka)
    _dihedrals(X, F, E, cph, sph, k1, k3)
    _centred(X, Y, S)
    _pairs(Y, G, E, A, a12, b10, a, b, want_e)
    for p in range(F.shape[0]):
        F[p] += G[p]


@_compiled(cache=True)
def forces(x, f, e, want_e, r0, kb, th0, ka, cph, sph, k1, k3, a12, b10, a, b):
    """Forces ``f`` and energies ``e`` of ``x`` (R, N, 3), any float dtype; float64 tiles and sums."""
    m = x.shape[1] * B
    X, F, E, C = np.empty(m), np.empty(m), np.empty(T), np.empty(B)
    Y, G, A = np.empty(m, np.float32), np.empty(m, np.float32), np.empty(B, np.float32)
    for lo in range(0, x.shape[0], T):
        _load(X, x, lo)
        _tile_forces(X, F, E, Y, G, A, C, want_e, r0, kb, th0, ka, cph, sph, k1, k3, a12, b10, a, b)
        _store(f, F, lo)
        for t in range(min(T, x.shape[0] - lo)):
            e[lo + t] = E[t]


@_compiled(cache=True)
def baoab(x, v, f, noise, scale, h, c1, e, want_e, r0, kb, th0, ka, cph, sph, k1, k3, a12, b10, a, b):
    """One BAOAB step in place, the integrator in float64 (:func:`.kernels_numba._baoab`)."""
    m = x.shape[1] * B
    X, V, F, Z = np.empty(m), np.empty(m), np.empty(m), np.empty(m)
    E, S, C = np.empty(T), np.empty(T), np.empty(B)
    Y, G, A = np.empty(m, np.float32), np.empty(m, np.float32), np.empty(B, np.float32)
    half = 0.5 * h
    for lo in range(0, x.shape[0], T):
        _load(X, x, lo)
        _load(V, v, lo)
        _load(F, f, lo)
        _load(Z, noise, lo)
        for t in range(T):
            S[t] = scale[min(lo + t, x.shape[0] - 1)]
        for k in range(m // T):
            for t in range(T):
                p = k * T + t
                vv = V[p] + half * F[p]
                xx = X[p] + half * vv
                vv = c1 * vv + S[t] * Z[p]
                X[p] = xx + half * vv
                V[p] = vv
        _tile_forces(X, F, E, Y, G, A, C, want_e, r0, kb, th0, ka, cph, sph, k1, k3, a12, b10, a, b)
        for p in range(m):
            V[p] = V[p] + half * F[p]
        _store(x, X, lo)
        _store(v, V, lo)
        _store(f, F, lo)
        for t in range(min(T, x.shape[0] - lo)):
            e[lo + t] = E[t]


def params(p):
    """The kernels' arguments after ``want_e``: the bonded ones of :func:`.kernels_numba.params64`, the
    pair coefficients ``a12, b10`` in float32 and ``a, b`` (energies) in float64."""
    prm = params64(p)
    return prm[:8] + (prm[8].astype(np.float32), prm[9].astype(np.float32)) + prm[10:]


kernels_numba.MIXED.update(params=params, forces=forces, baoab=baoab)
