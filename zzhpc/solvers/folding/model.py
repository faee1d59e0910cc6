r"""The C-alpha structure-based (Go-like) model: native geometry and contacts of one protein.

One bead per residue at its C-alpha atom. Energy (reduced units: energy :math:`\epsilon`, length nm, bead
mass :math:`m = 1`, time :math:`\tau = \mathrm{nm}\sqrt{m/\epsilon}`, temperature :math:`\epsilon/k_B`):

.. math::

   V = \sum_{\rm bonds} \tfrac12 K_b (r - r_0)^2 + \sum_{\rm angles} \tfrac12 K_\theta (\theta - \theta_0)^2
     + \sum_{\rm dihedrals} k_1[1 - \cos(\phi - \phi_0)] + k_3[1 - \cos 3(\phi - \phi_0)]
     + \sum_{\rm native} \epsilon\,[5 (\sigma_{ij}/r)^{12} - 6 (\sigma_{ij}/r)^{10}]
     + \sum_{\rm non-native} \epsilon\,(\sigma_r/r)^{12}

with the native values :math:`r_0, \theta_0, \phi_0, \sigma_{ij}` measured on the structure. Native contacts
are residue pairs :math:`|i-j| > 3` with any two heavy atoms within 4.5 A (the SMOG cut-off map);
every other pair with :math:`|i-j| > 3` repels. Parameters are those of the SMOG2 ``SBM_calpha`` template
(Clementi, Nymeyer & Onuchic, J. Mol. Biol. 298, 937 (2000); Noel et al., PLoS Comput. Biol. 12,
e1004794 (2016)): :math:`K_b = 20000\,\epsilon/\mathrm{nm}^2`, :math:`K_\theta = 40\,\epsilon/\mathrm{rad}^2`,
:math:`k_1 = \epsilon`, :math:`k_3 = 0.5\epsilon`, :math:`\sigma_r = 0.4` nm. Harmonic terms follow the
GROMACS/OpenMM convention :math:`\tfrac12 K x^2`.
"""

from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from .contacts import cutoff_contacts, shadow_contacts

SMOG_CALPHA = {"k_bond": 20000.0, "k_angle": 40.0, "k1": 1.0, "k3": 0.5, "sigma_rep": 0.4, "epsilon": 1.0}


def bond_lengths(x):
    """``|x[i+1] - x[i]|`` along the chain, ``(..., N-1)``."""
    return np.linalg.norm(x[..., 1:, :] - x[..., :-1, :], axis=-1)


def bond_angles(x):
    """Angle at bead ``i+1`` between ``i`` and ``i+2`` (radians), ``(..., N-2)``."""
    a = x[..., :-2, :] - x[..., 1:-1, :]
    b = x[..., 2:, :] - x[..., 1:-1, :]
    c = np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.arccos(np.clip(c, -1.0, 1.0))


def dihedral_angles(x):
    """IUPAC dihedral of beads ``i..i+3`` (radians, trans = pi), ``(..., N-3)``."""
    rij = x[..., :-3, :] - x[..., 1:-2, :]
    rkj = x[..., 2:-1, :] - x[..., 1:-2, :]
    rkl = x[..., 2:-1, :] - x[..., 3:, :]
    m = np.cross(rij, rkj)
    n = np.cross(rkj, rkl)
    y = np.linalg.norm(rkj, axis=-1) * np.sum(rij * n, -1)
    return np.arctan2(y, np.sum(m * n, -1))


