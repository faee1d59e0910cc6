r"""Structure and transport from particle positions (host NumPy arrays, run on one rank).

* Radial distribution function (Allen & Tildesley, *Computer Simulation of Liquids*, 2nd ed. 2017,
  sec. 8.2): for centres :math:`a` and partners :math:`b` in a periodic orthorhombic box of volume
  :math:`V`, :math:`g_{ab}(r) = \frac{V}{N_a N_b}\,\frac{\langle n_{ab}(r, r+\delta r)\rangle}
  {4\pi r^2\delta r}` (shell volumes taken exactly, :math:`\tfrac43\pi(r_2^3 - r_1^3)`), distances by
  the minimum image, so ``rmax`` must not exceed half the shortest edge. Pairs are counted by brute
  force in row blocks, :math:`O(N_a N_b)`; ``max_centres`` takes every k-th centre only (an unbiased
  estimate at lower cost for large boxes).
* Mean-squared displacement with every frame as a time origin, the centre-of-mass drift of the set
  removed; self-diffusion from the Einstein relation :math:`\mathrm{MSD}(t) \to 6Dt` by a
  least-squares line over a window of lag times (Allen & Tildesley sec. 8.7).
* Finite-size correction of :math:`D` in a periodic cubic box (Yeh & Hummer, J. Phys. Chem. B 108,
  15873 (2004)): :math:`D_\infty = D_{PBC} + \xi k_BT / (6\pi\eta L)`, :math:`\xi = 2.837297`.
"""

import math

import numpy as np

A2_PER_FS_TO_CM2_PER_S = 0.1  # 1 A^2/fs = 1e-16 cm^2 / 1e-15 s
YEH_HUMMER_XI = 2.837297


def _select(n, idx):
    if idx is None:
        return np.arange(n)
    idx = np.asarray(idx)
    return np.nonzero(idx)[0] if idx.dtype == bool else idx


def rdf_counts(x, lengths, rmax, nbins=200, a=None, b=None, max_centres=None, block=512):
    """Histogram of minimum-image distances between centres ``a`` and partners ``b`` (one frame).

    Returns ``(edges, counts, n_centres, n_partners, volume)`` (partners per centre, itself excluded); :func:`rdf_from_counts` normalises a
    sum of such histograms. ``a``/``b``: index arrays or boolean masks of the rows of ``x``.
    """
    x = np.asarray(x, dtype=float)
    L = np.asarray(lengths, dtype=float)
    if rmax > 0.5 * float(L.min()) + 1e-12:
        raise ValueError(f"rmax = {rmax} exceeds half the shortest box edge ({0.5 * float(L.min())})")
    ia, ib = _select(len(x), a), _select(len(x), b)
    if max_centres and len(ia) > max_centres:
        ia = ia[:: int(math.ceil(len(ia) / max_centres))]
    edges = np.linspace(0.0, rmax, nbins + 1)
    counts = np.zeros(nbins, dtype=np.int64)
    xb = x[ib]
    for s in range(0, len(ia), block):
        rows = ia[s : s + block]
        d = xb[None, :, :] - x[rows][:, None, :]
        d -= L * np.round(d / L)
        r = np.sqrt(np.einsum("ijk,ijk->ij", d, d))
        same = rows[:, None] == ib[None, :]
        counts += np.histogram(r[~same], bins=edges)[0]
    # Partners per centre, self excluded where a centre is also a partner.
    nb_eff = len(ib) - float(np.count_nonzero(np.isin(ia, ib))) / max(len(ia), 1)
    return edges, counts, len(ia), nb_eff, float(np.prod(L))


def rdf_from_counts(edges, counts, pair_norm):
    r"""g(r) from summed histograms; ``pair_norm`` = :math:`\sum_{frames} N_a N_b / V`."""
    shell = 4.0 / 3.0 * math.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    r = 0.5 * (edges[1:] + edges[:-1])
    return r, counts / (shell * pair_norm)


def rdf(x, lengths, rmax, nbins=200, a=None, b=None, max_centres=None):
    """g(r) of one frame: ``(r, g)`` at the bin centres (see the module notes)."""
    edges, counts, na, nb, vol = rdf_counts(x, lengths, rmax, nbins, a, b, max_centres)
    return rdf_from_counts(edges, counts, na * nb / vol)


def first_peak(r, g, rmin=0.0):
    """Position and height of the highest maximum of g(r) beyond ``rmin`` (parabola through 3 bins)."""
    r, g = np.asarray(r), np.asarray(g)
    k = int(np.argmax(np.where(r > rmin, g, -np.inf)))
    if 0 < k < len(g) - 1:
        y0, y1, y2 = g[k - 1], g[k], g[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            t = 0.5 * (y0 - y2) / den
            h = r[1] - r[0]
            return float(r[k] + t * h), float(y1 - 0.25 * (y0 - y2) * t)
    return float(r[k]), float(g[k])


def msd(frames, max_lag=None, masses=None):
    """Mean-squared displacement ``(lags, msd)`` over every time origin.

    ``frames``: ``(nframes, n, 3)`` unwrapped positions at equal time intervals; ``lags`` are in
    frames. The centre of mass of the set (``masses``, default equal) is removed from every frame.
    """
    f = np.asarray(frames, dtype=float)
    w = np.ones(f.shape[1]) if masses is None else np.asarray(masses, dtype=float)
    f = f - (np.einsum("j,ijk->ik", w, f) / w.sum())[:, None, :]
    nf = f.shape[0]
    max_lag = nf - 1 if max_lag is None else min(max_lag, nf - 1)
    lags = np.arange(max_lag + 1)
    out = np.zeros(max_lag + 1)
    for k in lags[1:]:
        d = f[k:] - f[:-k]
        out[k] = float(np.mean(np.einsum("ijk,ijk->ij", d, d)))
    return lags, out


def self_diffusion(t, msd_values, window=(0.2, 0.8)):
    r"""D from the slope of MSD(t) = 6 D t + c over ``window`` (fractions of the longest lag).

    Returns ``(D, intercept)`` in the units of ``msd_values / t``.
    """
    t, m = np.asarray(t, dtype=float), np.asarray(msd_values, dtype=float)
    tmax = t[-1]
    sel = (t >= window[0] * tmax) & (t <= window[1] * tmax)
    if sel.sum() < 2:
        raise ValueError("too few lag times in the fitting window for a self-diffusion coefficient")
    slope, icpt = np.polyfit(t[sel], m[sel], 1)
    return slope / 6.0, icpt


def yeh_hummer(d_pbc, kT, viscosity, box_length):
    """Infinite-system D from a periodic cubic box (all arguments in one consistent unit system)."""
    return d_pbc + YEH_HUMMER_XI * kT / (6.0 * math.pi * viscosity * box_length)
