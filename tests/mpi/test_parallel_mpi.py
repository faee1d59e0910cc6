"""The parallel core under real MPI ranks (run at 2 and 4 ranks): process grids, halo exchange, parallel
HDF5, atomic checkpoints, timers, replica sets."""

import os

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.device import backend_status, get_backend
from zzhpc.errors import ConfigError
from zzhpc.io import CheckpointManager, open_parallel, read_block, read_concatenated, write_block, write_concatenated
from zzhpc.io.checkpoint import is_complete
from zzhpc.parallel import DistributedMesh, PhaseTimers, ProcessGrid, ReplicaSet, block_partition

comm = MPI.COMM_WORLD
BACKENDS = [b for b in ("numpy", "torch") if backend_status()[b][0]]


def shared_tmp(tmp_path):
    return comm.bcast(str(tmp_path), root=0)


@pytest.mark.mpi(min_size=2)
def test_block_partition_covers_exactly():
    for n in (7, 64, 3):
        parts = [block_partition(n, 3, i) for i in range(3)]
        assert sum(c for _, c in parts) == n and parts[0][0] == 0
        assert all(parts[i][0] + parts[i][1] == parts[i + 1][0] for i in range(2))


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("shape", [(13, 7), (9, 10, 11), (40,)])
def test_process_grid_uneven_extents(shape):
    g = ProcessGrid(comm, shape, [True] * len(shape))
    assert int(np.prod(g.dims)) == comm.Get_size()
    sizes = comm.allgather(int(np.prod(g.local_shape)))
    assert sum(sizes) == int(np.prod(shape))
    starts = comm.allgather(g.start)
    assert len(set(starts)) == comm.Get_size()


@pytest.mark.mpi(min_size=2)
def test_impossible_decomposition_is_a_config_error():
    with pytest.raises(ConfigError, match="parallel.dims"):
        ProcessGrid(comm, (64, 64), [True, True], dims=[comm.Get_size() + 1, 1])
    with pytest.raises(ConfigError, match="fewer than 3"):
        ProcessGrid(comm, (4, 2), [True, True], dims=[comm.Get_size(), 1], min_cells=3)


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("bname", BACKENDS)
@pytest.mark.parametrize("width", [1, 2])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("gpu_aware", [False, True])
def test_halo_exchange_matches_global_array(bname, width, periodic, gpu_aware):
    be = get_backend(bname, gpu_aware_mpi=gpu_aware)
    shape = (11, 9, 6)
    mesh = DistributedMesh(comm, shape, (1.0, 1.0, 1.0), [periodic] * 3, be, halo=width, dtype="float64")
    glob = np.random.default_rng(3).standard_normal((2,) + shape)  # two components
    local = glob[(slice(None),) + mesh.grid.local_slice]
    a = mesh.from_host(local, components=(2,))
    mesh.exchange(a)
    got = be.to_host(a)
    # Expected: the global array padded by wrap-around (periodic) or left zero (walls).
    pad = (
        np.pad(glob, [(0, 0)] + [(width, width)] * 3, mode="wrap")
        if periodic
        else np.pad(glob, [(0, 0)] + [(width, width)] * 3)
    )
    sl = tuple(slice(s, s + n + 2 * width) for s, n in zip(mesh.grid.start, mesh.local_shape))
    want = pad[(slice(None),) + sl]
    if not periodic:  # ghosts beyond a wall are not filled by the exchange
        mask = np.ones_like(want, dtype=bool)
        for ax in range(3):
            if mesh.grid.at_lower_wall(ax):
                idx = [slice(None)] * 4
                idx[ax + 1] = slice(0, width)
                mask[tuple(idx)] = False
            if mesh.grid.at_upper_wall(ax):
                idx = [slice(None)] * 4
                idx[ax + 1] = slice(-width, None)
                mask[tuple(idx)] = False
        np.testing.assert_array_equal(got[mask], want[mask])
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.mpi(min_size=2)
def test_mesh_reductions_and_gather():
    be = get_backend("numpy")
    mesh = DistributedMesh(comm, (10, 7), (2.0, 1.0), [True, False], be, halo=1)
    x, y = mesh.meshgrid()
    a = mesh.from_host(x + 10 * y)
    full = mesh.gather(a)
    if comm.Get_rank() == 0:
        gx, gy = np.meshgrid((np.arange(10) + 0.5) * 0.2, (np.arange(7) + 0.5) / 7, indexing="ij")
        np.testing.assert_allclose(full, gx + 10 * gy)
    assert mesh.sum(a) == pytest.approx(comm.bcast(float(full.sum()) if full is not None else None), rel=1e-13)
    assert mesh.max(a) == pytest.approx((9.5 * 0.2) + 10 * 6.5 / 7)
    assert mesh.all_finite(a)


