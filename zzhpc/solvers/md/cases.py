"""Validation and benchmark cases of the MD solver (``zzhpc validate md``, ``zzhpc bench md``).

Measured figures of the full forms are in docs/md.md.
"""

import os
import tempfile

import numpy as np

from ...core.harness import run_deck, run_deck_mpi
from ...core.metric import Metric
from ...core.peers import run_peer
from ...core.registry import benchmark_case, validation_case
from . import cases_mw  # noqa: F401  (registers the mW water cases)
from .cases_common import (
    LAMMPS_VARIANTS,
    analytic_forces,
    bench_precisions,
    bench_row,
    calibration_point,
    fd_forces,
    make_solver,
    md_deck,
)

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_lammps.py")
THERMO = ("pe", "ke", "etotal", "press")


def lammps_thermo(cells, steps, every, workdir):
    """LAMMPS in.lj (``neigh_modify delay 0 every 1 check yes``): data file at step 0 and thermo rows."""
    out = run_peer(
        PEER,
        {"mode": "thermo", "cells": cells, "steps": steps, "thermo_every": every, "workdir": workdir},
        timeout=3600,
    )
    rows = [dict(zip(out["columns"], r)) for r in out["rows"]]
    return out["data_file"], rows


@validation_case("md_lammps_lj", "md", "in.lj melt from LAMMPS's own initial state: thermo at step 100 vs LAMMPS")
def case_lammps(quick):
    """Same positions and velocities (LAMMPS write_data), lists rebuilt as needed on both sides:
    pe, ke, etotal and pressure at step 100 agree with LAMMPS to 1e-6 relative. The full form also
    reports the NVE energy drift over 10,000 steps."""
    cells = [6, 6, 6] if quick else [20, 20, 20]
    work = tempfile.mkdtemp(prefix="md_lammps_")
    data, ref = lammps_thermo(cells, 100, 100, work)
    deck = md_deck({"data_file": data, "temperature": None, "cells": cells}, {"steps": 100, "diag_every": 100})
    _, rows = run_deck(deck, os.path.join(work, "zzhpc"))
    got, want = rows[-1], ref[-1]
    metrics = [Metric(f"{k} at step 100 ({np.prod(cells) * 4} atoms)", got[k], want[k], 1e-6, "rel") for k in THERMO]
    if not quick:
        os.makedirs(os.path.join(work, "lmp_drift"), exist_ok=True)
        deck = md_deck({"data_file": data, "temperature": None}, {"steps": 10000, "diag_every": 1000})
        _, rows = run_deck(deck, os.path.join(work, "drift"))
        e = [r["etotal"] for r in rows]
        _, lref = lammps_thermo(cells, 10000, 1000, os.path.join(work, "lmp_drift"))
        drift = abs(e[-1] - e[0]) / abs(e[0])
        ldrift = abs(lref[-1]["etotal"] - lref[0]["etotal"]) / abs(lref[0]["etotal"])
        # The unshifted 2.5 sigma cutoff makes E jump as pairs cross it: both codes drift alike.
        metrics.append(Metric("NVE |E(10000)-E(0)|/|E(0)|", drift, None, 5e-3, "max", note=f"LAMMPS: {ldrift:.3e}"))
    return metrics


@validation_case("md_rank_independence", "md", "thermo over 100 steps on 1, 2 and 4 ranks agree to 1e-8")
def case_ranks(quick):
    """The decomposition (migration, ghosts, reverse comm) does not change the physics."""
    cells = [6, 6, 6] if quick else [12, 12, 12]
    work = tempfile.mkdtemp(prefix="md_ranks_")
    deck = md_deck({"cells": cells}, {"steps": 100, "diag_every": 10})
    base = run_deck_mpi(deck, os.path.join(work, "r1"), 1)[1]
    metrics = []
    for n in (2, 4):
        rows = run_deck_mpi(deck, os.path.join(work, f"r{n}"), n)[1]
        err = max(abs(r[k] - b[k]) / max(abs(b[k]), 1e-300) for r, b in zip(rows, base) for k in THERMO)
        metrics.append(Metric(f"max rel thermo diff, {n} vs 1 ranks", err, None, 1e-8, "max"))
    return metrics


