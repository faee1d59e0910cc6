"""Validation and benchmark cases of mW water (Stillinger-Weber, :mod:`.sw`) in the MD solver.

Imported by :mod:`.cases` (never the other way); measured figures of the full forms are in docs/mw.md.
"""

import os
import tempfile

import numpy as np

from ...core.peers import run_peer
from ...core.metric import Metric
from ...core.registry import benchmark_case, validation_case
from .datafile import read_data
from ...core.harness import run_deck, run_deck_mpi
from .cases_common import LAMMPS_VARIANTS, bench_precisions, bench_row, make_solver, md_deck
from .sw import BUILTIN, MW_MASS, sw_file_text

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_lammps.py")
FIGURES = os.path.join("runs", "validate", "md_mw")
AVOGADRO = 0.602214076  # 1e24 / N_A: g/mol per A^3 -> g/cm^3 is 1 / this
PUBLISHED_DENSITY = 0.997  # g/cm^3 at 298 K, 1 bar: Molinero & Moore (2009)
ONE_BAR_ATM = 1.0 / 1.01325
NUMBER_DENSITY = PUBLISHED_DENSITY * AVOGADRO / MW_MASS  # molecules per A^3
THERMO = ("pe", "ke", "etotal", "press")


def mw_section(**kw):
    """``[md]`` of an mW run in real units: simple-cubic start at 0.997 g/cm^3, skin 2 A."""
    md = {
        "units": "real",
        "pair_style": "sw",
        "sw_params": "mW",
        "lattice": "sc",
        "density": NUMBER_DENSITY,
        "masses": [MW_MASS],
        "temperature": 298.0,
        "skin": 2.0,
        "pair_coeff": None,
    }
    md.update(kw)
    return md


def mw_deck(md=None, run=None, **sections):
    return md_deck(mw_section(**(md or {})), dict({"dt": 10.0}, **(run or {})), **sections)


def write_mw_file(work):
    """The built-in mW set as a LAMMPS ``mW.sw`` file in ``work`` (read by both codes)."""
    path = os.path.join(work, "mW.sw")
    with open(path, "w") as fh:
        fh.write(sw_file_text(BUILTIN["mW"]))
    return path


def lattice_constant():
    return NUMBER_DENSITY ** (-1.0 / 3.0)


@validation_case("md_mw_lammps", "md", "mW water (pair_style sw): energy, forces and thermo vs LAMMPS")
def case_mw_lammps(quick):
    """A liquid made by LAMMPS (simple-cubic lattice at 0.997 g/cm^3 melted by ``fix langevin`` at 298 K)
    is read by both codes with the same ``mW.sw`` file: energy, pressure and every per-atom force agree
    to 1e-8 relative, and thermo after 100 NVE steps of 10 fs to 1e-6."""
    cells, melt = (8, 500) if quick else (16, 2000)
    work = tempfile.mkdtemp(prefix="md_mw_lammps_")
    swf = write_mw_file(work)
    ref = run_peer(
        PEER,
        {
            "mode": "sw_thermo",
            "cells": cells,
            "lattice_constant": lattice_constant(),
            "sw_file": swf,
            "temperature": 298.0,
            "melt_steps": melt,
            "steps": 100,
            "thermo_every": 100,
            "skin": 2.0,
            "workdir": work,
        },
        timeout=3600,
    )
    rows = [dict(zip(ref["columns"], r)) for r in ref["rows"]]
    deck = mw_deck(
        {"data_file": ref["data_file"], "sw_file": swf, "temperature": None}, {"steps": 100, "diag_every": 100}
    )
    s = make_solver(deck)
    be = s.backend
    order = np.argsort(be.to_host(s.ids))
    f = be.to_host(s.f)[: s.nlocal][order]
    fl = np.asarray(ref["forces"])
    assert be.to_host(s.ids)[order].tolist() == ref["ids"]
    th = s.thermo()
    n = s.natoms
    out = [
        Metric(f"pe at step 0 ({n} molecules)", th["pe"], rows[0]["pe"], 1e-8, "rel"),
        Metric("press at step 0", th["press"], rows[0]["press"], 1e-8, "rel"),
        Metric(
            "max |F - F_lammps| / max |F_lammps|", float(np.abs(f - fl).max() / np.abs(fl).max()), None, 1e-8, "max"
        ),
    ]
    _, got = run_deck(deck, os.path.join(work, "zzhpc"))
    out += [Metric(f"{k} at step 100", got[-1][k], rows[-1][k], 1e-6, "rel") for k in THERMO]
    return out


