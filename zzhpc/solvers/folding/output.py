"""What a folding run leaves behind: per-walker time series (parallel HDF5), DCD trajectories, thermodynamics
(folding temperature, Cv(T), F(Q) and their PNG plots) and the numbers for ``summary.json``."""

import os

import numpy as np

from ...io import open_parallel, write_block
from ...io.hdf5 import write_attrs
from .analysis import folding_temperature, free_energy_profile, plot_thermo
from .trajectory import DCDWriter, write_ca_pdb


class FoldingOutput:
    def __init__(self, solver):
        self.s = solver
        self.writers = {}
        self._thermo = None

    # Trajectories -----------------------------------------------------------------------------------
    def trajectory_frame(self):
        """Collective: append the current frame of every ``trajectory_replicas`` walker (rank 0 writes)."""
        s = self.s
        want = [
            w for w in s.params["trajectory_replicas"] if s.replicas.start <= w < s.replicas.start + s.replicas.count
        ]
        x = s.host_positions() if want else None
        mine = {w: x[w - s.replicas.start] for w in want}
        got = s.comm.gather(mine, root=0)
        if s.comm.Get_rank() != 0:
            return
        frames = {}
        for d in got:
            frames.update(d)
        outdir = s.ctx.output_dir
        if not self.writers:
            write_ca_pdb(os.path.join(outdir, "native_ca.pdb"), s.model.native, s.model.sequence)
        for w in sorted(frames):
            if w not in self.writers:
                self.writers[w] = DCDWriter(
                    os.path.join(outdir, f"traj_{w}.dcd"),
                    s.n,
                    first_step=s.step,
                    interval=s.params["trajectory_every"],
                    dt=s.dt,
                    append=s.step > s.params["trajectory_every"],
                )
            self.writers[w].write(frames[w], s.step)

    # Thermodynamics ---------------------------------------------------------------------------------
    def thermo(self):
        """Tf, Cv(T) and F(Q) at Tf from the replica time series (same on every rank), or None."""
        s = self.s
        if self._thermo is not None:
            return self._thermo
        temps = s.exchange.t
        ser = s.series_arrays()
        if len(np.unique(temps)) < 3 or ser["energy"].shape[1] < 20:
            return None
        th = folding_temperature(ser, temps, s.n, discard=s.params["discard"])
        q, fq = free_energy_profile(ser, th, 1.0 / th["tf"], len(s.model.contacts))
        th["q_grid"], th["fq"] = q, fq
        self._thermo = th
        return th

    def results(self):
        s = self.s
        ser = s.series_arrays()
        folded = s.first_fold >= 0
        out = {
            "model": s.model.describe(),
            "replicas": s.replicas.n,
            "dt": s.dt,
            # What the force terms compute in (docs/precision.md); sums and the integrator are in dtype.
            "term_precision": "float32" if s.mixed else str(s.np_dtype),
            "temperatures": s.exchange.t.tolist(),
            "folded_fraction": float(np.mean(folded)),
            "first_fold_step": s.first_fold.tolist(),
            "median_fold_step": float(np.median(s.first_fold[folded])) if folded.any() else None,
            "max_q": float(ser["q"].max()),
            "min_rmsd_A": float(10 * ser["rmsd"].min()),
        }
        if s.replicas.n > 1 and s.params["exchange_every"]:
            out["acceptance"] = [None if a != a else float(a) for a in s.exchange.acceptance()]
        th = self.thermo()
        if th is not None:
            out.update(
                tf=th["tf"],
                tf_error=th["tf_error"],
                tf_blocks=th["tf_blocks"],
                cv_max=float(np.max(th["cv"])),
                fq={"q": th["q_grid"].tolist(), "f": [None if not np.isfinite(v) else float(v) for v in th["fq"]]},
            )
        return out

    def write_series(self, path):
        """Collective: ``(R, S)`` series per walker, each rank writing its walkers' rows."""
        s = self.s
        ser = s.series_arrays()
        a, c = s.replicas.start, s.replicas.count
        f = open_parallel(path, "w", s.comm)
        try:
            write_attrs(
                f,
                {
                    "units": "energy eps, lengths nm, temperature eps/k_B",
                    "dt": s.dt,
                    "solver": "folding",
                    "structure": os.path.basename(s.structure.path),
                },
            )
            for k, v in ser.items():
                if k == "step":
                    f.create_dataset("step", data=v)
                else:
                    write_block(f, k, np.ascontiguousarray(v[a : a + c]), v.shape, (a, 0))
            f.create_dataset("temperatures", data=s.exchange.t)
            f.create_dataset("first_fold_step", data=s.first_fold)
        finally:
            f.close()

    def finish(self, outdir):
        s = self.s
        files = ["timeseries.h5"]
        self.write_series(os.path.join(outdir, "timeseries.h5"))
        th = self.thermo()
        if s.comm.Get_rank() == 0:
            write_ca_pdb(os.path.join(outdir, "native_ca.pdb"), s.model.native, s.model.sequence)
            files.append("native_ca.pdb")
            if th is not None:
                plot_thermo(
                    os.path.join(outdir, "cv.png"),
                    os.path.join(outdir, "fq.png"),
                    th,
                    th["q_grid"],
                    th["fq"],
                    os.path.basename(s.structure.path),
                )
                files += ["cv.png", "fq.png"]
        files += [f"traj_{w}.dcd" for w in sorted(self.writers)]
        return s.comm.bcast(files, root=0)
