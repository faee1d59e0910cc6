"""NVE energy drift of the cluster-pair scheme in mixed precision, before and after the erfc-free form.

From the equilibrated checkpoint of ``zzhpc validate water_mixed_precision --quick`` (512 TIP3P after 1 ps
NVT, its ``eq/checkpoints/ckpt_0000000500.h5``), the NVE leg of that case (cutoff 9 A, skin 1 A, PME
tolerance 5e-4, 1000 steps of 2 fs, diagnostics every 10 steps) with ``pair_scheme = "cluster"`` in
mixed precision: the fitted real-space form (today's kernel) and exp + Cody's erfc in the float32 lanes
(the kernel before, ``_fit=False``); float64 for reference. Energy drift per molecule and ns (least-squares
slope) and RMS(E)/<KE>, as the case computes them. Run::

    python benchmarks/water_cluster_nve_drift.py CKPT [steps]
"""

import json
import os
import sys
import tempfile

from zzhpc.core.harness import run_deck
from zzhpc.solvers.water import kernels_cluster_numba as kc
from zzhpc.solvers.water.cases_common import water_deck
from zzhpc.solvers.water.cases_mixed import energy_drift


def main(ckpt, steps=1000, eq=500):
    nmol = 512
    common = {"model": "tip3p", "molecules": nmol, "cutoff": 9.0, "skin": 1.0, "ewald_tolerance": 5e-4}
    out = {}
    plain = kc._kernel
    for name, prec, fit in (
        ("mixed fit", "mixed", None),
        ("mixed exp+erfc", "mixed", False),
        ("float64", "uniform", None),
    ):
        kc._kernel = plain if fit is None else (lambda single, calc, f=None: plain(single, calc, False))
        try:
            deck = water_deck(
                dict(common, ensemble="nve", pair_scheme="cluster"),
                {"steps": eq + steps, "diag_every": 10, "restart": ckpt},
                backend={"precision": prec},
            )
            _, rows = run_deck(deck, os.path.join(tempfile.mkdtemp(prefix="nve_drift_"), "run"))
        finally:
            kc._kernel = plain
        drift, rms = energy_drift(rows, nmol)
        out[name] = {"drift kcal/mol/ns per molecule": drift, "RMS(E)/<KE>": rms}
        print(name, out[name], flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
