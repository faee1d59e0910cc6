r"""Cluster-pair lists of rigid water: spatial clusters of 4 atoms and a masked list of cluster pairs.

The scheme of GROMACS's nbnxm (S. Páll and B. Hess, "A flexible algorithm for calculating pair
interactions on SIMD architectures", Comput. Phys. Commun. 184, 2641 (2013)), on top of the molecule
outer list of :mod:`.pairlist`, which stays the source of truth of *which* atom pairs are computed.

**Layout** (the contract of every ``water_cluster_forces`` kernel, CPU and GPU alike):

* ``CLUSTER = 4`` atoms. At every outer-list build all atoms of the rank (owned and ghost rows of
  ``x``, ``(nall, 3)`` float64) are binned into columns in x-y of about 4 atoms' footprint
  (side :math:`(4/\rho)^{1/3}`, :math:`\rho` the atom density of their bounding box), sorted by z in
  each column and cut into groups of 4; fillers pad each column's last cluster.
* ``perm`` int32 ``(4 nclus,)``: the atom (row of ``x``) of each slot, ``-1`` for a filler.
  ``center`` float64 ``(nclus, 3)``: each cluster's centre at the build, the mean of its atoms rounded
  to a multiple of :math:`2^{-12}` A, so that the difference of two centres is exact in float32.
* Per step ``xs`` ``(4 nclus, 3)`` (float32 in the mixed mode, else the positions' dtype)
  ``= x[perm] - center[slot // 4]``, fillers at ``FILLER`` A (and masked); ``tslot`` int32 the atom type
  of each slot (fillers: type 0, masked).
* Inner list, CSR by i-cluster: ``ci_start`` int32 ``(nclus + 1,)``, ``cj`` int32 ``(npair,)``,
  ``mask`` uint16 ``(npair,)`` with bit ``4 a + b`` set when slot ``a`` of cluster ``ci`` and slot ``b``
  of cluster ``cj`` are a pair to compute, ``shift`` float32 ``(npair, 3) = center[ci] - center[cj]``: the
  pair vector is ``xs[4 ci + a] - xs[4 cj + b] + shift`` (rounded to float32 relative to the cluster
  centres only, as the atom kernel's per-pair differences). Every listed atom pair appears once
  (diagonal ``ci == cj``: bit ``4 a + b`` with ``a < b`` only); forces come back per slot and are added to
  ``f[perm]`` (one atom per slot: no conflicts); the kernel applies :math:`r^2 < r_c^2` every step.

**Which pairs.** Every site pair of every molecule pair of the outer list ``mneigh`` (half rule across
ranks at molecule level, same-molecule pairs never listed) sets its bit in the cluster pair
``(min(c_a, c_b), max(c_a, c_b))`` (bits swapped with the clusters): the *outer* cluster list, valid as
long as the molecule list is. **Dynamic pruning** (:func:`prune`): when an atom has moved more than
half the atom skin, the outer cluster list is pruned to the pairs within :math:`r_c + s_a` now (a
cluster pair whose bounding boxes are farther apart is dropped whole; otherwise bit by bit in float64),
the same rule and the same pairs as the atom list of :func:`.pairlist.prune`.
"""

import numpy as np

from .cody import njit

CLUSTER = 4
FILLER = 1.0e4  # A: packed position of a filler slot (masked anyway; far from every real slot)
CENTER_GRID = 2.0**-12  # A: centres on this grid make center[ci] - center[cj] exact in float32


def layout(x):
    """``(perm, center, slot_of)`` of the atoms ``x`` (host ``(nall, 3)`` float64), see the module notes;
    ``slot_of`` int64 ``(nall,)`` is the inverse of ``perm``."""
    x = np.asarray(x, dtype=np.float64)
    nall = x.shape[0]
    if nall == 0:
        return np.zeros(0, np.int32), np.zeros((0, 3)), np.zeros(0, np.int64)
    lo, hi = x.min(axis=0), x.max(axis=0)
    ext = np.maximum(hi - lo, 1e-3)
    rho = nall / float(np.prod(ext))
    side = (CLUSTER / rho) ** (1.0 / 3.0)
    ncx, ncy = (max(1, int(round(ext[d] / side))) for d in (0, 1))
    ix = np.minimum(((x[:, 0] - lo[0]) * (ncx / ext[0])).astype(np.int64), ncx - 1)
    iy = np.minimum(((x[:, 1] - lo[1]) * (ncy / ext[1])).astype(np.int64), ncy - 1)
    col = ix * ncy + iy
    order = np.lexsort((x[:, 2], col))
    cnt = np.bincount(col, minlength=ncx * ncy)
    ncl = (cnt + CLUSTER - 1) // CLUSTER
    cstart = np.cumsum(ncl) - ncl
    astart = np.cumsum(cnt) - cnt
    cs = col[order]
    slot = CLUSTER * cstart[cs] + (np.arange(nall) - astart[cs])
    nclus = int(ncl.sum())
    perm = np.full(CLUSTER * nclus, -1, np.int32)
    perm[slot] = order
    slot_of = np.empty(nall, np.int64)
    slot_of[order] = slot
    cl = slot // CLUSTER
    n = np.bincount(cl, minlength=nclus).astype(np.float64)
    center = np.stack([np.bincount(cl, weights=x[order, d], minlength=nclus) / n for d in range(3)], axis=1)
    center = np.round(center / CENTER_GRID) * CENTER_GRID
    return perm, center, slot_of


