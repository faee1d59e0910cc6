"""Halo exchange reuses its pack buffers and persistent requests (zzhpc/parallel/halo.py): one plan per
array layout, the same buffers on every exchange, and the same ghosts as a first exchange."""

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.device import get_backend
from zzhpc.parallel import DistributedMesh, halo

pytestmark = pytest.mark.mpi(min_size=2)


@pytest.mark.parametrize("gpu_aware", [False, True])
def test_buffers_made_once_per_layout_and_reused(gpu_aware):
    be = get_backend("numpy", gpu_aware_mpi=gpu_aware)
    mesh = DistributedMesh(MPI.COMM_WORLD, (12, 10), (1.0, 1.0), [True, True], be, halo=2, dtype="float64")
    rng = np.random.default_rng(MPI.COMM_WORLD.rank)
    a = mesh.from_host(rng.standard_normal(mesh.local_shape))
    first = mesh.exchange(a.copy())
    plans = halo._PLANS[mesh.grid]
    buffers = [id(t.sbuf) for axis in next(iter(plans.values())) for t in axis]
    for _ in range(3):
        again = mesh.exchange(a.copy())
        np.testing.assert_array_equal(again, first)
    assert len(plans) == 1
    assert [id(t.sbuf) for axis in next(iter(plans.values())) for t in axis] == buffers
    mesh.exchange(mesh.from_host(rng.standard_normal((3,) + mesh.local_shape), components=(3,)))
    assert len(plans) == 2  # a new layout (3 components) gets its own plan
