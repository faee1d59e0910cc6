"""Compiled CPU Stillinger-Weber forces (Numba), same conventions as :mod:`.kernels_sw`.

One pass per owned atom: the neighbours within the cutoff are gathered once with their separation,
distance and radial factors :math:`e^{\\gamma\\sigma/(r-a\\sigma)}` and
:math:`\\gamma\\sigma/((r-a\\sigma)^2 r)`, so each triplet costs no exponential (LAMMPS evaluates two
per triplet). Registered for the ``numpy`` backend; raises NotSuitableError without Numba or for
non-float NumPy inputs, and the reference runs instead.

Float32 positions (``backend.dtype = "float32"``) are widened to float64 on the way in and the forces
rounded back to float32: one compiled specialisation serves both types. The three-body loop is scalar
(one triplet per iteration, scattering to three atoms), so float32 arithmetic would not pay on a CPU,
and the widening costs O(atoms) against O(atoms x neighbours^2) of the loop. (Before, float32 was
declined and the dense reference kernel ran, tens of times slower: docs/precision.md.)
"""

import math

import numpy as np

from ...device import override
from ...errors import NotSuitableError
from .sw import CONSTANT_ORDER

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

    @njit(cache=True, nogil=True, error_model="numpy", fastmath=False)
    def sw(x, neigh, nlocal, c, f):
        cut, cutsq, sigma, sg, le, le2, cth, pp, pq, c1, c2, c3, c4, c5, c6 = (
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            c[6],
            c[7],
            c[8],
            c[9],
            c[10],
            c[11],
            c[12],
            c[13],
            c[14],
        )
        maxn = neigh.shape[1]
        sj = np.empty(maxn, np.int64)
        sd = np.empty((maxn, 3))
        sr = np.empty(maxn)
        sr2 = np.empty(maxn)
        sexp = np.empty(maxn)
        sgsq = np.empty(maxn)
        p_int = pp == 4.0 and pq == 0.0  # mW and silicon: no pow() in the pair loop
        e = 0.0
        w = 0.0
        for i in range(nlocal):
            xi, yi, zi = x[i, 0], x[i, 1], x[i, 2]
            fix = 0.0
            fiy = 0.0
            fiz = 0.0
            n = 0
            for s in range(maxn):
                j = neigh[i, s]
                if j < 0:
                    break
                dx = x[j, 0] - xi
                dy = x[j, 1] - yi
                dz = x[j, 2] - zi
                r2 = dx * dx + dy * dy + dz * dz
                if r2 >= cutsq:
                    continue
                r = math.sqrt(r2)
                rainv = 1.0 / (r - cut)
                gs = sg * rainv
                sj[n] = j
                sd[n, 0] = dx
                sd[n, 1] = dy
                sd[n, 2] = dz
                sr[n] = r
                sr2[n] = r2
                sexp[n] = math.exp(gs)
                sgsq[n] = gs * rainv / r
                n += 1
                if j < nlocal:
                    if j <= i:
                        continue
                elif not (dz > 0 or (dz == 0 and (dy > 0 or (dy == 0 and dx > 0)))):
                    continue
                if p_int:
                    ri2 = 1.0 / r2
                    rp = ri2 * ri2
                    rq = 1.0
                else:
                    rp = r**-pp
                    rq = r**-pq
                ex = math.exp(sigma * rainv)
                fp = (c1 * rp - c2 * rq + (c3 * rp - c4 * rq) * rainv * rainv * r) * ex / r2
                fix -= dx * fp
                fiy -= dy * fp
                fiz -= dz * fp
                f[j, 0] += dx * fp
                f[j, 1] += dy * fp
                f[j, 2] += dz * fp
                e += (c5 * rp - c6 * rq) * ex
                w += r2 * fp
            for a in range(n - 1):
                ax, ay, az = sd[a, 0], sd[a, 1], sd[a, 2]
                ra, ea, ga, r2a = sr[a], sexp[a], sgsq[a], sr2[a]
                ja = sj[a]
                fax = 0.0
                fay = 0.0
                faz = 0.0
                for b in range(a + 1, n):
                    bx, by, bz = sd[b, 0], sd[b, 1], sd[b, 2]
                    rinv12 = 1.0 / (ra * sr[b])
                    cs = (ax * bx + ay * by + az * bz) * rinv12
                    delcs = cs - cth
                    facexp = ea * sexp[b]
                    facrad = le * facexp * delcs * delcs
                    facang = le2 * facexp * delcs
                    facang12 = rinv12 * facang
                    csfacang = cs * facang
                    t1 = facrad * ga + csfacang / r2a
                    t2 = facrad * sgsq[b] + csfacang / sr2[b]
                    fjx = ax * t1 - bx * facang12
                    fjy = ay * t1 - by * facang12
                    fjz = az * t1 - bz * facang12
                    fkx = bx * t2 - ax * facang12
                    fky = by * t2 - ay * facang12
                    fkz = bz * t2 - az * facang12
                    fix -= fjx + fkx
                    fiy -= fjy + fky
                    fiz -= fjz + fkz
                    fax += fjx
                    fay += fjy
                    faz += fjz
                    k = sj[b]
                    f[k, 0] += fkx
                    f[k, 1] += fky
                    f[k, 2] += fkz
                    e += facrad
                    w += ax * fjx + ay * fjy + az * fjz + bx * fkx + by * fky + bz * fkz
                f[ja, 0] += fax
                f[ja, 1] += fay
                f[ja, 2] += faz
            f[i, 0] += fix
            f[i, 1] += fiy
            f[i, 2] += fiz
        return e, w

    _jit["sw"] = sw
    return _jit


@override("md_sw_forces", "numpy")
def sw_forces_numba(x, neigh, nlocal, sw, chunk=None):
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
        raise NotSuitableError("NumPy float32 or float64 arrays only")
    jit = _compile()
    f = np.zeros((x.shape[0], 3))
    if nlocal == 0 or neigh.shape[1] == 0:
        return f.astype(x.dtype, copy=False), np.float64(0.0), np.float64(0.0)
    c = np.array([float(sw[k]) for k in CONSTANT_ORDER])
    e, w = jit["sw"](np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(neigh), nlocal, c, f)
    return f.astype(x.dtype, copy=False), np.float64(e), np.float64(w)
