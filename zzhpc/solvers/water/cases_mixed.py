"""Validation of the mixed-precision mode of water (``zzhpc validate water_mixed_precision``).

``backend.precision = "mixed"`` (docs/precision.md): pair terms and the PME grids, FFTs, spreading and
interpolation in float32; energies, virial, forces, positions and velocities summed and kept in float64.
Checked against the float64 (uniform) mode on the same configuration, in NVE against float64 and
GROMACS, and in the SPC/E physics case. Measured figures are in docs/water.md.

The full form at another size or length (``zzhpc validate`` runs 4,000 molecules, 100 ps):
``python -m zzhpc.solvers.water.cases_mixed --molecules 1000 [--nve-ps 100] [--no-physics] [--json F]``.
"""

import argparse
import json
import os
import sys
import tempfile
import time

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
from .drift import DRIFT_FLOOR, drift_threshold, gromacs_drift, zzhpc_drift

CUTOFF = 9.0  # A, the bench's


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


def production_pme(work, nmol):
    """The bench's PME for the builder's box of ``nmol`` TIP3P molecules (seed 1, 0.997 g/cm^3):
    GROMACS's alpha, grid and order from the md.log of a zero-step mdrun (as ``water_tip3p_gromacs``),
    or :func:`.peer_gromacs.default_pme` without ``gmx``. Returns (parameters, where from)."""
    from ...core.peers import PeerUnavailable
    from . import peer_gromacs
    from .builder import water_box

    x, L = water_box(nmol, "tip3p", 0.997, seed=1)
    try:
        p = peer_gromacs.pme_parameters(os.path.join(work, "gmx_pme"), x.reshape(-1, 3), L, "tip3p", CUTOFF)
        return p, "GROMACS md.log"
    except PeerUnavailable as exc:
        return peer_gromacs.default_pme(L, CUTOFF), f"computed (GROMACS absent: {exc})"


