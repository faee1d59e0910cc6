r"""Lennard-Jones forces over a neighbour list of :mod:`zzhpc.particles.neighbors` (reference kernel).

This is the reference every faster override (``kernels_numba``, ``kernels_cuda``) is checked against;
the list conventions (owned atoms first, half lists by the geometric rule) are those of
:mod:`zzhpc.particles.neighbors`.
"""

from array_api_compat import array_namespace, device as _dev

from ...device import kernel, scatter_add
from ...particles.neighbors import neighbor_list, random_system


def _sample_lj(rng):
    x, nlocal, lo, hi = random_system(rng)
    # keep atoms apart so forces stay moderate
    x = x * 1.0
    types = rng.integers(0, 2, size=x.shape[0])
    neigh = neighbor_list(x, nlocal, lo, hi, 1.3, True)
    tab = lj_sample_tables()
    return (x, types, neigh, nlocal, tab, True), {}


def lj_sample_tables():
    from .pair import lj_tables

    coeffs = {(0, 0): (1.0, 0.5, 1.0), (0, 1): (0.7, 0.55, 1.1), (1, 1): (1.2, 0.6, 1.2)}
    return lj_tables(coeffs, 2, shift=True)[0]


@kernel("md_lj_forces", sample=_sample_lj)
def lj_forces(x, types, neigh, nlocal, tab, half, mixed=False):
    r"""Lennard-Jones forces, energy and virial over a neighbour list.

    Returns ``(f, energy, virial)``: ``f`` is ``(nall, 3)`` (ghost rows non-zero only when ``half``),
    ``energy`` :math:`\sum_{pairs} E(r)` and ``virial`` :math:`\sum_{pairs} \mathbf{r}\cdot\mathbf{f}`
    over the pairs this rank owns (0-d arrays). ``tab`` holds the ``(ntypes, ntypes)`` tables of
    :mod:`.pair` as arrays of the namespace of ``x``. ``mixed``: pair arithmetic in float32 from
    differences taken in ``x.dtype``, sums in ``x.dtype`` (docs/precision.md).
    """
    if mixed:
        return _lj_forces_mixed(x, types, neigh, nlocal, tab, half)
    xp = array_namespace(x)
    nall = x.shape[0]
    f = xp.zeros((nall, 3), dtype=x.dtype, device=_dev(x))
    if neigh.shape[1] == 0 or nlocal == 0:
        zero = xp.sum(f[:0, 0])
        return f, zero, zero
    valid = neigh >= 0
    j = xp.where(valid, neigh, 0)
    dvec = x[:nlocal][:, None, :] - x[j]
    r2 = xp.sum(dvec * dvec, axis=-1)
    ti = types[:nlocal][:, None]
    tj = types[j]
    m = valid & (r2 < tab["cutsq"][ti, tj])
    r2i = 1.0 / xp.where(m, r2, 1.0)
    r6i = r2i * r2i * r2i
    fpair = xp.where(m, r6i * (tab["lj1"][ti, tj] * r6i - tab["lj2"][ti, tj]) * r2i, 0.0)
    epair = xp.where(m, r6i * (tab["lj3"][ti, tj] * r6i - tab["lj4"][ti, tj]) - tab["offset"][ti, tj], 0.0)
    fij = dvec * fpair[..., None]
    f[:nlocal, :] = xp.sum(fij, axis=1)
    energy = xp.sum(epair)
    virial = xp.sum(r2 * fpair)
    if half:
        flat = xp.reshape(j[m], (-1,))
        scatter_add(f, flat, -fij[m])
    else:
        energy, virial = 0.5 * energy, 0.5 * virial
    return f, energy, virial


def _lj_forces_mixed(x, types, neigh, nlocal, tab, half):
    """Mixed-precision form of :func:`lj_forces`: the pairs chosen on the ``x.dtype`` distance, their
    differences rounded to float32, :math:`r^{-2}`, :math:`r^{-6}` and the scalar force in float32; energy
    (float32 :math:`r^{-6}` times the wide tables), virial and forces summed in ``x.dtype``."""
    xp = array_namespace(x)
    acc, f32 = x.dtype, xp.float32
    nall = x.shape[0]
    f = xp.zeros((nall, 3), dtype=acc, device=_dev(x))
    if neigh.shape[1] == 0 or nlocal == 0:
        zero = xp.sum(f[:0, 0])
        return f, zero, zero
    valid = neigh >= 0
    j = xp.where(valid, neigh, 0)
    dvec = x[:nlocal][:, None, :] - x[j]
    ti, tj = types[:nlocal][:, None], types[j]
    m = valid & (xp.sum(dvec * dvec, axis=-1) < tab["cutsq"][ti, tj])
    d = xp.astype(dvec, f32)
    r2 = xp.sum(d * d, axis=-1)
    r2i = 1.0 / xp.where(m, r2, xp.asarray(1.0, dtype=f32))
    r6i = r2i * r2i * r2i
    zero32 = xp.asarray(0.0, dtype=f32)
    fpair = xp.where(
        m, r6i * (xp.astype(tab["lj1"], f32)[ti, tj] * r6i - xp.astype(tab["lj2"], f32)[ti, tj]) * r2i, zero32
    )
    r6w = xp.astype(r6i, acc)
    epair = xp.where(m, r6w * (tab["lj3"][ti, tj] * r6w - tab["lj4"][ti, tj]) - tab["offset"][ti, tj], 0.0)
    fij = xp.astype(d * fpair[..., None], acc)
    f[:nlocal, :] = xp.sum(fij, axis=1)
    energy = xp.sum(epair)
    virial = xp.sum(xp.astype(r2 * fpair, acc))
    if half:
        scatter_add(f, xp.reshape(j[m], (-1,)), -fij[m])
    else:
        energy, virial = 0.5 * energy, 0.5 * virial
    return f, energy, virial