@validation_case("md_forces_fd", "md", "pair forces = -dE/dx by central finite differences")
def case_fd(quick):
    """Forces of a melted in.lj configuration against central differences of the total energy
    (h = 1e-5 sigma), on atoms next to sub-domain and periodic boundaries."""
    s = make_solver(md_deck({"cells": [4, 4, 4] if quick else [6, 6, 6], "pair_shift": True}, {"steps": 1}))
    rng = np.random.default_rng(7)
    x = s.backend.to_host(s.x)[: s.nlocal] + rng.normal(scale=0.08, size=(s.nlocal, 3))
    s.x = s.backend.asarray(x, dtype=s.ctx.dtype)
    s._rebuild()
    s._forces()
    ids = rng.choice(s.natoms, size=4 if quick else 16, replace=False) + 1
    fa = analytic_forces(s, ids)
    fd = fd_forces(s, ids)
    err = float(np.max(np.abs(fa - fd)) / np.max(np.abs(fa)))
    return [Metric(f"max |F - F_fd| / max|F| ({len(ids)} atoms)", err, None, 1e-6, "max")]


@validation_case("md_thermostats", "md", "Langevin (BAOAB) and Nose-Hoover chain hold the target temperature")
def case_thermostats(quick):
    """864 LJ atoms (shifted cutoff, so that the energy is continuous) from T = 1.44 to T = 1.0: mean
    temperature over the second half within 3 % of the target for both thermostats; the Nose-Hoover
    chain conserves its extended energy."""
    steps = 2000 if quick else 20000
    work = tempfile.mkdtemp(prefix="md_thermo_")
    out = []
    for kind in ("langevin", "nhc"):
        deck = md_deck(
            {"cells": [6, 6, 6], "integrator": kind, "t_target": 1.0, "damp": 0.5, "pair_shift": True},
            {"steps": steps, "diag_every": 20},
        )
        _, rows = run_deck(deck, os.path.join(work, kind))
        half = rows[len(rows) // 2 :]
        tmean = float(np.mean([r["temp"] for r in half]))
        out.append(Metric(f"{kind}: mean T (2nd half of {steps} steps)", tmean, 1.0, 0.03, "rel"))
        if kind == "nhc":
            ec = [r["econserved"] for r in rows]
            out.append(Metric("nhc: |conserved drift| / |E|", abs(ec[-1] - ec[0]) / abs(ec[0]), None, 1e-3, "max"))
    return out


@benchmark_case(
    "md_lj",
    "md",
    "LAMMPS bench/in.lj (32,000 atoms): zzhpc (float64, mixed) vs LAMMPS (plain, -sf opt, -sf omp) on 1 and 2 ranks",
)
def bench_lj(quick):
    """Time per step of in.lj (``neigh_modify every 20 check no``) on 1 and 2 ranks, in one run: LAMMPS in
    every variant its build has (plain, ``-sf opt``, ``-sf omp -pk omp 1``; one thread), then zzhpc in every
    precision (:func:`.cases_common.bench_precisions`). One row per rank count and precision; the peer is
    the fastest LAMMPS variant, all variants are in ``peer_variants``; bytes per atom of both codes (arrays
    or LAMMPS's own count, and peak resident memory); ``calibration`` feeds ``zzhpc project --bench``."""
    cells = [10, 10, 10] if quick else [20, 20, 20]
    steps = 200 if quick else 1000
    natoms = 4 * int(np.prod(cells))
    work = tempfile.mkdtemp(prefix="md_bench_")
    rows = []
    for ranks in (1, 2):
        peer = run_peer(
            PEER,
            {
                "mode": "bench",
                "cells": cells,
                "steps": steps,
                "ranks": ranks,
                "every": 20,
                "check": "no",
                "variants": list(LAMMPS_VARIANTS),
            },
            timeout=3600,
        )
        for precision in bench_precisions():
            load = os.getloadavg()[0]
            deck = md_deck(
                {"cells": cells, "neigh_every": 20, "neigh_check": False},
                {"steps": steps, "diag_every": steps},
                backend={"precision": precision},
            )
            summ, _ = run_deck_mpi(deck, os.path.join(work, f"z{ranks}_{precision}"), ranks, timeout=3600)
            row = bench_row(summ, peer, natoms)
            row = dict({"label": f"in.lj {natoms} atoms, {ranks} rank(s), zzhpc {row['precision']}"}, **row)
            row["load_average_1min"] = load
            row["calibration"] = calibration_point(row, summ)
            rows.append(row)
    return rows
