r"""Compiled CPU kernels of the C-alpha model (Numba): forces, and a fused BAOAB step, SIMD across replicas.

The NumPy kernels of :mod:`.kernels` build dense ``(R, N, N)`` pair matrices. Here replicas are taken
``LANES`` at a time into a tile, a flat array indexed ``(3 i + c) LANES + t`` (bead ``i``, component ``c``,
replica ``t``), and every term is a loop over the chain (bonds, angles, dihedrals) or over the pairs
:math:`j \ge i + 4`, whose innermost loop runs over the replicas of the tile: the same arithmetic on
independent replicas, which LLVM turns into vector instructions (the strides are compile-time constants,
so its run-time alias checks stay few) without reordering any sum and without fused multiply-adds. Each
replica therefore goes through the same IEEE operations in whatever tile, batch or rank it sits:
trajectories stay independent of the rank count bit for bit. A partly filled tile is padded with copies
of its last replica.

No libm call is left in the vector loops: the bond angle uses :func:`_angle` (Cephes' ``atan`` rational
approximation, Moshier 1989), and the dihedral term uses :math:`\cos\phi, \sin\phi` from the vectors of the
reference's ``atan2`` argument, :math:`\sin(\phi-\phi_0) = \sin\phi\cos\phi_0 - \cos\phi\sin\phi_0`,
:math:`\sin 3u = \sin u\,(3 - 4\sin^2 u)`, :math:`\cos 3u = \cos u\,(4\cos^2 u - 3)`. Tiles are float64
whatever the input precision (float32 states are served too). With ``mixed=True`` (``backend.precision =
"mixed"``) the pair terms run in float32 (:mod:`.kernels_mixed`). Single-threaded: one MPI rank per core.
"""

import math

import numpy as np

from ...device import override
from ...errors import NotSuitableError

try:
    from numba import njit
except ImportError:  # pragma: no cover - exercised where numba is absent
    njit = None


def _compiled(**options):
    """Numba-compile a kernel where Numba is installed (the overrides decline otherwise)."""

    def deco(fn):
        return njit(nogil=True, error_model="numpy", **options)(fn) if njit else fn

    return deco


LANES = 16  # replicas per tile; 8 would be one AVX-512 register, but LLVM unrolls such loops fully
T = LANES
B = 3 * T  # tile stride of one bead
_PIO2, _PIO4, _PI = math.pi / 2, math.pi / 4, math.pi
_PIO2_LO, _PI_LO = 6.123233995736766e-17, 1.2246467991473532e-16  # pi/2 and pi minus their doubles
# Cephes atan.c: atan(x) = x + x^3 P(x^2)/Q(x^2) on [0, 0.66], relative error 2.6e-18 (Moshier 1989).
_P = (
    -8.750608600031904122785e-1,
    -1.615753718733365076637e1,
    -7.500855792314704667340e1,
    -1.228866684490136173410e2,
    -6.485021904942025371773e1,
)
_Q = (
    2.485846490142306297962e1,
    1.650270098316988542046e2,
    4.328810604912902668951e2,
    4.853903996359136964868e2,
    1.945506571482613964425e2,
)


@_compiled(inline="always")
def angle(s, c):
    r"""``atan2(s, c)`` for ``s >= 0`` (an angle in :math:`[0, \pi]`) without branches or libm.

    :math:`x = \min(s,|c|)/\max(s,|c|) \in [0, 1]`; Cephes reduces :math:`x > 0.66` to
    :math:`(x-1)/(x+1)` around :math:`\pi/4`; then :math:`\pi/2 - \cdot` where :math:`s > |c|` and
    :math:`\pi - \cdot` where :math:`c < 0`. Agrees with ``math.atan2`` to about 1 ulp.
    """
    ac = abs(c)
    steep = s > ac
    x = (ac if steep else s) / (s if steep else ac)
    mid = x > 0.66
    xr = (x - 1.0) / (x + 1.0)
    x = xr if mid else x
    z = x * x
    p = (((_P[0] * z + _P[1]) * z + _P[2]) * z + _P[3]) * z + _P[4]
    q = ((((z + _Q[0]) * z + _Q[1]) * z + _Q[2]) * z + _Q[3]) * z + _Q[4]
    a = x + x * (z * p / q)
    a = (_PIO4 + (a + 0.5 * _PIO2_LO)) if mid else a
    a = ((_PIO2 - a) + _PIO2_LO) if steep else a
    return ((_PI - a) + _PI_LO) if c < 0.0 else a


