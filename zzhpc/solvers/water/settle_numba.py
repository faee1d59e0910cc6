"""Compiled CPU versions of the SETTLE kernels of :mod:`.settle` (Numba), one loop over molecules.

Registered as overrides for the ``numpy`` backend; NotSuitableError without Numba or for inputs other
than float64/float32 NumPy arrays, and the reference (whole-array NumPy) runs instead. Same algebra
and order of operations per molecule as the reference; only the array temporaries are gone.
"""

import math

import numpy as np

from ...device import override
from .kernels_numba import _check, njit

if njit is not None:

    @njit(cache=True, nogil=True, error_model="numpy", inline="always")
    def _unit_cross(a0, a1, a2, b0, b1, b2):
        c0, c1, c2 = a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0
        n = math.sqrt(c0 * c0 + c1 * c1 + c2 * c2)
        return c0 / n, c1 / n, c2 / n

    @njit(cache=True, nogil=True, error_model="numpy")
    def _positions(x0, x1, mO, mH, M, ra, rb, rc, dt, x3):
        vir = 0.0
        com = np.empty(3)
        for m in range(x0.shape[0]):
            for d in range(3):
                com[d] = (mO * x1[m, 0, d] + mH * (x1[m, 1, d] + x1[m, 2, d])) / M
            a1x, a1y, a1z = x1[m, 0, 0] - com[0], x1[m, 0, 1] - com[1], x1[m, 0, 2] - com[2]
            b1x, b1y, b1z = x1[m, 1, 0] - com[0], x1[m, 1, 1] - com[1], x1[m, 1, 2] - com[2]
            c1x, c1y, c1z = x1[m, 2, 0] - com[0], x1[m, 2, 1] - com[1], x1[m, 2, 2] - com[2]
            b0x, b0y, b0z = x0[m, 1, 0] - x0[m, 0, 0], x0[m, 1, 1] - x0[m, 0, 1], x0[m, 1, 2] - x0[m, 0, 2]
            c0x, c0y, c0z = x0[m, 2, 0] - x0[m, 0, 0], x0[m, 2, 1] - x0[m, 0, 1], x0[m, 2, 2] - x0[m, 0, 2]
            ezx, ezy, ezz = _unit_cross(b0x, b0y, b0z, c0x, c0y, c0z)
            exx, exy, exz = _unit_cross(a1x, a1y, a1z, ezx, ezy, ezz)
            eyx, eyy, eyz = ezy * exz - ezz * exy, ezz * exx - ezx * exz, ezx * exy - ezy * exx
            xb0 = b0x * exx + b0y * exy + b0z * exz
            yb0 = b0x * eyx + b0y * eyy + b0z * eyz
            xc0 = c0x * exx + c0y * exy + c0z * exz
            yc0 = c0x * eyx + c0y * eyy + c0z * eyz
            za1 = a1x * ezx + a1y * ezy + a1z * ezz
            xb1 = b1x * exx + b1y * exy + b1z * exz
            yb1 = b1x * eyx + b1y * eyy + b1z * eyz
            zb1 = b1x * ezx + b1y * ezy + b1z * ezz
            xc1 = c1x * exx + c1y * exy + c1z * exz
            yc1 = c1x * eyx + c1y * eyy + c1z * eyz
            zc1 = c1x * ezx + c1y * ezy + c1z * ezz
            sinphi = za1 / ra
            cosphi = math.sqrt(1.0 - sinphi * sinphi)
            sinpsi = (zb1 - zc1) / (2.0 * rc * cosphi)
            cospsi = math.sqrt(1.0 - sinpsi * sinpsi)
            ya2 = ra * cosphi
            xb2 = -rc * cospsi
            t1, t2 = -rb * cosphi, rc * sinpsi * sinphi
            yb2, yc2 = t1 - t2, t1 + t2
            zb2 = -rb * sinphi + rc * sinpsi * cosphi
            zc2 = -rb * sinphi - rc * sinpsi * cosphi
            alpha = xb0 * yb2 - yb0 * xb2 + xc0 * yc2 + yc0 * xb2
            beta = xb0 * xb2 + yb0 * yb2 - xc0 * xb2 + yc0 * yc2
            gamma = xb0 * yb1 - yb0 * xb1 + xc0 * yc1 - yc0 * xc1
            a2b2 = alpha * alpha + beta * beta
            sinth = (beta * gamma - alpha * math.sqrt(a2b2 - gamma * gamma)) / a2b2
            costh = math.sqrt(1.0 - sinth * sinth)
            za2 = ra * sinphi
            u = (-ya2 * sinth, xb2 * costh - yb2 * sinth, -xb2 * costh - yc2 * sinth)
            v = (ya2 * costh, xb2 * sinth + yb2 * costh, -xb2 * sinth + yc2 * costh)
            w = (za2, zb2, zc2)
            for a in range(3):
                x3[m, a, 0] = com[0] + u[a] * exx + v[a] * eyx + w[a] * ezx
                x3[m, a, 1] = com[1] + u[a] * exy + v[a] * eyy + w[a] * ezy
                x3[m, a, 2] = com[2] + u[a] * exz + v[a] * eyz + w[a] * ezz
            for a in range(1, 3):
                for d in range(3):
                    vir += (x0[m, a, d] - x0[m, 0, d]) * (x3[m, a, d] - x1[m, a, d])
        return (2.0 / (dt * dt)) * mH * vir

    @njit(cache=True, nogil=True, error_model="numpy")
    def _velocities(x, v, mO, mH, dt, vnew):
        inv = (1.0 / mO, 1.0 / mH, 1.0 / mH)
        P = (0, 0, 1)
        Q = (1, 2, 2)
        e = np.empty((3, 3))
        A = np.empty((3, 3))
        b = np.empty(3)
        tau = np.empty(3)
        c = np.empty((3, 3))
        vir = 0.0
        for m in range(x.shape[0]):
            for k in range(3):
                p, q = P[k], Q[k]
                dx, dy, dz = x[m, q, 0] - x[m, p, 0], x[m, q, 1] - x[m, p, 1], x[m, q, 2] - x[m, p, 2]
                n = math.sqrt(dx * dx + dy * dy + dz * dz)
                e[k, 0], e[k, 1], e[k, 2] = dx / n, dy / n, dz / n
                b[k] = (
                    e[k, 0] * (v[m, q, 0] - v[m, p, 0])
                    + e[k, 1] * (v[m, q, 1] - v[m, p, 1])
                    + e[k, 2] * (v[m, q, 2] - v[m, p, 2])
                )
            for k in range(3):
                p, q = P[k], Q[k]
                for l in range(3):
                    sq = 1.0 if q == P[l] else (-1.0 if q == Q[l] else 0.0)
                    sp = 1.0 if p == P[l] else (-1.0 if p == Q[l] else 0.0)
                    coef = sq * inv[q] - sp * inv[p]
                    A[k, l] = coef * ((e[k, 0] * e[l, 0] + e[k, 1] * e[l, 1] + e[k, 2] * e[l, 2]) if k != l else 1.0)
            det = (
                A[0, 0] * (A[1, 1] * A[2, 2] - A[1, 2] * A[2, 1])
                - A[0, 1] * (A[1, 0] * A[2, 2] - A[1, 2] * A[2, 0])
                + A[0, 2] * (A[1, 0] * A[2, 1] - A[1, 1] * A[2, 0])
            )
            for j in range(3):
                for r in range(3):
                    for s in range(3):
                        c[r, s] = -b[r] if s == j else A[r, s]
                tau[j] = (
                    c[0, 0] * (c[1, 1] * c[2, 2] - c[1, 2] * c[2, 1])
                    - c[0, 1] * (c[1, 0] * c[2, 2] - c[1, 2] * c[2, 0])
                    + c[0, 2] * (c[1, 0] * c[2, 1] - c[1, 1] * c[2, 0])
                ) / det
            for a in range(3):
                for d in range(3):
                    vnew[m, a, d] = v[m, a, d]
            for l in range(3):
                p, q = P[l], Q[l]
                for d in range(3):
                    imp = tau[l] * e[l, d]
                    vnew[m, p, d] += imp * inv[p]
                    vnew[m, q, d] -= imp * inv[q]
                dx, dy, dz = x[m, q, 0] - x[m, p, 0], x[m, q, 1] - x[m, p, 1], x[m, q, 2] - x[m, p, 2]
                vir -= tau[l] * math.sqrt(dx * dx + dy * dy + dz * dz)
        return (2.0 / dt) * vir


