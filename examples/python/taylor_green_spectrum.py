"""Taylor-Green vortex at 32^3: the kinetic-energy spectrum E(k) at a few times, plotted.

Run: python examples/python/taylor_green_spectrum.py      (writes tgv_spectrum.png next to the run)
"""

import os
import tempfile

import numpy as np

import zzhpc
from zzhpc.solvers.spectral.diagnostics import spectrum

HERE = os.path.dirname(os.path.abspath(__file__))
out = os.environ.get("ZZHPC_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="zzhpc-tgv-")
sim = zzhpc.Simulation(
    os.path.join(HERE, "..", "taylor_green.toml"),
    output=os.path.join(out, "tgv"),
    set={"spectral.shape": [32, 32, 32], "run.t_end": 5.0, "run.output_every": 0},
)
curves = {}
sim.every(10, lambda s: curves.__setitem__(round(s.time, 2), spectrum(s.solver.grid, s.solver.uh)))
sim.run()
sim.close()
if sim.comm.Get_rank() == 0:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    for t, e in curves.items():
        e = np.asarray(e)
        k = np.arange(len(e))
        ax.loglog(k[1:], e[1:], label=f"t = {t:g}")
    ax.set_xlabel("k")
    ax.set_ylabel("E(k)")
    ax.legend(fontsize=7)
    path = os.path.join(out, "tgv_spectrum.png")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"{len(curves)} spectra; plot {path}")
    first, last = np.asarray(list(curves.values())[0]), np.asarray(list(curves.values())[-1])
    # Energy cascades from k = 1 to higher k as the vortex stretches.
    assert last[8:].sum() > 10 * first[8:].sum()