@validation_case("md_mw_ranks", "md", "mW NPT (SVR + c-rescale): thermo on 1, 2 and 4 ranks agree to 1e-8")
def case_mw_ranks(quick):
    """Three-body forces on ghosts, their reverse communication and the barostat's box changes do not
    depend on the decomposition: 100 steps of 10 fs (as ``md_rank_independence``); beyond that the
    rounding differences of the summation order grow chaotically (about x10 per 0.2 ps in this melt)."""
    cells, steps = (8, 100) if quick else (16, 100)
    work = tempfile.mkdtemp(prefix="md_mw_ranks_")
    deck = mw_deck(
        {
            "cells": [cells] * 3,
            "integrator": "svr",
            "t_target": 298.0,
            "damp": 200.0,
            "barostat": "c-rescale",
            "p_target": ONE_BAR_ATM,
            "p_damp": 1000.0,
        },
        {"steps": steps, "diag_every": 10},
    )
    base = run_deck_mpi(deck, os.path.join(work, "r1"), 1)[1]
    metrics = []
    for n in (2, 4):
        rows = run_deck_mpi(deck, os.path.join(work, f"r{n}"), n)[1]
        err = max(abs(r[k] - b[k]) / max(abs(b[k]), 1e-300) for r, b in zip(rows, base) for k in THERMO + ("density",))
        metrics.append(Metric(f"max rel thermo diff, {n} vs 1 ranks ({cells**3} molecules)", err, None, 1e-8, "max"))
    return metrics


def density_run(cells, steps, outdir, ranks=1):
    """NPT mW from the lattice at 298 K and 1 bar; returns (thermo rows, final data dict)."""
    deck = mw_deck(
        {
            "cells": [cells] * 3,
            "integrator": "svr",
            "t_target": 298.0,
            "damp": 200.0,
            "barostat": "c-rescale",
            "p_target": ONE_BAR_ATM,
            "p_damp": 2000.0,
            "write_data": "final.data",
        },
        {"steps": steps, "diag_every": 100},
    )
    if ranks == 1:
        _, rows = run_deck(deck, outdir)
    else:
        rows = run_deck_mpi(deck, outdir, ranks, timeout=7200)[1]
    return rows, read_data(os.path.join(outdir, "final.data"))


@validation_case("md_mw_density", "md", "mW NPT at 298 K and 1 bar: density next to the published 0.997 g/cm^3")
def case_mw_density(quick):
    """From a simple-cubic lattice at 0.997 g/cm^3, SVR thermostat (0.2 ps) and c-rescale barostat (2 ps,
    beta_T = 4.5e-5 1/bar), 10 fs steps; mean density after equilibration (quick: 512 molecules, 10 ps
    kept of 30; full: 4096 molecules, 150 ps of 200 on 2 ranks) against Molinero & Moore's 0.997 g/cm^3.
    Also writes the mW-mW g(r) of the final frame as PNG."""
    cells, steps, keep_from, tol = (8, 3000, 2000, 0.03) if quick else (16, 20000, 5000, 0.01)
    work = tempfile.mkdtemp(prefix="md_mw_density_")
    rows, final = density_run(cells, steps, os.path.join(work, "npt"), 1 if quick else 2)
    rho = np.array([r["density"] for r in rows if r["step"] >= keep_from])
    blocks = np.array_split(rho, 5)
    sem = float(np.std([b.mean() for b in blocks], ddof=1) / np.sqrt(len(blocks)))
    mean = float(rho.mean())
    r, g, peak = mw_rdf_png(final, os.path.join(FIGURES, f"rdf_{cells**3}.png"), rows)
    return [
        Metric(
            f"mean density g/cm^3 ({cells**3} molecules, steps {keep_from}-{steps})",
            mean,
            PUBLISHED_DENSITY,
            tol,
            "rel",
            note=f"+- {sem:.4f} (block s.e.m.); g(r) first peak {peak[0]:.3f} A, height {peak[1]:.3f}",
        )
    ]


def mw_rdf_png(data, path, rows=None):
    """g(r) of one frame (``read_data`` dict) and, with ``rows``, the density trace, as one PNG."""
    from ...particles.analysis import first_peak, rdf

    L = np.asarray(data["box_hi"]) - np.asarray(data["box_lo"])
    r, g = rdf(data["x"] - np.asarray(data["box_lo"]), L, min(10.0, 0.5 * float(L.min())), nbins=150)
    peak = first_peak(r, g, rmin=2.0)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is optional
        return r, g, peak
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig, axes = plt.subplots(1, 2 if rows else 1, figsize=(10 if rows else 5, 3.6))
    ax = axes[0] if rows else axes
    ax.plot(r, g)
    ax.set(xlabel="r (A)", ylabel="g(r)", title=f"mW-mW g(r), {len(data['x'])} molecules, 298 K")
    if rows:
        t = [row["time"] / 1000.0 for row in rows]
        axes[1].plot(t, [row["density"] for row in rows])
        axes[1].axhline(PUBLISHED_DENSITY, ls="--", c="k", lw=0.8)
        axes[1].set(xlabel="t (ps)", ylabel="density (g/cm^3)", title="NPT 298 K, 1 bar")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return r, g, peak


def _plain_ratio(sw, lj, natoms, lj_atoms):
    """Plain LAMMPS's cost of one mW atom-step in in.lj atom-steps (None if either plain run failed)."""
    a, b = (p["variants"].get("plain", {}).get("s_per_step") for p in (sw, lj))
    return a / natoms / (b / lj_atoms) if a and b else None