def _ready(*arrays):
    if njit is None:
        from ...errors import NotSuitableError

        raise NotSuitableError("numba is not installed")
    for a in arrays:
        _check(a)
    return [np.ascontiguousarray(a, dtype=np.float64) for a in arrays]


@override("water_settle_positions", "numpy")
def settle_positions_numba(x0, x1, geom, dt):
    a0, a1 = _ready(x0, x1)
    x3 = np.empty_like(a0)
    vir = _positions(a0, a1, geom.m_O, geom.m_H, geom.mass, geom.ra, geom.rb, geom.rc, float(dt), x3)
    return x3.astype(x0.dtype, copy=False), np.float64(vir)


@override("water_settle_velocities", "numpy")
def settle_velocities_numba(x, v, geom, dt):
    a, b = _ready(x, v)
    vnew = np.empty_like(b)
    vir = _velocities(a, b, geom.m_O, geom.m_H, float(dt), vnew)
    return vnew.astype(v.dtype, copy=False), np.float64(vir)


# The element-wise passes of the step in one loop each (float64 only: for float32 state NumPy's scalar
# rules keep the products in float32, which these loops would not, so the reference runs).

if njit is not None:

    @njit(cache=True, nogil=True, error_model="numpy")
    def _kick(v, f, invm, dtf, out):
        for m in range(v.shape[0]):
            for a in range(3):
                for d in range(3):
                    out[m, a, d] = v[m, a, d] + dtf * f[m, a, d] * invm[a]

    @njit(cache=True, nogil=True, error_model="numpy")
    def _kick_drift(v, f, invm, dtf, x, dt, vout, xout):
        for m in range(v.shape[0]):
            for a in range(3):
                for d in range(3):
                    vn = v[m, a, d] + dtf * f[m, a, d] * invm[a]
                    vout[m, a, d] = vn
                    xout[m, a, d] = x[m, a, d] + dt * vn

    @njit(cache=True, nogil=True, error_model="numpy")
    def _constraint_velocity(v, x3, x1, dt, out):
        for m in range(v.shape[0]):
            for a in range(3):
                for d in range(3):
                    out[m, a, d] = v[m, a, d] + (x3[m, a, d] - x1[m, a, d]) / dt

    @njit(cache=True, nogil=True, error_model="numpy")
    def _rescale(v, vcom, alpha, out):
        for m in range(v.shape[0]):
            for a in range(3):
                for d in range(3):
                    out[m, a, d] = (v[m, a, d] - vcom[d]) * alpha


