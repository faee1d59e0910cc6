r"""Real-space non-bonded kernels of rigid water: Lennard-Jones plus the screened Coulomb term of Ewald.

For every pair of atoms of *different* molecules closer than the cutoff :math:`r_c` (atom-based cutoff,
as OpenMM's NonbondedForce with PME, no shift and no switch),

.. math::
    E_{ij} = 4\epsilon_{ij}\left[\left(\frac{\sigma_{ij}}{r}\right)^{12} - \left(\frac{\sigma_{ij}}{r}\right)^6\right]
           + k_e q_i q_j \frac{\operatorname{erfc}(\alpha r)}{r},

with Lorentz-Berthelot mixing :math:`\sigma_{ij} = (\sigma_i + \sigma_j)/2`,
:math:`\epsilon_{ij} = \sqrt{\epsilon_i\epsilon_j}` and the Coulomb constant :math:`k_e` = ``QQRD2E``.
The pair force is :math:`\mathbf{f}_{ij} = F(r)\,\mathbf{r}_{ij}` with

.. math::
    F(r) = \frac{48\epsilon\sigma^{12}}{r^{14}} - \frac{24\epsilon\sigma^6}{r^8}
         + \frac{k_e q_i q_j}{r^2}\left[\frac{\operatorname{erfc}(\alpha r)}{r}
           + \frac{2\alpha}{\sqrt\pi} e^{-\alpha^2 r^2}\right].

Neighbour lists, ghost rows and the half/full conventions are those of :mod:`zzhpc.particles.neighbors`.
Pairs within a molecule are skipped (their reciprocal-space part is removed by
:func:`exclusion_correction`). Ewald splitting: Allen & Tildesley, *Computer Simulation of Liquids*
(2nd ed., 2017), sec. 6.2.
"""

import math

import numpy as np
from array_api_compat import array_namespace, device as _dev

from ...device import erfc, kernel, scatter_add
from .ewald_fit import real_space_fit

# Coulomb constant 1/(4 pi eps0) in kcal mol^-1 A e^-2: OpenMM 8's ONE_4PI_EPS0 (CODATA 2018,
# 138.93545764438198 kJ mol^-1 nm e^-2; older OpenMM releases used 138.935456, 1.2e-8 lower).
QQRD2E = 138.93545764438198 * 10.0 / 4.184
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def pair_tables(model, cutoff, qqrd2e=QQRD2E):
    """Host tables ``(2, 2)`` per atom-type pair: ``lj1..lj4`` (48/24/4/4 eps sigma^12|6) and ``qq``.

    ``qq`` is :math:`k_e q_a q_b` [kcal/mol A]; ``cutsq`` the squared cutoff (all pairs).
    """
    tab = {k: np.zeros((2, 2)) for k in ("lj1", "lj2", "lj3", "lj4", "qq")}
    q = model.charges
    for a in range(2):
        for b in range(2):
            sig, eps = model.lj_pair(a, b)
            s6 = sig**6
            tab["lj1"][a, b], tab["lj2"][a, b] = 48.0 * eps * s6 * s6, 24.0 * eps * s6
            tab["lj3"][a, b], tab["lj4"][a, b] = 4.0 * eps * s6 * s6, 4.0 * eps * s6
            tab["qq"][a, b] = qqrd2e * q[a] * q[b]
    tab["cutsq"] = np.full((2, 2), float(cutoff) ** 2)
    return tab


