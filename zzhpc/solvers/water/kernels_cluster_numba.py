r"""Compiled CPU version of the cluster-pair water kernel ``water_cluster_forces`` (Numba), in float32
lanes with float64 sums (mixed) or all float64, one source for both.

Layout and list: :mod:`.clusters`. Per i-cluster the listed j-clusters' slots are copied into contiguous
buffers (4 slots each, the cluster-pair shift folded into the copy), so that for each of the 4 i-slots
the loop over the buffer is branch-free and gather-free and LLVM vectorises it (16 float32 lanes per
AVX-512 register): mask bit and :math:`r^2 < r_c^2` as a select, :math:`r^2` set to 1 where masked (no
NaN), exp(-a^2 r^2) by range reduction to :math:`2^n e^t` (the power of two as IEEE bits) and a
polynomial, erfc by Cody's rational form for :math:`0.46875 < \alpha r \le 4` (W. J. Cody, Math. Comp.
23, 631 (1969); the few pairs closer than :math:`0.46875/\alpha` are redone in float64 by a scalar
pass), LJ only on i-types that have it. A second loop, compiled with reassociation allowed, sums the
force on i, the energies and the virial in float64 (vectorised sums, deterministic on one machine) and
accumulates the j forces in a per-buffer float64 array added back per j-cluster. The constants are those
of :mod:`.cody` (float64) and :mod:`.kernels_mixed` (float32). Single-threaded: one MPI rank per core.
"""

import math

import numpy as np

from ...device import override
from ...errors import NotSuitableError
from .cody import _C, _D, _LN2_HI, _LN2_LO, _LOG2E, _RSQRTPI, _erfc_exp, njit
from .kernels_mixed import _C32, _D32, _E32, _K32

_E64 = tuple(1.0 / math.factorial(k) for k in range(14))


