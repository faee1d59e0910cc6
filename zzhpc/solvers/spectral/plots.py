"""PNG figures of a spectral run (rank 0): energy and dissipation against time, energy spectra; and
the Taylor-Green comparison of several runs against the 512^3 reference::

    python -m zzhpc.solvers.spectral.plots compare OUT.png "128^3, 3/2 rule=runs/.../n128" ...
"""

import os
import sys

import numpy as np

from .diagnostics import load_reference, read_series, read_spectra


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(csv_path, png_path, *, reference=False, title=""):
    """E(t) and epsilon(t) = 2 nu Omega from ``diagnostics.csv``; the 512^3 TGV reference when asked."""
    plt = _pyplot()
    s = read_series(csv_path)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(s["time"], s["energy"], label="zzhpc")
    if "dissipation" in s:
        b.plot(s["time"], s["dissipation"], label=r"zzhpc $2\nu\Omega$")
    if "power_in" in s:
        b.plot(s["time"], s["power_in"], "--", label="injected power")
    if reference:
        r = load_reference()
        a.plot(r["t"], r["energy"], "k:", label="512$^3$ spectral reference")
        b.plot(r["t"], r["dissipation"], "k:", label="512$^3$ reference $-dE/dt$")
    return _finish(plt, fig, ((a, "kinetic energy E"), (b, r"dissipation rate $\varepsilon$")), png_path, title)


def _finish(plt, fig, panels, png_path, title):
    """Label ``(axis, y label)`` panels against t, add legends and grids, write the PNG."""
    for ax, ylabel in panels:
        ax.set_xlabel("t")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path


def plot_spectra(spectra_path, png_path, *, kmax=None, max_curves=8, title=""):
    """Shell spectra E(k) from ``spectra.csv`` (log-log, a k^-5/3 guide)."""
    plt = _pyplot()
    steps, times, k, E = read_spectra(spectra_path)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    pick = np.unique(np.linspace(0, len(times) - 1, min(max_curves, len(times))).astype(int))
    cmap = plt.get_cmap("viridis")
    for n, i in enumerate(pick):
        ok = (k > 0) & (E[i] > 0)
        ax.loglog(k[ok], E[i][ok], color=cmap(n / max(1, len(pick) - 1)), label=f"t = {times[i]:.3g}")
    last = E[-1]
    ok = (k > 0) & (last > 0)
    if ok.sum() > 3:
        k1 = k[ok][1]
        ax.loglog(k[ok], last[k == k1][0] * (k[ok] / k1) ** (-5 / 3), "k--", lw=0.8, label=r"$k^{-5/3}$")
    if kmax:
        ax.axvline(kmax, color="gray", lw=0.8, ls=":", label="dealiasing cut-off $k_{max}$")
    ax.set_xlabel("k")
    ax.set_ylabel("E(k)")
    ax.set_ylim(max(1e-14, E[E > 0].min() if (E > 0).any() else 1e-14), None)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path


def make_plots(output_dir, *, reference=False, kmax=None, title=""):
    """Both figures, when their data files exist; returns the paths written."""
    files = []
    csv = os.path.join(output_dir, "diagnostics.csv")
    if os.path.isfile(csv):
        files.append(
            plot_history(csv, os.path.join(output_dir, "energy_dissipation.png"), reference=reference, title=title)
        )
    spec = os.path.join(output_dir, "spectra.csv")
    if os.path.isfile(spec):
        files.append(plot_spectra(spec, os.path.join(output_dir, "spectra.png"), kmax=kmax, title=title))
    return files


def plot_comparison(runs, png_path, *, title="Taylor-Green vortex, Re = 1600"):
    """Dissipation ``2 nu Omega`` of several runs (``{label: diagnostics.csv or its folder}``) against the
    512^3 reference, and their relative deviation from it."""
    plt = _pyplot()
    r = load_reference()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    a.plot(r["t"], r["dissipation"], "k-", lw=2.2, alpha=0.35, label="512$^3$ reference $-dE/dt$")
    for label, path in runs.items():
        csv = os.path.join(path, "diagnostics.csv") if os.path.isdir(path) else path
        s = read_series(csv)
        a.plot(s["time"], s["dissipation"], lw=1.1, label=label)
        ok = s["time"] <= r["t"][-1]
        ref = np.interp(s["time"][ok], r["t"], r["dissipation"])
        b.plot(s["time"][ok], 100 * (s["dissipation"][ok] - ref) / ref, lw=1.1, label=label)
    b.axhspan(-3, 3, color="green", alpha=0.08, label="$\\pm$3 %")
    b.set_ylim(-15, 15)
    return _finish(plt, fig, ((a, r"$2\nu\Omega$"), (b, "deviation from the reference [%]")), png_path, title)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[0] != "compare" or not all("=" in a for a in argv[2:]):
        print(
            "usage: python -m zzhpc.solvers.spectral.plots compare OUT.png LABEL=RUN_DIR [LABEL=RUN_DIR ...]",
            file=sys.stderr,
        )
        return 2
    runs = dict(a.rsplit("=", 1) for a in argv[2:])
    missing = [p for p in runs.values() if not os.path.exists(p)]
    if missing:
        print(f"plots compare: no run at {missing[0]} (expected a folder with diagnostics.csv)", file=sys.stderr)
        return 2
    print(plot_comparison(runs, argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
