r"""Compiled CPU version of the cluster-pair water kernel ``water_cluster_forces`` (Numba), in float32
lanes with float64 sums (mixed) or all float64, one source for both.

Layout and list: :mod:`.clusters`. Per i-cluster the listed j-clusters' slots are copied into a
contiguous buffer (4 slots each, the cluster-pair shift folded into the copy, padded to a multiple of
16 lanes with masked slots), so that for each of the 4 i-slots the loop over the buffer is branch-free
and gather-free and LLVM vectorises it (16 float32 lanes per AVX-512 register; checked in the assembly):
the mask bit and :math:`r^2 < r_c^2` as a select, :math:`r^2` set to 1 where masked (nothing is NaN),
the real-space Coulomb force in float32 lanes without exp and erfc, :math:`q[1/r^3 - \alpha^3 G(z)]`,
:math:`z = \alpha^2 r^2`, with the rational fit of :mod:`.ewald_fit` at every distance (float64 lanes:
:math:`e^{-\alpha^2 r^2}` by range reduction to :math:`2^n e^t`, the power of two made from IEEE bits by a
bit cast, and erfc by Cody's rational form for :math:`0.46875 < \alpha r \le 4`, W. J. Cody, Math. Comp.
23, 631 (1969), the closer pairs in a scalar float64 pass), LJ only on i-types that have it, table
entries of the two atom types as selects. That loop only stores (per lane: the three components of the
pair force, and on the calls that want them the virial term and the energy inputs): a sum or a
read-modify-write in it stops LLVM. Separate loops, compiled with reassociation, sum them: the force on
i in the lane type (16 partial sums of a few terms, then float64; the same code in every variant, so
force-only calls give the forces bit for bit), the virial and the energy terms in float64 split by
j-type (float32 lanes store :math:`r^2` and the energy :math:`1/r - \alpha H(z)` is formed in float64
there); per i-cluster the energies are formed with the float64 tables (no rounded charge product or LJ
coefficient biases a sum). The j forces of the 4 i-slots are summed per j-slot and added back in
float64. That is the float64 lanes' kernel. The float32 (fitted) lanes do the 4 i-slots in one pass
over the buffer (each j lane loaded once, 4 pair forces per lane): the force on each i-slot is a running
float32 sum whose adds alone carry reassociation (``_radd``, not inlined by Numba so that its flag
survives; LLVM vectorises the reductions), the j force of the 4 i-slots is summed in registers and
stored once per lane (3 stores per lane against 12 plus a sum loop). That loop is the same code in every
variant (forces bit for bit); the virial comes after it from the sums,
:math:`\sum_{pairs} d \cdot f = \sum_a x_a \cdot S_a - \sum_q b_q \cdot G_q` (float64), and on
energy calls :math:`r^2` is recomputed per i-slot (no division) for the float64 energy terms, which are
therefore bitwise those of the per-i-slot form. Variants: forces, virial and energies; forces and
virial; forces only (``energy``/``virial``).
Float constants: :mod:`.cody` (float64) and :mod:`.kernels_mixed` (float32). Single-threaded: one MPI
rank per core. Two atom types only (``pair_tables``'s O and H; otherwise NotSuitableError and the
reference runs).
"""

import math

import numpy as np

from ...device import override
from ...errors import NotSuitableError
from .cody import _C, _D, _LN2_HI, _LN2_LO, _LOG2E, _RSQRTPI, _erfc_exp, njit
from .ewald_fit import real_space_fit
from .kernels_mixed import _C32, _D32, _E32, _K32

_E64 = tuple(1.0 / math.factorial(k) for k in range(14))
NL = 16  # lanes per block: one AVX-512 register of float32
U0, U1, U2, U3 = np.uint64(0), np.uint64(1), np.uint64(2), np.uint64(3)

if njit is not None:
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def _as_float(typingctx, x):
        """The IEEE bits of an int32 (int64) as a float32 (float64): a bit cast LLVM vectorises."""
        ret = {types.int32: types.float32, types.int64: types.float64}[x]

        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], context.get_value_type(ret))

        return ret(x), codegen