@_compiled(cache=True)
def _bonds(X, F, E, r0, kb):
    for i in range(X.shape[0] // B - 1):
        for t in range(T):
            p = i * B + t
            dx, dy, dz = X[p + B] - X[p], X[p + B + T] - X[p + T], X[p + B + 2 * T] - X[p + 2 * T]
            r = math.sqrt(dx * dx + dy * dy + dz * dz)
            dr = r - r0[i]
            g = kb * dr / r
            F[p] += g * dx
            F[p + T] += g * dy
            F[p + 2 * T] += g * dz
            F[p + B] -= g * dx
            F[p + B + T] -= g * dy
            F[p + B + 2 * T] -= g * dz
            E[t] += 0.5 * kb * dr * dr


@_compiled(cache=True)
def _angles(X, F, E, th0, ka):
    for i in range(X.shape[0] // B - 2):
        for t in range(T):
            p = i * B + t
            ax, ay, az = X[p] - X[p + B], X[p + T] - X[p + B + T], X[p + 2 * T] - X[p + B + 2 * T]
            bx = X[p + 2 * B] - X[p + B]
            by = X[p + 2 * B + T] - X[p + B + T]
            bz = X[p + 2 * B + 2 * T] - X[p + B + 2 * T]
            cx, cy, cz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
            sin_ab = math.sqrt(cx * cx + cy * cy + cz * cz)  # |a||b| sin(theta)
            ab = ax * bx + ay * by + az * bz
            dth = angle(sin_ab, ab) - th0[i]
            cc = ka * dth / sin_ab
            ca = cc * ab / (ax * ax + ay * ay + az * az)
            cb = cc * ab / (bx * bx + by * by + bz * bz)
            fix, fiy, fiz = cc * bx - ca * ax, cc * by - ca * ay, cc * bz - ca * az
            fkx, fky, fkz = cc * ax - cb * bx, cc * ay - cb * by, cc * az - cb * bz
            F[p] += fix
            F[p + T] += fiy
            F[p + 2 * T] += fiz
            F[p + B] -= fix + fkx
            F[p + B + T] -= fiy + fky
            F[p + B + 2 * T] -= fiz + fkz
            F[p + 2 * B] += fkx
            F[p + 2 * B + T] += fky
            F[p + 2 * B + 2 * T] += fkz
            E[t] += 0.5 * ka * dth * dth


@_compiled(cache=True)
def _dihedrals(X, F, E, cph, sph, k1, k3):
    for i in range(X.shape[0] // B - 3):
        c0, s0 = cph[i], sph[i]
        for t in range(T):
            p = i * B + t
            ix, iy, iz = X[p] - X[p + B], X[p + T] - X[p + B + T], X[p + 2 * T] - X[p + B + 2 * T]
            kx = X[p + 2 * B] - X[p + B]
            ky = X[p + 2 * B + T] - X[p + B + T]
            kz = X[p + 2 * B + 2 * T] - X[p + B + 2 * T]
            lx = X[p + 2 * B] - X[p + 3 * B]
            ly = X[p + 2 * B + T] - X[p + 3 * B + T]
            lz = X[p + 2 * B + 2 * T] - X[p + 3 * B + 2 * T]
            mx, my, mz = iy * kz - iz * ky, iz * kx - ix * kz, ix * ky - iy * kx
            nx, ny, nz = ky * lz - kz * ly, kz * lx - kx * lz, kx * ly - ky * lx
            iprm = mx * mx + my * my + mz * mz
            iprn = nx * nx + ny * ny + nz * nz
            nrkj2 = kx * kx + ky * ky + kz * kz
            nrkj = math.sqrt(nrkj2)
            s = nrkj * (ix * nx + iy * ny + iz * nz)  # |m||n| sin(phi)
            c = mx * nx + my * ny + mz * nz  # |m||n| cos(phi)
            norm = math.sqrt(s * s + c * c)
            cphi, sphi = c / norm, s / norm
            sdp = sphi * c0 - cphi * s0
            cdp = cphi * c0 + sphi * s0
            ddphi = k1 * sdp + 3.0 * k3 * (sdp * (3.0 - 4.0 * sdp * sdp))
            cm = -ddphi * nrkj / iprm
            cn = ddphi * nrkj / iprn
            pp = (ix * kx + iy * ky + iz * kz) / nrkj2
            qq = (lx * kx + ly * ky + lz * kz) / nrkj2
            fix, fiy, fiz = cm * mx, cm * my, cm * mz
            flx, fly, flz = cn * nx, cn * ny, cn * nz
            sx, sy, sz = pp * fix - qq * flx, pp * fiy - qq * fly, pp * fiz - qq * flz
            F[p] += fix
            F[p + T] += fiy
            F[p + 2 * T] += fiz
            F[p + B] += sx - fix
            F[p + B + T] += sy - fiy
            F[p + B + 2 * T] += sz - fiz
            F[p + 2 * B] -= flx + sx
            F[p + 2 * B + T] -= fly + sy
            F[p + 2 * B + 2 * T] -= flz + sz
            F[p + 3 * B] += flx
            F[p + 3 * B + T] += fly
            F[p + 3 * B + 2 * T] += flz
            E[t] += k1 * (1.0 - cdp) + k3 * (1.0 - cdp * (4.0 * cdp * cdp - 3.0))


@_compiled(cache=True)
def _pairs(X, F, E, A, a12, b10, a, b, want_e):
    n = X.shape[0] // B
    for i in range(n - 4):
        A[:] = 0.0  # force on bead i, kept apart so F[j] stores cannot alias it
        for j in range(i + 4, n):
            ca, cb, ea, eb = a12[i, j], b10[i, j], a[i, j], b[i, j]
            for t in range(T):
                p, q = i * B + t, j * B + t
                dx, dy, dz = X[p] - X[q], X[p + T] - X[q + T], X[p + 2 * T] - X[q + 2 * T]
                u = 1.0 / (dx * dx + dy * dy + dz * dz)
                u3 = u * u * u
                fs = (u3 * u3) * (ca * u - cb)
                A[t] += fs * dx
                A[t + T] += fs * dy
                A[t + 2 * T] += fs * dz
                F[q] -= fs * dx
                F[q + T] -= fs * dy
                F[q + 2 * T] -= fs * dz
            if want_e:
                for t in range(T):
                    p, q = i * B + t, j * B + t
                    dx, dy, dz = X[p] - X[q], X[p + T] - X[q + T], X[p + 2 * T] - X[q + 2 * T]
                    u = 1.0 / (dx * dx + dy * dy + dz * dz)
                    E[t] += (u * u * u * u * u) * (ea * u - eb)
        for k in range(B):
            F[i * B + k] += A[k]


@_compiled(cache=True)
def _tile_forces(X, F, E, A, want_e, r0, kb, th0, ka, cph, sph, k1, k3, a12, b10, a, b):
    F[:] = 0.0
    E[:] = 0.0
    _bonds(X, F, E, r0, kb)
    _angles(X, F, E, th0, ka)
    _dihedrals(X, F, E, cph, sph, k1, k3)
    _pairs(X, F, E, A, a12, b10, a, b, want_e)


@_compiled(cache=True)
def _load(dst, src, lo):
    for t in range(T):
        q = min(lo + t, src.shape[0] - 1)
        for i in range(src.shape[1]):
            for c in range(3):
                dst[(3 * i + c) * T + t] = src[q, i, c]


@_compiled(cache=True)
def _store(dst, src, lo):
    for t in range(min(T, dst.shape[0] - lo)):
        for i in range(dst.shape[1]):
            for c in range(3):
                dst[lo + t, i, c] = src[(3 * i + c) * T + t]


@_compiled(cache=True)
def _forces(x, f, e, want_e, r0, kb, th0, ka, cph, sph, k1, k3, a12, b10, a, b):
    X, F, A, E = np.empty(x.shape[1] * B), np.empty(x.shape[1] * B), np.empty(B), np.empty(T)
    for lo in range(0, x.shape[0], T):
        _load(X, x, lo)
        _tile_forces(X, F, E, A, want_e, r0, kb, th0, ka, cph, sph, k1, k3, a12, b10, a, b)
        _store(f, F, lo)
        for t in range(min(T, x.shape[0] - lo)):
            e[lo + t] = E[t]


@_compiled(cache=True)
def _baoab(x, v, f, noise, scale, h, c1, e, want_e, r0, kb, th0, ka, cph, sph, k1, k3, a12, b10, a, b):
    m = x.shape[1] * B
    X, V, F, Z = np.empty(m), np.empty(m), np.empty(m), np.empty(m)
    A, E, S = np.empty(B), np.empty(T), np.empty(T)
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
                vv = V[p] + half * F[p]  # B
                xx = X[p] + half * vv  # A
                vv = c1 * vv + S[t] * Z[p]  # O
                X[p] = xx + half * vv  # A
                V[p] = vv
        _tile_forces(X, F, E, A, want_e, r0, kb, th0, ka, cph, sph, k1, k3, a12, b10, a, b)
        for p in range(m):
            V[p] = V[p] + half * F[p]  # B
        _store(x, X, lo)
        _store(v, V, lo)
        _store(f, F, lo)
        for t in range(min(T, x.shape[0] - lo)):
            e[lo + t] = E[t]


def usable(dtype):
    """Whether the compiled kernels serve NumPy arrays of ``dtype`` here."""
    return njit is not None and np.dtype(dtype) in (np.float32, np.float64)


_PARAMS = []  # [(p, mixed, converted)]: the solver passes one parameter dict on every call


def _args(x, p, mixed=False):
    if not isinstance(x, np.ndarray) or x.ndim != 3 or x.shape[2] != 3 or not usable(x.dtype):
        raise NotSuitableError("(R, N, 3) float NumPy arrays and Numba only")
    if _PARAMS and _PARAMS[0][0] is p and _PARAMS[0][1] == mixed:
        return _PARAMS[0][2]
    if mixed:
        prm = _mixed("params")(p)
    else:
        prm = params64(p)
    _PARAMS[:] = [(p, mixed, prm)]
    return prm


def params64(p):
    """The kernels' arguments after ``want_e`` from a parameter dict, as float64 arrays and floats."""
    r0, th0, phi0, a12, b10, a, b = (
        np.ascontiguousarray(p[k], dtype=np.float64) for k in ("r0", "theta0", "phi0", "a12", "b10", "a", "b")
    )
    return (
        r0,
        float(p["k_bond"]),
        th0,
        float(p["k_angle"]),
        np.cos(phi0),
        np.sin(phi0),
        float(p["k1"]),
        float(p["k3"]),
        a12,
        b10,
        a,
        b,
    )


#: The mixed-precision kernels (``params``, ``forces``, ``baoab``), filled by :mod:`.kernels_mixed` when
#: ``register_kernels`` imports it: that module builds on this one's tiles, so this one does not import it.
MIXED = {}


def _mixed(name):
    if name not in MIXED:
        raise NotSuitableError("the mixed-precision folding kernels are not registered (kernels_mixed)")
    return MIXED[name]


def _kernel(mixed, name):
    if mixed:
        return _mixed(name)
    return {"forces": _forces, "baoab": _baoab}[name]


@override("sbm_forces", "numpy")
def sbm_forces_numba(x, p, energy=False, mixed=False):
    """:func:`.kernels.sbm_forces` compiled: bonded and pair terms per replica, no ``(R, N, N)`` arrays;
    ``mixed``: the float32 terms of :mod:`.kernels_mixed`."""
    prm = _args(x, p, mixed)
    f = np.empty_like(x)
    e = np.empty(x.shape[0], dtype=x.dtype)
    _kernel(mixed, "forces")(x, f, e, bool(energy), *prm)
    return f, (e if energy else None)


@override("sbm_baoab_step", "numpy")
def sbm_baoab_step_numba(x, v, f, noise, scale, p, h, c1, energy=False, force=None, mixed=False):
    """:func:`.kernels.sbm_baoab_step` fused, one pass per tile of replicas. Updates ``x, v, f`` in place
    and returns them; ``force`` is not used (the forces are computed here)."""
    prm = _args(x, p, mixed)
    for arr in (v, f, noise):
        if not isinstance(arr, np.ndarray) or arr.shape != x.shape:
            raise NotSuitableError("x, v, f and noise must be NumPy arrays of one shape")
    if v.dtype != x.dtype or f.dtype != x.dtype or noise.dtype not in (x.dtype, np.float32):
        raise NotSuitableError("x, v, f of one dtype, noise of it or float32")
    if not (x.flags.writeable and v.flags.writeable and f.flags.writeable):
        raise NotSuitableError("x, v, f must be writeable (updated in place)")
    e = np.empty(x.shape[0], dtype=x.dtype)
    scale = np.ascontiguousarray(np.broadcast_to(np.asarray(scale, dtype=np.float64).reshape(-1), (x.shape[0],)))
    _kernel(mixed, "baoab")(x, v, f, noise, scale, float(h), float(c1), e, bool(energy), *prm)
    return x, v, f, (e if energy else None)