if njit is not None:

    @njit(cache=True, nogil=True)
    def _outer(mneigh, nmol, slot_of, nclus):
        """Outer cluster list (CSR by i-cluster) of every site pair of the molecule pairs in ``mneigh``.

        Row by row of i-clusters: each site pair is reached from both of its clusters (through the
        forward molecule list and its transpose) and kept by the lower cluster only (diagonal: slot
        a < b), its bit set in a dense accumulator over j-clusters; no list of all site pairs is
        ever stored."""
        w = mneigh.shape[1]
        nmol_all = slot_of.shape[0] // 3
        rcnt = np.zeros(nmol_all + 1, np.int64)
        for i in range(nmol):
            for k in range(w):
                j = mneigh[i, k]
                if j < 0:
                    break
                rcnt[j + 1] += 1
        rstart = np.cumsum(rcnt)
        rpos = rstart[:-1].copy()
        rev = np.empty(rstart[-1], np.int64)  # for molecule J, the rows I that list it
        for i in range(nmol):
            for k in range(w):
                j = mneigh[i, k]
                if j < 0:
                    break
                rev[rpos[j]] = i
                rpos[j] += 1
        atom_of = np.full(4 * nclus, -1, np.int64)
        for a in range(slot_of.shape[0]):
            atom_of[slot_of[a]] = a
        acc = np.zeros(nclus, np.uint16)
        touched = np.empty(nclus, np.int32)
        cap = max(1024, 64 * nclus)
        ci_start = np.zeros(nclus + 1, np.int32)
        cj = np.empty(cap, np.int32)
        mask = np.empty(cap, np.uint16)
        m = 0
        for c in range(nclus):
            nt = 0
            for sa in range(4):
                a = atom_of[4 * c + sa]
                if a < 0:
                    continue
                mi = a // 3
                nf = 0
                if mi < nmol:
                    while nf < w and mneigh[mi, nf] >= 0:
                        nf += 1
                r0 = rstart[mi]
                for t in range(nf + rstart[mi + 1] - r0):
                    mj = mneigh[mi, t] if t < nf else rev[r0 + t - nf]
                    for sb in range(3):
                        b = slot_of[3 * mj + sb]
                        d = b >> 2
                        if d < c or (d == c and (b & 3) <= sa):
                            continue
                        if acc[d] == 0:
                            touched[nt] = d
                            nt += 1
                        acc[d] |= np.uint16(1 << (4 * sa + (b & 3)))
            if m + nt > cap:
                cap = 2 * (m + nt)
                cj2 = np.empty(cap, np.int32)
                mk2 = np.empty(cap, np.uint16)
                cj2[:m] = cj[:m]
                mk2[:m] = mask[:m]
                cj, mask = cj2, mk2
            row = touched[:nt]
            row.sort()  # j-clusters in increasing order: the kernel reads them in memory order
            for t in range(nt):
                d = row[t]
                cj[m] = d
                mask[m] = acc[d]
                acc[d] = 0
                m += 1
            ci_start[c + 1] = m
        return ci_start, cj[:m].copy(), mask[:m].copy()

    @njit(cache=True, nogil=True, error_model="numpy")
    def _prune(x, perm, center, ci_start, cj, mask, cut2):
        """Pairs of the outer list within sqrt(cut2) in ``x`` (float64): bounding boxes first, then bits."""
        nclus = ci_start.shape[0] - 1
        nslot = perm.shape[0]
        xc = np.empty((nslot, 3))
        bmin = np.full((nclus, 3), np.inf)
        bmax = np.full((nclus, 3), -np.inf)
        for s in range(nslot):
            a = perm[s]
            c = s >> 2
            for d in range(3):
                if a >= 0:
                    v = x[a, d]
                    xc[s, d] = v
                    bmin[c, d] = min(bmin[c, d], v)
                    bmax[c, d] = max(bmax[c, d], v)
                else:
                    xc[s, d] = 1e30
        out_start = np.zeros(nclus + 1, np.int32)
        out_cj = np.empty(cj.shape[0], np.int32)
        out_mask = np.empty(cj.shape[0], np.uint16)
        shift = np.empty((cj.shape[0], 3), np.float32)
        m = 0
        for c in range(nclus):
            for p in range(ci_start[c], ci_start[c + 1]):
                d = cj[p]
                gap = 0.0
                for k in range(3):
                    g = max(bmin[d, k] - bmax[c, k], bmin[c, k] - bmax[d, k], 0.0)
                    gap += g * g
                if gap >= cut2:
                    continue
                bits = np.int64(mask[p])
                keep = 0
                for a in range(4):
                    s = 4 * c + a
                    for b in range(4):
                        t = 4 * d + b
                        r2 = (xc[s, 0] - xc[t, 0]) ** 2 + (xc[s, 1] - xc[t, 1]) ** 2 + (xc[s, 2] - xc[t, 2]) ** 2
                        bit = 4 * a + b
                        keep |= ((bits >> bit) & 1 & np.int64(r2 < cut2)) << bit
                if keep:
                    out_cj[m] = d
                    out_mask[m] = np.uint16(keep)
                    for k in range(3):
                        shift[m, k] = np.float32(center[c, k] - center[d, k])
                    m += 1
            out_start[c + 1] = m
        return out_start, out_cj[:m].copy(), out_mask[:m].copy(), shift[:m].copy()

    @njit(cache=True, nogil=True)
    def _pack(x, perm, center, xs):
        for s in range(perm.shape[0]):
            a = perm[s]
            c = s >> 2
            for d in range(3):
                xs[s, d] = x[a, d] - center[c, d] if a >= 0 else 1.0e4

    @njit(cache=True, nogil=True)
    def _scatter(fs, perm, f):
        for s in range(perm.shape[0]):
            a = perm[s]
            if a >= 0:
                for d in range(3):
                    f[a, d] += fs[s, d]


