"""Whole rigid molecules on the spatial decomposition of :class:`zzhpc.particles.Domain`.

A molecule belongs to the rank whose sub-domain holds its oxygen; its hydrogens travel with it, so
SETTLE never needs atoms of another rank. Owned state is kept per molecule, ``x`` and ``v`` as
``(nmol, 3, 3)`` (molecule, atom O/H/H, xyz), plus the global molecule id (0-based) and the periodic
image of the oxygen. Atom ``k`` of molecule ``m`` has the global atom id ``3m + k + 1``.

* :func:`wrap`: the oxygen back into the periodic box, the hydrogens shifted by the same vector (the
  molecule stays whole; a hydrogen may lie just outside the box).
* :func:`migrate`: :meth:`Domain.exchange` on a per-molecule dict whose ``"x"`` is the oxygen.
* Ghost molecules come whole from :meth:`Domain.borders` on rows of nine coordinates (O, H, H),
  chosen by their oxygen, with :func:`ghost_cutoff` = the outer list's O-O cutoff (+ a margin): every
  molecule the outer list of :mod:`.pairlist` may pair with an owned one must be present.
* :func:`rescale` scales the centres of mass, the box and the sub-domain bounds by ``mu`` (barostat)
  and the periodic shifts of the ghost messages with them.
"""

import numpy as np

from ...particles import neighbors

GHOST_MARGIN = 0.1  # A, beyond r_OH: rounding of positions just at a face


def ghost_cutoff(cutoff, skin, molecule_skin, model):
    """Ghost shell thickness [A] for whole molecules chosen by their oxygen: the outer list's O-O
    cutoff ``cutoff + skin + 2 r_OH + molecule_skin`` (:func:`.pairlist.outer_cutoff`) plus a margin."""
    from .pairlist import outer_cutoff

    return outer_cutoff(cutoff, skin, molecule_skin, model.r_OH) + GHOST_MARGIN


def atom_ids(mid, xp):
    """Global atom ids ``(3 nmol,)`` (1-based) of the molecules ``mid``."""
    base = xp.reshape(3 * mid, (-1, 1)) + xp.reshape(xp.arange(1, 4, dtype=mid.dtype), (1, 3))
    return xp.reshape(base, (-1,))


def atom_types(nmol, xp):
    """Atom types O = 0, H = 1 of ``nmol`` molecules in the O, H, H order."""
    t = xp.asarray([0, 1, 1], dtype=xp.int64)
    return xp.reshape(xp.broadcast_to(t[None, :], (nmol, 3)), (-1,))


def atom_mols(mid, xp):
    """Molecule id of every owned atom."""
    return xp.reshape(xp.broadcast_to(mid[:, None], (mid.shape[0], 3)), (-1,))


def to_dict(x, v, mid, image):
    """Per-molecule dict for :meth:`Domain.exchange` (its ``"x"`` is the oxygen; copies)."""
    n = x.shape[0]
    xp_ = _ns(x)
    return {
        "x": xp_.asarray(x[:, 0], copy=True),
        "h": xp_.reshape(x[:, 1:], (n, 6)),
        "v": xp_.reshape(v, (n, 9)),
        "id": mid,
        "image": xp_.asarray(image, copy=True),
    }


def from_dict(d):
    """``(x, v, mid, image)`` from a per-molecule dict."""
    xp_ = _ns(d["x"])
    n = d["x"].shape[0]
    x = xp_.concat([d["x"][:, None, :], xp_.reshape(d["h"], (n, 2, 3))], axis=1)
    return x, xp_.reshape(d["v"], (n, 3, 3)), d["id"], d["image"]


def _ns(a):
    from array_api_compat import array_namespace

    return array_namespace(a)


