r"""Cluster-pair lists of rigid water: spatial clusters of 4 atoms and a masked list of cluster pairs.

The scheme of GROMACS's nbnxm (S. Páll and B. Hess, "A flexible algorithm for calculating pair
interactions on SIMD architectures", Comput. Phys. Commun. 184, 2641 (2013)) with its domain
decomposition's half-shell zone rule (B. Hess, C. Kutzner, D. van der Spoel, E. Lindahl, J. Chem.
Theory Comput. 4, 435 (2008)).

**Layout** (the contract of every ``water_cluster_forces`` kernel, CPU and GPU alike):

* ``CLUSTER = 4`` atoms. At every outer-list build the owned atoms (rows ``< nlocal`` of ``x``,
  ``(nall, 3)`` float64) and the ghost atoms of the upper half shell (below) are clustered *separately*:
  each set (and each zone of the half shell) binned into columns in x-y of about 4 atoms' footprint (side :math:`(4/\rho)^{1/3}`,
  :math:`\rho` the owned atoms' density), sorted by z in each column and cut into groups of 4; fillers pad
  each column's last cluster. Owned clusters come first (``nown`` of them), then ghost clusters; the
  ghost atoms of the lower half shell have no slot.
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

**Which rank computes a pair** (:func:`upper_half`): a pair of two owned atoms, on their rank; a pair of
an owned atom and a ghost, on this rank when the ghost's molecule lies in the *upper half shell*: its
oxygen, at the build, above the sub-domain in z, or level in z and above in y, or level in z and y and
above in x (the region of a ghost is a property of the decomposition: the same pair seen from the other
rank, or through the other periodic image, has the opposite region, so exactly one computes it). Pairs of
two ghosts are never listed. The rule is per cluster pair, not per atom pair, so ghost cluster pairs are
as full as owned ones (the molecule-level rule of the atom list, partner above in z, split them).

**Outer list** (:func:`outer_list`, at every outer-list build): cluster pairs ``(c, d)``, ``c`` owned,
``d >= c`` (owned or ghost), whose *anchor boxes* are closer than the molecule outer cutoff
:math:`r_o = r_c + s_a + 2 r_{OH} + s_m` (:func:`.pairlist.outer_cutoff`); a cluster's anchor box bounds
the oxygens of the molecules of its atoms. As long as every oxygen has moved less than :math:`s_m/2`
(the solver's rebuild rule) any site pair that comes within :math:`r_c + s_a` belongs to molecules
whose oxygens were within :math:`r_o`, hence to a listed cluster pair. The search bins clusters by the
centres of their anchor boxes on a grid of cells and visits rows of cells (contiguous in memory). The
mask holds every real, intermolecular slot pair (diagonal: ``a < b``).

**Dynamic pruning** (:func:`prune`): when an atom has moved more than half the atom skin, the outer list
is pruned to the pairs within :math:`r_c + s_a` now (cluster bounding boxes first, then the 16 slot
pairs without branches, in float64): every intermolecular pair within reach, exactly once.
"""

import numpy as np

from .cody import njit

CLUSTER = 4
FILLER = 1.0e4  # A: packed position of a filler slot (masked anyway; far from every real slot)
CENTER_GRID = 2.0**-12  # A: centres on this grid make center[ci] - center[cj] exact in float32
CELL = 0.5  # search cells of this fraction of the outer cutoff (measured: 0.25 to 1 within 15 %)


def half_shell(o, nown, lo, hi):
    """int ``(nmol_all - nown,)``: for each ghost molecule (oxygens ``o[nown:]`` at the build) its zone of the
    upper half shell of the sub-domain ``[lo, hi)``, ``0..12`` (the 13 regions above, module notes), or ``-1``
    in the lower half. Owned oxygens lie in ``[lo, hi)`` at a build, a ghost's never."""
    og = np.asarray(o, dtype=np.float64)[nown:]
    s = np.where(og >= np.asarray(hi, float), 1, np.where(og < np.asarray(lo, float), -1, 0))
    if np.any(np.all(s == 0, axis=1)):
        raise RuntimeError("cluster half shell: a ghost oxygen lies inside the sub-domain at a build")
    code = (s[:, 2] * 3 + s[:, 1]) * 3 + s[:, 0]  # -13..13, antisymmetric; upper (z, then y, then x) > 0
    return np.where(code > 0, code - 1, -1)