@validation_case(
    "water_mixed_precision",
    "water",
    "mixed precision vs float64: energy, forces, NVE drift against GROMACS, SPC/E density and g_OO",
)
def case_mixed(quick, molecules=None, nve_ps=None, physics=True, work=None):
    """TIP3P with the bench's production settings (``water_tip3p_gromacs``: cutoff 9 A, GROMACS's PME
    parameters, alpha 0.3470 1/A from ewald-rtol 1e-5, grid from 0.12 nm, order 4, read from its md.log;
    dispersion correction, SETTLE, 2 fs, atom-list skin 1 A): the builder's box, 50 steepest-descent
    steps, SVR at 300 K (0.1 ps) in float64: 512 molecules and 1 ps quick; 4,000 (``molecules``) and
    10 ps full.

    1. On the equilibrated configuration, mixed against float64 (the same lists, one rank): relative
       error of the total potential energy :math:`|E_{mix} - E_{64}|/|E_{64}|` (<= 1e-6) and force
       relative RMS :math:`\\sqrt{\\sum|F_{mix}-F_{64}|^2/\\sum|F_{64}|^2}` (<= 1e-5), over all atoms.
       (An equilibrated, not a lattice, configuration: on the builder's lattice the differences of
       positions have structured low bits and float32 rounding of them is biased, 1e-5 in energy.)
    2. NVE from that checkpoint (2 ps quick, ``nve_ps`` = 100 ps full) in float64 and in mixed, and
       GROMACS's NVE (``integrator = md``, ``tcoupl = no``, its defaults: Verlet buffer, PME) from the
       same positions and velocities (:func:`.peer_gromacs.nve_energies`; quick form only when ``gmx``
       is installed). Each: the drift of the conserved energy per molecule and ns with its block error
       (:func:`.drift.energy_drift`, one fit for all three), |drift| <= 1.0 kcal/mol/ns per molecule as
       ``water_nve_settle`` and RMS(E - line)/<KE>; the goal, zzhpc mixed no worse than GROMACS, by
       :func:`.drift.drift_threshold`.
    3. ``water_spce_physics`` run in mixed precision: its metrics and tolerances unchanged
       (``physics``)."""
    from ...core.peers import PeerUnavailable
    from . import peer_gromacs

    comm, be = MPI.COMM_SELF, get_backend("numpy")
    nmol = molecules or (512 if quick else 4000)
    eq = 500 if quick else 5000
    nve = int(round((nve_ps or (2.0 if quick else 100.0)) * 500))
    every = 10 if quick else 50
    work = work or tempfile.mkdtemp(prefix="water_mixed_")
    pme, pme_from = production_pme(work, nmol)
    common = {
        "model": "tip3p",
        "molecules": nmol,
        "cutoff": CUTOFF,
        "skin": 1.0,
        "minimise_steps": 50,
        "ewald_alpha": pme["alpha_per_A"],
        "pme_grid": pme["grid"],
        "pme_order": pme["pme_order"],
    }
    pme_note = f"PME alpha {pme['alpha_per_A']:.4f} 1/A, grid {pme['grid']}, order {pme['pme_order']} ({pme_from})"
    t0 = time.perf_counter()
    run_inprocess(
        water_deck(dict(common, ensemble="nvt", tau_t=100.0), {"steps": eq, "diag_every": eq}), os.path.join(work, "eq")
    )
    ckpt = os.path.join(work, "eq", "checkpoints", f"ckpt_{eq:010d}.h5")
    walls = {"equilibration": time.perf_counter() - t0}
    x, L = checkpoint_positions(ckpt)
    res = {}
    for prec in ("uniform", "mixed"):
        ff = WaterForceField(
            comm,
            be,
            "tip3p",
            L,
            CUTOFF,
            nmol,
            alpha=pme["alpha_per_A"],
            grid=pme["grid"],
            order=pme["pme_order"],
            precision=prec,
        )
        res[prec] = distributed_forces(comm, be, ff, x, L, skin=1.0)
    (f64, e64, w64), (fmx, emx, wmx) = res["uniform"], res["mixed"]
    note = f"{nmol} TIP3P molecules after {eq * 2e-3:g} ps NVT; E_64 = {e64['total']:.6f} kcal/mol; {pme_note}"
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
    drifts = {}
    # GROMACS first: it is the fast leg, and a failing peer is known before the long zzhpc legs.
    x, v, L = checkpoint_positions(ckpt, velocities=True)
    try:
        t0 = time.perf_counter()
        g = peer_gromacs.nve_energies(os.path.join(work, "gmx_nve"), x, v, L, "tip3p", CUTOFF, nve, energy_every=every)
        walls["GROMACS"] = time.perf_counter() - t0
        drifts["GROMACS"] = dict(gromacs_drift(g), log_drift_kJ_mol_ps_atom=g.get("drift_kJ_mol_ps_atom"))
        ver = peer_gromacs.gmx_version()
        gnote = (
            f"GROMACS {ver['version']} {ver['precision']}, its PME alpha {g['alpha_per_A']:.4f} 1/A, grid "
            f"{g['grid']}, rlist {g.get('rlist_nm')} nm"
        )
    except PeerUnavailable as exc:
        if not quick:
            raise
        gnote = f"GROMACS NVE skipped: {exc}"
    for prec in ("mixed", "uniform"):  # the compared leg first
        deck = water_deck(
            dict(common, ensemble="nve"),
            {"steps": eq + nve, "diag_every": every, "restart": ckpt},
            backend={"precision": prec},
        )
        t0 = time.perf_counter()
        summ, rows = run_inprocess(deck, os.path.join(work, f"nve_{prec}"))
        label = "float64" if prec == "uniform" else "mixed"
        walls[f"zzhpc {label}"] = time.perf_counter() - t0
        drifts[label] = zzhpc_drift(rows, nmol)
    for label in ("float64", "mixed", "GROMACS"):
        if label not in drifts:
            continue
        d = drifts[label]
        who = label if label == "GROMACS" else f"zzhpc {label}"
        out.append(
            Metric(
                f"NVE |drift| [kcal/mol/ns per molecule], {who} ({nve} steps of 2 fs)",
                abs(d["drift"]),
                None,
                1.0,
                "max",
                note=f"signed {d['drift']:.4g} +- {d['error']:.2g} (block error); {walls[who]:.0f} s"
                + (f"; {gnote}" if label == "GROMACS" or "GROMACS" not in drifts else ""),
            )
        )
        out.append(Metric(f"NVE RMS(E - drift line) / mean kinetic energy, {who}", d["rms_over_ke"], None, 2e-3, "max"))
    if "GROMACS" in drifts:
        thr = drift_threshold(drifts["mixed"], drifts["GROMACS"])
        out.append(
            Metric(
                "NVE |drift|, zzhpc mixed against GROMACS: <= max(|GROMACS| + 2 sigma, floor)",
                abs(drifts["mixed"]["drift"]),
                None,
                thr,
                "max",
                note=f"GROMACS {drifts['GROMACS']['drift']:.4g} +- {drifts['GROMACS']['error']:.2g}, "
                f"floor {DRIFT_FLOOR:.3g}",
            )
        )
    case_mixed.last = {"molecules": nmol, "nve_steps": nve, "pme": pme, "drifts": drifts, "walls_s": walls}
    if physics:
        run = validation_cases()["water_spce_physics"]["run"]  # loads .cases, which imports this module
        for m in run(quick, precision="mixed"):
            m.name = "mixed: " + m.name
            out.append(m)
    return out