def _sample_pairs(rng):
    """Random atoms on a jittered lattice (no two closer than 0.7 A), 240 owned, 120 ghosts."""
    from ...particles.neighbors import neighbor_list
    from .models import MODELS

    g = np.arange(11) * 1.2 - 2.5
    sites = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3)
    x = sites[rng.choice(sites.shape[0], size=360, replace=False)] + rng.uniform(-0.25, 0.25, size=(360, 3))
    n = 240
    mol = np.concatenate([np.arange(n) // 3, n // 3 + rng.integers(0, 30, size=360 - n)])
    types = np.concatenate([np.tile([0, 1, 1], n // 3), rng.integers(0, 2, size=360 - n)])
    neigh = neighbor_list(x, n, (-3.0,) * 3, (11.0,) * 3, 2.5, True)
    return (x, types, mol, neigh, n, pair_tables(MODELS["spce"], 2.2), 0.35, True), {}


@kernel("water_pair_forces", sample=_sample_pairs)
def pair_forces(x, types, mol, neigh, nlocal, tab, alpha, half, mixed=False, energy=True, virial=True):
    """LJ + real-space Ewald Coulomb forces, energies and virial over a neighbour list.

    Returns ``(f, e_lj, e_coul, virial)``: ``f`` is ``(nall, 3)`` (ghost rows filled only when
    ``half``), energies [kcal/mol] and the pair virial :math:`\\sum \\mathbf{r}_{ij}\\cdot\\mathbf{f}_{ij}`
    over the pairs this rank owns, as 0-d arrays. ``tab`` holds :func:`pair_tables` as arrays of the
    namespace of ``x``; ``alpha`` is the Ewald splitting parameter [1/A]. ``mixed``: the pair terms in
    float32 from differences taken in ``x.dtype``, the sums in ``x.dtype`` (:func:`_pair_forces_mixed`).
    ``energy``/``virial`` false: forces only (an override may skip those terms; they come back as NaN).
    """
    if not (energy and virial):
        f, e_lj, e_coul, w = pair_forces(x, types, mol, neigh, nlocal, tab, alpha, half, mixed)
        nan = array_namespace(x).asarray(float("nan"), dtype=x.dtype, device=_dev(x))
        return f, (e_lj if energy else nan), (e_coul if energy else nan), (w if virial else nan)
    if mixed:
        return _pair_forces_mixed(x, types, mol, neigh, nlocal, tab, alpha, half)
    xp = array_namespace(x)
    nall = x.shape[0]
    f = xp.zeros((nall, 3), dtype=x.dtype, device=_dev(x))
    if neigh.shape[1] == 0 or nlocal == 0:
        zero = xp.sum(f[:0, 0])
        return f, zero, zero, zero
    valid = neigh >= 0
    j = xp.where(valid, neigh, 0)
    dvec = x[:nlocal][:, None, :] - x[j]
    r2 = xp.sum(dvec * dvec, axis=-1)
    ti, tj = types[:nlocal][:, None], types[j]
    m = valid & (r2 < tab["cutsq"][ti, tj]) & (mol[:nlocal][:, None] != mol[j])
    r2s = xp.where(m, r2, 1.0)
    r2i = 1.0 / r2s
    r6i = r2i * r2i * r2i
    r = xp.sqrt(r2s)
    qq = tab["qq"][ti, tj]
    ec = qq * erfc(alpha * r) / r
    fc = (ec + qq * TWO_OVER_SQRT_PI * alpha * xp.exp(-alpha * alpha * r2s)) * r2i
    flj = r6i * (tab["lj1"][ti, tj] * r6i - tab["lj2"][ti, tj]) * r2i
    fpair = xp.where(m, flj + fc, 0.0)
    e_lj = xp.sum(xp.where(m, r6i * (tab["lj3"][ti, tj] * r6i - tab["lj4"][ti, tj]), 0.0))
    e_coul = xp.sum(xp.where(m, ec, 0.0))
    fij = dvec * fpair[..., None]
    f[:nlocal, :] = xp.sum(fij, axis=1)
    virial = xp.sum(r2 * fpair)
    if half:
        scatter_add(f, xp.reshape(j[m], (-1,)), -fij[m])
    else:
        e_lj, e_coul, virial = 0.5 * e_lj, 0.5 * e_coul, 0.5 * virial
    return f, e_lj, e_coul, virial


def _pair_forces_mixed(x, types, mol, neigh, nlocal, tab, alpha, half):
    """Mixed-precision form of :func:`pair_forces` (docs/precision.md): the differences of the positions
    in ``x.dtype`` (float64 where the device has it), then rounded to float32; every pair term in float32;
    forces, energies and virial summed in ``x.dtype`` (on a float32 device NumPy's pairwise sums keep
    the rounding error growing as log n). The cutoff test uses the unrounded distance, so the pairs are
    those of the uniform-precision kernel."""
    xp = array_namespace(x)
    acc, f32 = x.dtype, xp.float32
    nall = x.shape[0]
    f = xp.zeros((nall, 3), dtype=acc, device=_dev(x))
    if neigh.shape[1] == 0 or nlocal == 0:
        zero = xp.sum(f[:0, 0])
        return f, zero, zero, zero
    valid = neigh >= 0
    j = xp.where(valid, neigh, 0)
    dvec = x[:nlocal][:, None, :] - x[j]
    r2w = xp.sum(dvec * dvec, axis=-1)
    ti, tj = types[:nlocal][:, None], types[j]
    m = valid & (r2w < tab["cutsq"][ti, tj]) & (mol[:nlocal][:, None] != mol[j])
    d = xp.astype(dvec, f32)
    r2 = xp.sum(d * d, axis=-1)
    r2s = xp.where(m, r2, xp.asarray(1.0, dtype=f32))
    t32 = {k: xp.astype(tab[k], f32) for k in ("lj1", "lj2", "lj3", "lj4", "qq")}
    # alpha as a float32 pair hi + lo: a rounded alpha biases erfc(a r) with a distance dependence that the
    # cancelling type-pair sums do not cancel.
    a = xp.asarray(alpha, dtype=f32)
    a_lo = xp.asarray(alpha - float(a), dtype=f32)
    a2 = xp.asarray(alpha * alpha, dtype=f32)
    a2_lo = xp.asarray(alpha * alpha - float(a2), dtype=f32)
    r2i = 1.0 / r2s
    r6i = r2i * r2i * r2i
    r = xp.sqrt(r2s)
    qq = t32["qq"][ti, tj]
    ec = erfc(a * r + a_lo * r) / r  # without the charges: they multiply in the wide sums below
    fc = qq * (ec + xp.asarray(TWO_OVER_SQRT_PI * alpha, dtype=f32) * xp.exp(-(a2 * r2s + a2_lo * r2s))) * r2i
    flj = r6i * (t32["lj1"][ti, tj] * r6i - t32["lj2"][ti, tj]) * r2i
    zero32 = xp.asarray(0.0, dtype=f32)
    fpair = xp.where(m, flj + fc, zero32)
    # Energies: float32 pair values times the tables in the wide type (a rounded table entry would bias
    # every pair of its type pair alike).
    r6w = xp.astype(xp.where(m, r6i, zero32), acc)
    e_lj = xp.sum(r6w * (tab["lj3"][ti, tj] * r6w - tab["lj4"][ti, tj]))
    e_coul = xp.sum(xp.astype(xp.where(m, ec, zero32), acc) * tab["qq"][ti, tj])
    fij = xp.astype(d * fpair[..., None], acc)
    f[:nlocal, :] = xp.sum(fij, axis=1)
    virial = xp.sum(xp.astype(r2 * fpair, acc))
    if half:
        scatter_add(f, xp.reshape(j[m], (-1,)), -fij[m])
    else:
        e_lj, e_coul, virial = 0.5 * e_lj, 0.5 * e_coul, 0.5 * virial
    return f, e_lj, e_coul, virial


def _sample_clusters(rng):
    """The jittered-lattice atoms of :func:`_sample_pairs` in the cluster layout of :mod:`.clusters`, the
    pairs of different molecules within 2.6 A (a half list) as cluster-pair masks; float64."""
    from . import clusters

    args, _ = _sample_pairs(rng)
    x, types, mol, tab = args[0], args[1], args[2], args[5]
    perm, center, slot_of = clusters.layout(x)
    n = x.shape[0]
    a, b = np.triu_indices(n, 1)
    keep = (np.sum((x[a] - x[b]) ** 2, axis=1) < 2.6**2) & (mol[a] != mol[b])
    sa, sb = slot_of[a[keep]], slot_of[b[keep]]
    sa, sb = np.minimum(sa, sb), np.maximum(sa, sb)  # i-slot in the lower cluster (diagonal: a < b)
    key = (sa // 4) * (perm.size // 4) + sb // 4
    uk, inv = np.unique(key, return_inverse=True)
    mask = np.bincount(inv, weights=2.0 ** (4 * (sa % 4) + sb % 4)).astype(np.uint16)
    ci, cj = uk // (perm.size // 4), uk % (perm.size // 4)
    ci_start = np.searchsorted(ci, np.arange(perm.size // 4 + 1)).astype(np.int32)
    shift = (center[ci] - center[cj]).astype(np.float32)
    xs = np.where(perm[:, None] >= 0, x[np.maximum(perm, 0)] - center[np.arange(perm.size) // 4], clusters.FILLER)
    tslot = np.where(perm >= 0, types[np.maximum(perm, 0)], 0).astype(np.int32)
    return (xs, tslot, ci_start, cj.astype(np.int32), mask, shift, tab, 0.35, 2.2), {}


@kernel("water_cluster_forces", sample=_sample_clusters)
def cluster_forces(xs, tslot, ci_start, cj, mask, shift, tab, alpha, cutoff, energy=True, virial=True):
    """LJ + real-space Ewald forces over a cluster-pair list (layout: :mod:`.clusters`), reference in ``xp``.

    ``xs`` ``(4 nclus, 3)``: slot positions relative to their cluster's centre; its dtype is the lane type
    of the pair terms (float32: the mixed mode, with the real-space Coulomb terms in the erfc-free form of
    :mod:`.ewald_fit`; float64: as :func:`pair_forces`); forces, energies and the virial are summed in the
    tables' type (float64 unless the device has none). Every listed pair counts once. Returns ``(fs
    (4 nclus, 3), e_lj, e_coul, virial)``; ``fs`` per slot (add to ``f[perm]``). ``tab``: :func:`pair_tables`;
    ``cutoff`` [A], applied to the lane-type ``r^2``. ``energy``/``virial`` false: the steps that need
    forces only (an override may skip those terms); the skipped values come back as NaN.
    """
    xp = array_namespace(xs)
    dev = _dev(xs)
    lane, acc = xs.dtype, tab["qq"].dtype  # sums in the tables' type: float64 unless the device has none
    fs = xp.zeros((xs.shape[0], 3), dtype=acc, device=dev)
    npair = cj.shape[0]
    if npair == 0:
        zero = xp.sum(fs[:0, 0])
        return fs, zero, zero, zero
    counts = xp.astype(ci_start[1:] - ci_start[:-1], xp.int64)
    ci = xp.repeat(xp.arange(counts.shape[0], dtype=xp.int64, device=dev), counts)
    s = xp.arange(4, dtype=xp.int64, device=dev)
    i = 4 * ci[:, None, None] + s[None, :, None] + 0 * s[None, None, :]
    j = 4 * xp.astype(cj, xp.int64)[:, None, None] + 0 * s[None, :, None] + s[None, None, :]
    bit = (xp.astype(mask, xp.int64)[:, None, None] >> (4 * s[None, :, None] + s[None, None, :])) & 1
    d = xs[i] - xs[j] + xp.astype(shift, lane)[:, None, None, :]
    r2 = xp.sum(d * d, axis=-1)
    m = (bit == 1) & (r2 < xp.asarray(float(cutoff) ** 2, dtype=lane))
    ti, tj = tslot[i], tslot[j]
    one, zero = xp.asarray(1.0, dtype=lane), xp.asarray(0.0, dtype=lane)
    r2s = xp.where(m, r2, one)
    tl = {k: xp.astype(tab[k], lane) for k in ("lj1", "lj2", "qq")}
    a = xp.asarray(alpha, dtype=lane)
    a_lo = xp.asarray(alpha - float(a), dtype=lane)  # alpha as hi + lo in float32 (see _pair_forces_mixed)
    a2 = xp.asarray(alpha * alpha, dtype=lane)
    a2_lo = xp.asarray(alpha * alpha - float(a2), dtype=lane)
    if lane == xp.float32:
        # q [1/r^3 - alpha^3 G(z)] and q [1/r - alpha H(z)], z = alpha^2 r^2 (ewald_fit): no exp, no erfc.
        fit = real_space_fit(alpha, cutoff)
        c = {k: xp.asarray(getattr(fit, k), device=dev) for k in ("pg", "qg")}
        z = a2 * r2s + a2_lo * r2s
        dg = _horner(c["qg"], z)
        inv = one / (dg * r2s)
        r2i = inv * dg
        rinv = xp.sqrt(r2i)
        a3 = xp.asarray(alpha**3, dtype=lane)
        fc = tl["qq"][ti, tj] * (r2i * rinv - a3 * (_horner(c["pg"], z) * inv * r2s))
        # Energies from the lane r^2 in the sum type: 1/r - alpha H(z) in float32 is biased by some 1e-8
        # of 1/r, which the cancelling type-pair sums amplify (docs/water.md).
        r2w = xp.astype(r2s, acc)
        zw = alpha * alpha * r2w
        ph, qh = (xp.asarray(v, dtype=acc, device=dev) for v in (fit.ph64, fit.qh64))  # no float64: acc
        hw = _horner(ph, zw) / _horner(qh, zw)
        ecw = xp.where(m, 1.0 / xp.sqrt(r2w) - alpha * hw, 0.0)
        r2iw = 1.0 / r2w
        r6w = xp.where(m, r2iw * r2iw * r2iw, 0.0)
    else:
        r2i = one / r2s
        r = xp.sqrt(r2s)
        ec = erfc(a * r + a_lo * r) / r
        e = xp.exp(-(a2 * r2s + a2_lo * r2s))
        fc = tl["qq"][ti, tj] * (ec + xp.asarray(TWO_OVER_SQRT_PI * alpha, dtype=lane) * e) * r2i
    r6i = r2i * r2i * r2i
    fpair = xp.where(m, fc + r6i * (tl["lj1"][ti, tj] * r6i - tl["lj2"][ti, tj]) * r2i, zero)
    if lane != xp.float32:
        r6w = xp.astype(xp.where(m, r6i, zero), acc)
        ecw = xp.astype(xp.where(m, ec, zero), acc)
    e_lj = xp.sum(r6w * (tab["lj3"][ti, tj] * r6w - tab["lj4"][ti, tj]))
    e_coul = xp.sum(ecw * tab["qq"][ti, tj])
    fij = xp.astype(d, acc) * xp.astype(fpair, acc)[..., None]
    virial = xp.sum(xp.astype(r2, acc) * xp.astype(fpair, acc))
    scatter_add(fs, xp.reshape(i, (-1,)), xp.reshape(fij, (-1, 3)))
    scatter_add(fs, xp.reshape(j, (-1,)), -xp.reshape(fij, (-1, 3)))
    nan = xp.asarray(float("nan"), dtype=acc, device=dev)
    if not energy:
        e_lj = e_coul = nan
    if not (energy or virial):
        virial = nan
    return fs, e_lj, e_coul, virial


def _horner(c, z):
    """``sum c[k] z^k`` by Horner in the type of ``z`` (``c`` ascending)."""
    acc = c[-1] + 0 * z
    for k in range(c.shape[0] - 2, -1, -1):
        acc = acc * z + c[k]
    return acc


def _sample_exclusion(rng):
    """40 random molecules of SPC/E geometry in a 12 A box, some straddling its edges, and 10 ghost rows."""
    from .builder import molecule_frame, random_rotations
    from .models import MODELS

    model = MODELS["spce"]
    n = 40
    sites = molecule_frame(model)[None] @ np.swapaxes(random_rotations(rng, n), 1, 2)
    x = (rng.uniform(0.0, 12.0, size=(n, 1, 3)) + sites).reshape(-1, 3)
    x = np.concatenate([x, rng.uniform(0.0, 12.0, size=(10, 3))])
    q = np.concatenate([np.tile([model.q_O, model.q_H, model.q_H], n), rng.uniform(-1.0, 1.0, size=10)])
    return (x, q, n, 0.31, [12.0, 12.0, 12.0]), {}


@kernel("water_exclusion", sample=_sample_exclusion)
def exclusion_correction(x, q, nmol, alpha, lengths, qqrd2e=QQRD2E):
    r"""Remove the reciprocal-space interaction of the pairs inside each owned molecule.

    The reciprocal sum includes every pair; for the three intramolecular pairs of molecule ``m``
    (rows ``3m..3m+2``) it must not, so :math:`E = -k_e \sum q_i q_j \operatorname{erf}(\alpha r)/r`.
    Returns ``(f (3 nmol, 3), energy, virial)`` for rows ``0 .. 3 nmol``, with the minimum image
    between atoms of a molecule (a molecule may straddle the box edge).
    """
    xp = array_namespace(x)
    f = xp.zeros((3 * nmol, 3), dtype=x.dtype, device=_dev(x))
    if nmol == 0:
        zero = xp.sum(f[:0, 0])
        return f, zero, zero
    xm = xp.reshape(x[: 3 * nmol], (nmol, 3, 3))
    qm = xp.reshape(q[: 3 * nmol], (nmol, 3))
    box = xp.asarray(lengths, dtype=x.dtype, device=_dev(x))
    fm = xp.zeros((nmol, 3, 3), dtype=x.dtype, device=_dev(x))
    e = w = 0.0
    for a, b in ((0, 1), (0, 2), (1, 2)):
        d = xm[:, a, :] - xm[:, b, :]
        d = d - box * xp.round(d / box)
        r2 = xp.sum(d * d, axis=1)
        r = xp.sqrt(r2)
        qq = qqrd2e * qm[:, a] * qm[:, b]
        erf = 1.0 - erfc(alpha * r)
        ep = -qq * erf / r
        # d/dr [erf(ar)/r] = 2a/sqrt(pi) exp(-a^2 r^2)/r - erf(ar)/r^2; F(r) = -dE/dr / r
        fp = (ep + qq * TWO_OVER_SQRT_PI * alpha * xp.exp(-alpha * alpha * r2)) / r2
        fab = d * fp[:, None]
        fm[:, a, :] += fab
        fm[:, b, :] -= fab
        e = e + xp.sum(ep)
        w = w + xp.sum(r2 * fp)
    f = xp.reshape(fm, (3 * nmol, 3))
    return f, e, w


def self_energy(q_sq_sum, alpha, qqrd2e=QQRD2E):
    r"""Ewald self term :math:`-k_e \frac{\alpha}{\sqrt\pi}\sum_i q_i^2` [kcal/mol]."""
    return -qqrd2e * alpha / math.sqrt(math.pi) * q_sq_sum
