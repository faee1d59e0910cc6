"""Many small independent systems (replicas) spread over ranks in contiguous blocks."""

import numpy as np

from ..errors import ConfigError
from .partition import block_partition, block_ranges


class ReplicaSet:
    """Replicas ``0 .. n-1`` split in contiguous blocks; each rank advances its block as one batch."""

    def __init__(self, comm, n_replicas, key="replicas"):
        size = comm.Get_size()
        if n_replicas < size:
            raise ConfigError(
                key,
                f"{n_replicas} replicas cannot be spread over {size} ranks (need at least one per rank)",
                n_replicas,
            )
        self.comm, self.n = comm, n_replicas
        self.start, self.count = block_partition(n_replicas, size, comm.Get_rank())
        self.ranges = block_ranges(n_replicas, size)
        self.local_ids = np.arange(self.start, self.start + self.count)

    def owner(self, replica):
        for r, (s, c) in enumerate(self.ranges):
            if s <= replica < s + c:
                return r
        raise IndexError(replica)

    def allgather(self, local_values):
        """Concatenate per-replica host values from every rank in replica order."""
        return np.concatenate(self.comm.allgather(np.asarray(local_values)))
