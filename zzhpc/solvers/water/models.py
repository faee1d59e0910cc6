r"""Rigid three-site water models: charges, Lennard-Jones parameters and geometry.

Units are "real": Angstrom, kcal/mol, elementary charge, g/mol, degrees. Atoms of a molecule are
stored O, H, H; atom type 0 is O, type 1 is H. Only the oxygens carry Lennard-Jones sites; the
hydrogens have :math:`\epsilon_H = 0` (and a placeholder :math:`\sigma_H = 1` A, which never enters an
energy since Lorentz-Berthelot mixing gives :math:`\epsilon_{OH} = \sqrt{\epsilon_O \epsilon_H} = 0`).

* SPC/E: H. J. C. Berendsen, J. R. Grigera, T. P. Straatsma, J. Phys. Chem. 91, 6269 (1987):
  :math:`q_O = -0.8476`, :math:`\sigma_O = 3.166` A, :math:`\epsilon_O = 0.650` kJ/mol = 0.1553 kcal/mol,
  :math:`r_{OH} = 1` A, :math:`\theta_{HOH} = 109.47^\circ` (tetrahedral). OpenMM's spce.xml has the
  same charges and geometry, :math:`\epsilon_O = 0.6497752` kJ/mol (= 0.1553 kcal/mol) and
  :math:`\sigma_O = 3.16572` A (from the published A and C coefficients; 1e-4 relative from 3.166).
* TIP3P: W. L. Jorgensen, J. Chandrasekhar, J. D. Madura, R. W. Impey, M. L. Klein, J. Chem. Phys.
  79, 926 (1983): :math:`q_O = -0.834`, :math:`r_{OH} = 0.9572` A, :math:`\theta_{HOH} = 104.52^\circ`,
  oxygen LJ in the CHARMM form (:math:`R_{min}/2 = 1.7682` A, :math:`\epsilon = 0.1521` kcal/mol, i.e.
  :math:`\sigma_O = 3.15061` A, as LAMMPS documents it). OpenMM's tip3p.xml has the same charges and
  geometry and :math:`\sigma_O = 3.15075` A, :math:`\epsilon_O = 0.1520` kcal/mol (0.635968 kJ/mol), and
  also no LJ on H (the CHARMM "TIP3P" with LJ on the hydrogens is a different model).

Masses are OpenMM's (O 15.99943, H 1.007947 g/mol).
"""

import math
from dataclasses import dataclass

from ...errors import ConfigError


@dataclass(frozen=True)
class WaterModel:
    """A rigid three-site water model (units: A, kcal/mol, e, g/mol, degrees)."""

    name: str
    q_O: float
    q_H: float
    sigma_O: float
    epsilon_O: float
    sigma_H: float
    epsilon_H: float
    r_OH: float
    theta_HOH: float
    m_O: float
    m_H: float
    reference: str = ""

    @property
    def r_HH(self):
        """H-H distance :math:`2 r_{OH} \\sin(\\theta_{HOH}/2)` [A]."""
        return 2.0 * self.r_OH * math.sin(math.radians(self.theta_HOH) / 2.0)

    @property
    def charges(self):
        """Charge per atom type ``(q_O, q_H)`` [e]."""
        return (self.q_O, self.q_H)

    @property
    def masses(self):
        """Mass per atom type ``(m_O, m_H)`` [g/mol]."""
        return (self.m_O, self.m_H)

    @property
    def molar_mass(self):
        """Mass of one molecule [g/mol]."""
        return self.m_O + 2.0 * self.m_H

    def lj_pair(self, a, b):
        """Lorentz-Berthelot ``(sigma, epsilon)`` of atom types ``a``, ``b`` (0 = O, 1 = H)."""
        sig = (self.sigma_O, self.sigma_H)
        eps = (self.epsilon_O, self.epsilon_H)
        return 0.5 * (sig[a] + sig[b]), math.sqrt(eps[a] * eps[b])

    def describe(self):
        return {
            "name": self.name,
            "q_O": self.q_O,
            "q_H": self.q_H,
            "sigma_O": self.sigma_O,
            "epsilon_O": self.epsilon_O,
            "sigma_H": self.sigma_H,
            "epsilon_H": self.epsilon_H,
            "r_OH": self.r_OH,
            "theta_HOH": self.theta_HOH,
            "m_O": self.m_O,
            "m_H": self.m_H,
        }


MODELS = {
    "spce": WaterModel(
        "spce",
        -0.8476,
        0.4238,
        3.166,
        0.1553,
        1.0,
        0.0,
        1.0,
        109.47,
        15.99943,
        1.007947,
        "Berendsen, Grigera & Straatsma, J. Phys. Chem. 91, 6269 (1987)",
    ),
    "tip3p": WaterModel(
        "tip3p",
        -0.834,
        0.417,
        3.15061,
        0.1521,
        1.0,
        0.0,
        0.9572,
        104.52,
        15.99943,
        1.007947,
        "Jorgensen, Chandrasekhar, Madura, Impey & Klein, J. Chem. Phys. 79, 926 (1983)",
    ),
}


def get_model(name, key="water.model"):
    """The :class:`WaterModel` called ``name`` (case-insensitive); ConfigError for unknown names."""
    if isinstance(name, WaterModel):
        return name
    m = MODELS.get(str(name).lower())
    if m is None:
        raise ConfigError(key, f"unknown water model (allowed: {', '.join(MODELS)})", name)
    return m
