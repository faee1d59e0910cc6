"""Which card a rank drives: the node-local rank, then a policy (after PyFR's mpiutil)."""

import os

from ..errors import ConfigError

_LOCAL_RANK_VARS = (
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "MV2_COMM_WORLD_LOCAL_RANK",
    "MPI_LOCALRANKID",
    "PMI_LOCAL_RANK",
    "SLURM_LOCALID",
)


def local_rank(comm=None):
    """This rank's index among the ranks of its node: launcher variables first, else a shared-memory split."""
    for var in _LOCAL_RANK_VARS:
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    if comm is None:
        return 0
    from mpi4py import MPI

    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return node.Get_rank()
    finally:
        node.Free()


def choose_device(backend_cls, policy, comm=None):
    """Device string for this rank.

    ``local-rank``: card = local rank (one rank per card, the usual layout; more ranks than cards is an
    error for GPU backends). ``round-robin``: card = local rank mod the card count. A number: that card.
    Anything else (``cuda:1``, ``npu:0``) is passed through.
    """
    prefix = getattr(backend_cls, "device_prefix", "cpu")
    if backend_cls.kind == "cpu" and policy in ("local-rank", "round-robin"):
        return prefix
    if policy in ("local-rank", "round-robin"):
        lr = local_rank(comm)
        n = backend_cls.device_count()
        if n < 1:
            raise ConfigError("backend.device", f"no {backend_cls.name} device visible on this node", policy)
        if policy == "local-rank" and lr >= n:
            raise ConfigError(
                "backend.device",
                f"local rank {lr} has no card of its own ({n} visible); use 'round-robin' or fewer ranks per node",
                policy,
            )
        return f"{prefix}:{lr % n}" if prefix != "cpu" else prefix
    if str(policy).isdigit():
        return f"{prefix}:{policy}" if prefix != "cpu" else prefix
    if ":" not in str(policy) and policy != "cpu":
        return f"{policy}:{local_rank(comm)}"  # a bare device type ("cuda", "npu"): one card per local rank
    return str(policy)