def upper_half(o, nown, lo, hi):
    """bool: the ghost molecules of the upper half shell (:func:`half_shell`)."""
    return half_shell(o, nown, lo, hi) >= 0


def _columns(x, rows, side, by_oxygen=False):
    """``(perm, center)`` of the atoms ``rows`` of ``x`` cut into column clusters of edge ``side`` [A]."""
    n = rows.shape[0]
    if n == 0:
        return np.zeros(0, np.int32), np.zeros((0, 3))
    xr = x[rows]
    # The columns span the box of the oxygens when the set has any (the hydrogens sticking out of it
    # would leave thin edge columns whose clusters span the column's height), clipped at its edges.
    ox = xr[rows % 3 == 0] if by_oxygen else xr
    if ox.shape[0] == 0:
        ox = xr
    lo, hi = ox.min(axis=0), ox.max(axis=0)
    ext = np.maximum(hi - lo, 1e-3)
    ncx, ncy = (max(1, int(round(ext[d] / side))) for d in (0, 1))
    perm, center = _column_sort(xr, rows, lo, ext, ncx, ncy)
    return perm, np.round(center / CENTER_GRID) * CENTER_GRID


def layout(x):
    """``(perm, center, slot_of)`` of all the atoms ``x`` as one set (:func:`zoned_layout` without ghosts;
    the kernels' sample inputs); ``slot_of`` int64 ``(nall,)`` is the inverse of ``perm``."""
    perm, center, _ = zoned_layout(x, by_oxygen=False)
    slot_of = np.empty(np.asarray(x).shape[0], np.int64)
    real = perm >= 0
    slot_of[perm[real]] = np.nonzero(real)[0]
    return perm, center, slot_of


def zoned_layout(x, nlocal=None, ghosts=(), by_oxygen=True):
    """``(perm, center, nown)`` of the owned atoms (rows ``< nlocal``) and the ghost atoms of ``x`` (host
    ``(nall, 3)`` float64), see the module notes; ``nown`` is the number of owned clusters. ``ghosts``: a
    sequence of arrays of ghost rows, each clustered on its own grid (the zones of the half shell: a grid
    fitted to each zone's box leaves no sparse columns along the zones' edges). ``by_oxygen``: rows are
    molecules' sites O, H, H and the columns span the oxygens' box (and the owned oxygens' density sets
    their side). Defaults: every row owned, no ghost."""
    x = np.asarray(x, dtype=np.float64)
    nlocal = x.shape[0] if nlocal is None else int(nlocal)
    if nlocal == 0:  # no owned atom: no pair on this rank
        return np.zeros(0, np.int32), np.zeros((0, 3)), 0
    own = x[0:nlocal:3] if by_oxygen else x[:nlocal]
    ext = np.maximum(own.max(axis=0) - own.min(axis=0), 1e-3)
    side = (CLUSTER * float(np.prod(ext)) / nlocal) ** (1.0 / 3.0)
    parts = [_columns(x, np.arange(nlocal, dtype=np.int64), side, by_oxygen)]
    parts += [_columns(x, np.asarray(g, np.int64), side, by_oxygen) for g in ghosts]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), parts[0][1].shape[0]


