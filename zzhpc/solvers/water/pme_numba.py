"""Compiled CPU versions of the PME spreading and interpolation kernels of :mod:`.pme_kernels` (Numba).

Registered as overrides for the ``numpy`` backend; NotSuitableError without Numba or for inputs other
than float64/float32 NumPy arrays. B-spline weights and derivatives of all atoms first (the
recursion of :func:`.pme_kernels.bspline`, vectorised across atoms), then per atom the ``p^3`` grid
points. The atoms are spread into (and interpolate from) a padded block that holds every point they
touch without wrap-around, so the innermost loop runs over ``p`` contiguous points; the block is
folded into (unfolded from) the periodic brick afterwards, at the cost of one pass over it.
"""

import math

import numpy as np

from ...device import override
from ...errors import NotSuitableError
from .kernels_numba import _check, njit

if njit is not None:
    from .pme_simd import atom4_gradient, row4_add

if njit is not None:

    @njit(cache=True, nogil=True, error_model="numpy")
    def _extent(u, lo, order):
        """Per atom the lowest brick index ``floor(u) - lo - (p-1)`` it touches, and the range over atoms."""
        n = u.shape[0]
        first = np.empty((n, 3), np.int64)
        pmin = np.empty(3, np.int64)
        pmax = np.empty(3, np.int64)
        for d in range(3):
            pmin[d] = 1 << 62
            pmax[d] = -(1 << 62)
        for j in range(n):
            for d in range(3):
                b = np.int64(math.floor(u[j, d])) - lo[d] - (order - 1)
                first[j, d] = b
                pmin[d] = min(pmin[d], b)
                pmax[d] = max(pmax[d], b + order - 1)
        return first, pmin, pmax

    @njit(cache=True, nogil=True, error_model="numpy")
    def _recursion(fr, c, d, order):
        """The B-spline recursion of :func:`.pme_kernels.bspline` across atoms (rows ``c[i, j]``: weights,
        ``d``: derivatives, of the fractional parts ``fr[j]``); the inner loops over atoms vectorise."""
        n = fr.shape[0]
        for j in range(n):
            c[0, j] = fr[j]
            c[1, j] = 1.0 - fr[j]
            d[0, j] = 1.0
            d[1, j] = -1.0
        for i in range(2, order):
            for j in range(n):
                c[i, j] = 0.0
        for m in range(3, order + 1):
            if m == order:
                for j in range(n):
                    d[0, j] = c[0, j]
                for i in range(1, m - 1):
                    for j in range(n):
                        d[i, j] = c[i, j] - c[i - 1, j]
                for j in range(n):
                    d[m - 1, j] = -c[m - 2, j]
            div = 1.0 / (m - 1)
            for i in range(m - 1, 0, -1):
                for j in range(n):
                    c[i, j] = div * ((fr[j] + i) * c[i, j] + (m - fr[j] - i) * c[i - 1, j])
            for j in range(n):
                c[0, j] = div * fr[j] * c[0, j]

    @njit(cache=True, nogil=True, error_model="numpy")
    def _all_weights(u, order):
        """B-spline weights ``w[j, d, t]`` and derivatives ``dw`` of every atom ``j`` in ascending grid
        order (index ``floor(u) - (p-1) + t``), by the recursion of :func:`.pme_kernels.bspline` run
        across atoms: the inner loops over atoms vectorise (0.47 against 1.24 ms per atom in turn for
        12,000 atoms at order 5, bitwise the same values)."""
        n = u.shape[0]
        w = np.empty((n, 3, order))
        dw = np.empty((n, 3, order))
        c = np.empty((order, n))
        d = np.empty((order, n))
        fr = np.empty(n)
        for ax in range(3):
            for j in range(n):
                fr[j] = u[j, ax] - math.floor(u[j, ax])
            _recursion(fr, c, d, order)
            for j in range(n):
                for t in range(order):
                    w[j, ax, t] = c[order - 1 - t, j]
                    dw[j, ax, t] = d[order - 1 - t, j]
        return w, dw

    @njit(cache=True, nogil=True, error_model="numpy")
    def _pad_range(base, lo, order):
        """Lowest and highest brick index (unwrapped) that the atoms' stencils touch, per axis (a module-level
        function: a compiled closure that another closure calls would defeat Numba's cache)."""
        pmin = np.empty(3, np.int64)
        pmax = np.empty(3, np.int64)
        for d in range(3):
            pmin[d] = 1 << 62
            pmax[d] = -(1 << 62)
        for j in range(base.shape[0]):
            for d in range(3):
                pmin[d] = min(pmin[d], base[j, d])
                pmax[d] = max(pmax[d], base[j, d])
        for d in range(3):
            pmin[d] -= lo[d] + (order - 1)
            pmax[d] -= lo[d]
        return pmin, pmax

    @njit(cache=True, nogil=True, error_model="numpy")
    def _fold_maps(pmin, pmax, grid):
        """Brick index ``(t + pmin) mod K`` of each padded index ``t``, per axis."""
        maps = []
        for d in range(3):
            m = np.empty(pmax[d] - pmin[d] + 1, np.int64)
            for t in range(m.shape[0]):
                m[t] = (t + pmin[d]) % grid[d]
            maps.append(m)
        return maps[0], maps[1], maps[2]


