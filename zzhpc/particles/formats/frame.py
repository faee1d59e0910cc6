"""One configuration of particles as the format modules exchange it."""

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass
class Frame:
    """Positions ``(N, 3)``, orthorhombic box edges ``(3,)`` and per-atom labels, in the units of the file.

    ``names`` are atom names (``OW``, ``HW1``, ``Ar``), ``species`` element symbols for XYZ, ``types`` LAMMPS
    integer types, ``resids``/``resnames`` the residue of each atom (``.gro``); absent labels are ``None``.
    """

    positions: np.ndarray
    box: np.ndarray
    ids: Optional[np.ndarray] = None
    velocities: Optional[np.ndarray] = None
    names: Optional[list] = None
    species: Optional[list] = None
    types: Optional[np.ndarray] = None
    resids: Optional[np.ndarray] = None
    resnames: Optional[list] = None
    step: int = 0
    time: float = 0.0
    title: str = "zzhpc"
    extra: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.positions.shape[0])

    def label(self, kind, i):
        """A text label for atom ``i``: the requested kind, else whatever the frame has."""
        for src in (kind, "names", "species", "types"):
            vals = getattr(self, src, None)
            if vals is not None:
                return str(vals[i])
        return "X"