if njit is not None:

    @njit(cache=True, nogil=True, error_model="numpy")
    def _column_sort(xr, rows, lo, ext, ncx, ncy):
        """Atoms binned into ``ncx x ncy`` columns (by column, then by z, ties in row order), cut into 4s:
        ``perm`` and the unrounded centres (sums in slot order)."""
        n = xr.shape[0]
        col = np.empty(n, np.int64)
        cnt = np.zeros(ncx * ncy + 1, np.int64)
        fx, fy = ncx / ext[0], ncy / ext[1]
        for i in range(n):
            ix = max(min(np.int64((xr[i, 0] - lo[0]) * fx), ncx - 1), 0)
            iy = max(min(np.int64((xr[i, 1] - lo[1]) * fy), ncy - 1), 0)
            col[i] = ix * ncy + iy
            cnt[col[i] + 1] += 1
        astart = np.zeros(ncx * ncy + 1, np.int64)
        cstart = np.zeros(ncx * ncy + 1, np.int64)
        for k in range(ncx * ncy):
            astart[k + 1] = astart[k] + cnt[k + 1]
            cstart[k + 1] = cstart[k] + (cnt[k + 1] + 3) // 4
        fill = astart[:-1].copy()
        order = np.empty(n, np.int64)
        for i in range(n):
            order[fill[col[i]]] = i
            fill[col[i]] += 1
        for k in range(ncx * ncy):  # stable insertion sort by z within each column
            for q in range(astart[k] + 1, astart[k + 1]):
                v = order[q]
                z = xr[v, 2]
                r = q - 1
                while r >= astart[k] and xr[order[r], 2] > z:
                    order[r + 1] = order[r]
                    r -= 1
                order[r + 1] = v
        nclus = cstart[-1]
        perm = np.full(4 * nclus, -1, np.int32)
        center = np.zeros((nclus, 3))
        num = np.zeros(nclus)
        for k in range(ncx * ncy):
            for q in range(astart[k], astart[k + 1]):
                slot = 4 * cstart[k] + (q - astart[k])
                i = order[q]
                perm[slot] = rows[i]
                c = slot // 4
                num[c] += 1.0
                for d in range(3):
                    center[c, d] += xr[i, d]
        for c in range(nclus):
            for d in range(3):
                center[c, d] /= num[c]
        return perm, center

    @njit(cache=True, nogil=True, error_model="numpy")
    def _grid(alo, ahi, c0, c1, edge):
        """Clusters ``c0..c1`` binned by the centres of their boxes on cells of ``edge`` [A]: ``(order, blo,
        bhi, start, nb, glo, hmax)``, boxes copied in cell order (rows of cells along x contiguous)."""
        n = c1 - c0
        glo = np.full(3, np.inf)
        ghi = np.full(3, -np.inf)
        hmax = np.zeros(3)
        for c in range(c0, c1):
            for k in range(3):
                m = 0.5 * (alo[c, k] + ahi[c, k])
                glo[k] = min(glo[k], m)
                ghi[k] = max(ghi[k], m)
                hmax[k] = max(hmax[k], 0.5 * (ahi[c, k] - alo[c, k]))
        nb = np.ones(3, np.int64)
        for k in range(3):
            if n:
                nb[k] = max(1, int((ghi[k] - glo[k]) / edge) + 1)
        key = np.empty(n, np.int64)
        start = np.zeros(nb[0] * nb[1] * nb[2] + 1, np.int64)
        for c in range(c0, c1):
            ii = np.empty(3, np.int64)
            for k in range(3):
                ii[k] = min(int((0.5 * (alo[c, k] + ahi[c, k]) - glo[k]) / edge), nb[k] - 1)
            key[c - c0] = (ii[2] * nb[1] + ii[1]) * nb[0] + ii[0]
            start[key[c - c0] + 1] += 1
        for k in range(start.shape[0] - 1):
            start[k + 1] += start[k]
        fill = start[:-1].copy()
        order = np.empty(n, np.int64)
        for c in range(n):  # stable: within a cell, by cluster index
            order[fill[key[c]]] = c + c0
            fill[key[c]] += 1
        blo = np.empty((n, 3))
        bhi = np.empty((n, 3))
        for q in range(n):
            for k in range(3):
                blo[q, k] = alo[order[q], k]
                bhi[q, k] = ahi[order[q], k]
        return order, blo, bhi, start, nb, glo, hmax

    @njit(cache=True, nogil=True, error_model="numpy")
    def _search(lo_c, hi_c, grid, edge, cut, first, found, nt):
        """Append to ``found`` the clusters ``d`` of ``grid`` whose boxes are closer than ``cut`` to the box
        ``[lo_c, hi_c]``, as ``2 d + 1`` when the boxes intersect, else ``2 d``; ``first >= 0``: only those at position ``>= first`` in the grid's cell order (the
        cell rows from the one holding position ``first`` on). Returns the new count."""
        order, blo, bhi, start, nb, glo, hmax = grid
        if order.shape[0] == 0:
            return nt
        cut2 = cut * cut
        lo_ = np.empty(3, np.int64)
        hi_ = np.empty(3, np.int64)
        for k in range(3):
            ctr = 0.5 * (lo_c[k] + hi_c[k])
            r = cut + 0.5 * (hi_c[k] - lo_c[k]) + hmax[k]
            lo_[k] = max(0, int(np.floor((ctr - r - glo[k]) / edge)))
            hi_[k] = min(nb[k] - 1, int(np.floor((ctr + r - glo[k]) / edge)))
        for i2 in range(lo_[2], hi_[2] + 1):
            # Gap in z and y between the box and the row's cells (centres within the cell, boxes within hmax).
            gz = max(glo[2] + i2 * edge - hmax[2] - hi_c[2], lo_c[2] - (glo[2] + (i2 + 1) * edge + hmax[2]), 0.0)
            for i1 in range(lo_[1], hi_[1] + 1):
                gy = max(glo[1] + i1 * edge - hmax[1] - hi_c[1], lo_c[1] - (glo[1] + (i1 + 1) * edge + hmax[1]), 0.0)
                if gz * gz + gy * gy >= cut2:
                    continue
                row = (i2 * nb[1] + i1) * nb[0]
                s0, s1 = start[row + lo_[0]], start[row + hi_[0] + 1]
                if first >= 0:
                    if s1 <= first:
                        continue  # a row of cells before the i-cluster's own: its pairs are listed there
                    s0 = max(s0, first)
                for s in range(s0, s1):
                    gap = 0.0
                    for k in range(3):
                        g = max(blo[s, k] - hi_c[k], lo_c[k] - bhi[s, k], 0.0)
                        gap += g * g
                    found[nt] = 2 * order[s] + (gap == 0.0)  # bit 0: the boxes intersect
                    nt += gap < cut2
        return nt

    @njit(cache=True, nogil=True, error_model="numpy")
    def _anchor_boxes(x, perm):
        nclus = perm.shape[0] // 4
        alo = np.full((nclus, 3), np.inf)
        ahi = np.full((nclus, 3), -np.inf)
        for s in range(perm.shape[0]):
            a = perm[s]
            if a < 0:
                continue
            c = s >> 2
            o = a - a % 3  # the molecule's oxygen (rows O, H, H)
            for k in range(3):
                alo[c, k] = min(alo[c, k], x[o, k])
                ahi[c, k] = max(ahi[c, k], x[o, k])
        return alo, ahi

    @njit(cache=True, nogil=True, error_model="numpy")
    def _cell_order(x, perm, nown, cut):
        """The clusters in the cell order of :func:`_outer`'s two grids (owned first, then ghosts)."""
        alo, ahi = _anchor_boxes(x, perm)
        nclus = alo.shape[0]
        out = np.empty(nclus, np.int64)
        out[:nown] = _grid(alo, ahi, 0, nown, CELL * cut)[0]
        out[nown:] = _grid(alo, ahi, nown, nclus, CELL * cut)[0]
        return out

    @njit(cache=True, nogil=True, error_model="numpy")
    def _outer(x, perm, nown, cut):
        """Outer cluster list (CSR by i-cluster) by anchor-box distance ``< cut`` (module notes)."""
        nclus = perm.shape[0] // 4
        alo, ahi = _anchor_boxes(x, perm)
        # Slot-pair bits of real slots: rows a of ci times columns b of cj; diagonal a < b.
        rowbits = np.zeros(nclus, np.int64)
        colbits = np.zeros(nclus, np.int64)
        molslot = np.empty(perm.shape[0], np.int64)  # molecule of a slot; fillers all distinct
        for s in range(perm.shape[0]):
            a = perm[s]
            molslot[s] = a // 3 if a >= 0 else -1 - s
            if a >= 0:
                rowbits[s >> 2] |= 0xF << (4 * (s & 3))
                colbits[s >> 2] |= 0x1111 << (s & 3)
        upper = 0
        for a in range(4):
            for b in range(a + 1, 4):
                upper |= 1 << (4 * a + b)
        ci_start = np.zeros(nclus + 1, np.int32)
        if nown == 0:
            return ci_start, np.zeros(0, np.int32), np.zeros(0, np.uint16)
        # Two grids: owned clusters (a pair of two listed on the row of the one first in cell order: half
        # the stencil) and ghost clusters (all of the stencil).
        edge = CELL * cut
        gown = _grid(alo, ahi, 0, nown, edge)
        ggh = _grid(alo, ahi, nown, nclus, edge)
        pos = np.empty(nown, np.int64)
        for q in range(nown):
            pos[gown[0][q]] = q
        found = np.empty(nclus, np.int64)
        cap = max(1024, 96 * nown)
        cj = np.empty(cap, np.int32)
        mask = np.empty(cap, np.uint16)
        m = 0
        for c in range(nown):
            nt = _search(alo[c], ahi[c], gown, edge, cut, pos[c], found, 0)
            nt = _search(alo[c], ahi[c], ggh, edge, cut, -1, found, nt)
            if m + nt > cap:
                cap = 2 * (m + nt)
                cj2 = np.empty(cap, np.int32)
                mk2 = np.empty(cap, np.uint16)
                cj2[:m] = cj[:m]
                mk2[:m] = mask[:m]
                cj, mask = cj2, mk2
            lst = found[:nt]
            # j-clusters in increasing order (the kernel reads them in memory order): already so when the
            # clusters are numbered in cell order (:func:`cell_order`), the order the rows are searched in.
            for t in range(1, nt):
                if lst[t] < lst[t - 1]:
                    lst.sort()
                    break
            for t in range(nt):
                d = lst[t] >> 1
                bits = rowbits[c] & colbits[d]
                if d == c:
                    bits &= upper
                # A shared molecule means a shared oxygen: the anchor boxes intersect (found's bit 0).
                if d < nown and lst[t] & 1:  # same-molecule pairs (owned only: a ghost is another molecule's image)
                    same = 0
                    for a in range(4):
                        for b in range(4):
                            same |= np.int64(molslot[4 * c + a] == molslot[4 * d + b]) << (4 * a + b)
                    bits &= ~same
                if bits:
                    cj[m] = d
                    mask[m] = np.uint16(bits)
                    m += 1
            ci_start[c + 1] = m
        for c in range(nown, nclus):
            ci_start[c + 1] = m
        return ci_start, cj[:m].copy(), mask[:m].copy()

    @njit(cache=True, nogil=True, error_model="numpy")
    def _prune(x, perm, center, ci_start, cj, mask, cut2):
        """Pairs of the outer list within sqrt(cut2) in ``x`` (float64): bounding boxes first, then 16 bits."""
        nclus = ci_start.shape[0] - 1
        nslot = perm.shape[0]
        px = np.empty(nslot)
        py = np.empty(nslot)
        pz = np.empty(nslot)
        bmin = np.full((nclus, 3), np.inf)
        bmax = np.full((nclus, 3), -np.inf)
        for s in range(nslot):
            a = perm[s]
            c = s >> 2
            if a >= 0:
                px[s], py[s], pz[s] = x[a, 0], x[a, 1], x[a, 2]
                for d in range(3):
                    bmin[c, d] = min(bmin[c, d], x[a, d])
                    bmax[c, d] = max(bmax[c, d], x[a, d])
            else:
                px[s] = py[s] = pz[s] = 1e30
        out_start = np.zeros(nclus + 1, np.int32)
        out_cj = np.empty(cj.shape[0], np.int32)
        out_mask = np.empty(cj.shape[0], np.uint16)
        shift = np.empty((cj.shape[0], 3), np.float32)
        m = 0
        xi = np.empty(4)
        yi = np.empty(4)
        zi = np.empty(4)
        wide = 0
        for c in range(nclus):
            wide = max(wide, ci_start[c + 1] - ci_start[c])
        surv = np.empty(wide, np.int64)
        for c in range(nclus):
            p0, p1 = ci_start[c], ci_start[c + 1]
            if p0 == p1:
                out_start[c + 1] = m
                continue
            for a in range(4):
                xi[a], yi[a], zi[a] = px[4 * c + a], py[4 * c + a], pz[4 * c + a]
            # 1. Bounding boxes, branch-free (about half the pairs go each way): survivors compacted.
            ns = 0
            for p in range(p0, p1):
                d = cj[p]
                gap = 0.0
                for k in range(3):
                    g = max(bmin[d, k] - bmax[c, k], bmin[c, k] - bmax[d, k], 0.0)
                    gap += g * g
                surv[ns] = p
                ns += gap < cut2
            # 2. The 16 slot pairs of the survivors.
            for q in range(ns):
                p = surv[q]
                d = cj[p]
                keep = 0
                t = 4 * d
                for a in range(4):
                    xa, ya, za = xi[a], yi[a], zi[a]
                    for b in range(4):
                        r2 = (xa - px[t + b]) ** 2 + (ya - py[t + b]) ** 2 + (za - pz[t + b]) ** 2
                        keep |= np.int64(r2 < cut2) << (4 * a + b)
                keep &= np.int64(mask[p])
                out_cj[m] = d
                out_mask[m] = np.uint16(keep)
                for k in range(3):
                    shift[m, k] = np.float32(center[c, k] - center[d, k])
                m += np.int64(keep != 0)
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


