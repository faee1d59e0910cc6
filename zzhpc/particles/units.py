"""Unit systems of the MD engine, with LAMMPS's constants so that thermo output compares one to one.

``lj``: reduced Lennard-Jones units (sigma, epsilon, mass = 1; time tau = sigma sqrt(m/epsilon)).
``real``: Angstrom, femtosecond, kcal/mol, g/mol, K, atm (LAMMPS ``units real``; LAMMPS update.cpp).
"""

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class Units:
    """Conversion constants.

    boltz : Boltzmann constant in energy/temperature.
    mvv2e : mass * velocity**2 to energy.
    ftm2v : force / mass * time to velocity.
    nktv2p : (energy / volume) to pressure.
    dt : LAMMPS's default time step.
    """

    name: str
    boltz: float
    mvv2e: float
    ftm2v: float
    nktv2p: float
    dt: float
    length: str
    time: str
    energy: str
    norm: bool  # thermo energies per atom (LAMMPS's default for lj units)


UNITS = {
    "lj": Units("lj", 1.0, 1.0, 1.0, 1.0, 0.005, "sigma", "tau", "epsilon", True),
    "real": Units(
        "real",
        0.0019872067,
        48.88821291 * 48.88821291,
        1.0 / 48.88821291 / 48.88821291,
        68568.415,
        1.0,
        "Angstrom",
        "fs",
        "kcal/mol",
        False,
    ),
}


def get_units(name, key="md.units"):
    if name not in UNITS:
        raise ConfigError(key, f"unknown unit system (allowed: {', '.join(UNITS)})", name)
    return UNITS[name]
