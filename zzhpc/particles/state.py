"""The particles one rank owns, and its ghosts' positions: the state integrators act on.

After HOOMD-blue's system state: a thermostat, a barostat or a time step reads and writes the arrays
here, never attributes of the solver that assembled them. Rows: the ``nlocal`` owned particles first,
then the ghosts of :meth:`Domain.borders <zzhpc.particles.domain.Domain.borders>` (in ``x``, ``types``
and ``f`` only). Units are those of the solver's unit system (:mod:`.units`).
"""

from __future__ import annotations

from typing import Any

from ..device.base import Array, Backend
from .domain import Domain

#: Per-particle columns every state has; ``extra`` holds the others (charges, molecule ids, ...).
PER_ATOM = ("x", "v", "id", "type", "image")


class ParticleState:
    """Positions ``x`` ``(nall, 3)``, velocities ``v`` ``(nlocal, 3)``, forces ``f`` ``(nall, 3)``, global
    ``ids`` ``(nlocal,)`` (1-based), ``types`` ``(nall,)`` (0-based), periodic ``image`` flags
    ``(nlocal, 3)``, ``mass`` ``(nlocal, 1)`` (a column, to divide forces by), other owned columns in
    ``extra``; the box is ``domain``'s. ``natoms`` is the global count, ``dtype`` the float dtype name;
    collective sums run over ``comm`` (the solver's communicator)."""

    def __init__(self, comm: Any, backend: Backend, domain: Domain, masses: Array, dtype: str) -> None:
        self.comm, self.backend, self.xp, self.domain = comm, backend, backend.xp, domain
        self.type_masses = masses  # (ntypes,) on the device
        self.dtype = dtype
        self.natoms = 0
        self.x: Array = None
        self.v: Array = None
        self.f: Array = None
        self.ids: Array = None
        self.types: Array = None
        self.image: Array = None
        self.mass: Array = None
        self.extra: dict[str, Array] = {}

    @property
    def nlocal(self) -> int:
        """Owned particles on this rank."""
        return int(self.v.shape[0])

    @property
    def dof(self) -> int:
        """Degrees of freedom, :math:`3N - 3` (total momentum conserved)."""
        return 3 * self.natoms - 3

    def set_owned(self, atoms: dict[str, Array]) -> None:
        """Owned per-particle arrays from a dict of :data:`PER_ATOM` and extra columns (ghost rows are
        rebuilt by ``Domain.borders``)."""
        self.x = atoms["x"]
        self.v, self.ids, self.image = atoms["v"], atoms["id"], atoms["image"]
        self.types = atoms["type"]
        self.extra = {k: atoms[k] for k in atoms if k not in PER_ATOM}
        self.mass = self.type_masses[self.types][:, None]

    def owned(self) -> dict[str, Array]:
        """The owned rows as a dict (for ``Domain.exchange``, checkpoints)."""
        n = self.nlocal
        d = {"x": self.x[:n], "v": self.v, "id": self.ids, "type": self.types[:n], "image": self.image}
        d.update(self.extra)
        return d

    def mv2(self) -> float:
        r"""This rank's :math:`\sum m v^2` (mass * velocity^2 units)."""
        return float(self.xp.sum(self.mass * self.v * self.v))

    def kinetic_energy(self, mvv2e: float) -> float:
        """Total kinetic energy in energy units (collective over ``comm``)."""
        return 0.5 * self.comm.allreduce(self.mv2()) * mvv2e

    def arrays(self) -> list[Any]:
        """Every per-particle array held (for memory counts)."""
        return [self.x, self.v, self.f, self.ids, self.types, self.image, self.mass, *self.extra.values()]