def outer_list(mneigh, nmol, slot_of, nclus):
    """``(ci_start, cj, mask)``: the outer cluster list from the molecule list (module notes)."""
    return _outer(np.ascontiguousarray(mneigh, dtype=np.int64), int(nmol), slot_of, int(nclus))


def prune(x, perm, center, ci_start, cj, mask, cut):
    """``(ci_start, cj, mask, shift)``: the pairs of the outer list closer than ``cut`` [A] in ``x``."""
    return _prune(np.ascontiguousarray(x, dtype=np.float64), perm, center, ci_start, cj, mask, float(cut) ** 2)


def atom_pairs(perm, ci_start, cj, mask):
    """The atom pairs ``(npairs, 2)`` (rows of ``x``, each pair sorted) a cluster list holds (tests, checks)."""
    ci = np.repeat(np.arange(ci_start.shape[0] - 1), np.diff(ci_start))
    bits = (mask[:, None].astype(np.int64) >> np.arange(16)) & 1
    p, bit = np.nonzero(bits)
    a = perm[4 * ci[p] + bit // 4]
    b = perm[4 * cj[p] + bit % 4]
    return np.sort(np.stack([a, b], axis=1), axis=1)


class ClusterPairList:
    """The cluster layout and the outer and inner cluster-pair lists of one rank (module notes).

    Built from the positions ``x`` (all rows, host or backend array) and the molecule outer list at an
    outer-list build; :meth:`prune` makes the inner list; :meth:`pack` and :meth:`scatter` move positions
    and forces between atom rows and slots. ``dtype``: the kernel's position type (float32: mixed)."""

    def __init__(self, backend, x, types, mneigh, nmol, dtype):
        if njit is None:  # pragma: no cover - the scheme is only selected with numba
            raise RuntimeError("the cluster-pair scheme needs numba")
        self.backend, self.dtype = backend, np.dtype(dtype)
        xh = backend.to_host(x)
        self.nall = xh.shape[0]
        self.perm, self.center, slot_of = layout(xh)
        self.nclus = self.center.shape[0]
        th = backend.to_host(types)
        self.tslot = np.where(self.perm >= 0, th[np.maximum(self.perm, 0)], 0).astype(np.int32)
        self.outer = outer_list(backend.to_host(mneigh), nmol, slot_of, self.nclus)
        self.ci_start, self.cj, self.mask, self.shift = self.outer[0], self.outer[1][:0], self.outer[2][:0], None

    def prune(self, x, cut):
        """Inner list: the outer list's pairs within ``cut`` [A] in ``x`` now."""
        self.ci_start, self.cj, self.mask, self.shift = prune(
            self.backend.to_host(x), self.perm, self.center, *self.outer, cut
        )

    def pack(self, x):
        """``xs`` ``(4 nclus, 3)`` in the kernel's dtype: positions relative to the cluster centres."""
        xs = np.empty((self.perm.shape[0], 3), self.dtype)
        _pack(np.ascontiguousarray(self.backend.to_host(x)), self.perm, self.center, xs)
        return xs

    def scatter(self, fs, f):
        """Add the slot forces ``fs`` to the atom rows of ``f`` (host float array, in place)."""
        _scatter(fs, self.perm, f)

    @property
    def npairs(self):
        return int(self.cj.shape[0])

    def nbytes(self):
        arrays = (self.perm, self.center, self.tslot, self.ci_start, self.cj, self.mask, self.shift) + tuple(self.outer)
        return sum(a.nbytes for a in arrays if a is not None)
