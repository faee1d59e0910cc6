"""Validation of the mixed-precision mode of water (``zzhpc validate water_mixed_precision``).

``backend.precision = "mixed"`` (docs/precision.md): pair terms and the PME grids, FFTs, spreading and
interpolation in float32; energies, virial, forces, positions and velocities summed and kept in float64.
Checked against the float64 (uniform) mode on the same configuration, in NVE and in the SPC/E physics
case. Measured figures are in docs/water.md.
"""

import os
import tempfile

import h5py
import numpy as np
from mpi4py import MPI

from ...core.metric import Metric
from ...core.registry import validation_case, validation_cases
from ...device import get_backend
from .cases_forces import distributed_forces, rms_rel
from .forcefield import WaterForceField
from ...core.harness import run_deck as run_inprocess
from .cases_common import water_deck

# GROMACS's default verlet-buffer-tolerance, 0.005 kJ/mol/ps per atom, in kcal/mol/ns per molecule.
GMX_BUFFER_DRIFT = 0.005 / 4.184 * 1000.0 * 3.0


def checkpoint_positions(path, velocities=False):
    """Positions ``(3 nmol, 3)`` [A] in molecule-id order and box edges of a water checkpoint (and the
    velocities [A/fs] in the same order when ``velocities``)."""
    with h5py.File(path, "r") as h5:
        x, ids = h5["state/x"][...], h5["state/id"][...]
        v = h5["state/v"][...]
        lengths = [float(c) for c in h5.attrs["lengths"]]
    out, vout = np.empty_like(x), np.empty_like(v)
    out[ids], vout[ids] = x, v
    if velocities:
        return out.reshape(-1, 3), vout.reshape(-1, 3), lengths
    return out.reshape(-1, 3), lengths


def energy_drift(rows, nmol):
    """Least-squares slope of the total energy [kcal/mol per ns per molecule] and RMS(E)/<KE>."""
    t = np.array([r["time"] for r in rows])
    e = np.array([r["etotal"] for r in rows])
    ke = float(np.mean([r["ke"] for r in rows]))
    return float(np.polyfit(t, e, 1)[0] * 1e6 / nmol), float(np.std(e)) / ke


