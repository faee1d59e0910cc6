r"""Native contact maps from heavy atoms: the cut-off map and the shadow map.

Both maps list residue pairs :math:`|i - j| > 3` (``min_separation = 4``) and are computed on the heavy
atoms (hydrogens dropped) of the residues selected from the structure.

**Cut-off map**: residues whose heavy atoms come within ``cutoff`` (SMOG's default 4.5 A).

**Shadow map** (Noel, Whitford & Onuchic, J. Phys. Chem. B 116, 8692 (2012); SMOG2 ``--shadow``): every
heavy atom is a sphere of radius :math:`S` (1 A). Atoms :math:`a, b` of two residues, closer than the
cut-off (6 A), are in contact unless a third heavy atom :math:`c`, nearer to each of them than they are to
each other, shadows :math:`b` from a point light at :math:`a` (or :math:`a` from a light at :math:`b`): the
cones from the light tangent to the two spheres overlap,

.. math:: \angle(b - a,\ c - a) \le \arcsin(S / d_{ab}) + \arcsin(S_c / d_{ac}),

with :math:`S_c = 0.5` A when :math:`c` is covalently bonded to :math:`a` or :math:`b` (so that bonded
neighbours do not hide every contact) and :math:`S` otherwise; :math:`c` hides the pair outright when
:math:`a` or :math:`b` lies inside its sphere. Two residues are in contact when any of their atom pairs is.
Covalent bonds are heavy-atom pairs closer than 2.1 A (the longest, S-S, is 2.05 A; the shortest
non-bonded heavy-atom distance, across an angle, is about 2.4 A).
"""

import numpy as np

BOND_NM = 0.21


def _heavy_atoms(structure):
    heavy = [r.heavy_atoms() for r in structure.residues]
    residue = np.concatenate([np.full(len(h), k) for k, h in enumerate(heavy)])
    return np.concatenate(heavy), residue


def _squared_distances(x, rows=256):
    """``(M, M)`` squared distances from coordinate differences, a block of rows at a time."""
    out = np.empty((len(x), len(x)))
    for lo in range(0, len(x), rows):
        out[lo : lo + rows] = np.sum((x[lo : lo + rows, None, :] - x[None, :, :]) ** 2, -1)
    return out


def cutoff_contacts(structure, cutoff_nm=0.45, min_separation=4):
    """Residue pairs ``(i, j)``, ``j - i >= min_separation``, with heavy atoms closer than ``cutoff_nm``."""
    x, res = _heavy_atoms(structure)
    n = len(structure.residues)
    close = np.zeros((n, n), dtype=bool)
    a, b = np.nonzero(_squared_distances(x) < cutoff_nm**2)
    close[res[a], res[b]] = True
    i, j = np.nonzero(np.triu(close, min_separation))
    return np.stack([i, j], 1).astype(np.int64).reshape(-1, 2)


def _shadowed(x, d, a, b, c, radius, rc):
    """Whether any atom ``c`` (radii ``rc``) shadows ``b`` from a light at ``a``."""
    u, w = x[b] - x[a], x[c] - x[a]
    cos = (w @ u) / (d[a, c] * d[a, b])
    angle = np.arccos(np.clip(cos, -1.0, 1.0))
    return bool(np.any(angle <= np.arcsin(radius / d[a, b]) + np.arcsin(rc / d[a, c])))


def shadow_contacts(structure, cutoff_nm=0.6, radius_nm=0.1, bonded_radius_nm=0.05, min_separation=4):
    """Residue pairs ``(i, j)``, ``j - i >= min_separation``, in contact by the shadow criterion."""
    x, res = _heavy_atoms(structure)
    d = np.sqrt(_squared_distances(x))
    bonded = d < BOND_NM
    np.fill_diagonal(bonded, False)
    candidates = (d < cutoff_nm) & (res[None, :] - res[:, None] >= min_separation) & (d >= radius_nm)
    found = set()
    for a, b in zip(*np.nonzero(candidates)):
        if (res[a], res[b]) in found:
            continue
        dab = d[a, b]
        c = np.nonzero((d[a] < dab) & (d[b] < dab))[0]
        c = c[(c != a) & (c != b)]
        rc = np.where(bonded[a, c] | bonded[b, c], bonded_radius_nm, radius_nm)
        if np.any((rc > d[a, c]) | (rc > d[b, c])):
            continue
        if len(c) and (_shadowed(x, d, a, b, c, radius_nm, rc) or _shadowed(x, d, b, a, c, radius_nm, rc)):
            continue
        found.add((res[a], res[b]))
    return np.array(sorted(found), dtype=np.int64).reshape(-1, 2)