def _float64(*arrays):
    if njit is None:
        from ...errors import NotSuitableError

        raise NotSuitableError("numba is not installed")
    for a in arrays:
        if not isinstance(a, np.ndarray) or a.dtype != np.float64 or a.ndim != 3:
            from ...errors import NotSuitableError

            raise NotSuitableError("float64 NumPy (nmol, 3, 3) arrays only")
    return [np.ascontiguousarray(a) for a in arrays]


@override("water_kick", "numpy")
def kick_numba(v, f, invm, dtf):
    v, f = _float64(v, f)
    out = np.empty_like(v)
    _kick(v, f, np.ascontiguousarray(invm, np.float64).reshape(3), float(dtf), out)
    return out


@override("water_kick_drift", "numpy")
def kick_drift_numba(v, f, invm, dtf, x, dt):
    v, f, x = _float64(v, f, x)
    vout, xout = np.empty_like(v), np.empty_like(x)
    _kick_drift(v, f, np.ascontiguousarray(invm, np.float64).reshape(3), float(dtf), x, float(dt), vout, xout)
    return vout, xout


@override("water_constraint_velocity", "numpy")
def constraint_velocity_numba(v, x3, x1, dt):
    v, x3, x1 = _float64(v, x3, x1)
    out = np.empty_like(v)
    _constraint_velocity(v, x3, x1, float(dt), out)
    return out


@override("water_rescale", "numpy")
def rescale_numba(v, vcom, alpha):
    (v,) = _float64(v)
    out = np.empty_like(v)
    _rescale(v, np.ascontiguousarray(vcom, np.float64).reshape(3), float(alpha), out)
    return out
