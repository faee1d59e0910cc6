"""Compiled CPU Lennard-Jones forces (Numba), same conventions as :mod:`.kernels`.

Registered as an override for the ``numpy`` backend; when Numba is not installed (or the inputs are not
float64/float32 NumPy arrays) it raises NotSuitableError and the reference kernel runs instead.
Single-threaded by design: one MPI rank per core, as LAMMPS runs.
"""

import numpy as np

from ...device import override
from ...errors import NotSuitableError
from ...particles.neighbors_numba import check_numpy_float as _check

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
            if one:  # one atom type (in.lj): no type gather; measured ~10 % faster than the general loop
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

    _jit["lj"] = lj
    return _jit


@override("md_lj_forces", "numpy")
def lj_forces_numba(x, types, neigh, nlocal, tab, half, mixed=False):
    _check(x)
    jit = _compile()
    f = np.zeros((x.shape[0], 3), dtype=x.dtype)
    if nlocal == 0 or neigh.shape[1] == 0:
        return f, np.float64(0.0), np.float64(0.0)
    t = {k: np.ascontiguousarray(tab[k], dtype=np.float64) for k in ("lj1", "lj2", "lj3", "lj4", "cutsq", "offset")}
    kern = jit["lj"]
    if mixed:  # float32 pair arithmetic, float64 sums (docs/precision.md)
        from .kernels_mixed import lj_mixed as kern

        t["lj1"], t["lj2"] = t["lj1"].astype(np.float32), t["lj2"].astype(np.float32)
    e, w = kern(
        np.ascontiguousarray(x),
        np.ascontiguousarray(types),
        np.ascontiguousarray(neigh),
        nlocal,
        t["lj1"],
        t["lj2"],
        t["lj3"],
        t["lj4"],
        t["cutsq"],
        t["offset"],
        bool(half),
        f,
    )
    return f, np.float64(e), np.float64(w)
