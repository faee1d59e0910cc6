"""zzhpc.Simulation under mpiexec (2 and 4 ranks): every rank steps the same object; the gathered state is
the same on every rank and equals a one-rank run of the same deck."""

import numpy as np
import pytest
from mpi4py import MPI

import zzhpc
from conftest import ROOT

comm = MPI.COMM_WORLD


@pytest.mark.mpi(min_size=2)
def test_gathered_heat_field_equals_the_one_rank_run(tmp_path):
    tmp = comm.bcast(str(tmp_path), root=0)
    sim = zzhpc.Simulation(ROOT / "examples" / "heat.toml", output=f"{tmp}/p", set={"run.t_end": 0.001})
    steps = []
    sim.every(50, lambda s: steps.append(s.step))
    sim.run()
    u = sim.state()["u"]
    local = sim.state(gather=False)
    sim.close()
    lo = local["offset"]
    block = local["u"]
    assert np.array_equal(u[tuple(slice(a, a + n) for a, n in zip(lo, block.shape))], block)
    allu = comm.allgather(u)
    assert all(np.array_equal(allu[0], x) for x in allu)
    assert steps and all(s % 50 == 0 for s in steps)
    if comm.Get_rank() == 0:
        one = zzhpc.Simulation(
            ROOT / "examples" / "heat.toml", output=f"{tmp}/one", set={"run.t_end": 0.001}, comm=MPI.COMM_SELF
        )
        one.run()
        u1 = one.state()["u"]
        one.close()
        assert np.array_equal(u1, u)  # the stencil is rank-count independent bitwise
