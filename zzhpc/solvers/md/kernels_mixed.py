"""Mixed-precision Lennard-Jones forces (``backend.precision = "mixed"``, docs/precision.md), Numba.

Same conventions and loop structure as :mod:`.kernels_numba`: per atom the pairs inside the cutoff are
compacted on the float64 distance (the same pairs as the float64 kernel), their differences rounded to
float32; the LJ arithmetic runs in float32 lanes (16 per AVX-512 register against 8); energy, virial
and forces are summed in float64. The energy of a pair is its float32 :math:`r^{-6}` times the float64
tables, so that a rounded table entry biases no sum.
"""

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - exercised where numba is absent
    njit = None

if njit is not None:

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
    def lj_mixed(x, types, neigh, nlocal, lj1, lj2, lj3, lj4, cutsq, offset, half, f):
        """``lj1, lj2``: float32 tables; ``lj3, lj4, cutsq, offset``: float64."""
        e = 0.0
        w = 0.0
        maxn = neigh.shape[1]
        nt = lj1.shape[0]
        t1, t2, t3, t4, tc, to = lj1.ravel(), lj2.ravel(), lj3.ravel(), lj4.ravel(), cutsq.ravel(), offset.ravel()
        one32 = np.float32(1.0)
        jb = np.empty(maxn, np.int64)
        tb = np.empty(maxn, np.int64)
        f32 = np.float32
        dxb, dyb, dzb, r2b = np.empty(maxn, f32), np.empty(maxn, f32), np.empty(maxn, f32), np.empty(maxn, f32)
        fpb, r6b = np.empty(maxn, f32), np.empty(maxn, f32)
        for i in range(nlocal):
            xi, yi, zi = x[i, 0], x[i, 1], x[i, 2]
            ti = types[i] * nt
            m = 0
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
                dxb[m], dyb[m], dzb[m] = f32(dx), f32(dy), f32(dz)
                m += r2 < tc[tp]
            for k in range(m):
                tp = tb[k]
                r2 = dxb[k] * dxb[k] + dyb[k] * dyb[k] + dzb[k] * dzb[k]
                r2i = one32 / r2
                r6i = r2i * r2i * r2i
                r2b[k] = r2
                r6b[k] = r6i
                fpb[k] = r6i * (t1[tp] * r6i - t2[tp]) * r2i
            fx = 0.0
            fy = 0.0
            fz = 0.0
            for k in range(m):
                tp = tb[k]
                fp = fpb[k]
                r6w = np.float64(r6b[k])
                e += r6w * (t3[tp] * r6w - t4[tp]) - to[tp]
                w += np.float64(r2b[k]) * fp
                gx, gy, gz = dxb[k] * fp, dyb[k] * fp, dzb[k] * fp
                fx += gx
                fy += gy
                fz += gz
                if half:
                    j = jb[k]
                    f[j, 0] -= gx
                    f[j, 1] -= gy
                    f[j, 2] -= gz
            f[i, 0] += fx
            f[i, 1] += fy
            f[i, 2] += fz
        if not half:
            e *= 0.5
            w *= 0.5
        return e, w
