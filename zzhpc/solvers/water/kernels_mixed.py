r"""Mixed-precision CPU version of the water real-space kernel (Numba): float32 pair terms, float64 sums.

The mode ``backend.precision = "mixed"`` (docs/precision.md), as GROMACS's and OpenMM's CPU kernels:
per pair the differences are taken from the float64 positions and rounded to float32 (so no
absolute-position rounding enters them: the float32 error is relative to the pair distance, not to
the box), and everything per pair -- exp, erfc, the LJ powers, the scalar force -- is float32; the
energies, the virial and the forces are summed in float64. The cutoff test is on the float64 distance,
so the pairs are exactly those of the float64 kernel. Same structure as :mod:`.kernels_numba`: per owned atom the pairs inside the cutoff are compacted, then a branch-free loop
that LLVM vectorises in float32 lanes (16 per AVX-512 register against 8 in float64) evaluates exp
(range reduction to :math:`2^n e^t`, degree-7 polynomial, relative error below 1e-8 before rounding) and
Cody's erfc (W. J. Cody, Math. Comp. 23, 631 (1969)) in float32, the pairs outside Cody's range in
float64. ``fit=True`` (not the default, :data:`USE_FIT`): the erfc-free form of :mod:`.ewald_fit`,
:math:`q[1/r^3 - \alpha^3 G(z)]` with :math:`z = \alpha^2 r^2` at every distance, and the Coulomb
energy in float64 lanes from the float32 :math:`r^2` (:math:`1/r - \alpha H(z)`). ``calc``: forces
only (0), with the virial (1), with the energies (2, what the wrapper asks today).
"""

import math

import numpy as np

from .cody import _C, _D, _LOG2E, _RSQRTPI, _erfc_exp, njit
from .ewald_fit import real_space_fit

_C32 = np.array(_C, np.float32)
_D32 = np.array(_D, np.float32)
# exp(t) = sum t^k / k! to degree 7 for |t| <= ln2/2 (truncation 5e-9 relative).
_E32 = np.array([1.0 / math.factorial(k) for k in range(8)], np.float32)
# ln 2 split so that n * hi is exact in float32 for |n| < 2^9 (Cody & Waite).
_K32 = np.array([_LOG2E, 0.693359375, -2.12194440e-4, 0.5, 1.0], np.float32)


