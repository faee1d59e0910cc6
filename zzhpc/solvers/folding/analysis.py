r"""Order parameters of folding and the thermodynamics of a replica-exchange run.

* :math:`Q`: fraction of native contacts with :math:`r_{ij} < \lambda\,\sigma_{ij}` (:math:`\lambda = 1.5`, the
  usual choice for C-alpha structure-based models; Clementi et al. 2000 used 1.2).
* C-alpha RMSD to the native structure after optimal superposition (Kabsch, Acta Cryst. A32, 922 (1976)).
* Radius of gyration.
* Heat capacity :math:`C_v(T) = (\langle E^2\rangle_T - \langle E\rangle_T^2)/k_BT^2 + \tfrac32 N k_B` from
  all temperatures at once by multiple-histogram reweighting in its binless form (Ferrenberg & Swendsen,
  PRL 63, 1195 (1989); Shirts & Chodera, JCP 129, 124105 (2008)); :math:`T_f` at its maximum, with a
  block error; the free-energy profile :math:`F(Q) = -k_BT_f \ln P(Q)` reweighted to :math:`T_f`.
"""

import numpy as np
from scipy.special import logsumexp


def fraction_native(x, contacts, sigma, factor=1.5):
    """``Q`` per replica of host positions ``(R, N, 3)``."""
    if len(contacts) == 0:
        return np.ones(x.shape[0])
    d = np.linalg.norm(x[:, contacts[:, 0]] - x[:, contacts[:, 1]], axis=-1)
    return np.mean(d < factor * sigma, axis=1)


