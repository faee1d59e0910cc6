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