@benchmark_case(
    "md_mw_lammps",
    "md",
    "mW water, ~100,000 molecules: zzhpc (its precisions) vs LAMMPS pair_style sw (plain, -sf omp) on 1 and 2 "
    "ranks; mW/LJ cost per atom-step",
)
def bench_mw(quick):
    """LAMMPS melts a 4,096-molecule box (20 ps, ``fix langevin`` 298 K) and replicates it 3x3x3 (110,592
    molecules; quick: 1,000 molecules, no replica); both codes then run NVE from that data file with
    10 fs steps, skin 2 A and ``neigh_modify delay 0 every 1 check yes``: LAMMPS in every variant its build
    has (``sw/opt`` is in no LAMMPS build: reported unavailable), zzhpc in every precision
    (:func:`.cases_common.bench_precisions`; ``pair_precision`` says what the three-body kernel ran in). On
    the same ranks and precision, in.lj (as ``md_lj``) gives the cost of one mW atom-step in LJ atom-steps
    for each code; its ratios go to ``calibration.constants`` for ``zzhpc project --bench``."""
    cells, melt, rep, steps = (10, 300, 1, 100) if quick else (16, 2000, 3, 300)
    lj_cells, lj_steps = ([10, 10, 10], 200) if quick else ([20, 20, 20], 1000)
    work = tempfile.mkdtemp(prefix="md_mw_bench_")
    swf = write_mw_file(work)
    liquid = run_peer(
        PEER,
        {
            "mode": "sw_liquid",
            "cells": cells,
            "lattice_constant": lattice_constant(),
            "sw_file": swf,
            "temperature": 298.0,
            "melt_steps": melt,
            "replicate": rep,
            "skin": 2.0,
            "workdir": work,
        },
        timeout=7200,
    )["data_file"]
    natoms = cells**3 * rep**3
    lj_atoms = 4 * int(np.prod(lj_cells))
    variants = list(LAMMPS_VARIANTS)
    rows = []
    for ranks in (1, 2):
        peer = run_peer(
            PEER,
            {
                "mode": "sw_bench",
                "data_file": liquid,
                "sw_file": swf,
                "steps": steps,
                "ranks": ranks,
                "skin": 2.0,
                "variants": variants,
            },
            timeout=7200,
        )
        lj_peer = run_peer(
            PEER,
            {
                "mode": "bench",
                "cells": lj_cells,
                "steps": lj_steps,
                "ranks": ranks,
                "every": 20,
                "check": "no",
                "variants": variants,
            },
            timeout=7200,
        )
        for precision in bench_precisions():
            load = os.getloadavg()[0]
            deck = mw_deck(
                {"data_file": liquid, "sw_file": swf, "temperature": None},
                {"steps": steps, "diag_every": steps},
                backend={"precision": precision},
            )
            summ, _ = run_deck_mpi(deck, os.path.join(work, f"z{ranks}_{precision}"), ranks, timeout=7200)
            lj = run_deck_mpi(
                md_deck(
                    {"cells": lj_cells, "neigh_every": 20, "neigh_check": False},
                    {"steps": lj_steps, "diag_every": lj_steps},
                    backend={"precision": precision},
                ),
                os.path.join(work, f"lj{ranks}_{precision}"),
                ranks,
                timeout=7200,
            )[0]
            row = bench_row(summ, peer, natoms, unit="molecule")
            z, pz = row["zzhpc_s_per_step"], row["peer_s_per_step"]
            zl = lj["time_per_step_s"] / lj_atoms
            pl = lj_peer["variants"][lj_peer["best"]]["s_per_step"] / lj_atoms
            lj_bytes = lj["results"]["memory_bytes_per_atom"]
            row = dict({"label": f"mW {natoms} molecules, {ranks} rank(s), zzhpc {row['precision']}"}, **row)
            row.update(
                {
                    "mw_over_lj_cost_zzhpc": z / natoms / zl,
                    "mw_over_lj_cost_peer": pz / natoms / pl,
                    "mw_over_lj_cost_peer_plain": _plain_ratio(peer, lj_peer, natoms, lj_atoms),
                    "mw_over_lj_bytes_zzhpc": row["zzhpc_bytes_per_molecule"] / lj_bytes,
                    "lj_atoms": lj_atoms,
                    "lj_zzhpc_s_per_step": lj["time_per_step_s"],
                    "lj_zzhpc_bytes_per_atom": lj_bytes,
                    "lj_peer_s_per_step": lj_peer["variants"][lj_peer["best"]]["s_per_step"],
                    "lj_peer_variant": lj_peer["best"],
                    "load_average_1min": load,
                    "load_average_after": os.getloadavg()[0],
                    "calibration": {
                        "solver": "md",
                        "precision": row["precision"],
                        "ranks": ranks,
                        "constants": {
                            "sw_cost_ratio": z / natoms / zl,
                            "sw_memory_ratio": row["zzhpc_bytes_per_molecule"] / lj_bytes,
                        },
                    },
                }
            )
            rows.append(row)
    return rows
