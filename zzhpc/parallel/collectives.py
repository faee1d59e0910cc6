"""Verdicts every rank agrees on: one small allreduce of a flag (stop signals, write failures)."""

from mpi4py import MPI


def any_rank(comm, flag):
    """Collective: True on every rank if ``flag`` is true on any rank."""
    return bool(comm.allreduce(bool(flag), op=MPI.LOR))


def all_ranks(comm, flag):
    """Collective: True on every rank if ``flag`` is true on all ranks."""
    return bool(comm.allreduce(bool(flag), op=MPI.LAND))
