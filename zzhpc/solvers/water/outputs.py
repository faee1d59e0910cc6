"""Structure and transport sampled during a water run, and the closing figures.

Every ``water.sample_every`` steps (after ``water.sample_start``) the oxygens are gathered on rank 0,
ordered by molecule id: their minimum-image O-O distances add to a radial-distribution histogram
(:func:`zzhpc.particles.analysis.rdf_counts`) and their unwrapped positions are kept for the
mean-squared displacement. At the end rank 0 writes ``rdf_oo.png``, ``density.png`` (from
``diagnostics.csv``) and, for runs long enough, ``msd.png``; :meth:`Sampler.results` gives the first
peak of g_OO and the self-diffusion coefficient for ``summary.json``.
"""

import os

import numpy as np

from ...particles import analysis
from ...io.summary import read_csv_rows

MIN_MSD_FRAMES = 20
MIN_MSD_SPAN_FS = 2000.0


class Sampler:
    """RDF histogram and oxygen trajectories accumulated on rank 0 (all ranks call ``sample``)."""

    def __init__(self, comm, nmol, rmax, nbins):
        self.comm, self.nmol = comm, nmol
        self.rmax, self.nbins = float(rmax), int(nbins)
        self.edges = np.linspace(0.0, self.rmax, self.nbins + 1)
        self.counts = np.zeros(self.nbins, dtype=np.int64)
        self.pair_norm = 0.0
        self.frames, self.times = [], []
        self.nrdf = 0

    def sample(self, time, mid, oxygens_unwrapped, lengths):
        """Collective: add one frame (host arrays of the owned molecules)."""
        parts = self.comm.gather((np.asarray(mid), np.asarray(oxygens_unwrapped)), root=0)
        if self.comm.Get_rank() != 0:
            return
        ids = np.concatenate([p[0] for p in parts])
        xo = np.concatenate([p[1] for p in parts])[np.argsort(ids, kind="stable")]
        L = np.asarray(lengths, dtype=float)
        self.frames.append(xo)
        self.times.append(float(time))
        if self.rmax <= 0.5 * float(L.min()):
            wrapped = xo - L * np.floor(xo / L)
            _, c, na, nb, vol = analysis.rdf_counts(wrapped, L, self.rmax, self.nbins)
            self.counts += c
            self.pair_norm += na * nb / vol
            self.nrdf += 1

    # Results ----------------------------------------------------------------------------------------
    def rdf(self):
        return analysis.rdf_from_counts(self.edges, self.counts, self.pair_norm)

    def msd(self):
        """``(t [fs], msd [A^2])`` over lags up to half the sampled span, or None when too short."""
        if len(self.frames) < MIN_MSD_FRAMES or self.times[-1] - self.times[0] < MIN_MSD_SPAN_FS:
            return None
        lags, m = analysis.msd(np.stack(self.frames), max_lag=len(self.frames) // 2)
        dt = (self.times[-1] - self.times[0]) / (len(self.times) - 1)
        return lags * dt, m

    def results(self):
        """First peak of g_OO and D (rank 0; None elsewhere)."""
        if self.comm.Get_rank() != 0:
            return None
        out = {"samples": len(self.frames), "rdf_frames": self.nrdf}
        if self.nrdf:
            r, g = self.rdf()
            pos, height = analysis.first_peak(r, g, rmin=2.0)
            out.update({"goo_first_peak_A": pos, "goo_first_peak_height": height, "rdf_rmax_A": self.rmax})
        m = self.msd()
        if m is not None:
            D, _ = analysis.self_diffusion(*m)
            out.update({"msd_span_fs": float(m[0][-1]), "self_diffusion_cm2_s": D * analysis.A2_PER_FS_TO_CM2_PER_S})
        return out

    # Checkpoints ------------------------------------------------------------------------------------
    def save(self, h5):
        """Collective: the accumulated samples (rank 0's rows) under ``analysis/``."""
        from .checkpoint import write_rows

        root = self.comm.Get_rank() == 0
        frames = np.stack(self.frames) if root and self.frames else np.zeros((0, self.nmol, 3))
        write_rows(h5, "analysis/frames", frames, self.comm)
        write_rows(h5, "analysis/times", np.asarray(self.times if root else [], dtype=float), self.comm)
        write_rows(h5, "analysis/rdf_counts", self.counts if root else np.zeros(0, np.int64), self.comm)
        # Attributes are collective: every rank writes rank 0's values.
        h5.attrs["analysis_pair_norm"] = self.comm.bcast(self.pair_norm, root=0)
        h5.attrs["analysis_nrdf"] = self.comm.bcast(self.nrdf, root=0)

    def load(self, h5, path):
        """Collective: restore what :meth:`save` wrote (rank 0 keeps the samples)."""
        from ...io.hdf5 import read_concatenated

        if "analysis/frames" not in h5:
            return
        root = self.comm.Get_rank() == 0
        nf = h5["analysis/frames"].shape[0]
        frames = read_concatenated(h5, "analysis/frames", 0, nf if root else 0, path)
        times = read_concatenated(h5, "analysis/times", 0, nf if root else 0, path)
        counts = read_concatenated(h5, "analysis/rdf_counts", 0, self.nbins if root else 0, path)
        if root:
            self.frames, self.times = list(frames), [float(t) for t in times]
            self.counts = np.asarray(counts, dtype=np.int64)
        self.pair_norm = float(h5.attrs["analysis_pair_norm"])
        self.nrdf = int(h5.attrs["analysis_nrdf"])


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_figures(sampler, output_dir, model_name):
    """PNGs on rank 0: g_OO(r), density vs time, MSD (when long enough). Returns the file names."""
    plt = _plt()
    files = []
    if sampler.nrdf:
        r, g = sampler.rdf()
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        ax.plot(r, g, lw=1.2)
        ax.axhline(1.0, color="0.6", lw=0.6)
        ax.set_xlabel("r [A]")
        ax.set_ylabel("g_OO(r)")
        ax.set_title(f"{model_name}: O-O radial distribution ({sampler.nrdf} frames)", fontsize=9)
        fig.savefig(os.path.join(output_dir, "rdf_oo.png"), dpi=110, bbox_inches="tight")
        plt.close(fig)
        files.append("rdf_oo.png")
    rows = _read_csv(os.path.join(output_dir, "diagnostics.csv"))
    if rows and "density" in rows[0]:
        t = np.array([float(r["time"]) for r in rows]) / 1000.0
        rho = np.array([float(r["density"]) for r in rows])
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        ax.plot(t, rho, lw=1.0)
        ax.set_xlabel("t [ps]")
        ax.set_ylabel("density [g/cm^3]")
        ax.set_title(f"{model_name}: density", fontsize=9)
        fig.savefig(os.path.join(output_dir, "density.png"), dpi=110, bbox_inches="tight")
        plt.close(fig)
        files.append("density.png")
    m = sampler.msd()
    if m is not None:
        D, c = analysis.self_diffusion(*m)
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        ax.plot(m[0] / 1000.0, m[1], lw=1.2, label="MSD of O")
        ax.plot(
            m[0] / 1000.0,
            6 * D * m[0] + c,
            "--",
            lw=0.8,
            label=f"6Dt + c, D = {D * analysis.A2_PER_FS_TO_CM2_PER_S:.3g} cm^2/s",
        )
        ax.set_xlabel("t [ps]")
        ax.set_ylabel("MSD [A^2]")
        ax.legend(fontsize=8)
        fig.savefig(os.path.join(output_dir, "msd.png"), dpi=110, bbox_inches="tight")
        plt.close(fig)
        files.append("msd.png")
    return files


def _read_csv(path):
    if not os.path.exists(path):
        return []
    return read_csv_rows(path)