def kabsch_rmsd(x, ref):
    """Minimum RMSD over rotations and translations between each ``x[r]`` ``(N, 3)`` and ``ref`` (Kabsch,
    Acta Cryst. A32, 922 (1976)). The optimal rotation is applied and the distance summed directly: the
    shorter ``|x|^2 + |y|^2 - 2 tr(S)`` form loses all digits below 1e-8 nm to cancellation."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = ref - ref.mean(axis=0)
    h = np.einsum("rni,nj->rij", xc, yc)
    u, s, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(u @ vt))
    u[:, :, 2] *= d[:, None]
    rot = u @ vt  # (R, 3, 3): xc @ rot best matches yc
    diff = np.einsum("rni,rij->rnj", xc, rot) - yc
    return np.sqrt(np.sum(diff * diff, (1, 2)) / ref.shape[0])


def radius_of_gyration(x):
    xc = x - x.mean(axis=1, keepdims=True)
    return np.sqrt(np.mean(np.sum(xc * xc, -1), axis=1))


def wham(energies, beta_of_sample, betas, tol=1e-10, max_iter=10000):
    r"""Dimensionless free energies :math:`f_k = -\ln Z_k` of the sampled temperatures (binless WHAM).

    ``energies`` (n,) potential energies of all pooled samples, ``beta_of_sample`` (n,) index of the rung each
    sample was drawn at, ``betas`` (K,). Returns ``(f, log_denominator)`` with
    :math:`\ln D_n = \ln\sum_l N_l e^{f_l - \beta_l E_n}`.
    """
    counts = np.bincount(beta_of_sample, minlength=len(betas)).astype(float)
    used = counts > 0
    b, logn = betas[used], np.log(counts[used])
    f = np.zeros(len(b))
    e = energies - energies.mean()  # shift: only differences matter, keeps exponents small
    for _ in range(max_iter):
        logd = logsumexp(logn[None, :] + f[None, :] - np.outer(e, b), axis=1)
        f_new = -logsumexp(-np.outer(e, b) - logd[:, None], axis=0)
        f_new -= f_new[0]
        if np.max(np.abs(f_new - f)) < tol:
            f = f_new
            break
        f = f_new
    logd = logsumexp(logn[None, :] + f[None, :] - np.outer(e, b), axis=1)
    return f, logd, e


def reweight(e_shifted, logd, beta):
    """Normalised weights of the pooled samples at inverse temperature ``beta``."""
    lw = -beta * e_shifted - logd
    return np.exp(lw - logsumexp(lw))


def heat_capacity(energies, rung_of_sample, temperatures, grid, n_beads):
    """``Cv`` on the temperature ``grid`` (k_B = 1) from pooled samples."""
    betas = 1.0 / np.asarray(temperatures)
    _, logd, e = wham(energies, rung_of_sample, betas)
    cv = np.empty(len(grid))
    for i, t in enumerate(grid):
        w = reweight(e, logd, 1.0 / t)
        m1 = np.sum(w * e)
        cv[i] = (np.sum(w * e * e) - m1 * m1) / t**2 + 1.5 * n_beads
    return cv, (e, logd)


def _peak(grid, cv):
    k = int(np.argmax(cv))
    if 0 < k < len(grid) - 1:  # parabola through the three points around the maximum
        y0, y1, y2 = cv[k - 1], cv[k], cv[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            return grid[k] + 0.5 * (y0 - y2) / den * (grid[1] - grid[0])
    return grid[k]


def folding_temperature(series, temperatures, n_beads, *, discard=0.2, n_blocks=4, points=201):
    """``Tf``, its block error, the ``Cv`` curve and the reweighting state from replica time series.

    ``series``: dict of ``(R, S)`` arrays with ``energy`` and ``rung``. The first ``discard`` of the
    samples is dropped; the error is the standard error of ``Tf`` over ``n_blocks`` consecutive time blocks.
    """
    e, rung = series["energy"], series["rung"].astype(np.int64)
    s0 = int(discard * e.shape[1])
    e, rung = e[:, s0:], rung[:, s0:]
    t = np.asarray(temperatures)
    grid = np.linspace(t.min(), t.max(), points)
    cv, state = heat_capacity(e.ravel(), rung.ravel(), t, grid, n_beads)
    tf = _peak(grid, cv)
    blocks = []
    if e.shape[1] >= 2 * n_blocks:
        for idx in np.array_split(np.arange(e.shape[1]), n_blocks):
            cb, _ = heat_capacity(e[:, idx].ravel(), rung[:, idx].ravel(), t, grid, n_beads)
            blocks.append(_peak(grid, cb))
    err = float(np.std(blocks, ddof=1) / np.sqrt(len(blocks))) if len(blocks) > 1 else float("nan")
    return {
        "tf": float(tf),
        "tf_error": err,
        "tf_blocks": [float(b) for b in blocks],
        "grid": grid,
        "cv": cv,
        "state": state,
        "start": s0,
    }


def free_energy_profile(series, thermo, beta, n_contacts, bins=None):
    """``(q_centres, F)`` at temperature ``1/beta``: F in eps, its minimum shifted to 0 (empty bins: inf)."""
    q = series["q"][:, thermo["start"] :].ravel()
    e, logd = thermo["state"]
    w = reweight(e, logd, beta)
    nb = bins or int(min(max(n_contacts, 10), 40))
    hist, edges = np.histogram(q, bins=nb, range=(0.0, 1.0), weights=w)
    with np.errstate(divide="ignore"):
        f = -np.log(hist) / beta
    f -= np.min(f[np.isfinite(f)])
    return 0.5 * (edges[1:] + edges[:-1]), f


def plot_thermo(path_cv, path_fq, thermo, q, fq, title):
    """PNG plots of Cv(T) and F(Q) (rank 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot(thermo["grid"], thermo["cv"], "-")
    ax.axvline(thermo["tf"], ls="--", c="gray")
    ax.set_xlabel(r"$k_BT/\epsilon$")
    ax.set_ylabel(r"$C_v / k_B$")
    ax.set_title(f"{title}: $T_f$ = {thermo['tf']:.4f}")
    fig.tight_layout()
    fig.savefig(path_cv, dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ok = np.isfinite(fq)
    ax.plot(q[ok], fq[ok], "o-")
    ax.set_xlabel("Q (fraction of native contacts)")
    ax.set_ylabel(r"$F(Q)/\epsilon$ at $T_f$")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path_fq, dpi=120)
    plt.close(fig)
