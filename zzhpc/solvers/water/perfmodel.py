"""The water solver's cost per step for ``zzhpc scale`` / ``zzhpc project`` (docs/scaling.md).

Molecules under spatial decomposition with a staged ghost exchange
(:func:`zzhpc.core.perfmodel.particle_step`, three atoms' bytes per molecule), ghost cut = cutoff + skin,
4 reductions every ``diag_every`` steps. Not modelled: the all-to-all of the PME grid's FFTs (its share
is in the calibrated cost per molecule, so projections far from the calibration underestimate it).
"""

import math

from ...core import perfmodel

AVOGADRO = 6.02214076e23
WATER_G_PER_MOL = 18.01528
ATOMS_PER_MOLECULE = 3
DIAG_REDUCTIONS = 4


def molecules_per_A3(density_g_cm3):
    return density_g_cm3 * AVOGADRO / WATER_G_PER_MOL * 1e-24


def model_params(cfg, results, dtype):
    w = cfg["water"]
    n = results.get("molecules") or w["molecules"]
    box = results.get("box_A")
    rho = n / math.prod(box) if box else molecules_per_A3(w["density"])
    return {
        "natoms": n,
        "density": rho,
        "ghost_cut": w["cutoff"] + w["skin"],
        "diag_every": cfg["run"].get("diag_every", 10),
    }


def step_model(params, p, net):
    return perfmodel.particle_step(params, p, net, diag_reductions=DIAG_REDUCTIONS, site_bytes=ATOMS_PER_MOLECULE)


def target_params(units, *, density=None, ghost_cut=None, diag_every=100, **_):
    return {
        "natoms": units,
        "density": density or molecules_per_A3(0.997),
        "ghost_cut": ghost_cut or 11.0,
        "diag_every": diag_every,
    }