def _make(order):
    """Spreading and interpolation compiled for one B-spline order ``P``: a compile-time constant, so
    the ``P^3`` loops per atom unroll (12,000 atoms, order 5, a 45^3 brick: spreading 4.4 -> 2.9 ms,
    interpolation 4.5 -> 3.3 ms against ``order`` as an argument). Numba caches each order."""
    P = int(order)

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
    def spread(u, q, lo, grid, out):
        # Spread into a padded block with no wrap-around, so that the innermost loop runs over
        # contiguous grid points; then fold the block into the periodic brick.
        first, pmin, pmax = _extent(u, lo, P)
        pad = np.zeros((pmax[0] - pmin[0] + 1, pmax[1] - pmin[1] + 1, pmax[2] - pmin[2] + 1), out.dtype)
        wa, _ = _all_weights(u, P)
        for j in range(u.shape[0]):
            w = wa[j]
            s0, s1, s2 = first[j, 0] - pmin[0], first[j, 1] - pmin[1], first[j, 2] - pmin[2]
            for a in range(P):
                qa = q[j] * w[0, a]
                for b in range(P):
                    qab = qa * w[1, b]
                    row = pad[s0 + a, s1 + b]
                    for t in range(P):
                        row[s2 + t] += qab * w[2, t]
        m0, m1, m2 = _fold_maps(pmin, pmax, grid)
        for i0 in range(pad.shape[0]):
            for i1 in range(pad.shape[1]):
                dst = out[m0[i0], m1[i1]]
                src = pad[i0, i1]
                for i2 in range(pad.shape[2]):
                    dst[m2[i2]] += src[i2]

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
    def gather(u, q, lo, grid, phi, g):
        first, pmin, pmax = _extent(u, lo, P)
        m0, m1, m2 = _fold_maps(pmin, pmax, grid)
        pad = np.empty((m0.shape[0], m1.shape[0], m2.shape[0]), phi.dtype)  # phi unfolded
        for i0 in range(pad.shape[0]):
            for i1 in range(pad.shape[1]):
                src = phi[m0[i0], m1[i1]]
                dst = pad[i0, i1]
                for i2 in range(pad.shape[2]):
                    dst[i2] = src[m2[i2]]
        wa, dwa = _all_weights(u, P)
        for j in range(u.shape[0]):
            w, dw = wa[j], dwa[j]
            s0, s1, s2 = first[j, 0] - pmin[0], first[j, 1] - pmin[1], first[j, 2] - pmin[2]
            g0 = g1 = g2 = 0.0
            for a in range(P):
                for b in range(P):
                    row = pad[s0 + a, s1 + b]
                    s = 0.0
                    sd = 0.0
                    for t in range(P):
                        v = row[s2 + t]
                        s += w[2, t] * v
                        sd += dw[2, t] * v
                    g0 += dw[0, a] * w[1, b] * s
                    g1 += w[0, a] * dw[1, b] * s
                    g2 += w[0, a] * w[1, b] * sd
            g[j, 0] = q[j] * g0
            g[j, 1] = q[j] * g1
            g[j, 2] = q[j] * g2

    return {"spread": spread, "gather": gather}


@override("water_pme_spread", "numpy")
def spread_numba(u, q, lo, shape, grid, order):
    _check(u)
    out = np.zeros(tuple(int(v) for v in shape), dtype=u.dtype)
    if u.shape[0]:
        _kernels(order)["spread"](
            np.ascontiguousarray(u),
            np.ascontiguousarray(q, dtype=u.dtype),
            np.asarray(lo, np.int64),
            np.asarray(grid, np.int64),
            out,
        )
    return out


@override("water_pme_gather", "numpy")
def gather_numba(u, q, lo, shape, grid, order, phi):
    _check(u)
    g = np.zeros((u.shape[0], 3), dtype=u.dtype)
    if u.shape[0]:
        _kernels(order)["gather"](
            np.ascontiguousarray(u),
            np.ascontiguousarray(q, dtype=u.dtype),
            np.asarray(lo, np.int64),
            np.asarray(grid, np.int64),
            np.ascontiguousarray(phi, dtype=u.dtype),
            g,
        )
    return g


_BY_ORDER = {}


def _kernels(order):
    if njit is None:
        raise NotSuitableError("numba is not installed")
    order = int(order)
    if order not in _BY_ORDER:
        _BY_ORDER[order] = _make(order)
    return _BY_ORDER[order]