def _make(single, calc, fit=None):
    """The kernel for float32 (``single``) or float64 lanes computing forces only (``calc`` 0), forces and
    virial (1) or forces, virial and energies (2). ``fit`` false: exp and Cody's erfc in the lanes, with
    the close pairs in a scalar float64 pass (the float64 form; in float32 lanes the form before the
    fit, kept for the A/B of benchmarks/water_cluster_kernel_ab.py). The constants are typed closure values, so each variant
    is compiled (and cached) with its own literal types; the force arithmetic and the force sums are the
    same code in every ``calc`` variant (forces bitwise equal, tested)."""
    ft = np.float32 if single else np.float64
    it = np.int32 if single else np.int64
    bias, mant = (127, 23) if single else (1023, 52)
    C = tuple(ft(c) for c in (_C32 if single else _C))
    D = tuple(ft(c) for c in (_D32 if single else _D))
    E = tuple(ft(c) for c in (_E32 if single else _E64))
    deg = len(E) - 1
    K = (ft(_LOG2E), ft(_K32[1]), ft(_K32[2])) if single else (ft(_LOG2E), ft(_LN2_HI), ft(_LN2_LO))
    FIT = bool(single) if fit is None else bool(fit)  # float32 lanes: the rational form (ewald_fit)
    VIR, ENE = calc >= 1, calc >= 2
    ONEPASS = FIT  # float32 lanes: the 4 i-slots in one pass (the float64 lanes keep one pass per i-slot)

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
    def _radd(s, h):
        """A running sum LLVM may reassociate (so that it vectorises the loop holding it)."""
        return s + h

    @njit(cache=True, nogil=True, error_model="numpy", inline="always")
    def _row(qq, lj1, lj2, ti):
        """The i-type's table row in the lane type: charge products and LJ coefficients for j of type 0, 1."""
        row = 2 * ti
        return ft(qq[row]), ft(qq[row + 1]), ft(lj1[row]), ft(lj1[row + 1]), ft(lj2[row]), ft(lj2[row + 1])

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"}, inline="always")
    def _fit_pair(dx, dy, dz, bit, j1, qa, qb, l1a, l1b, l2a, l2b, a2, a2_lo, a3, c2, cg):
        """F/r of one lane in the fitted form (the arithmetic of the per-i-slot loop below, LJ always: an
        H i-slot's coefficients are 0, which adds an exact 0); 0 where masked or beyond the cutoff."""
        one, zero = ft(1.0), ft(0.0)
        pg0, pg1, pg2, pg3, pg4, pg5, qg0, qg1, qg2, qg3, qg4, qg5 = cg
        r2 = dx * dx + dy * dy + dz * dz
        ok = bit & (r2 < c2)
        r2s = r2 if ok else one
        z = a2 * r2s + a2_lo * r2s
        ng = ((((pg5 * z + pg4) * z + pg3) * z + pg2) * z + pg1) * z + pg0
        dg = ((((qg5 * z + qg4) * z + qg3) * z + qg2) * z + qg1) * z + qg0
        inv = one / (dg * r2s)
        r2i = inv * dg
        rinv = np.sqrt(r2i)
        fp = (qb if j1 else qa) * (r2i * rinv - a3 * (ng * inv * r2s))
        r6 = r2i * r2i * r2i
        fp += r6 * ((l1b if j1 else l1a) * r6 - (l2b if j1 else l2a)) * r2i
        return fp if ok else zero

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
    def sums_f(n, gx, gy, gz, sr, out):
        """The force on i in the lane type (16 partial sums of a few terms each, reassociation allowed
        here only), and the close pairs, into ``out[0:3]``, ``out[4]``."""
        zero = ft(0.0)
        fx = fy = fz = nr = zero
        for q in range(n):
            fx += gx[q]
            fy += gy[q]
            fz += gz[q]
            if not FIT:
                nr += sr[q]
        out[0] = np.float64(fx)
        out[1] = np.float64(fy)
        out[2] = np.float64(fz)
        out[4] = np.float64(nr)

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
    def dot_j(n, bx, by, bz, gx, gy, gz):
        """The j lanes' part of the virial, sum of b_q . G_q in float64 (reassociation allowed here only)."""
        v = 0.0
        for q in range(n):
            v += (
                np.float64(bx[q]) * np.float64(gx[q])
                + np.float64(by[q]) * np.float64(gy[q])
                + np.float64(bz[q]) * np.float64(gz[q])
            )
        return v

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
    def sums_e(n, sw, sc, s6, b1, out, base, alpha, ch):
        """The virial and the energy terms in float64 (sums of one sign per j-type that the charges then
        make cancel: no float32 rounding in them), into ``out[3]`` and ``out[base:base + 6]``
        (erfc(a r)/r, r^-12, r^-6 for j of type 0 and 1). Float32 lanes store :math:`r^2` in ``sc`` (0 where
        masked) and the energy terms are formed here in float64 from it, :math:`1/r - \\alpha H(z)` with
        the float64 fit ``ch`` (numerator, denominator): a float32 evaluation of that difference is biased
        by some 1e-8 of :math:`1/r`, which the cancelling type-pair sums amplify."""
        vw = c0 = c1 = u0 = u1 = v0 = v1 = 0.0
        a2 = alpha * alpha
        p0, p1, p2, p3, p4, p5 = ch[0], ch[1], ch[2], ch[3], ch[4], ch[5]
        q0, q1, q2, q3, q4, q5 = ch[6], ch[7], ch[8], ch[9], ch[10], ch[11]
        for q in range(n):
            vw += np.float64(sw[q])
            if ENE:
                j1 = b1[q]
                if FIT:
                    r2v = np.float64(sc[q])
                    okv = r2v > 0.0
                    r2s = r2v if okv else 1.0
                    z = a2 * r2s
                    num = ((((p5 * z + p4) * z + p3) * z + p2) * z + p1) * z + p0
                    den = ((((q5 * z + q4) * z + q3) * z + q2) * z + q1) * z + q0
                    r2i = 1.0 / r2s
                    ec = (np.sqrt(r2i) - alpha * (num / den)) if okv else 0.0
                    r6 = r2i * r2i * r2i if okv else 0.0
                else:
                    ec, r6 = np.float64(sc[q]), np.float64(s6[q])
                c0 += 0.0 if j1 else ec
                c1 += ec if j1 else 0.0
                u0 += 0.0 if j1 else r6 * r6
                u1 += r6 * r6 if j1 else 0.0
                v0 += 0.0 if j1 else r6
                v1 += r6 if j1 else 0.0
        out[3] += vw
        out[base] += c0
        out[base + 1] += c1
        out[base + 2] += u0
        out[base + 3] += u1
        out[base + 4] += v0
        out[base + 5] += v1

    @njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
    def kern(xs, tslot, ci_start, cj, mask, shift, lj1, lj2, qq, lj3w, lj4w, qqw, alpha, cut2, cf, ch, fs):
        """Two atom types (``pair_tables``'s O and H): a pair's table entries are a select on the j-type
        between the i-type's two row entries, loaded once per i-slot (no gathers). ``cf``: the packed
        coefficients of :class:`.ewald_fit.RealSpaceFit` (float32 lanes), ``ch`` its float64 H fit."""
        nclus = ci_start.shape[0] - 1
        one, zero, halfv = ft(1.0), ft(0.0), ft(0.5)
        log2e, ln2hi, ln2lo = K
        pg0, pg1, pg2, pg3, pg4, pg5 = ft(cf[0]), ft(cf[1]), ft(cf[2]), ft(cf[3]), ft(cf[4]), ft(cf[5])
        qg0, qg1, qg2, qg3, qg4, qg5 = ft(cf[6]), ft(cf[7]), ft(cf[8]), ft(cf[9]), ft(cf[10]), ft(cf[11])
        cg = (pg0, pg1, pg2, pg3, pg4, pg5, qg0, qg1, qg2, qg3, qg4, qg5)
        haslj = np.zeros(2, np.bool_)
        for a in range(2):
            for b in range(2):
                if lj1[2 * a + b] != 0 or lj2[2 * a + b] != 0 or lj3w[2 * a + b] != 0 or lj4w[2 * a + b] != 0:
                    haslj[a] = True
        # alpha and alpha^2 as hi + lo pairs in the lane type (lo = 0 in float64): a rounded alpha biases
        # erfc(a r) with an r-dependence the O-O, O-H and H-H sums do not cancel (kernels_mixed).
        al = ft(alpha)
        al_lo = ft(alpha - np.float64(al))
        a2 = ft(alpha * alpha)
        a2_lo = ft(alpha * alpha - np.float64(a2))
        a3 = ft(alpha * alpha * alpha)
        ca = ft(2.0 * _RSQRTPI * alpha)
        c2 = ft(cut2)
        # float64 lanes: the pairs closer than 0.46875/alpha (outside Cody's form) in a scalar pass; the
        # fitted form covers every distance.
        lo2f = ft(-1.0) if FIT else ft((0.46875 / alpha) ** 2)
        maxnb = NL
        for c in range(nclus):
            maxnb = max(maxnb, 4 * (ci_start[c + 1] - ci_start[c]) + NL)
        bx, by, bz = np.empty(maxnb, ft), np.empty(maxnb, ft), np.empty(maxnb, ft)
        b1 = np.empty(maxnb, np.bool_)  # j-slot of type 1
        nib = np.empty(maxnb, np.int32)  # the 4 mask bits of a j-slot, one per i-slot
        # Force on the j-slots from each i-slot, per-lane terms (virial, erfc(a r)/r, r^-6, close pair):
        # plain stores only (sums or read-modify-writes in this loop stop LLVM from vectorising it).
        fjx, fjy, fjz = np.empty((4, maxnb), ft), np.empty((4, maxnb), ft), np.empty((4, maxnb), ft)
        sw4, sc4 = np.zeros((4, maxnb), ft), np.empty((4, maxnb), ft)
        sw, sc, s6, sr = np.empty(maxnb, ft), np.empty(maxnb, ft), np.empty(maxnb, ft), np.empty(maxnb, ft)
        # Per i-cluster, float64: [0:3] force on i, [3] virial, [4] close pairs, [5 + 6 ti + k] the
        # sums of ``sums_e`` for i-type ti.
        out = np.zeros(17)
        # Slots as structure of arrays; per cluster pair and j-slot b its 4 mask bits, one per i-slot.
        nslot = xs.shape[0]
        px, py, pz = np.empty(nslot, ft), np.empty(nslot, ft), np.empty(nslot, ft)
        pb1 = np.empty(nslot, np.bool_)
        fsx, fsy, fsz = np.zeros(nslot), np.zeros(nslot), np.zeros(nslot)
        for s in range(nslot):
            px[s], py[s], pz[s] = xs[s, 0], xs[s, 1], xs[s, 2]
            pb1[s] = tslot[s] == 1
        nibs = np.empty(4 * cj.shape[0], np.int32)
        for p in range(cj.shape[0]):
            m = np.int32(mask[p])
            for b in range(4):
                nibs[4 * p + b] = ((m >> b) & 1) | ((m >> (3 + b)) & 2) | ((m >> (6 + b)) & 4) | ((m >> (9 + b)) & 8)
        e_c = 0.0
        e_lj = 0.0
        w = 0.0
        for c in range(nclus):
            k0, k1 = ci_start[c], ci_start[c + 1]
            if k0 == k1:
                continue
            n = 4 * (k1 - k0)
            npad = (n + NL - 1) // NL * NL
            # 1. The j-clusters' slots, shift folded in: d = xs_i - (xs_j - shift).
            anym = 0
            for p in range(k0, k1):
                d4 = 4 * cj[p]
                q0 = 4 * (p - k0)
                anym |= np.int32(mask[p])
                sx, sy, sz = ft(shift[p, 0]), ft(shift[p, 1]), ft(shift[p, 2])
                # Unsigned indices (no wraparound test) and all loads before the stores: LLVM's SLP pass
                # makes 4-wide moves of them.
                e, f, g = np.uint64(d4), np.uint64(q0), np.uint64(4 * p)
                u0, u1, u2, u3 = px[e], px[e + U1], px[e + U2], px[e + U3]
                v0, v1, v2, v3 = py[e], py[e + U1], py[e + U2], py[e + U3]
                w0, w1, w2, w3 = pz[e], pz[e + U1], pz[e + U2], pz[e + U3]
                e0, e1, e2, e3 = pb1[e], pb1[e + U1], pb1[e + U2], pb1[e + U3]
                n0, n1, n2, n3 = nibs[g], nibs[g + U1], nibs[g + U2], nibs[g + U3]
                bx[f], bx[f + U1], bx[f + U2], bx[f + U3] = u0 - sx, u1 - sx, u2 - sx, u3 - sx
                by[f], by[f + U1], by[f + U2], by[f + U3] = v0 - sy, v1 - sy, v2 - sy, v3 - sy
                bz[f], bz[f + U1], bz[f + U2], bz[f + U3] = w0 - sz, w1 - sz, w2 - sz, w3 - sz
                b1[f], b1[f + U1], b1[f + U2], b1[f + U3] = e0, e1, e2, e3
                nib[f], nib[f + U1], nib[f + U2], nib[f + U3] = n0, n1, n2, n3
            for q in range(n, npad):
                bx[q] = by[q] = bz[q] = zero
                b1[q] = False
                nib[q] = 0
            if VIR:
                out[:] = 0.0
            if ONEPASS:
                # 2'. One pass over the buffer for the 4 i-slots (fitted lanes): the j lanes loaded once,
                # the j forces summed in registers and stored once per lane.
                i0 = 4 * c
                t0, t1, t2, t3 = tslot[i0], tslot[i0 + 1], tslot[i0 + 2], tslot[i0 + 3]
                x0, y0, z0 = xs[i0, 0], xs[i0, 1], xs[i0, 2]
                x1, y1, z1 = xs[i0 + 1, 0], xs[i0 + 1, 1], xs[i0 + 1, 2]
                x2, y2, z2 = xs[i0 + 2, 0], xs[i0 + 2, 1], xs[i0 + 2, 2]
                x3, y3, z3 = xs[i0 + 3, 0], xs[i0 + 3, 1], xs[i0 + 3, 2]
                qa0, qb0, la0, lb0, ma0, mb0 = _row(qq, lj1, lj2, t0)
                qa1, qb1, la1, lb1, ma1, mb1 = _row(qq, lj1, lj2, t1)
                qa2, qb2, la2, lb2, ma2, mb2 = _row(qq, lj1, lj2, t2)
                qa3, qb3, la3, lb3, ma3, mb3 = _row(qq, lj1, lj2, t3)
                g0x, g0y, g0z = fjx[0], fjy[0], fjz[0]  # the j-lane sums G_q (row 0 only)
                s0x = s0y = s0z = s1x = s1y = s1z = s2x = s2y = s2z = s3x = s3y = s3z = zero
                for q in range(npad):
                    bxq, byq, bzq, j1, nq = bx[q], by[q], bz[q], b1[q], nib[q]
                    d0x, d0y, d0z = x0 - bxq, y0 - byq, z0 - bzq
                    d1x, d1y, d1z = x1 - bxq, y1 - byq, z1 - bzq
                    d2x, d2y, d2z = x2 - bxq, y2 - byq, z2 - bzq
                    d3x, d3y, d3z = x3 - bxq, y3 - byq, z3 - bzq
                    f0 = _fit_pair(d0x, d0y, d0z, nq & 1 == 1, j1, qa0, qb0, la0, lb0, ma0, mb0, a2, a2_lo, a3, c2, cg)
                    f1 = _fit_pair(d1x, d1y, d1z, nq & 2 == 2, j1, qa1, qb1, la1, lb1, ma1, mb1, a2, a2_lo, a3, c2, cg)
                    f2 = _fit_pair(d2x, d2y, d2z, nq & 4 == 4, j1, qa2, qb2, la2, lb2, ma2, mb2, a2, a2_lo, a3, c2, cg)
                    f3 = _fit_pair(d3x, d3y, d3z, nq & 8 == 8, j1, qa3, qb3, la3, lb3, ma3, mb3, a2, a2_lo, a3, c2, cg)
                    h0x, h0y, h0z = d0x * f0, d0y * f0, d0z * f0
                    h1x, h1y, h1z = d1x * f1, d1y * f1, d1z * f1
                    h2x, h2y, h2z = d2x * f2, d2y * f2, d2z * f2
                    h3x, h3y, h3z = d3x * f3, d3y * f3, d3z * f3
                    s0x, s0y, s0z = _radd(s0x, h0x), _radd(s0y, h0y), _radd(s0z, h0z)
                    s1x, s1y, s1z = _radd(s1x, h1x), _radd(s1y, h1y), _radd(s1z, h1z)
                    s2x, s2y, s2z = _radd(s2x, h2x), _radd(s2y, h2y), _radd(s2z, h2z)
                    s3x, s3y, s3z = _radd(s3x, h3x), _radd(s3y, h3y), _radd(s3z, h3z)
                    g0x[q] = (h0x + h1x) + (h2x + h3x)
                    g0y[q] = (h0y + h1y) + (h2y + h3y)
                    g0z[q] = (h0z + h1z) + (h2z + h3z)
                if VIR:
                    # Virial without per-lane stores: sum over pairs of d.f, d = x_i - b_q, is
                    # sum_a x_a.S_a - sum_q b_q.G_q (S_a the force on i-slot a, G_q the j-lane sums).
                    vw = -dot_j(npad, bx, by, bz, g0x, g0y, g0z)
                    vw += (
                        np.float64(x0) * np.float64(s0x)
                        + np.float64(y0) * np.float64(s0y)
                        + np.float64(z0) * np.float64(s0z)
                    )
                    vw += (
                        np.float64(x1) * np.float64(s1x)
                        + np.float64(y1) * np.float64(s1y)
                        + np.float64(z1) * np.float64(s1z)
                    )
                    vw += (
                        np.float64(x2) * np.float64(s2x)
                        + np.float64(y2) * np.float64(s2y)
                        + np.float64(z2) * np.float64(s2z)
                    )
                    vw += (
                        np.float64(x3) * np.float64(s3x)
                        + np.float64(y3) * np.float64(s3y)
                        + np.float64(z3) * np.float64(s3z)
                    )
                    out[3] += vw
                if ENE:
                    # r^2 of the listed pairs again (cheap, no division), for the float64 energy terms.
                    for a in range(4):
                        if (anym >> (4 * a)) & 15 == 0:
                            continue
                        xa_, ya_, za_ = xs[i0 + a, 0], xs[i0 + a, 1], xs[i0 + a, 2]
                        sca = sc4[a]
                        for q in range(npad):
                            dx, dy, dz = xa_ - bx[q], ya_ - by[q], za_ - bz[q]
                            r2 = dx * dx + dy * dy + dz * dz
                            ok = ((nib[q] >> a) & 1 == 1) & (r2 < c2)
                            sca[q] = r2 if ok else zero
                        sums_e(npad, sw4[a], sca, s6, b1, out, 5 + 6 * tslot[i0 + a], alpha, ch)
                fs[i0, 0] += np.float64(s0x)
                fs[i0, 1] += np.float64(s0y)
                fs[i0, 2] += np.float64(s0z)
                fs[i0 + 1, 0] += np.float64(s1x)
                fs[i0 + 1, 1] += np.float64(s1y)
                fs[i0 + 1, 2] += np.float64(s1z)
                fs[i0 + 2, 0] += np.float64(s2x)
                fs[i0 + 2, 1] += np.float64(s2y)
                fs[i0 + 2, 2] += np.float64(s2z)
                fs[i0 + 3, 0] += np.float64(s3x)
                fs[i0 + 3, 1] += np.float64(s3y)
                fs[i0 + 3, 2] += np.float64(s3z)
            for a in range(4 if not ONEPASS else 0):
                gxa, gya, gza = fjx[a], fjy[a], fjz[a]
                if (anym >> (4 * a)) & 15 == 0:
                    gxa[:npad] = zero
                    gya[:npad] = zero
                    gza[:npad] = zero
                    continue
                i = 4 * c + a
                ti = tslot[i]
                dolj = haslj[ti]
                xi, yi, zi = xs[i, 0], xs[i, 1], xs[i, 2]
                row = 2 * ti
                qa, qb = ft(qq[row]), ft(qq[row + 1])
                l1a, l1b, l2a, l2b = ft(lj1[row]), ft(lj1[row + 1]), ft(lj2[row]), ft(lj2[row + 1])
                # 2. Branch-free over the buffer, vectorised by LLVM.
                for q in range(npad):
                    dx, dy, dz = xi - bx[q], yi - by[q], zi - bz[q]
                    r2 = dx * dx + dy * dy + dz * dz
                    ok = ((nib[q] >> a) & 1 == 1) & (r2 < c2)
                    if not FIT:
                        sr[q] = one if (ok & (r2 <= lo2f)) else zero
                    ok = ok & (r2 > lo2f)
                    r2s = r2 if ok else one
                    j1 = b1[q]
                    if FIT:
                        # q [1/r^3 - alpha^3 G(z)], G = P/Q; one division gives 1/r^2 and 1/Q.
                        z = a2 * r2s + a2_lo * r2s
                        ng = ((((pg5 * z + pg4) * z + pg3) * z + pg2) * z + pg1) * z + pg0
                        dg = ((((qg5 * z + qg4) * z + qg3) * z + qg2) * z + qg1) * z + qg0
                        inv = one / (dg * r2s)
                        r2i = inv * dg
                        rinv = np.sqrt(r2i)
                        fp = (qb if j1 else qa) * (r2i * rinv - a3 * (ng * inv * r2s))
                    else:
                        y = -(a2 * r2s + a2_lo * r2s)
                        nn = np.floor(y * log2e + halfv)
                        t = (y - nn * ln2hi) - nn * ln2lo
                        pe = E[deg]
                        for k in range(deg - 1, -1, -1):
                            pe = pe * t + E[k]
                        e = pe * _as_float(it((it(nn) + bias) << mant))
                        r = np.sqrt(r2s)
                        xa = al * r + al_lo * r
                        num = C[8] * xa
                        den = xa
                        for k in range(7):
                            num = (num + C[k]) * xa
                            den = (den + D[k]) * xa
                        num = num + C[7]
                        den = den + D[7]
                        inv = one / (den * r2s)
                        r2i = inv * den
                        ec = e * num * inv * r  # erfc(a r) / r, without the charges
                        fp = (qb if j1 else qa) * (ec + ca * e) * r2i
                    if dolj:  # loop-invariant: LLVM unswitches it
                        r6 = r2i * r2i * r2i
                        fp += r6 * ((l1b if j1 else l1a) * r6 - (l2b if j1 else l2a)) * r2i
                        if ENE and not FIT:
                            s6[q] = r6 if ok else zero
                    elif ENE and not FIT:
                        s6[q] = zero
                    fp = fp if ok else zero
                    if ENE:  # float32 lanes: r^2, the energy terms are formed in float64 (sums_e)
                        sc[q] = (r2 if ok else zero) if FIT else (ec if ok else zero)
                    if VIR:
                        sw[q] = r2 * fp
                    gxa[q] = dx * fp
                    gya[q] = dy * fp
                    gza[q] = dz * fp
                sums_f(npad, gxa, gya, gza, sr, out)
                if VIR:
                    sums_e(npad, sw, sc, s6, b1, out, 5 + 6 * ti, alpha, ch)
                fx, fy, fz = out[0], out[1], out[2]
                # float64 lanes: the rare close pairs outside Cody's rational form, straight into the sums.
                if not FIT and out[4] > 0:
                    for q in range(n):
                        dx, dy, dz = xi - bx[q], yi - by[q], zi - bz[q]
                        r2 = dx * dx + dy * dy + dz * dz
                        if (nib[q] >> a) & 1 == 1 and r2 < c2 and r2 <= lo2f:
                            j1 = b1[q]
                            r64 = math.sqrt(np.float64(r2))
                            e64 = math.exp(-alpha * alpha * np.float64(r2))
                            ec64 = _erfc_exp(alpha * r64, e64) / r64
                            r2i64 = 1.0 / np.float64(r2)
                            fp64 = np.float64(qb if j1 else qa) * (ec64 + 2.0 * _RSQRTPI * alpha * e64) * r2i64
                            if ENE:
                                e_c += ec64 * qqw[row + j1]
                            if dolj:
                                r6 = r2i64 * r2i64 * r2i64
                                l1 = np.float64(l1b if j1 else l1a)
                                fp64 += r6 * (l1 * r6 - np.float64(l2b if j1 else l2a)) * r2i64
                                if ENE:
                                    e_lj += r6 * (lj3w[row + j1] * r6 - lj4w[row + j1])
                            if VIR:
                                w += np.float64(r2) * fp64
                            fx += np.float64(dx) * fp64
                            fy += np.float64(dy) * fp64
                            fz += np.float64(dz) * fp64
                            gxa[q] = ft(np.float64(dx) * fp64)
                            gya[q] = ft(np.float64(dy) * fp64)
                            gza[q] = ft(np.float64(dz) * fp64)
                fs[i, 0] += fx
                fs[i, 1] += fy
                fs[i, 2] += fz
            # 3. The cluster's energies with the float64 tables; the j forces back per slot.
            if ENE:
                for ti in range(2):
                    for tj in range(2):
                        tp = 2 * ti + tj
                        b = 5 + 6 * ti + tj
                        e_c += qqw[tp] * out[b]
                        e_lj += lj3w[tp] * out[b + 2] - lj4w[tp] * out[b + 4]
            if VIR:
                w += out[3]
            if ONEPASS:  # unsigned indices: no wraparound test
                gx0, gy0, gz0 = fjx[0], fjy[0], fjz[0]
                for p in range(k0, k1):
                    e, f = np.uint64(4 * cj[p]), np.uint64(4 * (p - k0))
                    for u in (U0, U1, U2, U3):
                        fsx[e + u] -= np.float64(gx0[f + u])
                        fsy[e + u] -= np.float64(gy0[f + u])
                        fsz[e + u] -= np.float64(gz0[f + u])
            for p in range(k0, k1 if not ONEPASS else k0):
                d4 = 4 * cj[p]
                q0 = 4 * (p - k0)
                for b in range(4):
                    q = q0 + b
                    fsx[d4 + b] -= np.float64(fjx[0, q] + fjx[1, q] + fjx[2, q] + fjx[3, q])
                    fsy[d4 + b] -= np.float64(fjy[0, q] + fjy[1, q] + fjy[2, q] + fjy[3, q])
                    fsz[d4 + b] -= np.float64(fjz[0, q] + fjz[1, q] + fjz[2, q] + fjz[3, q])
        for s in range(nslot):
            fs[s, 0] += fsx[s]
            fs[s, 1] += fsy[s]
            fs[s, 2] += fsz[s]
        return e_lj, e_c, w

    return kern


