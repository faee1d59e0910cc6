r"""Stillinger-Weber forces against ``xp``: the reference every faster override is checked against.

Conventions (after LAMMPS ``PairSW::compute``, newton on):

* ``neigh`` is a *full* list (``md_neighbor_list`` with ``half=False``, cutoff + skin): row ``i`` holds
  every neighbour of the owned atom ``i``, owned or ghost.
* Two-body terms are counted once per pair: a local pair on the row of the smaller index, a
  local-ghost pair on the rank where the ghost lies "above" (larger z, then y, then x; the half-list
  rule of :mod:`.kernels`), so a pair spanning two ranks, or an atom and its periodic image, is
  counted once in all.
* Three-body terms :math:`\phi_3(r_{ij}, r_{ik}, \theta_{jik})` are centred on owned atoms ``i``, for
  each unordered pair ``{j, k}`` of its neighbours within the cutoff. Forces on ghost ``j``/``k`` land
  on ghost rows, which the caller sums back onto their owners (``Domain.reverse_comm``).
* Energy :math:`E` and virial :math:`W = \sum_{pairs} \mathbf r_{ij}\cdot\mathbf f_{ij} +
  \sum_{triplets} (\mathbf r_{ij}\cdot\mathbf f_j + \mathbf r_{ik}\cdot\mathbf f_k)` (LAMMPS
  ``ev_tally``/``ev_tally3``) of the terms this rank owns, so that ``allreduce`` gives the totals.

``sw`` is the dict of :func:`.sw.sw_constants` (host floats). Forces are :math:`-\nabla E` in
energy/length (kcal/mol/A in ``units real``).
"""

import numpy as np
from array_api_compat import array_namespace, device as _dev

from ...device import kernel, scatter_add
from ...particles.neighbors import neighbor_list


def _above(d):
    dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
    return (dz > 0) | ((dz == 0) & ((dy > 0) | ((dy == 0) & (dx > 0))))


def sample_system(rng, box=14.0, skin=1.0, spacing=2.9):
    """Random mW-like atoms: owned ones in ``[0, box)^3``, "ghosts" in a shell of cutoff + skin around it.

    Jittered cubic sites keep atoms apart (no overflow as r -> 0) yet leave the structure disordered;
    a fifth of the sites is left empty. Returns ``(x, nlocal, lo, hi, cutneigh, sw)``."""
    from .sw import BUILTIN, sw_constants

    sw = sw_constants(BUILTIN["mW"])
    cutn = sw["cut"] + skin
    m = int((box + 2 * cutn) // spacing) + 1
    ijk = np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    x = -cutn + (ijk + 0.5) * spacing + rng.uniform(-0.25, 0.25, ijk.shape) * spacing
    x = x[rng.random(len(x)) < 0.8]
    x = x[rng.permutation(len(x))]
    inside = np.all((x >= 0) & (x < box), axis=1)
    x = np.concatenate([x[inside], x[~inside]])
    return x, int(inside.sum()), (-cutn,) * 3, (box + cutn,) * 3, cutn, sw


def _sample_sw(rng):
    x, nlocal, lo, hi, cutn, sw = sample_system(rng)
    neigh = neighbor_list(x, nlocal, lo, hi, cutn, False)
    return (x, neigh, nlocal, sw), {}


@kernel("md_sw_forces", sample=_sample_sw)
def sw_forces(x, neigh, nlocal, sw, chunk=128):
    """Stillinger-Weber ``(f, energy, virial)`` over a full list (see module notes); ``f`` is ``(nall, 3)``."""
    xp = array_namespace(x)
    nall = x.shape[0]
    f = xp.zeros((nall, 3), dtype=x.dtype, device=_dev(x))
    energy = virial = xp.sum(f[:0, 0])
    maxn = neigh.shape[1]
    if maxn == 0 or nlocal == 0:
        return f, energy, virial
    cut, cutsq = sw["cut"], sw["cutsq"]
    slots = xp.arange(maxn, device=_dev(x))
    upper = slots[None, :] > slots[:, None]  # pairs {j, k} of a row, k after j
    for i0 in range(0, nlocal, chunk):
        i1 = min(nlocal, i0 + chunk)
        rows = neigh[i0:i1]
        valid = rows >= 0
        j = xp.where(valid, rows, 0)
        d = x[j] - x[i0:i1][:, None, :]  # r_ij = x_j - x_i
        r2 = xp.sum(d * d, axis=-1)
        near = valid & (r2 < cutsq)
        r2s = xp.where(near, r2, 0.25 * cutsq)  # harmless stand-in outside the cutoff
        r = xp.sqrt(r2s)
        rainv = 1.0 / (r - cut)
        # Two-body: each pair once over all ranks.
        ii = xp.arange(i0, i1, device=_dev(x))[:, None]
        own = near & xp.where(j < nlocal, j > ii, _above(d))
        rp, rq = r ** (-sw["powerp"]), r ** (-sw["powerq"])
        ex = xp.exp(sw["sigma"] * rainv)
        fpair = (sw["c1"] * rp - sw["c2"] * rq + (sw["c3"] * rp - sw["c4"] * rq) * rainv * rainv * r) * ex / r2s
        fpair = xp.where(own, fpair, 0.0)
        fij = d * fpair[..., None]  # force on j; -fij on i
        f[i0:i1, :] = f[i0:i1, :] - xp.sum(fij, axis=1)
        scatter_add(f, j[own], fij[own])
        energy = energy + xp.sum(xp.where(own, (sw["c5"] * rp - sw["c6"] * rq) * ex, 0.0))
        virial = virial + xp.sum(r2s * fpair)
        # Three-body, centred on i, for neighbour slots a < b both within the cutoff.
        gs = sw["sigma_gamma"] * rainv
        eg = xp.where(near, xp.exp(gs), 0.0)
        gsq = gs * rainv / r
        trip = near[:, :, None] & near[:, None, :] & upper[None, :, :]
        da, db = d[:, :, None, :], d[:, None, :, :]
        ra, rb = r[:, :, None], r[:, None, :]
        rinv12 = 1.0 / (ra * rb)
        cs = xp.sum(da * db, axis=-1) * rinv12
        delcs = cs - sw["costheta"]
        facexp = eg[:, :, None] * eg[:, None, :]
        facrad = xp.where(trip, sw["lambda_epsilon"] * facexp * delcs * delcs, 0.0)
        facang = xp.where(trip, sw["lambda_epsilon2"] * facexp * delcs, 0.0)
        csfacang = cs * facang
        fj = da * (facrad * gsq[:, :, None] + csfacang / (ra * ra))[..., None] - db * (rinv12 * facang)[..., None]
        fk = db * (facrad * gsq[:, None, :] + csfacang / (rb * rb))[..., None] - da * (rinv12 * facang)[..., None]
        f[i0:i1, :] = f[i0:i1, :] - xp.sum(fj + fk, axis=(1, 2))
        jj = xp.broadcast_to(j[:, :, None], trip.shape)
        kk = xp.broadcast_to(j[:, None, :], trip.shape)
        scatter_add(f, jj[trip], fj[trip])
        scatter_add(f, kk[trip], fk[trip])
        energy = energy + xp.sum(facrad)
        virial = virial + xp.sum(da * fj) + xp.sum(db * fk)
    return f, energy, virial