def _make(single):
    """The kernel for float32 (``single``) or float64 lanes; constants are typed closure tuples, so each
    variant is compiled (and cached) with its own literal types."""
    ft = np.float32 if single else np.float64
    it = np.int32 if single else np.int64
    bias, mant = (127, 23) if single else (1023, 52)
    C = tuple(ft(c) for c in (_C32 if single else _C))
    D = tuple(ft(c) for c in (_D32 if single else _D))
    E = tuple(ft(c) for c in (_E32 if single else _E64))
    deg = len(E) - 1
    K = (ft(_LOG2E), ft(_K32[1]), ft(_K32[2])) if single else (ft(_LOG2E), ft(_LN2_HI), ft(_LN2_LO))

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
    def sums(n, dx, dy, dz, r2b, fpb, ecb, r6b, qw, l3w, l4w, fjx, fjy, fjz, dolj):
        """Float64 sums over one i-slot's buffer (reassociation lets LLVM vectorise them)."""
        fx = 0.0
        fy = 0.0
        fz = 0.0
        ec = 0.0
        el = 0.0
        w = 0.0
        for k in range(n):
            fp = np.float64(fpb[k])
            gx, gy, gz = np.float64(dx[k]) * fp, np.float64(dy[k]) * fp, np.float64(dz[k]) * fp
            fx += gx
            fy += gy
            fz += gz
            fjx[k] -= gx
            fjy[k] -= gy
            fjz[k] -= gz
            w += np.float64(r2b[k]) * fp
            ec += np.float64(ecb[k]) * qw[k]
        if dolj:
            for k in range(n):
                r6 = np.float64(r6b[k])
                el += r6 * (l3w[k] * r6 - l4w[k])
        return fx, fy, fz, ec, el, w

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
    def kern(xs, tslot, ci_start, cj, mask, shift, nt, lj1, lj2, qq, lj3w, lj4w, qqw, alpha, cut2, fs):
        nclus = ci_start.shape[0] - 1
        one, zero, halfv = ft(1.0), ft(0.0), ft(0.5)
        log2e, ln2hi, ln2lo = K
        haslj = np.zeros(nt, np.bool_)
        for a in range(nt):
            for b in range(nt):
                if lj1[a * nt + b] != 0 or lj2[a * nt + b] != 0 or lj3w[a * nt + b] != 0 or lj4w[a * nt + b] != 0:
                    haslj[a] = True
        # alpha and alpha^2 as hi + lo pairs in the lane type (lo = 0 in float64): a rounded alpha biases
        # erfc(a r) with an r-dependence the O-O, O-H and H-H sums do not cancel (kernels_mixed).
        al = ft(alpha)
        al_lo = ft(alpha - np.float64(al))
        a2 = ft(alpha * alpha)
        a2_lo = ft(alpha * alpha - np.float64(a2))
        ca = ft(2.0 * _RSQRTPI * alpha)
        c2 = ft(cut2)
        lo2 = (0.46875 / alpha) ** 2
        maxnb = 0
        for c in range(nclus):
            maxnb = max(maxnb, 4 * (ci_start[c + 1] - ci_start[c]))
        bx, by, bz = np.empty(maxnb, ft), np.empty(maxnb, ft), np.empty(maxnb, ft)
        bt = np.empty(maxnb, np.int64)
        nib = np.empty(maxnb, np.int32)  # the 4 mask bits of a j-slot, one per i-slot
        dxb, dyb, dzb, r2b = np.empty(maxnb, ft), np.empty(maxnb, ft), np.empty(maxnb, ft), np.empty(maxnb, ft)
        tr, fpb, ecb, r6b = np.empty(maxnb, ft), np.empty(maxnb, ft), np.empty(maxnb, ft), np.empty(maxnb, ft)
        okb = np.empty(maxnb, ft)  # 1 for a pair to compute, 0 where masked
        nb = np.empty(maxnb, it)
        q32, l1, l2 = np.empty(maxnb, ft), np.empty(maxnb, ft), np.empty(maxnb, ft)
        qw, l3w, l4w = np.empty(maxnb), np.empty(maxnb), np.empty(maxnb)
        fjx, fjy, fjz = np.empty(maxnb), np.empty(maxnb), np.empty(maxnb)
        e_c = 0.0
        e_lj = 0.0
        w = 0.0
        for c in range(nclus):
            k0, k1 = ci_start[c], ci_start[c + 1]
            if k0 == k1:
                continue
            n = 4 * (k1 - k0)
            # 1. The j-clusters' slots, shift folded in: d = xs_i - (xs_j - shift).
            anym = 0
            for p in range(k0, k1):
                d = cj[p]
                m = np.int32(mask[p])
                anym |= m
                sx, sy, sz = ft(shift[p, 0]), ft(shift[p, 1]), ft(shift[p, 2])
                for b in range(4):
                    q = 4 * (p - k0) + b
                    s = 4 * d + b
                    bx[q] = xs[s, 0] - sx
                    by[q] = xs[s, 1] - sy
                    bz[q] = xs[s, 2] - sz
                    bt[q] = tslot[s]
                    nib[q] = ((m >> b) & 1) | ((m >> (3 + b)) & 2) | ((m >> (6 + b)) & 4) | ((m >> (9 + b)) & 8)
            fjx[:n] = 0.0
            fjy[:n] = 0.0
            fjz[:n] = 0.0
            for a in range(4):
                if (anym >> (4 * a)) & 15 == 0:
                    continue
                i = 4 * c + a
                ti = tslot[i]
                dolj = haslj[ti]
                xi, yi, zi = xs[i, 0], xs[i, 1], xs[i, 2]
                row = ti * nt
                for q in range(n):
                    tp = row + bt[q]
                    q32[q] = qq[tp]
                    qw[q] = qqw[tp]
                if dolj:
                    for q in range(n):
                        tp = row + bt[q]
                        l1[q], l2[q], l3w[q], l4w[q] = lj1[tp], lj2[tp], lj3w[tp], lj4w[tp]
                # 2. Differences, mask, r^2 and the exp range reduction (branch-free).
                nrare = 0
                for q in range(n):
                    dx, dy, dz = xi - bx[q], yi - by[q], zi - bz[q]
                    r2 = dx * dx + dy * dy + dz * dz
                    ok = ((nib[q] >> a) & 1 == 1) & (r2 < c2)
                    r2s = r2 if ok else one
                    dxb[q], dyb[q], dzb[q] = dx, dy, dz
                    r2b[q] = r2s
                    nrare += ok & (r2 <= lo2)
                    okb[q] = one if ok else zero
                    y = -(a2 * r2s + a2_lo * r2s)
                    nn = np.floor(y * log2e + halfv)
                    nb[q] = (it(nn) + bias) << mant
                    tr[q] = (y - nn * ln2hi) - nn * ln2lo
                pw = nb[:n].view(ft)
                # 3. Coulomb (and LJ) in the lane type, vectorised: no sums, no branches.
                for q in range(n):
                    t = tr[q]
                    pe = E[deg]
                    for k in range(deg - 1, -1, -1):
                        pe = pe * t + E[k]
                    e = pe * pw[q]
                    r2 = r2b[q]
                    r = np.sqrt(r2)
                    xa = al * r + al_lo * r
                    num = C[8] * xa
                    den = xa
                    for k in range(7):
                        num = (num + C[k]) * xa
                        den = (den + D[k]) * xa
                    num = num + C[7]
                    den = den + D[7]
                    inv = one / (den * r2)
                    r2i = inv * den
                    ec = e * num * inv * r  # erfc(a r) / r, without the charges
                    fp = q32[q] * (ec + ca * e) * r2i
                    m = okb[q]
                    if dolj:  # loop-invariant: LLVM unswitches it
                        r6 = r2i * r2i * r2i
                        fp += r6 * (l1[q] * r6 - l2[q]) * r2i
                        r6b[q] = r6 * m
                    fpb[q] = fp * m
                    ecb[q] = ec * m
                # Rare close pairs outside the rational form's range: float64, rounded to the lane type.
                if nrare:
                    for q in range(n):
                        r2 = r2b[q]
                        if okb[q] != 0 and r2 <= lo2:
                            r64 = math.sqrt(np.float64(r2))
                            e64 = math.exp(-alpha * alpha * np.float64(r2))
                            ec64 = _erfc_exp(alpha * r64, e64) / r64
                            r2i64 = 1.0 / np.float64(r2)
                            fp64 = np.float64(q32[q]) * (ec64 + 2.0 * _RSQRTPI * alpha * e64) * r2i64
                            if dolj:
                                r6 = r2i64 * r2i64 * r2i64
                                fp64 += r6 * (np.float64(l1[q]) * r6 - np.float64(l2[q])) * r2i64
                            fpb[q] = ft(fp64)
                            ecb[q] = ft(ec64)
                # 4. Float64 sums; the j forces into the buffer's own array.
                fx, fy, fz, ec, el, wi = sums(
                    n, dxb, dyb, dzb, r2b, fpb, ecb, r6b, qw, l3w, l4w, fjx, fjy, fjz, dolj
                )
                fs[i, 0] += fx
                fs[i, 1] += fy
                fs[i, 2] += fz
                e_c += ec
                e_lj += el
                w += wi
            for p in range(k0, k1):
                d = cj[p]
                for b in range(4):
                    q = 4 * (p - k0) + b
                    s = 4 * d + b
                    fs[s, 0] += fjx[q]
                    fs[s, 1] += fjy[q]
                    fs[s, 2] += fjz[q]
        return e_lj, e_c, w

    return kern