@pytest.mark.mpi(min_size=2)
def test_parallel_hdf5_block_and_concatenated_roundtrip(tmp_path):
    path = os.path.join(shared_tmp(tmp_path), "t.h5")
    be = get_backend("numpy")
    mesh = DistributedMesh(comm, (12, 5, 7), (1, 1, 1), [True] * 3, be)
    glob = np.arange(3 * 12 * 5 * 7, dtype=float).reshape(3, 12, 5, 7)
    start, count = mesh.hyperslab()
    local = glob[(slice(None),) + mesh.grid.local_slice]
    n = comm.Get_rank() + 2
    parts = np.full((n, 3), comm.Get_rank(), dtype=np.int64)
    with open_parallel(path, "w", comm) as f:
        write_block(f, "v", local, mesh.shape, start)
        off, total = write_concatenated(f, "p", parts, comm)
    with open_parallel(path, "r", comm) as f:
        np.testing.assert_array_equal(read_block(f, "v", start, count), local)
        np.testing.assert_array_equal(read_concatenated(f, "p", off, n), parts)
        assert f["v"].shape == (3, 12, 5, 7) and f["p"].shape == (total, 3)
    if comm.Get_rank() == 0:
        import h5py

        with h5py.File(path, "r") as f:
            np.testing.assert_array_equal(f["v"][...], glob)


@pytest.mark.mpi(min_size=2)
def test_checkpoints_atomic_keep_k_and_partial_ignored(tmp_path):
    d = os.path.join(shared_tmp(tmp_path), "ck")
    cm = CheckpointManager(d, comm, keep=2)
    for step in (10, 20, 30):
        cm.save(step, lambda f, step=step: f.create_dataset("x", data=np.arange(step)), {"time": step * 0.1})
    names = [os.path.basename(p) for p in cm.complete()]
    assert names == ["ckpt_0000000020.h5", "ckpt_0000000030.h5"]
    assert cm.latest().endswith("ckpt_0000000030.h5")
    comm.Barrier()
    if comm.Get_rank() == 0:  # a write that died half-way, and a LATEST pointing at garbage
        with open(os.path.join(d, "ckpt_0000000040.h5.partial"), "wb") as fh:
            fh.write(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
        with open(os.path.join(d, "ckpt_0000000050.h5"), "wb") as fh:
            fh.write(b"\x89HDF\r\n")
        with open(os.path.join(d, "LATEST"), "w") as fh:
            fh.write("ckpt_0000000050.h5\n")
    comm.Barrier()
    assert cm.latest().endswith("ckpt_0000000030.h5")
    assert is_complete(cm.latest())


@pytest.mark.mpi(min_size=2)
def test_timers_reduce_over_ranks():
    t = PhaseTimers()
    with t("compute"):
        with t("halo"):
            sum(range(1000 * (comm.Get_rank() + 1)))
    r = t.reduce(comm)
    assert set(r) == {"compute", "halo"}
    assert r["halo"]["max"] >= r["halo"]["mean"] >= r["halo"]["min"] > 0


@pytest.mark.mpi(min_size=2)
def test_replica_set_blocks():
    rs = ReplicaSet(comm, 10)
    ids = np.concatenate(comm.allgather(rs.local_ids))
    np.testing.assert_array_equal(ids, np.arange(10))
    np.testing.assert_array_equal(rs.allgather(rs.local_ids * 2.0), np.arange(10) * 2.0)
    assert rs.owner(9) == comm.Get_size() - 1
    with pytest.raises(ConfigError, match="replicas"):
        ReplicaSet(comm, comm.Get_size() - 1)


@pytest.mark.mpi(min_size=2)
@pytest.mark.timeout(60)
def test_concatenated_with_a_rank_that_owns_nothing(tmp_path):
    # h5py skips empty selections; the empty rank must still join the collective transfer, or the
    # others wait forever (a rank owning no atoms or molecules at a checkpoint).
    path = os.path.join(shared_tmp(tmp_path), "e.h5")
    r = comm.Get_rank()
    n = 0 if r == 1 else r + 3
    parts = np.full((n, 3), float(r))
    with open_parallel(path, "w", comm) as f:
        off, total = write_concatenated(f, "p", parts, comm)
    assert total == sum(0 if k == 1 else k + 3 for k in range(comm.Get_size()))
    with open_parallel(path, "r", comm) as f:
        got = read_concatenated(f, "p", off, n)
    assert got.shape == (n, 3)
    np.testing.assert_array_equal(got, parts)


@pytest.mark.mpi
def test_domain_rescale_keeps_the_decomposition_proportional():
    from zzhpc.particles.domain import Domain

    comm = MPI.COMM_WORLD
    dom = Domain(comm, get_backend("numpy"), [-1.0, 0.0, 2.0], [9.0, 8.0, 12.0], [True] * 3, 1.5)
    before = [list(s) for s in dom.split]
    dom.rescale(1.1, [4.0, 4.0, 7.0])
    assert dom.boxlo == pytest.approx([-1.5, -0.4, 1.5]) and dom.boxhi == pytest.approx([9.5, 8.4, 12.5])
    assert dom.length == pytest.approx([11.0, 8.8, 11.0])
    for d, c in enumerate([4.0, 4.0, 7.0]):
        assert dom.split[d] == pytest.approx([c + 1.1 * (s - c) for s in before[d]])
    assert dom.sublo == [dom.split[d][dom.coords[d]] for d in range(3)]
    assert dom.subhi == [dom.split[d][dom.coords[d] + 1] for d in range(3)]
