"""Figures on rank 0 (matplotlib, Agg backend): the flow (speed and streamlines) and centreline profiles
against Ghia, Ghia & Shin (1982)."""

import os

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def flow_png(grid, cell_velocity, output_dir, title="", name="flow.png"):
    """Speed |u| with streamlines in the x-y plane (the mid-plane z = Lz/2 in 3-D).

    ``cell_velocity``: full C-order cell-centred arrays per physical component (u, v[, w]).
    """
    plt = _plt()
    comps = cell_velocity
    if grid.nd == 3:
        k = grid.shape[2] // 2
        comps = [c[k] for c in comps]
    u, v = comps[0], comps[1]
    x = (np.arange(grid.shape[0]) + 0.5) * grid.h[0]
    y = (np.arange(grid.shape[1]) + 0.5) * grid.h[1]
    speed = np.sqrt(sum(c * c for c in comps))
    fig, ax = plt.subplots(figsize=(6, 6 * grid.lengths[1] / grid.lengths[0] + 0.6))
    im = ax.imshow(speed, origin="lower", extent=(0, grid.lengths[0], 0, grid.lengths[1]), cmap="viridis")
    ax.streamplot(x, y, u, v, color="w", linewidth=0.6, density=1.4, arrowsize=0.6)
    ax.set_xlim(0, grid.lengths[0])
    ax.set_ylim(0, grid.lengths[1])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title + (" (mid-plane z)" if grid.nd == 3 else ""), fontsize=9)
    fig.colorbar(im, ax=ax, label="|u|", shrink=0.8)
    path = os.path.join(output_dir, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def profiles_png(runs, path):
    """Centreline profiles of several runs against Ghia's points.

    ``runs``: list of ``{"label", "results", "ref"}`` where ``ref`` is the Ghia table (y, u, x, v arrays).
    """
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.5))
    for i, r in enumerate(runs):
        res, ref, c = r["results"], r["ref"], f"C{i}"
        uc, vc = res["u_vertical_centreline"], res["v_horizontal_centreline"]
        a1.plot(uc["u"], uc["y"], "-", color=c, label=r["label"])
        a1.plot(ref["u"], ref["y"], "o", color=c, mfc="none", label=f"Ghia et al. (1982), Re {r['re']:g}")
        a2.plot(vc["x"], vc["v"], "-", color=c, label=r["label"])
        a2.plot(ref["x"], ref["v"], "o", color=c, mfc="none")
    a1.set_xlabel("u at x = 0.5")
    a1.set_ylabel("y")
    a2.set_xlabel("x")
    a2.set_ylabel("v at y = 0.5")
    a1.legend(fontsize=7)
    a2.legend(fontsize=7)
    for a in (a1, a2):
        a.grid(alpha=0.3)
    fig.suptitle("Lid-driven cavity: centreline velocity vs Ghia, Ghia & Shin (1982)", fontsize=10)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
