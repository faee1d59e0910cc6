"""The proteins shipped for validation (villin headpiece HP35, chymotrypsin inhibitor 2): their structure
files, chains and residue ranges, their models and perturbed conformations of them."""

import numpy as np

from .model import build_model
from .structure import find_structure, read_structure

PROTEINS = {"villin": ("villin_hp35.pdb", "A", [1, 35]), "ci2": ("ci2_2ci2.pdb", "I", None)}
# Folding temperatures measured with examples/fold_*.toml (docs/folding.md), used to place folding runs.
TF = {"villin": 0.84, "ci2": 1.01}


def load_model(protein):
    """The C-alpha model (SMOG 2 parameters) of a shipped protein, ``"villin"`` or ``"ci2"``."""
    path, chain, res = PROTEINS[protein]
    return build_model(read_structure(find_structure(path), chain, res))


def perturbed(model, count, amplitude, seed=7):
    """``count`` conformations: the native one plus Gaussian noise of ``amplitude`` nm per coordinate."""
    rng = np.random.default_rng(seed)
    return model.native[None] + amplitude * rng.standard_normal((count, model.n, 3))


def thermal(model, count, temperature, steps=2000, dt=0.002, seed=7):
    """``count`` conformations sampled at ``temperature`` (eps/k_B): Langevin (BAOAB, friction 1/tau) from
    the native state for ``steps`` steps in float64, the kernels of the NumPy backend. Configurations
    of the physical ensemble, unlike :func:`perturbed`'s large displacements, whose stretched bonds
    (thousands of eps) make energies no run would see."""
    from ...device import get_kernel

    rng = np.random.default_rng(seed)
    p = model.kernel_params()
    step = get_kernel("sbm_baoab_step", "numpy")
    force = get_kernel("sbm_forces", "numpy")
    x = np.repeat(model.native[None], count, 0)
    v = np.sqrt(temperature) * rng.standard_normal(x.shape)
    f = force(x, p)[0]
    c1 = float(np.exp(-dt))
    scale = np.full((count, 1, 1), np.sqrt((1.0 - c1 * c1) * temperature))
    for _ in range(steps):
        x, v, f, _ = step(x, v, f, rng.standard_normal(x.shape), scale, p, dt, c1)
    return x
