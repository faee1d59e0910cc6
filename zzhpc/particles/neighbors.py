r"""Cell-binned Verlet neighbour lists against ``xp``: the reference kernel ``md_neighbor_list``.

These are the references every faster override (``kernels_numba``, ``kernels_cuda``) is checked
against. Pair kernels (MD's Lennard-Jones and Stillinger-Weber, water's LJ + Ewald) read these
lists. Conventions shared by every implementation:

* ``x`` is ``(nall, 3)``: the ``nlocal`` owned atoms first, then the ghost atoms.
* A neighbour list is an integer array ``(nlocal, maxn)``; row ``i`` holds the neighbours of atom ``i``
  within ``cutneigh`` (pair cutoff + skin) first, padded with ``-1``.
* ``half=True`` (Newton's third law on, LAMMPS ``newton on``): each pair is stored once, on the row of
  its "lower" atom: ``j`` is listed on row ``i`` when it lies above ``i`` (larger z, then y, then x). The
  same rule decides local-ghost pairs, so a pair spanning two ranks, or an atom and a periodic image, is
  counted by exactly one rank; the forces on ghosts are then sent back to their owners. Being geometric,
  the rule gives every row about half the neighbours (an index rule would give the first atoms nearly
  all of theirs, and the padded list the width of a full list), and no partner lies in the bins below.
* ``half=False``: every local atom lists all its neighbours; no ghost forces.

Binning follows Allen & Tildesley, *Computer Simulation of Liquids* (2nd ed., 2017), sec. 5.3.
"""

import math

import numpy as np
from array_api_compat import array_namespace, device as _dev

from ..device import kernel

_STENCIL = [(dx, dy, dz) for dz in (-1, 0, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def bin_geometry(lo, hi, cutneigh):
    """Bins of edge >= ``cutneigh`` covering ``[lo, hi]``: ``(nbins[3], binsize[3])``."""
    nb = [max(1, int(math.floor((h - l) / cutneigh))) for l, h in zip(lo, hi)]
    return nb, [(h - l) / n for l, h, n in zip(lo, hi, nb)]


def _sample_neighbors(rng):
    x, nlocal, lo, hi = random_system(rng)
    return (x, nlocal, lo, hi, 1.3, True), {}


def random_system(rng, n=300, nghost=120, box=6.0):
    x = rng.uniform(0, box, size=(n + nghost, 3))
    x[n:] = rng.uniform(-1.3, box + 1.3, size=(nghost, 3))
    return x, n, (-1.3, -1.3, -1.3), (box + 1.3, box + 1.3, box + 1.3)


def canonical_neighbors(neigh):
    """Rows sorted, padding last, width trimmed to the longest row: two lists of the same pairs agree."""
    neigh = np.asarray(neigh)
    big = np.iinfo(np.int64).max
    rows = np.sort(np.where(neigh < 0, big, neigh.astype(np.int64)), axis=1)
    width = int((rows < big).sum(axis=1).max()) if rows.size else 0
    return np.where(rows[:, :width] == big, -1, rows[:, :width])


@kernel("md_neighbor_list", sample=_sample_neighbors, canonical=canonical_neighbors)
def neighbor_list(x, nlocal, lo, hi, cutneigh, half, chunk=4096):
    """Neighbour list ``(nlocal, maxn)`` of the atoms in ``x`` within ``cutneigh`` (see module notes).

    ``lo``/``hi`` bound the region holding every atom (sub-domain plus ghost shell).
    """
    xp = array_namespace(x)
    nall = x.shape[0]
    idt = xp.int64
    nb, size = bin_geometry(lo, hi, cutneigh)
    ncell = nb[0] * nb[1] * nb[2]
    c = []
    for d in range(3):
        cd = xp.astype(xp.floor((x[:, d] - lo[d]) / size[d]), idt)
        c.append(xp.clip(cd, 0, nb[d] - 1))
    cell = (c[2] * nb[1] + c[1]) * nb[0] + c[0]
    order = xp.argsort(cell, stable=True)
    sc = cell[order]
    ids = xp.arange(ncell, dtype=idt, device=_dev(x))
    start = xp.searchsorted(sc, ids)
    count = xp.searchsorted(sc, ids, side="right") - start
    maxc = max(int(xp.max(count)), 1)
    slot = xp.arange(nall, dtype=idt, device=_dev(x)) - start[sc]
    table = xp.full(((ncell + 1) * maxc,), -1, dtype=idt, device=_dev(x))
    table[sc * maxc + slot] = order
    table = xp.reshape(table, (ncell + 1, maxc))  # the last row is the empty cell beyond the edges
    cut2 = cutneigh * cutneigh
    parts, maxn = [], 0
    for i0 in range(0, nlocal, chunk):
        i1 = min(nlocal, i0 + chunk)
        ii = xp.arange(i0, i1, dtype=idt, device=_dev(x))
        cells = []
        for dx, dy, dz in _STENCIL:
            ok = None
            idx = 0
            for d, off, mul in ((0, dx, 1), (1, dy, nb[0]), (2, dz, nb[0] * nb[1])):
                cd = c[d][i0:i1] + off
                good = (cd >= 0) & (cd < nb[d])
                ok = good if ok is None else ok & good
                idx = idx + cd * mul
            cells.append(xp.where(ok, idx, ncell))
        cand = xp.reshape(table[xp.stack(cells, axis=1)], (i1 - i0, 27 * maxc))
        valid = cand >= 0
        j = xp.where(valid, cand, 0)
        dvec = x[j] - x[i0:i1][:, None, :]
        r2 = xp.sum(dvec * dvec, axis=-1)
        keep = valid & (r2 < cut2) & (j != ii[:, None])
        if half:
            dxj, dyj, dzj = dvec[..., 0], dvec[..., 1], dvec[..., 2]
            above = (dzj > 0) | ((dzj == 0) & ((dyj > 0) | ((dyj == 0) & (dxj > 0))))
            keep = keep & above
        pos = xp.cumulative_sum(xp.astype(keep, idt), axis=1) - 1
        rows = xp.broadcast_to(ii[:, None], keep.shape)
        parts.append((rows[keep], pos[keep], j[keep]))
        if keep.shape[1]:
            maxn = max(maxn, int(xp.max(pos[:, -1])) + 1)
    neigh = xp.full((nlocal, maxn), -1, dtype=idt, device=_dev(x))
    for rows, pos, jj in parts:
        neigh[rows, pos] = jj
    return neigh
