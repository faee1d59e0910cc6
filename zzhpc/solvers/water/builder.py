"""A cubic box of rigid water molecules at a given density, random orientations.

Oxygens sit on a simple-cubic lattice of ``n = ceil(nmol**(1/3))`` sites per edge (a random subset of
the sites when ``nmol < n**3``, so vacancies are spread out); each molecule gets a uniformly random
orientation (random unit quaternion, K. Shoemake, Graphics Gems III (1992) p. 124). Orientations that
bring an atom closer than ``min_distance`` to an atom of a neighbouring molecule are drawn again, so
no two molecules overlap. Everything comes from one seeded NumPy generator: the same arguments give
the same box on every rank and every run.
"""

import math

import numpy as np

from ...errors import ConfigError
from .models import get_model

AVOGADRO = 6.02214076e23


def box_length(nmol, model, density):
    """Edge [A] of the cube holding ``nmol`` molecules at ``density`` g/cm^3."""
    grams = nmol * get_model(model).molar_mass / AVOGADRO
    return (grams / density * 1e24) ** (1.0 / 3.0)


def molecule_frame(model):
    """Atom offsets ``(3, 3)`` of O, H, H from the oxygen, in the molecule's own frame [A]."""
    m = get_model(model)
    half = math.radians(m.theta_HOH) / 2.0
    s, c = m.r_OH * math.sin(half), m.r_OH * math.cos(half)
    return np.array([[0.0, 0.0, 0.0], [s, c, 0.0], [-s, c, 0.0]])


def random_rotations(rng, n):
    """``n`` uniformly distributed rotation matrices ``(n, 3, 3)`` (Shoemake's quaternion method)."""
    u1, u2, u3 = rng.random((3, n))
    a, b = np.sqrt(1.0 - u1), np.sqrt(u1)
    w, x = a * np.sin(2 * np.pi * u2), a * np.cos(2 * np.pi * u2)
    y, z = b * np.sin(2 * np.pi * u3), b * np.cos(2 * np.pi * u3)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=1,
    )


def _overlapping(x, nbr, mols, L, dmin):
    """Mask of the molecules ``mols`` with an atom closer than ``dmin`` to a neighbour's atom."""
    d = x[mols][:, None, :, None, :] - x[np.maximum(nbr[mols], 0)][:, :, None, :, :]
    d -= L * np.round(d / L)
    r2 = np.min(np.sum(d * d, axis=-1), axis=(2, 3))
    return np.any((r2 < dmin * dmin) & (nbr[mols] >= 0), axis=1)


def water_box(nmol, model, density=0.997, seed=1, min_distance=1.6, key="water"):
    """Positions of ``nmol`` rigid molecules in a cube at ``density`` g/cm^3.

    Returns ``(x, lengths)``: ``x`` is ``(3*nmol, 3)`` float64, rows O, H, H per molecule (molecule
    ``m`` at rows ``3m..3m+2``, oxygens inside ``[0, L)``, hydrogens within ``r_OH`` of their oxygen,
    possibly just outside the box), ``lengths`` is ``[L, L, L]`` in A.
    """
    nmol = int(nmol)
    if nmol < 1:
        raise ConfigError(f"{key}.molecules", "expected a positive number of molecules", nmol)
    if not density > 0:
        raise ConfigError(f"{key}.density", "expected a positive density in g/cm^3", density)
    frame = molecule_frame(model)
    L = box_length(nmol, model, density)
    n = int(math.ceil(nmol ** (1.0 / 3.0) - 1e-9))
    a = L / n
    if a < get_model(model).r_OH + min_distance:
        raise ConfigError(f"{key}.density", f"too dense for a lattice start (site spacing {a:.3f} A)", density)
    rng = np.random.default_rng(seed)
    sites = np.sort(rng.choice(n**3, size=nmol, replace=False)) if nmol < n**3 else np.arange(nmol)
    ijk = np.stack([sites % n, (sites // n) % n, sites // (n * n)], axis=1)
    oxygen = (ijk + 0.5) * a
    occupied = np.full(n**3, -1, np.int64)
    occupied[sites] = np.arange(nmol)
    # Neighbour molecules on the lattice (periodic), for the overlap test.
    shifts = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1) if (i, j, k) != (0, 0, 0)])
    nb = (ijk[:, None, :] + shifts[None]) % n
    nbr = occupied[nb[..., 0] + n * nb[..., 1] + n * n * nb[..., 2]]  # (nmol, 26), -1 = vacancy
    nbr[nbr == np.arange(nmol)[:, None]] = -1  # own images (n < 3)
    rot = random_rotations(rng, nmol)
    redo = np.arange(nmol)
    for _ in range(200):
        x = oxygen[:, None, :] + np.einsum("mij,aj->mai", rot, frame)
        redo = np.concatenate(
            [ch[_overlapping(x, nbr, ch, L, min_distance)] for ch in np.array_split(redo, max(1, redo.size // 4096))]
        )
        if redo.size == 0:
            break
        rot[redo] = random_rotations(rng, redo.size)
    else:
        raise ConfigError(f"{key}.density", "could not place the molecules without overlaps", density)
    return x.reshape(3 * nmol, 3), [L, L, L]
