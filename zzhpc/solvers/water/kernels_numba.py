"""Compiled CPU version of the water real-space kernel of :mod:`.nonbonded` (Numba), same conventions.

Registered as an override for the ``numpy`` backend; raises NotSuitableError without Numba, for
inputs other than float64/float32 NumPy arrays or for more than 256 atom types, and the reference
kernel runs instead. Single-threaded: one MPI rank per core.

Per owned atom the pairs inside the cutoff are first compacted into short buffers, so that the
expensive part (exp, erfc, sqrt, one division) is a branch-free loop that LLVM vectorises: exp is
range-reduced to :math:`2^n e^t` with the power of two written as IEEE-754 bits, erfc is Cody's
rational approximation (relative error below 4e-15) times that same exponential. The compaction
stores per candidate the partner and type pair in one integer and the three differences (r^2 is
recomputed by a vectorised loop), multiply-adds fuse (fastmath "contract" only), and the rows of
types without Lennard-Jones skip it: 24.4 -> 19.5 ms for the 2.5 M candidates of the 4,000-molecule
TIP3P benchmark box (one core, best of 7; docs/water.md).
"""

import functools
import math

import numpy as np

from ...device import override
from ...errors import NotSuitableError
from .cody import (
    _C,
    _D,
    _E2,
    _E3,
    _E4,
    _E5,
    _E6,
    _E7,
    _E8,
    _E9,
    _E10,
    _E11,
    _E12,
    _E13,
    _LN2_HI,
    _LN2_LO,
    _LOG2E,
    _RSQRTPI,
    _erfc_exp,
)
from .nonbonded import QQRD2E

try:
    from numba import njit
except ImportError:  # pragma: no cover - exercised where numba is absent
    njit = None

