"""Validation cases of the water force field (``zzhpc validate water``): OpenMM and plain Ewald.

Measured figures of the full forms are in docs/water_forces.md.
"""

import os

import numpy as np
from mpi4py import MPI

from ...core.peers import run_peer
from ...core.metric import Metric
from ...core.registry import validation_case
from ...device import get_backend, get_kernel
from ...particles.domain import Domain
from .builder import water_box
from .forcefield import WaterForceField
from .models import get_model

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_openmm.py")


def distributed_forces(comm, backend, ff, x, lengths, skin=2.0):
    """Energies, virial and global forces ``(3 nmol, 3)`` of the whole configuration ``x`` (same on every
    rank), each rank owning the molecules whose oxygen lies in its sub-domain (collective).

    The ownership, ghosts (:meth:`~zzhpc.parallel.Domain.borders` of positions, types and molecule
    ids), half neighbour list and reverse communication are those a solver uses.
    """
    nmol = x.shape[0] // 3
    L = np.asarray(lengths, dtype=float)
    xm = x.reshape(nmol, 3, 3)
    xm = xm - np.floor(xm[:, :1, :] / L) * L  # whole molecules, oxygen inside the box
    dom = Domain(comm, backend, [0.0] * 3, list(L), [True] * 3, ff.cutoff + skin)
    o = xm[:, 0, :]
    mine = np.all((o >= np.asarray(dom.sublo)) & (o < np.asarray(dom.subhi)), axis=1)
    ids = np.nonzero(mine)[0]
    xl = xm[ids].reshape(-1, 3)
    types = np.tile(np.array([0, 1, 1], np.int64), ids.size)
    mol = np.repeat(ids, 3).astype(np.int64)
    dt = ff.dtype
    xa, ta, ma = dom.borders(
        backend.asarray(xl, dtype=dt), backend.asarray(types, dtype="int64"), backend.asarray(mol, dtype="int64")
    )
    lo, hi = dom.bin_region()
    nlocal = xl.shape[0]
    neigh = get_kernel("md_neighbor_list", backend)(xa, nlocal, lo, hi, ff.cutoff + skin, True)
    f, energies, virial = ff.compute(xa, ta, ma, nlocal, neigh, True)
    dom.reverse_comm(f)
    fg = np.zeros((nmol, 3, 3))
    fg[ids] = backend.to_host(f)[:nlocal].reshape(-1, 3, 3)
    total = np.empty_like(fg)
    comm.Allreduce(fg, total, op=MPI.SUM)
    return total.reshape(-1, 3), energies, virial


def openmm_reference(x, lengths, model, ff):
    """OpenMM Reference platform on the same configuration with the same alpha, grid and cutoff."""
    return run_peer(
        PEER,
        {
            "mode": "energy",
            "positions": np.asarray(x).tolist(),
            "box": list(lengths),
            "model": get_model(model).describe(),
            "cutoff": ff.cutoff,
            "alpha": ff.alpha,
            "grid": list(ff.grid),
            "dispersion_correction": ff.use_tail,
        },
        timeout=3600,
    )


def rms_rel(f, ref):
    """:math:`\\sqrt{\\langle|F - F_{ref}|^2\\rangle / \\langle|F_{ref}|^2\\rangle}`."""
    return float(np.sqrt(np.sum((f - ref) ** 2) / np.sum(ref**2)))


@validation_case(
    "water_openmm_forces",
    "water",
    "SPC/E and TIP3P energy and forces vs OpenMM (same configuration, PME alpha and grid)",
)
def case_openmm(quick):
    """A random-orientation box (216 molecules quick, 4096 full), cutoff 9 A, PME from tolerance 5e-4
    with OpenMM's rules, dispersion correction on. OpenMM (Reference platform, double precision)
    gets the same alpha and grid through ``setPMEParameters``. Potential energy to 1e-5 relative,
    forces to 1e-4 relative RMS."""
    comm, be = MPI.COMM_WORLD, get_backend("numpy")
    nmol = 216 if quick else 4096
    metrics = []
    for model in ("spce", "tip3p"):
        x, L = water_box(nmol, model, seed=11)
        ff = WaterForceField(comm, be, model, L, 9.0, nmol, tolerance=5e-4)
        f, en, _ = distributed_forces(comm, be, ff, x, L)
        ref = comm.bcast(openmm_reference(x, L, model, ff) if comm.Get_rank() == 0 else None)
        note = f"{nmol} molecules, alpha {ff.alpha:.6f} 1/A, grid {ff.grid}, OpenMM {ref['openmm']}"
        metrics.append(
            Metric(f"{model}: potential energy (kcal/mol)", en["total"], ref["energy"], 1e-5, "rel", note=note)
        )
        metrics.append(
            Metric(f"{model}: force relative RMS error", rms_rel(f, np.asarray(ref["forces"])), None, 1e-4, "max")
        )
    return metrics


@validation_case("water_pme_ewald", "water", "PME vs plain Ewald at tight tolerance: energy and forces")
def case_pme_ewald(quick):
    """SPC/E, random-orientation box (100 molecules quick, 512 full), cutoff 7 A, tolerance 1e-6
    (alpha and grid by OpenMM's rules); plain Ewald with the same alpha and wave vectors up to
    :math:`e^{-\\pi^2 m^2/\\alpha^2L^2} < 10^{-16}`. Reciprocal energy to 1e-6 relative, total
    energy to 1e-7 relative, forces to 1e-5 relative RMS."""
    comm, be = MPI.COMM_WORLD, get_backend("numpy")
    nmol = 100 if quick else 512
    x, L = water_box(nmol, "spce", seed=5)
    pme = WaterForceField(comm, be, "spce", L, 7.0, nmol, tolerance=1e-6)
    ew = WaterForceField(comm, be, "spce", L, 7.0, nmol, coulomb="ewald", alpha=pme.alpha)
    fp, ep, _ = distributed_forces(comm, be, pme, x, L)
    fe, ee, _ = distributed_forces(comm, be, ew, x, L)
    note = f"{nmol} molecules, alpha {pme.alpha:.6f} 1/A, grid {pme.grid}"
    return [
        Metric("reciprocal energy (kcal/mol)", ep["coul_recip"], ee["coul_recip"], 1e-6, "rel", note=note),
        Metric("potential energy (kcal/mol)", ep["total"], ee["total"], 1e-7, "rel"),
        Metric("force relative RMS difference", rms_rel(fp, fe), None, 1e-5, "max"),
    ]