_KERNELS = {}


def _kernel(single, calc, fit=None):
    if njit is None:
        raise NotSuitableError("numba is not installed")
    fit = bool(single) if fit is None else bool(fit)
    if (single, calc, fit) not in _KERNELS:
        _KERNELS[single, calc, fit] = _make(single, calc, fit)
    return _KERNELS[single, calc, fit]


@override("water_cluster_forces", "numpy")
def cluster_forces_numba(xs, tslot, ci_start, cj, mask, shift, tab, alpha, cutoff, energy=True, virial=True, _fit=None):
    """``energy``/``virial`` false: the force-only variants (forces bitwise those of the full kernel; the
    skipped values come back as NaN). ``_fit``: benchmarks only (see :func:`_make`)."""
    if not isinstance(xs, np.ndarray) or xs.dtype not in (np.float64, np.float32):
        raise NotSuitableError("NumPy float arrays only")
    single = xs.dtype == np.float32
    ft = xs.dtype
    fs = np.zeros((xs.shape[0], 3))
    nan = np.float64("nan")
    if cj.shape[0] == 0:
        z = np.float64(0.0)
        return fs, (z if energy else nan), (z if energy else nan), (z if energy or virial else nan)
    t = {k: np.ascontiguousarray(tab[k], dtype=np.float64).ravel() for k in ("lj1", "lj2", "lj3", "lj4", "qq")}
    if int(np.asarray(tab["qq"]).shape[0]) != 2:
        raise NotSuitableError("two atom types (O, H) only")
    if tslot.shape[0] and int(np.max(tslot)) > 1:
        raise NotSuitableError("atom types 0 and 1 only")
    fit_form = bool(single) if _fit is None else bool(_fit)
    if fit_form:
        try:
            fit = real_space_fit(alpha, cutoff)
        except ValueError as exc:
            raise NotSuitableError(str(exc)) from None
        cf, ch = fit.packed(), np.concatenate([fit.ph64, fit.qh64])
    else:
        cf, ch = np.zeros(24, np.float32), np.zeros(12)
    calc = 2 if energy else (1 if virial else 0)
    e_lj, e_c, w = _kernel(single, calc, fit_form)(
        np.ascontiguousarray(xs),
        np.ascontiguousarray(tslot, dtype=np.int32),
        np.ascontiguousarray(ci_start, dtype=np.int32),
        np.ascontiguousarray(cj, dtype=np.int32),
        np.ascontiguousarray(mask, dtype=np.uint16),
        np.ascontiguousarray(shift, dtype=np.float32),
        t["lj1"].astype(ft),
        t["lj2"].astype(ft),
        t["qq"].astype(ft),
        t["lj3"],
        t["lj4"],
        t["qq"],
        float(alpha),
        float(cutoff) ** 2,
        cf,
        ch,
        fs,
    )
    if not energy:
        e_lj = e_c = nan
    if not (energy or virial):
        w = nan
    return fs, np.float64(e_lj), np.float64(e_c), np.float64(w)