# Mixed precision: weights once per step, shared; float32 grids, order 4 unrolled ------------------------


def _make_stencil(order):
    """Stencil, spreading and interpolation with the weights given (:func:`.pme_kernels.stencil`), for one
    B-spline order ``P``. The arithmetic runs in the weights' dtype (float32 in the mixed mode). At order 4
    a stencil row is one 4-wide vector (:mod:`.pme_simd`): spreading adds it with one vector multiply-add,
    interpolation keeps three vector accumulators per atom (12,000 atoms, 42^3, float32, loaded machine:
    spreading 0.28 -> 0.15 ms, interpolation 0.37 -> 0.22 ms with the fold and unfold of the block)."""
    P = int(order)

    @njit(cache=True, nogil=True, error_model="numpy")
    def stencil(x, scale, base, w, dw):
        # The recursion of _all_weights (vectorised across atoms), from x in float64, stored in w's dtype.
        n = x.shape[0]
        c = np.empty((P, n))
        d = np.empty((P, n))
        fr = np.empty(n)
        for ax in range(3):
            sc = scale[ax]
            for j in range(n):
                u = x[j, ax] * sc
                b = math.floor(u)
                base[j, ax] = np.int64(b)
                fr[j] = u - b
            _recursion(fr, c, d, P)
            for j in range(n):
                for t in range(P):
                    w[j, ax, t] = c[P - 1 - t, j]
                    dw[j, ax, t] = d[P - 1 - t, j]

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
    def spread(base, w, q, lo, grid, out):
        pmin, pmax = _pad_range(base, lo, P)
        pad = np.zeros((pmax[0] - pmin[0] + 1, pmax[1] - pmin[1] + 1, pmax[2] - pmin[2] + 1), out.dtype)
        o0, o1, o2 = lo[0] + (P - 1) + pmin[0], lo[1] + (P - 1) + pmin[1], lo[2] + (P - 1) + pmin[2]
        # Flat unsigned offsets: no negative-index wrap-around test per access.
        flat = pad.reshape(-1)
        st0, st1 = np.uint64(pad.shape[1] * pad.shape[2]), np.uint64(pad.shape[2])
        for j in range(base.shape[0]):
            k0 = np.uint64(base[j, 0] - o0) * st0 + np.uint64(base[j, 1] - o1) * st1 + np.uint64(base[j, 2] - o2)
            qj = q[j]
            if P == 4:
                z0, z1, z2, z3 = w[j, 2, 0], w[j, 2, 1], w[j, 2, 2], w[j, 2, 3]
                for a in range(4):
                    qa = qj * w[j, 0, a]
                    ka = k0 + np.uint64(a) * st0
                    for b in range(4):
                        row4_add(flat, ka + np.uint64(b) * st1, qa * w[j, 1, b], z0, z1, z2, z3)
            else:
                for a in range(P):
                    qa = qj * w[j, 0, a]
                    for b in range(P):
                        qab = qa * w[j, 1, b]
                        k = k0 + np.uint64(a) * st0 + np.uint64(b) * st1
                        for t in range(P):
                            flat[k + np.uint64(t)] += qab * w[j, 2, t]
        m0, m1, m2 = _fold_maps(pmin, pmax, grid)
        for i0 in range(pad.shape[0]):
            for i1 in range(pad.shape[1]):
                dst = out[m0[i0], m1[i1]]
                src = pad[i0, i1]
                for i2 in range(pad.shape[2]):
                    dst[m2[i2]] += src[i2]

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
    def gather(base, w, dw, q, lo, grid, phi, scale, f):
        pmin, pmax = _pad_range(base, lo, P)
        m0, m1, m2 = _fold_maps(pmin, pmax, grid)
        pad = np.empty((m0.shape[0], m1.shape[0], m2.shape[0]), w.dtype)  # phi unfolded
        for i0 in range(pad.shape[0]):
            for i1 in range(pad.shape[1]):
                src = phi[m0[i0], m1[i1]]
                dst = pad[i0, i1]
                for i2 in range(pad.shape[2]):
                    dst[i2] = src[m2[i2]]
        o0, o1, o2 = lo[0] + (P - 1) + pmin[0], lo[1] + (P - 1) + pmin[1], lo[2] + (P - 1) + pmin[2]
        zero = w.dtype.type(0.0)  # sums in the weights' dtype
        flat = pad.reshape(-1)
        st0, st1 = np.uint64(pad.shape[1] * pad.shape[2]), np.uint64(pad.shape[2])
        for j in range(base.shape[0]):
            k0 = np.uint64(base[j, 0] - o0) * st0 + np.uint64(base[j, 1] - o1) * st1 + np.uint64(base[j, 2] - o2)
            g0 = g1 = g2 = zero
            if P == 4:
                g0, g1, g2 = atom4_gradient(flat, k0, st0, st1, w, dw, j)
            else:
                for a in range(P):
                    for b in range(P):
                        k = k0 + np.uint64(a) * st0 + np.uint64(b) * st1
                        s = sd = zero
                        for t in range(P):
                            v = flat[k + np.uint64(t)]
                            s += w[j, 2, t] * v
                            sd += dw[j, 2, t] * v
                        g0 += dw[j, 0, a] * w[j, 1, b] * s
                        g1 += w[j, 0, a] * dw[j, 1, b] * s
                        g2 += w[j, 0, a] * w[j, 1, b] * sd
            f[j, 0] = (q[j] * g0) * -scale[0]
            f[j, 1] = (q[j] * g1) * -scale[1]
            f[j, 2] = (q[j] * g2) * -scale[2]

    return {"stencil": stencil, "spread": spread, "gather": gather}