if njit is not None:
    # fastmath "contract" only: multiply-adds fuse (FMA); no reassociation, IEEE semantics otherwise.
    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
    def _pair(x, types, mol, neigh, nlocal, lj1, lj2, lj3, lj4, qq, cutsq, alpha, half, f, uniform):
        nall, nt, maxn = x.shape[0], lj1.shape[0], neigh.shape[1]
        # One load gives a neighbour's molecule and type.
        key = np.empty(nall, np.int64)
        for a in range(nall):
            key[a] = (mol[a] << 8) | types[a]
        t1, t2, t3, t4 = lj1.ravel(), lj2.ravel(), lj3.ravel(), lj4.ravel()
        tq, tc = qq.ravel(), cutsq.ravel()
        jb = np.empty(maxn, np.int64)  # (j << 8) | type pair: one store per candidate
        nb = np.empty(maxn, np.int64)
        # Separate 1-D buffers: LLVM vectorises step 3 only when it can tell them apart.
        dxb, dyb, dzb, r2b, tr = np.empty(maxn), np.empty(maxn), np.empty(maxn), np.empty(maxn), np.empty(maxn)
        qb, r2ib, fpb, ecb = np.empty(maxn), np.empty(maxn), np.empty(maxn), np.empty(maxn)
        # Types with no Lennard-Jones term with any type (the hydrogens of SPC/E and TIP3P): their rows
        # skip it (two thirds of the pairs of these models).
        haslj = np.zeros(nt, np.bool_)
        for a in range(nt):
            for b in range(nt):
                if t1[a * nt + b] != 0.0 or t2[a * nt + b] != 0.0 or t3[a * nt + b] != 0.0 or t4[a * nt + b] != 0.0:
                    haslj[a] = True
        a2 = alpha * alpha
        cut2 = tc[0]
        ca = 2.0 * _RSQRTPI * alpha
        lo2, hi2 = (0.46875 / alpha) ** 2, (4.0 / alpha) ** 2
        e_lj = 0.0
        e_c = 0.0
        w = 0.0
        for i in range(nlocal):
            xi, yi, zi = x[i, 0], x[i, 1], x[i, 2]
            ti, mi = types[i], mol[i]
            # 1. Pairs inside the cutoff, compacted without branches (as few stores as possible: r^2 is
            # recomputed from the differences by the vectorised loop below).
            m = 0
            for k in range(maxn):
                j = neigh[i, k]
                if j < 0:
                    break
                dx, dy, dz = xi - x[j, 0], yi - x[j, 1], zi - x[j, 2]
                r2 = dx * dx + dy * dy + dz * dz
                kj = key[j]
                tp = ti * nt + (kj & 255)
                jb[m] = (j << 8) | tp
                dxb[m], dyb[m], dzb[m] = dx, dy, dz
                if uniform:  # one cutoff for all type pairs (loop-invariant: LLVM unswitches it)
                    m += (r2 < cut2) & ((kj >> 8) != mi)
                else:
                    m += (r2 < tc[tp]) & ((kj >> 8) != mi)
            for k in range(m):
                r2b[k] = dxb[k] * dxb[k] + dyb[k] * dyb[k] + dzb[k] * dzb[k]
            # 2. exp(-a^2 r^2) = 2^n exp(t), |t| <= ln2/2: the power of two as IEEE bits.
            for k in range(m):
                y = -a2 * r2b[k]
                n = math.floor(y * _LOG2E + 0.5)
                nb[k] = (np.int64(n) + 1023) << 52
                tr[k] = (y - n * _LN2_HI) - n * _LN2_LO
                qb[k] = tq[jb[k] & 255]
            pw = nb[:m].view(np.float64)
            # 3. Coulomb, branch-free and vectorised by LLVM (few buffers, no sums: either would stop
            # it); Cody's erfc for 0.46875 < a r <= 4; one division gives 1/den and 1/r^2.
            for k in range(m):
                t = tr[k]
                p = ((((((_E13 * t + _E12) * t + _E11) * t + _E10) * t + _E9) * t + _E8) * t + _E7) * t
                p = ((((((p + _E6) * t + _E5) * t + _E4) * t + _E3) * t + _E2) * t + 1.0) * t + 1.0
                e = p * pw[k]
                r2 = r2b[k]
                r = math.sqrt(r2)
                xa = alpha * r
                num = (
                    ((((((_C[8] * xa + _C[0]) * xa + _C[1]) * xa + _C[2]) * xa + _C[3]) * xa + _C[4]) * xa + _C[5]) * xa
                    + _C[6]
                ) * xa + _C[7]
                den = (
                    ((((((xa + _D[0]) * xa + _D[1]) * xa + _D[2]) * xa + _D[3]) * xa + _D[4]) * xa + _D[5]) * xa + _D[6]
                ) * xa + _D[7]
                inv = 1.0 / (den * r2)
                r2i = inv * den
                ec = qb[k] * e * num * inv * r
                fpb[k] = (ec + qb[k] * ca * e) * r2i
                ecb[k] = ec
                r2ib[k] = r2i
            # 4. Rare pairs outside the fit's range, Lennard-Jones, sums, Newton's third law.
            fx = 0.0
            fy = 0.0
            fz = 0.0
            dolj = haslj[ti]
            for k in range(m):
                r2 = r2b[k]
                jt = jb[k]
                tp = jt & 255
                if r2 <= lo2 or r2 > hi2:
                    r = math.sqrt(r2)
                    e = math.exp(-a2 * r2)
                    ecb[k] = qb[k] * _erfc_exp(alpha * r, e) / r
                    r2ib[k] = 1.0 / r2
                    fpb[k] = (ecb[k] + qb[k] * ca * e) * r2ib[k]
                fp = fpb[k]
                if dolj:  # loop-invariant: LLVM unswitches it
                    r2i = r2ib[k]
                    r6i = r2i * r2i * r2i
                    fp += r6i * (t1[tp] * r6i - t2[tp]) * r2i
                    e_lj += r6i * (t3[tp] * r6i - t4[tp])
                e_c += ecb[k]
                w += r2 * fp
                gx, gy, gz = dxb[k] * fp, dyb[k] * fp, dzb[k] * fp
                fx += gx
                fy += gy
                fz += gz
                if half:
                    j = jt >> 8
                    f[j, 0] -= gx
                    f[j, 1] -= gy
                    f[j, 2] -= gz
            f[i, 0] += fx
            f[i, 1] += fy
            f[i, 2] += fz
        if not half:
            e_lj *= 0.5
            e_c *= 0.5
            w *= 0.5
        return e_lj, e_c, w

    @njit(cache=True, nogil=True, error_model="numpy")
    def _prune(x, mneigh, nmol, cut2, width):
        """Site pairs of the listed molecule pairs inside ``cut2`` (see :func:`.pairlist.prune`).
        A candidate is stored at the row's next free slot and kept by advancing the counter (no
        branch on the test); the three rows of molecule ``I`` are filled together, so each partner
        molecule's nine coordinates are loaded once."""
        out = np.empty((3 * nmol, width), np.int32)
        cap = width - 1
        worst = 0
        for i in range(nmol):
            a = 3 * i
            ox, oy, oz = x[a, 0], x[a, 1], x[a, 2]
            px, py, pz = x[a + 1, 0], x[a + 1, 1], x[a + 1, 2]
            qx, qy, qz = x[a + 2, 0], x[a + 2, 1], x[a + 2, 2]
            r0, r1, r2 = out[a], out[a + 1], out[a + 2]
            m0 = 0
            m1 = 0
            m2 = 0
            for k in range(mneigh.shape[1]):
                j = mneigh[i, k]
                if j < 0:
                    break
                for t in range(3):
                    b = 3 * j + t
                    bx, by, bz = x[b, 0], x[b, 1], x[b, 2]
                    r0[min(m0, cap)] = b
                    m0 += (ox - bx) ** 2 + (oy - by) ** 2 + (oz - bz) ** 2 < cut2
                    r1[min(m1, cap)] = b
                    m1 += (px - bx) ** 2 + (py - by) ** 2 + (pz - bz) ** 2 < cut2
                    r2[min(m2, cap)] = b
                    m2 += (qx - bx) ** 2 + (qy - by) ** 2 + (qz - bz) ** 2 < cut2
            # Padding (and the rejected candidate a row's last store may have left).
            r0[m0:] = -1
            r1[m1:] = -1
            r2[m2:] = -1
            worst = max(worst, m0, m1, m2)
        return out, worst

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
    def _exclusion(x, q, nmol, alpha, lx, ly, lz, qqrd2e, f):
        """The three intramolecular pairs of each owned molecule (see :func:`.nonbonded.exclusion_correction`)."""
        ca = 2.0 * _RSQRTPI * alpha
        ix, iy, iz = 1.0 / lx, 1.0 / ly, 1.0 / lz
        e = 0.0
        w = 0.0
        for m in range(nmol):
            for a, b in ((0, 1), (0, 2), (1, 2)):
                i, j = 3 * m + a, 3 * m + b
                dx, dy, dz = x[i, 0] - x[j, 0], x[i, 1] - x[j, 1], x[i, 2] - x[j, 2]
                dx -= lx * np.round(dx * ix)
                dy -= ly * np.round(dy * iy)
                dz -= lz * np.round(dz * iz)
                r2 = dx * dx + dy * dy + dz * dz
                r = math.sqrt(r2)
                qq = qqrd2e * q[i] * q[j]
                ep = -qq * math.erf(alpha * r) / r
                fp = (ep + qq * ca * math.exp(-alpha * alpha * r2)) / r2
                f[i, 0] += dx * fp
                f[i, 1] += dy * fp
                f[i, 2] += dz * fp
                f[j, 0] -= dx * fp
                f[j, 1] -= dy * fp
                f[j, 2] -= dz * fp
                e += ep
                w += r2 * fp
        return e, w


