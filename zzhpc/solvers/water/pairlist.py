r"""Two-level neighbour lists for rigid three-site water: an outer list of molecule pairs, pruned to
atom pairs.

Sites are stored molecule by molecule (O, H, H; owned molecules first, then whole ghost molecules,
see ``Domain.borders`` with ``(n, 9)`` rows), so molecule ``I`` is atoms ``3I, 3I+1, 3I+2``.

* **Outer list** (``md_neighbor_list`` on the oxygens, half): molecule pairs with
  :math:`|O_I - O_J| < r_c + s_a + 2 d + s_m` at its build, :math:`d` the largest O-site distance.
  It stays valid while every oxygen has moved less than :math:`s_m / 2` (molecule skin): any pair of
  sites that can come within :math:`r_c + s_a` of each other belongs to a listed molecule pair,
  whatever the molecules' rotations. Oxygens move about 3.5x less than hydrogens between builds
  (TIP3P, 300 K), so the outer list and the ghosts are rebuilt several times less often than an atom
  list would be.
* **Atom list** (:func:`prune`, this module's kernel ``water_pair_list``): the site pairs of the
  listed molecule pairs within :math:`r_c + s_a` now, on the rows of the first molecule's sites
  (the outer list's half rule at molecule level: every site pair once, across ranks too). Rebuilt
  when an atom has moved more than :math:`s_a/2` since the last prune: a scan of contiguous
  molecules instead of a search of bins.
"""

import numpy as np
from array_api_compat import array_namespace, device as _dev

from ...device import kernel
from ...particles.neighbors import canonical_neighbors


def outer_cutoff(cutoff, skin, molecule_skin, site_reach):
    """O-O cutoff of the outer list: r_c + s_a + 2 d + s_m [A]."""
    return float(cutoff) + float(skin) + 2.0 * float(site_reach) + float(molecule_skin)


def _sample(rng, nmol=60, nghost=25, box=7.0):
    o = rng.uniform(0, box, size=(nmol + nghost, 3))
    o[nmol:] = rng.uniform(-2.0, box + 2.0, size=(nghost, 3))
    h = rng.normal(size=(nmol + nghost, 2, 3))
    h *= 0.96 / np.linalg.norm(h, axis=2, keepdims=True)
    x = np.concatenate([o[:, None, :], o[:, None, :] + h], axis=1).reshape(-1, 3)
    # Outer list: every later molecule within 4.5 A (a half list of molecule pairs).
    rows = [[j for j in range(i + 1, nmol + nghost) if np.sum((o[i] - o[j]) ** 2) < 4.5**2] for i in range(nmol)]
    width = max(len(r) for r in rows)
    mneigh = np.full((nmol, width + 1), -1, np.int64)
    for i, r in enumerate(rows):
        mneigh[i, : len(r)] = r
    return (x, mneigh, nmol, 3.0), {}


@kernel("water_pair_list", sample=_sample, canonical=canonical_neighbors)
def prune(x, mneigh, nmol_local, cut):
    """Atom list ``(3 nmol_local, width)`` (int32, ``-1`` padded) of the site pairs of the molecule pairs in
    ``mneigh`` (``(nmol_local, w)`` molecule indices, ``-1`` padded) closer than ``cut`` [A] in ``x``
    (``(3 nmol_all, 3)``, sites of molecule ``I`` at rows ``3I..3I+2``). Reference, in ``xp``."""
    xp = array_namespace(x)
    dev = _dev(x)
    nrow = 3 * int(nmol_local)
    if nrow == 0 or mneigh.shape[1] == 0:
        return xp.full((nrow, 0), -1, dtype=xp.int32, device=dev)
    mi = xp.reshape(xp.broadcast_to(xp.arange(nmol_local, dtype=xp.int64, device=dev)[:, None], mneigh.shape), (-1,))
    mj = xp.reshape(mneigh, (-1,))
    keep = mj >= 0
    mi, mj = mi[keep], mj[keep]
    s = xp.arange(3, dtype=xp.int64, device=dev)
    a = xp.reshape(3 * mi[:, None, None] + s[None, :, None] + 0 * s[None, None, :], (-1,))
    b = xp.reshape(3 * mj[:, None, None] + 0 * s[None, :, None] + s[None, None, :], (-1,))
    d = x[a] - x[b]
    close = xp.sum(d * d, axis=1) < cut * cut
    a, b = a[close], b[close]
    order = xp.argsort(a, stable=True)
    a, b = a[order], b[order]
    vals, cnt = xp.unique_counts(a)
    counts = xp.zeros((nrow,), dtype=xp.int64, device=dev)
    counts[vals] = xp.astype(cnt, xp.int64)
    width = int(xp.max(counts))
    start = xp.cumulative_sum(counts) - counts
    col = xp.arange(a.shape[0], dtype=xp.int64, device=dev) - start[a]
    out = xp.full((nrow, width), -1, dtype=xp.int32, device=dev)
    out[a, col] = xp.astype(b, xp.int32)
    return out