if njit is not None:

    @njit(cache=True, nogil=True, error_model="numpy")
    def _convolve(qhat, ge, gv, gc):
        """One pass over the float32 spectrum: |Q|^2 in float64 (exact products), both sums in float64,
        and Q *= G in place."""
        e = 0.0
        v = 0.0
        for k in range(qhat.shape[0]):
            re, im = np.float64(qhat[k].real), np.float64(qhat[k].imag)
            p = re * re + im * im
            e += ge[k] * p
            v += gv[k] * p
            qhat[k] = qhat[k] * gc[k]
        return e, v


_STENCIL_BY_ORDER = {}


def _stencil_kernels(order):
    if njit is None:
        raise NotSuitableError("numba is not installed")
    order = int(order)
    if order not in _STENCIL_BY_ORDER:
        _STENCIL_BY_ORDER[order] = _make_stencil(order)
    return _STENCIL_BY_ORDER[order]


@override("water_pme_stencil", "numpy")
def stencil_numba(x, scale, order, dtype=None):
    _check(x)
    n, p = x.shape[0], int(order)
    wdt = np.dtype(dtype) if dtype is not None else x.dtype
    base, w, dw = np.empty((n, 3), np.int64), np.empty((n, 3, p), wdt), np.empty((n, 3, p), wdt)
    if n:
        k = _stencil_kernels(p)["stencil"]
        k(np.ascontiguousarray(x, dtype=np.float64), np.asarray(scale, np.float64), base, w, dw)
    return base, w, dw


@override("water_pme_spread_stencil", "numpy")
def spread_stencil_numba(base, w, q, lo, shape, grid):
    _check(w)
    out = np.zeros(tuple(int(v) for v in shape), dtype=w.dtype)
    if base.shape[0]:
        _stencil_kernels(w.shape[2])["spread"](
            np.ascontiguousarray(base, dtype=np.int64),
            np.ascontiguousarray(w),
            np.ascontiguousarray(q, dtype=w.dtype),
            np.asarray(lo, np.int64),
            np.asarray(grid, np.int64),
            out,
        )
    return out


@override("water_pme_gather_stencil", "numpy")
def gather_stencil_numba(base, w, dw, q, lo, shape, grid, phi, scale):
    _check(w)
    f = np.empty((base.shape[0], 3), dtype=np.asarray(scale).dtype)
    if base.shape[0]:
        _stencil_kernels(w.shape[2])["gather"](
            np.ascontiguousarray(base, dtype=np.int64),
            np.ascontiguousarray(w),
            np.ascontiguousarray(dw, dtype=w.dtype),
            np.ascontiguousarray(q, dtype=w.dtype),
            np.asarray(lo, np.int64),
            np.asarray(grid, np.int64),
            np.ascontiguousarray(phi, dtype=w.dtype),
            np.asarray(scale),
            f,
        )
    return f


@override("water_pme_convolve", "numpy")
def convolve_numba(qhat, g_energy, g_virial, g_conv):
    """The mixed mode only (float32 spectrum, float64 factors); float64 and all-single float32 run the
    reference, so that their sums keep NumPy's pairwise order (results as before the mixed mode)."""
    if njit is None:
        raise NotSuitableError("numba is not installed")
    if not isinstance(qhat, np.ndarray) or qhat.dtype != np.complex64 or not qhat.flags.c_contiguous:
        raise NotSuitableError("contiguous complex64 NumPy spectra only")
    if np.asarray(g_energy).dtype != np.float64:
        raise NotSuitableError("float64 energy factors only (the mixed mode)")
    e, v = _convolve(
        qhat.reshape(-1),
        np.ascontiguousarray(g_energy, np.float64).reshape(-1),
        np.ascontiguousarray(g_virial, np.float64).reshape(-1),
        np.ascontiguousarray(g_conv, np.float32).reshape(-1),
    )
    return np.float64(e), np.float64(v)