def main(argv=None):
    """The full form at a chosen size: ``python -m zzhpc.solvers.water.cases_mixed --molecules N``."""
    ap = argparse.ArgumentParser(prog="python -m zzhpc.solvers.water.cases_mixed", description=main.__doc__)
    ap.add_argument("--molecules", type=int, default=4000, help="TIP3P molecules (default 4000)")
    ap.add_argument("--nve-ps", type=float, default=100.0, help="NVE length of each leg [ps] (default 100)")
    ap.add_argument("--quick", action="store_true", help="the CI form (512 molecules, 2 ps) unless sized")
    ap.add_argument("--no-physics", action="store_true", help="leave out water_spce_physics in mixed")
    ap.add_argument("--work", help="folder of the runs (default: a new temporary folder)")
    ap.add_argument("--json", help="write the metrics and drifts here")
    a = ap.parse_args(argv)
    from .builder import water_box

    L = water_box(a.molecules, "tip3p", 0.997, seed=1)[1][0]
    if a.molecules < 2 or L < 2 * (CUTOFF + 1.0) or a.nve_ps <= 0:
        print(
            f"--molecules {a.molecules} / --nve-ps {a.nve_ps}: box edge {L:.1f} A must be >= 2 x (cutoff 9 + "
            "skin 1) A = 20 A (about 300 molecules or more) and the NVE length > 0",
            file=sys.stderr,
        )
        return 2

    t0 = time.perf_counter()
    metrics = case_mixed(a.quick, a.molecules, a.nve_ps, not a.no_physics, a.work)
    for m in metrics:
        print(f"{m.name:80s} {m.measured:12.4g} <= {m.tolerance:10.4g} {'pass' if m.passed else 'FAIL'}  {m.note}")
    if a.json:
        rec = dict(
            case_mixed.last,
            seconds=time.perf_counter() - t0,
            metrics=[
                {
                    "name": m.name,
                    "measured": m.measured,
                    "tolerance": m.tolerance,
                    "mode": m.mode,
                    "passed": m.passed,
                    "note": m.note,
                }
                for m in metrics
            ],
        )
        with open(a.json, "w") as fh:
            json.dump(rec, fh, indent=1, default=float)
    return 0 if all(m.passed for m in metrics) else 1


if __name__ == "__main__":
    sys.exit(main())
