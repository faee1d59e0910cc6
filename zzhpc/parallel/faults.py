"""Failure on one rank ends every rank promptly: never a hang (after HOOMD's MPI_Abort on failure).

An error every rank raised alike is a :class:`zzhpc.errors.CollectiveError` instead: the ranks exit together
and rank 0 says it once (:mod:`zzhpc.cli.run`)."""

import os
import sys
import traceback

from mpi4py import MPI


def abort_all(message, code=1, *, show_traceback=False):
    """Print ``message`` (prefixed with this rank) and end all ranks with exit status ``code``."""
    comm = MPI.COMM_WORLD
    prefix = f"zzhpc: rank {comm.Get_rank()}: " if comm.Get_size() > 1 else "zzhpc: "
    if show_traceback:
        traceback.print_exc()
    sys.stderr.write(prefix + str(message).strip() + "\n")
    sys.stderr.flush()
    sys.stdout.flush()
    if comm.Get_size() > 1:
        comm.Abort(code)
    os._exit(code)


def install_excepthook():
    """Any uncaught exception on any rank aborts the whole job instead of leaving peers blocked."""

    def hook(etype, value, tb):
        traceback.print_exception(etype, value, tb)
        abort_all(f"{etype.__name__}: {value}", 1)

    sys.excepthook = hook