@validation_case(
    "water_mixed_precision", "water", "mixed precision vs float64: energy, forces, NVE drift, SPC/E density and g_OO"
)
def case_mixed(quick):
    """TIP3P with the benchmark's settings (cutoff 9 A, PME tolerance 5e-4, order 5, SETTLE, 2 fs),
    equilibrated by SVR at 300 K in float64 (512 molecules and 1 ps quick; 4,000 and 10 ps full).

    1. On the equilibrated configuration, mixed against float64 (the same lists, one rank): relative
       error of the total potential energy :math:`|E_{mix} - E_{64}|/|E_{64}|` (<= 1e-6) and force
       relative RMS :math:`\\sqrt{\\sum|F_{mix}-F_{64}|^2/\\sum|F_{64}|^2}` (<= 1e-5), over all atoms.
       (An equilibrated, not a lattice, configuration: on the builder's lattice the differences of
       positions have structured low bits and float32 rounding of them is biased, 1e-5 in energy.)
    2. NVE from that checkpoint (2 ps quick, 100 ps full) in float64 and in mixed: energy drift per
       molecule and ns (least-squares slope; <= 1.0 kcal/mol/ns per molecule as ``water_nve_settle``)
       and RMS(E)/<KE>. The full form also runs GROMACS NVE from the same positions and velocities
       (:func:`.peer_gromacs.nve_drift`, its defaults) and checks zzhpc mixed drifts no more than it.
    3. ``water_spce_physics`` run in mixed precision: its metrics and tolerances unchanged.
    """
    comm, be = MPI.COMM_SELF, get_backend("numpy")
    nmol, eq, nve = (512, 500, 1000) if quick else (4000, 5000, 50000)
    work = tempfile.mkdtemp(prefix="water_mixed_")
    common = {"model": "tip3p", "molecules": nmol, "cutoff": 9.0, "skin": 1.0, "ewald_tolerance": 5e-4}
    run_inprocess(water_deck(dict(common, ensemble="nvt"), {"steps": eq, "diag_every": eq}), os.path.join(work, "eq"))
    ckpt = os.path.join(work, "eq", "checkpoints", f"ckpt_{eq:010d}.h5")
    x, L = checkpoint_positions(ckpt)
    res = {}
    for prec in ("uniform", "mixed"):
        ff = WaterForceField(comm, be, "tip3p", L, 9.0, nmol, tolerance=5e-4, precision=prec)
        res[prec] = distributed_forces(comm, be, ff, x, L, skin=1.0)
    (f64, e64, w64), (fmx, emx, wmx) = res["uniform"], res["mixed"]
    note = f"{nmol} TIP3P molecules after {eq * 2e-3:g} ps NVT; E_64 = {e64['total']:.6f} kcal/mol"
    out = [
        Metric(
            "potential energy, mixed vs float64 (relative error)",
            abs(emx["total"] - e64["total"]) / abs(e64["total"]),
            None,
            1e-6,
            "max",
            note=note,
        ),
        Metric("forces, mixed vs float64 (relative RMS)", rms_rel(fmx, f64), None, 1e-5, "max"),
        Metric("virial, mixed vs float64 (relative error; reported)", abs(wmx - w64) / abs(w64), None, 1e-4, "max"),
    ]
    for prec in ("uniform", "mixed"):
        deck = water_deck(
            dict(common, ensemble="nve"),
            {"steps": eq + nve, "diag_every": 10, "restart": ckpt},
            backend={"precision": prec},
        )
        summ, rows = run_inprocess(deck, os.path.join(work, f"nve_{prec}"))
        drift, rms = energy_drift(rows, nmol)
        label = "float64" if prec == "uniform" else "mixed"
        out.append(
            Metric(
                f"NVE |drift| [kcal/mol/ns per molecule], {label} ({nve} steps of 2 fs)",
                abs(drift),
                None,
                1.0,
                "max",
                note=f"signed {drift:.3g}",
            )
        )
        out.append(Metric(f"NVE RMS(E) / mean kinetic energy, {label}", rms, None, 2e-3, "max"))
    if not quick:
        # GROMACS (mixed precision, its defaults) from the same equilibrated state: its own drift estimate.
        from . import peer_gromacs

        x, v, L = checkpoint_positions(ckpt, velocities=True)
        g = peer_gromacs.nve_drift(os.path.join(work, "gmx_nve"), x, v, L, "tip3p", 9.0, nve)
        ver = peer_gromacs.gmx_version()
        mixed_drift = next(m.measured for m in out if m.name.startswith("NVE |drift|") and "mixed" in m.name)
        gd = g["drift_kcal_mol_ns_molecule"]
        out.append(
            Metric(
                "NVE |drift| [kcal/mol/ns per molecule], GROMACS (its 'Conserved energy drift')",
                abs(gd) if gd is not None else None,
                None,
                GMX_BUFFER_DRIFT,
                "max",
                note=f"GROMACS {ver['version']} {ver['precision']}; zzhpc mixed {mixed_drift:.3g}; "
                "tolerance: GROMACS's own verlet-buffer-tolerance",
            )
        )
        out.append(
            Metric(
                "zzhpc mixed drift / GROMACS drift (goal: no worse, <= 1)",
                mixed_drift / max(abs(gd), 1e-12) if gd is not None else None,
                None,
                1.0,
                "max",
            )
        )
    physics = validation_cases()["water_spce_physics"]["run"]  # registered by .cases, which imports this
    for m in physics(quick, precision="mixed"):
        m.name = "mixed: " + m.name
        out.append(m)
    return out
