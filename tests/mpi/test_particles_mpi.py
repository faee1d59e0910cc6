"""The particle decomposition under real MPI ranks (run at 2 and 4 ranks): migration and ghosts travel as
typed buffers, host-staged or as the backend's own arrays (GPU-aware MPI), with the same bits either way."""

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.device import backend_status, get_backend
from zzhpc.particles import Domain

comm = MPI.COMM_WORLD
BACKENDS = [b for b in ("numpy", "torch") if backend_status()[b][0]]
BOX, CUT, N = 6.0, 1.6, 60


def decompose(backend, periodic):
    """Random atoms anywhere in the box on every rank: migrate, ghosts (carrying ids), a forward and a
    reverse comm. Returns host arrays."""
    dom = Domain(comm, backend, [0.0] * 3, [BOX] * 3, periodic, CUT)
    rng = np.random.default_rng(10 + comm.Get_rank())
    x = rng.uniform(0.0, BOX, (N, 3))
    ids = 1 + comm.Get_rank() * N + np.arange(N)
    atoms = {
        "x": backend.asarray(x),
        "v": backend.asarray(rng.standard_normal((N, 3))),
        "id": backend.asarray(ids, dtype="int64"),
        "image": backend.asarray(np.zeros((N, 3)), dtype="int64"),
    }
    dom.pbc(atoms)
    atoms = dom.exchange(atoms)
    xall, idall = dom.borders(atoms["x"], atoms["id"])
    nlocal = int(atoms["x"].shape[0])
    xall[:nlocal] = xall[:nlocal] + 0.01  # owners move; forward_comm brings the ghosts along
    dom.forward_comm(xall)
    f = backend.asarray(np.ones((int(xall.shape[0]), 3)))
    dom.reverse_comm(f)  # each owned row: 1 + the number of its ghost copies
    host = backend.to_host
    return dom, nlocal, {k: host(v) for k, v in atoms.items()}, host(xall), host(idall), host(f)


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("bname", BACKENDS)
@pytest.mark.parametrize("periodic", [[True] * 3, [True, False, True]])
def test_device_buffers_give_the_bits_of_host_staging(bname, periodic):
    host = decompose(get_backend(bname, "cpu"), periodic)
    device = decompose(get_backend(bname, "cpu", gpu_aware_mpi=True), periodic)
    assert host[1] == device[1]
    for k in host[2]:
        assert host[2][k].tobytes() == device[2][k].tobytes()
    for a, b in zip(host[3:], device[3:]):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("bname", BACKENDS)
def test_migration_and_ghosts_are_complete(bname):
    dom, nlocal, atoms, xall, idall, f = decompose(get_backend(bname, "cpu"), [True] * 3)
    # Every atom has exactly one owner, inside its sub-domain.
    ids = np.concatenate(comm.allgather(atoms["id"]))
    assert sorted(ids.tolist()) == list(range(1, comm.Get_size() * N + 1))
    assert np.all((atoms["x"] >= dom.sublo) & (atoms["x"] < dom.subhi))
    # Every atom within CUT of the sub-domain at the build (periodic images included) is present, as owner
    # or ghost, and after the forward comm sits at its owner's new position shifted by whole box lengths.
    built = dict(zip(ids.tolist(), np.concatenate(comm.allgather(atoms["x"]))))
    shifts = np.array([[a, b, c] for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)]) * BOX
    lo, hi = np.asarray(dom.sublo) - CUT + 1e-9, np.asarray(dom.subhi) + CUT - 1e-9
    have = {}
    for i, p in zip(idall.tolist(), xall):
        have.setdefault(i, []).append(p)
    nwant = 0
    for i, p in built.items():
        for s in shifts:
            if np.all(p + s >= lo) and np.all(p + s < hi):
                nwant += 1
                assert any(np.abs(q - (p + 0.01 + s)).max() < 1e-9 for q in have.get(i, [])), (i, p + s)
    assert nwant > nlocal  # ghosts were wanted, and found
    # Reverse comm: each owned row got 1 from itself plus 1 per ghost copy of it on any rank.
    copies = np.bincount(np.concatenate(comm.allgather(idall[nlocal:])), minlength=comm.Get_size() * N + 1)
    np.testing.assert_array_equal(f[:nlocal, 0], 1.0 + copies[atoms["id"]])
