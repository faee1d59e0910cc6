"""Parallel layer: process grids, block partitions, halo exchange, distributed FFT, timers, fault handling.

The particle decomposition (:class:`zzhpc.particles.Domain`) is built on these in :mod:`zzhpc.particles`.

Nothing here knows about a particular solver; solvers compose these pieces.
"""

from .partition import block_partition, block_ranges
from .cartesian import ProcessGrid
from .halo import halo_exchange
from .timers import PhaseTimers
from .mesh import DistributedMesh
from .replicas import ReplicaSet
from .faults import abort_all, install_excepthook
from .collectives import all_ranks, any_rank

__all__ = [
    "block_partition",
    "block_ranges",
    "ProcessGrid",
    "halo_exchange",
    "PhaseTimers",
    "DistributedMesh",
    "ReplicaSet",
    "abort_all",
    "install_excepthook",
    "any_rank",
    "all_ranks",
]
