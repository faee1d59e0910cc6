"""The MPI part of the conformance kit at 2 and 4 ranks: halo exchange, all-to-all and distributed FFT
(slab and pencil), host-staged and with device buffers, every rank agreeing on the verdict."""

import pytest
from mpi4py import MPI

from zzhpc.conformance.mpi import mpi_checks
from zzhpc.conformance.runner import check_backend
from zzhpc.device import get_backend


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("name", ["numpy", "torch"])
def test_mpi_checks_pass(name):
    if name == "torch":
        pytest.importorskip("torch", reason="torch (the optional torch backend) is not installed")
    comm = MPI.COMM_WORLD
    rows = mpi_checks(get_backend(name, comm=comm), comm, ("float32", "float64"))
    if comm.Get_rank() == 0:
        assert len(rows) == 12
        bad = [(r.name, r.dtype, r.detail) for r in rows if r.status != "pass"]
        assert not bad, bad
        assert all(r.ranks == comm.Get_size() for r in rows)
    else:
        assert rows is None


@pytest.mark.mpi(min_size=2)
def test_check_backend_collective_report_is_the_same_everywhere():
    comm = MPI.COMM_WORLD
    rep = check_backend("numpy", comm=comm, kernels=False)
    assert rep["passed"] and rep["ranks"] == comm.Get_size()
    assert comm.allgather(rep["counts"]) == [rep["counts"]] * comm.Get_size()