@dataclass
class CalphaModel:
    """Topology and native parameters of one C-alpha structure-based model (host NumPy arrays)."""

    native: np.ndarray  # (N, 3) nm
    r0: np.ndarray  # (N-1,) nm
    theta0: np.ndarray  # (N-2,) rad
    phi0: np.ndarray  # (N-3,) rad
    contacts: np.ndarray  # (C, 2) native pairs
    sigma: np.ndarray  # (C,) native C-alpha distances, nm
    k_bond: float
    k_angle: float
    k1: float
    k3: float
    sigma_rep: float
    epsilon: float
    sequence: tuple = ()
    contact_epsilon: object = None  # (C,) per-contact depth, eps; None = ``epsilon`` for all (SMOG 2 files may differ)

    @property
    def n(self):
        return self.native.shape[0]

    def contact_eps(self):
        """Depth of every native contact, ``(C,)`` eps."""
        if self.contact_epsilon is None:
            return np.full(len(self.contacts), self.epsilon)
        return np.asarray(self.contact_epsilon, dtype=float)

    def repulsive_pairs(self):
        """Non-native pairs ``|i - j| > 3``: ``(P, 2)``."""
        i, j = np.triu_indices(self.n, 4)
        native = set(map(tuple, self.contacts.tolist()))
        keep = np.array([(a, b) not in native for a, b in zip(i, j)], dtype=bool)
        return np.stack([i[keep], j[keep]], 1)

    def pair_coefficients(self):
        r"""Dense symmetric ``(A, B)`` with :math:`V_{ij} = A_{ij}/r^{12} - B_{ij}/r^{10}` for every pair term."""
        n = self.n
        a = np.zeros((n, n))
        b = np.zeros((n, n))
        i, j = np.triu_indices(n, 4)
        a[i, j] = self.epsilon * self.sigma_rep**12
        ci, cj = self.contacts[:, 0], self.contacts[:, 1]
        eps = self.contact_eps()
        a[ci, cj] = 5.0 * eps * self.sigma**12
        b[ci, cj] = 6.0 * eps * self.sigma**10
        return a + a.T, b + b.T

    def kernel_params(self):
        """Host arrays of the force kernel (see :func:`.kernels.sbm_forces`)."""
        a, b = self.pair_coefficients()
        return {
            "r0": self.r0,
            "theta0": self.theta0,
            "phi0": self.phi0,
            "a12": 12.0 * a,
            "b10": 10.0 * b,
            "a": a,
            "b": b,
            "eye": np.eye(self.n),
            "k_bond": self.k_bond,
            "k_angle": self.k_angle,
            "k1": self.k1,
            "k3": self.k3,
        }

    def to_peer(self):
        """The model as plain lists, for the OpenMM peer script (``peer_openmm.py``)."""
        return {
            "mass": [1.0] * self.n,
            "r0": self.r0.tolist(),
            "theta0": self.theta0.tolist(),
            "phi0": self.phi0.tolist(),
            "contacts": self.contacts.tolist(),
            "sigma": self.sigma.tolist(),
            "contact_epsilon": self.contact_eps().tolist(),
            "repulsive": self.repulsive_pairs().tolist(),
            "k_bond": self.k_bond,
            "k_angle": self.k_angle,
            "k1": self.k1,
            "k3": self.k3,
            "epsilon": self.epsilon,
            "sigma_rep": self.sigma_rep,
        }

    def describe(self):
        return {
            "residues": int(self.n),
            "native_contacts": int(len(self.contacts)),
            "repulsive_pairs": int(len(self.repulsive_pairs())),
        }


def build_model(
    structure, *, contact_cutoff=0.45, parameters=None, contact_map="cutoff", shadow_cutoff=0.6, shadow_radius=0.1
):
    """:class:`CalphaModel` of a :class:`~.structure.Structure` with SMOG2 C-alpha parameters.

    ``contact_map`` is ``"cutoff"`` (heavy atoms within ``contact_cutoff`` nm) or ``"shadow"`` (the
    shadow map with ``shadow_cutoff`` and shadowing radius ``shadow_radius``, nm; see :mod:`.contacts`).
    """
    p = dict(SMOG_CALPHA, **(parameters or {}))
    x = structure.ca
    r0 = bond_lengths(x)
    if r0.max() > 0.43:
        k = int(np.argmax(r0))
        r = structure.residues
        raise InputError(
            structure.path,
            f"chain break: C-alpha {r[k].number} to {r[k + 1].number} is "
            f"{10 * r0[k]:.2f} A apart (a C-alpha model needs a continuous chain)",
        )
    if contact_map == "shadow":
        contacts = shadow_contacts(structure, shadow_cutoff, shadow_radius)
    else:
        contacts = cutoff_contacts(structure, contact_cutoff)
    sigma = np.linalg.norm(x[contacts[:, 0]] - x[contacts[:, 1]], axis=-1) if len(contacts) else np.zeros(0)
    return CalphaModel(
        native=x,
        r0=r0,
        theta0=bond_angles(x),
        phi0=dihedral_angles(x),
        contacts=contacts,
        sigma=sigma,
        sequence=tuple(structure.sequence),
        **p,
    )