def _make(fit, calc):
    """The jitted kernel: ``fit`` the rational form (else exp + Cody); ``calc`` 2 forces, virial and
    energies, 1 forces and virial, 0 forces only (the force arithmetic is the same in each)."""
    FIT, VIR, ENE = bool(fit), calc >= 1, calc >= 2

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
    def pair_mixed_kernel(
        x, types, mol, neigh, nlocal, lj1, lj2, lj3, lj4, qq, cutsq, alpha, half, f, uniform, lj3w, lj4w, qqw, cf, ch
    ):
        """``lj1, lj2``, ``qq``: float32 tables; ``cutsq``, ``lj3w, lj4w, qqw``: the wide (float64) tables of
        the energy sums; ``x``, ``f``: float64 (or float32 on a device without float64); ``cf``, ``ch``: the
        float32 G and float64 H coefficients of :class:`.ewald_fit.RealSpaceFit`."""
        nall, nt, maxn = x.shape[0], lj1.shape[0], neigh.shape[1]
        key = np.empty(nall, np.int64)
        for a in range(nall):
            key[a] = (mol[a] << 8) | types[a]
        t1, t2, t3, t4 = lj1.ravel(), lj2.ravel(), lj3.ravel(), lj4.ravel()
        tq, tc = qq.ravel(), cutsq.ravel()
        # Energies: each float32 pair value times the wide table entry, so that the rounding of a
        # table entry (one sign per type pair, over ~1e5 kcal/mol of cancelling type-pair sums) biases
        # nothing.
        w3, w4, wq = lj3w.ravel(), lj4w.ravel(), qqw.ravel()
        jb = np.empty(maxn, np.int64)
        nb = np.empty(maxn, np.int32)
        f32 = np.float32
        dxb, dyb, dzb, r2b, tr = (
            np.empty(maxn, f32),
            np.empty(maxn, f32),
            np.empty(maxn, f32),
            np.empty(maxn, f32),
            np.empty(maxn, f32),
        )
        qb, r2ib, fpb, ecb = np.empty(maxn, f32), np.empty(maxn, f32), np.empty(maxn, f32), np.empty(maxn, f32)
        ecw = np.zeros(maxn)  # erfc(a r)/r in float64 (the fitted form's energies)
        pg0, pg1, pg2, pg3, pg4, pg5 = f32(cf[0]), f32(cf[1]), f32(cf[2]), f32(cf[3]), f32(cf[4]), f32(cf[5])
        qg0, qg1, qg2, qg3, qg4, qg5 = f32(cf[6]), f32(cf[7]), f32(cf[8]), f32(cf[9]), f32(cf[10]), f32(cf[11])
        p0, p1, p2, p3, p4, p5 = ch[0], ch[1], ch[2], ch[3], ch[4], ch[5]
        q0, q1, q2, q3, q4, q5 = ch[6], ch[7], ch[8], ch[9], ch[10], ch[11]
        a3 = f32(alpha * alpha * alpha)
        haslj = np.zeros(nt, np.bool_)
        for a in range(nt):
            for b in range(nt):
                if t1[a * nt + b] != 0 or t2[a * nt + b] != 0 or t3[a * nt + b] != 0 or t4[a * nt + b] != 0:
                    haslj[a] = True
        # alpha and alpha^2 as float32 pairs hi + lo: a rounded alpha alone biases erfc(a r) by up to
        # 1e-7 relative with an r-dependence that does not cancel between the O-O, O-H and H-H sums.
        al = f32(alpha)
        al_lo = f32(alpha - np.float64(al))
        a2 = f32(alpha * alpha)
        a2_lo = f32(alpha * alpha - np.float64(a2))
        ca = f32(2.0 * _RSQRTPI * alpha)
        log2e, ln2hi, ln2lo, half32, one = _K32[0], _K32[1], _K32[2], _K32[3], _K32[4]
        cut2 = tc[0]
        lo2, hi2 = (0.46875 / alpha) ** 2, (4.0 / alpha) ** 2
        e_lj = 0.0
        e_c = 0.0
        w = 0.0
        for i in range(nlocal):
            xi, yi, zi = x[i, 0], x[i, 1], x[i, 2]
            ti, mi = types[i], mol[i]
            # 1. Compaction on the float64 distance: the same pairs as the float64 kernel.
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
                dxb[m], dyb[m], dzb[m] = f32(dx), f32(dy), f32(dz)
                if uniform:
                    m += (r2 < cut2) & ((kj >> 8) != mi)
                else:
                    m += (r2 < tc[tp]) & ((kj >> 8) != mi)
            if FIT:
                # 2-3. q [1/r^3 - alpha^3 G(z)] in float32 lanes, G = P/Q: one division for 1/r^2 and 1/Q.
                for k in range(m):
                    r2b[k] = dxb[k] * dxb[k] + dyb[k] * dyb[k] + dzb[k] * dzb[k]
                    qb[k] = tq[jb[k] & 255]
                for k in range(m):
                    rf = r2b[k]
                    zf = a2 * rf + a2_lo * rf
                    ng = ((((pg5 * zf + pg4) * zf + pg3) * zf + pg2) * zf + pg1) * zf + pg0
                    dg = ((((qg5 * zf + qg4) * zf + qg3) * zf + qg2) * zf + qg1) * zf + qg0
                    inv = one / (dg * rf)
                    rif = inv * dg
                    rinv = np.sqrt(rif)
                    fpb[k] = qb[k] * (rif * rinv - a3 * (ng * inv * rf))
                    r2ib[k] = rif
                if ENE:  # 1/r - alpha H(z) in float64 lanes from the float32 r^2 (a float32 form is biased)
                    for k in range(m):
                        r2w = np.float64(r2b[k])
                        zw = alpha * alpha * r2w
                        num = ((((p5 * zw + p4) * zw + p3) * zw + p2) * zw + p1) * zw + p0
                        den = ((((q5 * zw + q4) * zw + q3) * zw + q2) * zw + q1) * zw + q0
                        ecw[k] = 1.0 / np.sqrt(r2w) - alpha * (num / den)
            else:
                # 2. exp(-a^2 r^2) = 2^n exp(t) in float32: the power of two as IEEE bits.
                for k in range(m):
                    r2 = dxb[k] * dxb[k] + dyb[k] * dyb[k] + dzb[k] * dzb[k]
                    r2b[k] = r2
                    y = -(a2 * r2 + a2_lo * r2)
                    n = np.floor(y * log2e + half32)
                    nb[k] = (np.int32(n) + 127) << 23
                    tr[k] = (y - n * ln2hi) - n * ln2lo
                    qb[k] = tq[jb[k] & 255]
                pw = nb[:m].view(np.float32)
                # 3. Coulomb in float32 lanes, branch-free.
                for k in range(m):
                    t = tr[k]
                    p = (
                        (((((_E32[7] * t + _E32[6]) * t + _E32[5]) * t + _E32[4]) * t + _E32[3]) * t + _E32[2]) * t
                        + one
                    ) * t + one
                    e = p * pw[k]
                    r2 = r2b[k]
                    r = np.sqrt(r2)
                    xa = al * r + al_lo * r
                    num = (
                        (
                            (((((_C32[8] * xa + _C32[0]) * xa + _C32[1]) * xa + _C32[2]) * xa + _C32[3]) * xa + _C32[4])
                            * xa
                            + _C32[5]
                        )
                        * xa
                        + _C32[6]
                    ) * xa + _C32[7]
                    den = (
                        (
                            (((((xa + _D32[0]) * xa + _D32[1]) * xa + _D32[2]) * xa + _D32[3]) * xa + _D32[4]) * xa
                            + _D32[5]
                        )
                        * xa
                        + _D32[6]
                    ) * xa + _D32[7]
                    inv = one / (den * r2)
                    r2i = inv * den
                    ec = e * num * inv * r  # erfc(a r) / r, without the charges
                    fpb[k] = qb[k] * (ec + ca * e) * r2i
                    ecb[k] = ec
                    r2ib[k] = r2i
            # 4. Rare pairs outside Cody's range (float64, rounded; none with the fit), LJ in float32,
            # float64 sums.
            fx = 0.0
            fy = 0.0
            fz = 0.0
            dolj = haslj[ti]
            for k in range(m):
                r2 = r2b[k]
                jt = jb[k]
                tp = jt & 255
                if not FIT and (r2 <= lo2 or r2 > hi2):
                    r64 = math.sqrt(np.float64(r2))
                    e64 = math.exp(-alpha * alpha * np.float64(r2))
                    ec64 = _erfc_exp(alpha * r64, e64) / r64
                    ecb[k] = f32(ec64)
                    r2ib[k] = f32(1.0 / np.float64(r2))
                    fpb[k] = f32(np.float64(qb[k]) * (ec64 + 2.0 * _RSQRTPI * alpha * e64) / np.float64(r2))
                fp = fpb[k]
                if dolj:
                    r2i = r2ib[k]
                    r6i = r2i * r2i * r2i
                    fp += r6i * (t1[tp] * r6i - t2[tp]) * r2i
                    if ENE:
                        r6w = np.float64(r6i)
                        e_lj += r6w * (w3[tp] * r6w - w4[tp])
                if ENE:
                    e_c += wq[tp] * (ecw[k] if FIT else np.float64(ecb[k]))
                if VIR:
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

    return pair_mixed_kernel