def cell_order(x, perm, nown, cut):
    """A renumbering of the clusters of ``perm`` (owned first, then ghosts, each in the order of the cells
    of their anchor boxes) under which :func:`outer_list`'s rows come out sorted (no sort per row)."""
    if perm.shape[0] == 0:
        return np.zeros(0, np.int64)
    return _cell_order(np.ascontiguousarray(x, dtype=np.float64), perm, int(nown), float(cut))


def outer_list(x, perm, nown, cut):
    """``(ci_start, cj, mask)``: the outer cluster list, anchor boxes closer than ``cut`` [A] (module notes)."""
    return _outer(np.ascontiguousarray(x, dtype=np.float64), perm, int(nown), float(cut))


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


def efficiency(x, perm, ci_start, cj, mask, cut, nown):
    """Pair efficiency of a cluster list at positions ``x``: ``{"all", "owned", "ghost"}`` each
    ``(pairs within cut, slot pairs evaluated = 16 x cluster pairs)``; "ghost": cluster pairs with a
    ghost cluster."""
    pr = atom_pairs(perm, ci_start, cj, mask)
    nbit = (
        np.unpackbits(np.ascontiguousarray(mask, dtype=np.uint16).view(np.uint8))
        .reshape(-1, 16)
        .sum(axis=1)
        .astype(np.int64)
    )
    pc = np.repeat(np.arange(cj.shape[0]), nbit)
    d = x[pr[:, 0]] - x[pr[:, 1]]
    inside = np.einsum("ij,ij->i", d, d) < cut * cut
    ghost = cj >= nown
    out = {}
    for name, sel in (("all", np.ones_like(ghost)), ("owned", ~ghost), ("ghost", ghost)):
        out[name] = (int(np.sum(inside & sel[pc])), 16 * int(np.sum(sel)))
    return out