def _compile():
    if njit is None:
        raise NotSuitableError("numba is not installed")
    return {"pair": _pair, "erfc_exp": _erfc_exp, "prune": _prune, "exclusion": _exclusion}


def _check(x):
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float64, np.float32):
        raise NotSuitableError("NumPy float arrays only")


@override("water_pair_forces", "numpy")
def pair_forces_numba(x, types, mol, neigh, nlocal, tab, alpha, half, mixed=False, energy=True, virial=True):
    """``energy``/``virial`` false (force-only steps): the mixed kernel skips those sums and NaN comes back
    for them; the float64 kernel computes them anyway."""
    _check(x)
    pair = _compile()["pair"]
    if mixed:
        from . import kernels_mixed

        pair = functools.partial(kernels_mixed.pair_mixed, calc=2 if energy else (1 if virial else 0))
    if types.shape[0] and int(np.max(types)) > 255:
        raise NotSuitableError("more than 256 atom types")
    f = np.zeros((x.shape[0], 3), dtype=x.dtype)
    if nlocal == 0 or neigh.shape[1] == 0:
        return f, np.float64(0.0), np.float64(0.0), np.float64(0.0)
    t = [np.ascontiguousarray(tab[k], dtype=np.float64) for k in ("lj1", "lj2", "lj3", "lj4", "qq", "cutsq")]
    wide = []
    if mixed:
        wide = [t[2], t[3], t[4]]
        t = [v.astype(np.float32) for v in t[:5]] + [t[5]]
    uniform = bool(np.all(t[5] == t[5].flat[0]))
    e_lj, e_c, w = pair(
        np.ascontiguousarray(x),
        np.ascontiguousarray(types),
        np.ascontiguousarray(mol),
        np.ascontiguousarray(neigh),
        int(nlocal),
        *t,
        float(alpha),
        bool(half),
        f,
        uniform,
        *wide,
    )
    nan = np.float64("nan")
    if mixed and not energy:
        e_lj = e_c = nan
    if mixed and not virial:
        w = nan
    return f, np.float64(e_lj), np.float64(e_c), np.float64(w)


_width = {}  # width guess per cutoff: the last prune's widest row plus a margin


@override("water_pair_list", "numpy")
def prune_numba(x, mneigh, nmol_local, cut):
    _check(x)
    prune = _compile()["prune"]
    key = round(float(cut), 9)
    args = (
        np.ascontiguousarray(x),
        np.ascontiguousarray(mneigh, dtype=np.int64),
        int(nmol_local),
        float(cut) * float(cut),
    )
    while True:
        guess = _width.get(key, 64)
        out, worst = prune(*args, guess)
        _width[key] = int(worst * 1.05) + 4
        if worst < guess:
            break
    return out  # a few columns of -1 beyond the widest row (the guess's margin); no trimming copy


@override("water_exclusion", "numpy")
def exclusion_numba(x, q, nmol, alpha, lengths, qqrd2e=QQRD2E):
    _check(x)
    f = np.zeros((3 * int(nmol), 3), dtype=x.dtype)
    e, w = _compile()["exclusion"](
        np.ascontiguousarray(x),
        np.ascontiguousarray(q, dtype=np.float64),
        int(nmol),
        float(alpha),
        *(float(v) for v in lengths),
        float(qqrd2e),
        f,
    )
    return f, np.float64(e), np.float64(w)