def wrap(domain, d):
    """Periodic wrap of the oxygens (in place on the dict), hydrogens shifted along, images counted."""
    xp = domain.xp
    for ax in range(3):
        if not domain.periodic[ax]:
            continue
        lo, L = domain.boxlo[ax], domain.length[ax]
        n = xp.floor((d["x"][:, ax] - lo) / L)
        d["x"][:, ax] = d["x"][:, ax] - n * L
        over = d["x"][:, ax] >= domain.boxhi[ax]  # lo - tiny + L rounds to hi
        n = xp.where(over, n + 1, n)
        d["x"][:, ax] = xp.where(over, d["x"][:, ax] - L, d["x"][:, ax])
        for k in (ax, ax + 3):
            d["h"][:, k] = d["h"][:, k] - n * L
        d["image"][:, ax] = d["image"][:, ax] + xp.astype(n, d["image"].dtype)
    return d


def migrate(domain, x, v, mid, image):
    """Wrap, then move molecules to the ranks owning their oxygens; returns ``(x, v, mid, image)``."""
    d = wrap(domain, to_dict(x, v, mid, image))
    return from_dict(domain.exchange(d))


def sort_by_bin(domain, cutneigh, x, v, mid, image):
    """Owned molecules in bin order of their oxygens (neighbours close in memory, LAMMPS ``atom_modify sort``)."""
    xp = domain.xp
    lo, hi = domain.bin_region()
    nb, size = neighbors.bin_geometry(lo, hi, cutneigh)
    key = 0
    for ax in (2, 1, 0):
        c = xp.clip(xp.astype(xp.floor((x[:, 0, ax] - lo[ax]) / size[ax]), xp.int64), 0, nb[ax] - 1)
        key = key * nb[ax] + c
    order = xp.argsort(key, stable=True)
    return x[order], v[order], mid[order], image[order]


def centres_of_mass(x, masses):
    """``(nmol, 3)`` centres of mass of ``x`` ``(nmol, 3, 3)``; ``masses`` = (m_O, m_H, m_H)."""
    mO, mH1, mH2 = masses
    return (mO * x[:, 0] + mH1 * x[:, 1] + mH2 * x[:, 2]) / (mO + mH1 + mH2)


def rescale(domain, mu, x, masses):
    """Scale the box, the sub-domain bounds, the ghost shifts and the molecules' centres by ``mu``.

    The box is scaled about ``boxlo``; molecules keep their internal geometry. Returns the new ``x``.
    """
    xp = domain.xp
    lo = xp.asarray(domain.boxlo, dtype=x.dtype)
    com = centres_of_mass(x, masses)
    x = x + ((com - lo) * (mu - 1.0))[:, None, :]
    domain.rescale(mu, list(domain.boxlo))
    reset_shifts(domain)
    return x


def reset_shifts(domain):
    """Periodic shifts of the recorded ghost messages set to the present box edges (as ``borders`` would)."""
    be = domain.backend
    L = np.asarray(domain.length, dtype=float)
    for s in domain.swaps:
        sv = np.asarray(be.to_host(s.shift), dtype=float)
        sv = np.sign(sv) * np.tile(L, sv.size // 3)
        s.shift = be.asarray(sv, dtype=be.dtype_name(s.shift))


def set_box(domain, lengths):
    """Put the box edges to ``lengths`` (restart of an NPT run); the ghost pattern must be rebuilt."""
    for ax in range(3):
        old = domain.length[ax]
        mu = lengths[ax] / old
        domain.length[ax] = float(lengths[ax])
        domain.boxhi[ax] = domain.boxlo[ax] + float(lengths[ax])
        domain.split[ax] = [domain.boxlo[ax] + (s - domain.boxlo[ax]) * mu for s in domain.split[ax]]
    domain.split_changed()


def density_g_cm3(nmol, molar_mass, volume):
    """Mass density [g/cm^3] of ``nmol`` molecules of ``molar_mass`` [g/mol] in ``volume`` [A^3]."""
    return nmol * molar_mass / 6.02214076e23 / (volume * 1e-24)


def unwrapped_oxygens(backend, x, image, lengths):
    """Host ``(nmol, 3)`` oxygen positions with the periodic images undone."""
    return np.asarray(backend.to_host(x[:, 0])) + np.asarray(backend.to_host(image)) * np.asarray(lengths)
