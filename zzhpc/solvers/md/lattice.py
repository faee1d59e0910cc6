"""Initial configurations: lattices filling the box, and velocities at a temperature.

Each rank creates only the lattice sites inside its own sub-domain; atom ids follow the lattice
(``id = 1 + basis + nbasis * (i + nx * (j + ny * k))``), so the system is the same on any rank count.
"""

import numpy as np

from ...particles.rng import normals

BASIS = {
    "sc": [(0.0, 0.0, 0.0)],
    "bcc": [(0.0, 0.0, 0.0), (0.5, 0.5, 0.5)],
    "fcc": [(0.0, 0.0, 0.0), (0.5, 0.5, 0.0), (0.5, 0.0, 0.5), (0.0, 0.5, 0.5)],
}


def lattice_constant(style, density=None, constant=None):
    """Lattice constant from a number density (LAMMPS lj-units convention) or given directly."""
    if constant:
        return float(constant)
    return (len(BASIS[style]) / density) ** (1.0 / 3.0)


def lattice_sites(style, a, cells, sublo, subhi):
    """``(ids, positions)`` of the sites of an ``cells``-sized lattice inside ``[sublo, subhi)``."""
    basis = np.array(BASIS[style])
    nb = len(basis)
    rng = []
    for d in range(3):
        i0 = max(0, int(np.floor(sublo[d] / a)) - 1)
        i1 = min(cells[d], int(np.ceil(subhi[d] / a)) + 1)
        rng.append(np.arange(i0, i1))
    k, j, i = np.meshgrid(rng[2], rng[1], rng[0], indexing="ij")
    cell = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1)
    pos = ((cell[:, None, :] + basis[None, :, :]) * a).reshape(-1, 3)
    lin = cell[:, 0] + cells[0] * (cell[:, 1] + cells[1] * cell[:, 2])
    ids = (1 + np.arange(nb)[None, :] + nb * lin[:, None]).reshape(-1)
    inside = np.all((pos >= np.asarray(sublo)) & (pos < np.asarray(subhi)), axis=1)
    order = np.argsort(ids[inside], kind="stable")
    return ids[inside][order].astype(np.int64), pos[inside][order]


def thermal_velocities(ids, masses, temperature, units, seed, comm, natoms):
    """Gaussian velocities at ``temperature``, zero total momentum, scaled to exactly ``temperature``

    with ``3N - 3`` degrees of freedom (as LAMMPS ``velocity create ... mom yes``)."""
    v = normals(seed, 0, ids) * np.sqrt(units.boltz * temperature / (masses[:, None] * units.mvv2e))
    p = comm.allreduce(np.sum(masses[:, None] * v, axis=0))
    mtot = comm.allreduce(float(np.sum(masses)))
    v -= p / mtot
    twoK = comm.allreduce(float(np.sum(masses[:, None] * v * v))) * units.mvv2e
    dof = 3 * natoms - 3
    t_now = twoK / (dof * units.boltz) if dof > 0 else 0.0
    if t_now > 0:
        v *= np.sqrt(temperature / t_now)
    return v