class ClusterPairList:
    """The cluster layout and the outer and inner cluster-pair lists of one rank (module notes).

    Built at an outer-list build from the positions ``x`` (all rows, host or backend array), the number of
    owned atoms ``nlocal``, the ghost rows of the upper half shell by zone ``ghosts`` and the outer cutoff
    ``cutouter`` [A]; :meth:`prune` makes the inner list; :meth:`pack` and :meth:`scatter` move positions
    and forces between atom rows and slots. ``dtype``: the kernel's position type (float32: mixed)."""

    def __init__(self, backend, x, types, nlocal, ghosts, cutouter, dtype):
        if njit is None:  # pragma: no cover - the scheme is only selected with numba
            raise RuntimeError("the cluster-pair scheme needs numba")
        self.backend, self.dtype = backend, np.dtype(dtype)
        xh = np.ascontiguousarray(backend.to_host(x), dtype=np.float64)
        self.nall = xh.shape[0]
        perm, center, self.nown = zoned_layout(xh, nlocal, ghosts)
        order = cell_order(xh, perm, self.nown, cutouter)
        self.perm, self.center = np.ascontiguousarray(perm.reshape(-1, 4)[order].reshape(-1)), center[order]
        self.nclus = self.center.shape[0]
        th = backend.to_host(types)
        self.tslot = np.where(self.perm >= 0, th[np.maximum(self.perm, 0)], 0).astype(np.int32)
        self.outer = outer_list(xh, self.perm, self.nown, cutouter)
        self.ci_start, self.cj, self.mask, self.shift = self.outer[0], self.outer[1][:0], self.outer[2][:0], None

    @classmethod
    def on_domain(cls, backend, domain, x, types, nlocal, cutouter, dtype):
        """The lists of a rank of ``domain`` (:class:`zzhpc.particles.Domain`, ghosts just made by
        ``borders`` from whole molecules, ``x`` its rows as atoms O, H, H): ghosts of the upper half shell."""
        oxy = backend.to_host(x)[0::3]
        nm = int(nlocal) // 3
        zone = np.repeat(half_shell(oxy, nm, domain.sublo, domain.subhi), 3)
        order = np.argsort(zone, kind="stable")
        bounds = np.searchsorted(zone[order], np.arange(14))
        ghosts = [order[bounds[k] : bounds[k + 1]] + 3 * nm for k in range(13)]
        return cls(backend, x, types, nlocal, ghosts, cutouter, dtype)

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
