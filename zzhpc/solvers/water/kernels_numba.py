"""Compiled CPU version of the water real-space kernel (Numba), same conventions as :mod:`.nonbonded`.

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
        return _jit["pair"]

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

    _jit["pair"] = pair
    return pair


@override("water_pair_forces", "numpy")
def pair_forces_numba(x, types, mol, neigh, nlocal, tab, alpha, half):
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float64, np.float32):
        raise NotSuitableError("NumPy float arrays only")
    pair = _compile()
    f = np.zeros((x.shape[0], 3), dtype=x.dtype)
    if nlocal == 0 or neigh.shape[1] == 0:
        return f, np.float64(0.0), np.float64(0.0), np.float64(0.0)
    t = [np.ascontiguousarray(tab[k], dtype=np.float64) for k in ("lj1", "lj2", "lj3", "lj4", "qq", "cutsq")]
    e_lj, e_c, w = pair(np.ascontiguousarray(x), np.ascontiguousarray(types), np.ascontiguousarray(mol),
                        np.ascontiguousarray(neigh), int(nlocal), *t, float(alpha), bool(half), f)
    return f, np.float64(e_lj), np.float64(e_c), np.float64(w)