_KERNELS = {}


def _kernel(single):
    if njit is None:
        raise NotSuitableError("numba is not installed")
    if single not in _KERNELS:
        _KERNELS[single] = _make(single)
    return _KERNELS[single]


@override("water_cluster_forces", "numpy")
def cluster_forces_numba(xs, tslot, ci_start, cj, mask, shift, tab, alpha, cutoff):
    if not isinstance(xs, np.ndarray) or xs.dtype not in (np.float64, np.float32):
        raise NotSuitableError("NumPy float arrays only")
    single = xs.dtype == np.float32
    ft = xs.dtype
    fs = np.zeros((xs.shape[0], 3))
    if cj.shape[0] == 0:
        return fs, np.float64(0.0), np.float64(0.0), np.float64(0.0)
    t = {k: np.ascontiguousarray(tab[k], dtype=np.float64).ravel() for k in ("lj1", "lj2", "lj3", "lj4", "qq")}
    nt = int(np.asarray(tab["qq"]).shape[0])
    e_lj, e_c, w = _kernel(single)(
        np.ascontiguousarray(xs),
        np.ascontiguousarray(tslot, dtype=np.int32),
        np.ascontiguousarray(ci_start, dtype=np.int32),
        np.ascontiguousarray(cj, dtype=np.int32),
        np.ascontiguousarray(mask, dtype=np.uint16),
        np.ascontiguousarray(shift, dtype=np.float32),
        nt,
        t["lj1"].astype(ft),
        t["lj2"].astype(ft),
        t["qq"].astype(ft),
        t["lj3"],
        t["lj4"],
        t["qq"],
        float(alpha),
        float(cutoff) ** 2,
        fs,
    )
    return fs, np.float64(e_lj), np.float64(e_c), np.float64(w)
