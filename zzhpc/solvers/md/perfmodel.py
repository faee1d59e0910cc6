"""The md solver's cost per step for ``zzhpc scale`` / ``zzhpc project`` (docs/scaling.md).

Spatial decomposition with a staged ghost exchange (:func:`zzhpc.core.perfmodel.particle_step`), 5
reductions every ``diag_every`` steps. Projections of mW water (Molinero & Moore, J. Phys. Chem. B 113,
4008 (2009)) use the LJ calibration with the measured Stillinger-Weber cost and memory ratios: one
particle per molecule, cutoff a*sigma = 1.8 * 2.3925 A, at 1 g/cm^3.
"""

import math

from ...core import perfmodel
from ...core.perfmodel import Projection

LATTICE_BASIS = {"sc": 1, "bcc": 2, "fcc": 4}
DIAG_REDUCTIONS = 5
MW_DENSITY_PER_A3 = 0.0334
MW_GHOST_CUT_A = 1.8 * 2.3925 + 2.0  # cutoff + LAMMPS real-units default skin (2 A)


def work_units(cfg, results=None):
    """Atoms: as the run counted them, else lattice sites of ``md.cells``."""
    if (results or {}).get("natoms"):
        return int(results["natoms"])
    cells = cfg.get("md", {}).get("cells")
    return None if cells is None else LATTICE_BASIS.get(cfg["md"].get("lattice", "fcc"), 1) * math.prod(cells)


def model_params(cfg, results, dtype):
    m = cfg["md"]
    natoms = results.get("natoms") or LATTICE_BASIS[m["lattice"]] * math.prod(m["cells"])
    rho = m["density"]
    if m.get("lattice_constant"):
        rho = LATTICE_BASIS[m["lattice"]] / m["lattice_constant"] ** 3
    return {
        "natoms": natoms,
        "density": rho,
        "ghost_cut": m["cutoff"] + m["skin"],
        "neigh_every": m["neigh_every"],
        "diag_every": cfg["run"].get("diag_every", 10),
    }


def step_model(params, p, net):
    return perfmodel.particle_step(params, p, net, diag_reductions=DIAG_REDUCTIONS)


def target_params(units, *, density=None, ghost_cut=None, neigh_every=10, diag_every=100, **_):
    return {
        "natoms": units,
        "density": density or 0.8442,
        "ghost_cut": ghost_cut or 2.8,
        "neigh_every": neigh_every,
        "diag_every": diag_every,
    }


# Stillinger-Weber (mW) over LJ, per particle-step and per particle's bytes, when neither the command line
# nor the calibration states them: ``zzhpc bench md_mw_lammps`` on one rank, two runs on the loaded machine
# (2026-11, float64): cost 1.87 and 2.09, bytes 324 against 461 (docs/mw.md). Measured against the LJ kernel
# of that time; a bench calibration (``zzhpc project ... --bench``) carries ratios of its own run.
SW_COST_RATIO = 2.0
SW_MEMORY_RATIO = 0.70


def sw_ratios(cal, options):
    """``(cost_ratio, memory_ratio, source)``: the command line's, else the calibration's measured
    constants (``md_mw_lammps`` rows of the same bench and precision), else the defaults above."""
    measured = cal.get("constants") or {}
    out, sources = [], []
    for key, default in (("sw_cost_ratio", SW_COST_RATIO), ("sw_memory_ratio", SW_MEMORY_RATIO)):
        if options.get(key) is not None:
            out.append(options[key])
            sources.append("command line")
        elif key in measured:
            out.append(measured[key])
            sources.append("measured in the same bench")
        else:
            out.append(default)
            sources.append("measured 2026-11, docs/mw.md")
    return out[0], out[1], sources[0] if sources[0] == sources[1] else f"{sources[0]}; {sources[1]}"


def projections(cal, options, headline):
    """LJ as calibrated; mW water with the Stillinger-Weber cost and memory ratios of :func:`sw_ratios`."""
    cost, memory, source = sw_ratios(cal, options)
    ratios = {"cost_ratio": cost, "memory_ratio": memory}
    water = Projection(" (mW water)", {"density": MW_DENSITY_PER_A3, "ghost_cut": MW_GHOST_CUT_A}, ratios)
    if not headline:
        return [water if options.get("water") == "mW" else Projection()]
    bytes_note = ""
    if cal.get("arrays_bytes_per_unit"):
        bytes_note = (
            f" LJ bytes per atom: {cal['mem_bytes_per_unit']:.3g} (peak resident memory, fitted), "
            f"{cal['arrays_bytes_per_unit']:.3g} (counted arrays, 1 rank)."
        )
    prec = f", {cal['precision']}" if cal.get("precision") else ""
    heading = (
        f"**MD{prec}, 10^12 particles** (calibration: {cal.get('source', '?')}). mW water: cost per "
        f"particle-step = {cost:.3g} x LJ, bytes per particle = {memory:.3g} x LJ ({source}), density "
        f"{MW_DENSITY_PER_A3} per A^3, ghost cut {MW_GHOST_CUT_A:.2f} A.{bytes_note}"
    )
    water.headline, water.heading = [("10^12 mW water molecules", 1e12)], heading
    return [water, Projection(headline=[("10^12 LJ atoms", 1e12)])]