_KERNELS = {}
#: The atom kernel keeps exp + Cody's erfc by default: its wrapper (kernels_numba.pair_forces_numba) asks
#: for energies on every call, and with them the fitted form is slower here (the float64 energy lanes,
#: docs/water.md); on force-only calls it is faster. Switch when the wrapper passes ``calc``.
USE_FIT = False


def pair_mixed(
    x,
    types,
    mol,
    neigh,
    nlocal,
    lj1,
    lj2,
    lj3,
    lj4,
    qq,
    cutsq,
    alpha,
    half,
    f,
    uniform,
    lj3w,
    lj4w,
    qqw,
    calc=2,
    fit=None,
):
    """The mixed kernel (arguments as :func:`.kernels_numba.pair_forces_numba` passes them); ``calc`` 0
    forces only, 1 with the virial, 2 with the energies too (the skipped sums come back as 0); ``fit``:
    the erfc-free form of :mod:`.ewald_fit` (default :data:`USE_FIT`)."""
    fit = USE_FIT if fit is None else bool(fit)
    if fit:
        rf = real_space_fit(alpha, math.sqrt(float(np.max(cutsq))))
        cf, ch = rf.packed(), np.concatenate([rf.ph64, rf.qh64])
    else:
        cf, ch = np.zeros(24, np.float32), np.zeros(12)
    if (fit, calc) not in _KERNELS:
        _KERNELS[fit, calc] = _make(fit, calc)
    return _KERNELS[fit, calc](
        x, types, mol, neigh, nlocal, lj1, lj2, lj3, lj4, qq, cutsq, alpha, half, f, uniform, lj3w, lj4w, qqw, cf, ch
    )
