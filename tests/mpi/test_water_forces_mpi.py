"""Water force field on 2-4 ranks: energies, virial and forces equal to one rank (molecules owned by
their oxygen's sub-domain, ghosts by Domain.borders, ghost forces back by Domain.reverse_comm)."""

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.device import get_backend
from zzhpc.errors import ConfigError
from zzhpc.solvers.water.builder import water_box
from zzhpc.solvers.water.cases_forces import distributed_forces, rms_rel
from zzhpc.solvers.water.forcefield import WaterForceField

pytestmark = pytest.mark.mpi(min_size=2)
BE = get_backend("numpy")


def compare(model, nmol, cutoff, dims=None, **kw):
    comm = MPI.COMM_WORLD
    x, L = water_box(nmol, model, seed=7)
    x = x + np.random.default_rng(1).normal(scale=0.03, size=x.shape)  # off the lattice
    par = WaterForceField(comm, BE, model, L, cutoff, nmol, **kw)
    fp, ep, wp = distributed_forces(comm, BE, par, x, L)
    serial = None
    if comm.Get_rank() == 0:
        ser = WaterForceField(MPI.COMM_SELF, BE, model, L, cutoff, nmol, **kw)
        serial = distributed_forces(MPI.COMM_SELF, BE, ser, x, L)
    fs, es, ws = comm.bcast(serial)
    for k in es:
        assert ep[k] == pytest.approx(es[k], rel=1e-10, abs=1e-10), k
    assert wp == pytest.approx(ws, rel=1e-10)
    assert rms_rel(fp, fs) < 1e-10
    assert np.max(np.abs(fp - fs)) < 1e-9 * np.max(np.abs(fs))
    return ep


def test_pme_energy_forces_virial_independent_of_rank_count():
    compare("spce", 125, 7.5)


def test_tip3p_odd_grid_and_thin_subdomains():
    # An odd grid that splits unevenly over 3 or 4 ranks; the 15.6 A box splits into slabs thinner
    # than the ghost cutoff (several ghost hops).
    compare("tip3p", 125, 7.0, grid=[21, 25, 27], alpha=0.36)


def test_plain_ewald_independent_of_rank_count():
    compare("spce", 64, 5.5, coulomb="ewald", alpha=0.5)


def test_cutoff_too_large_fails_on_every_rank_alike():
    comm = MPI.COMM_WORLD
    _, L = water_box(64, "spce")
    with pytest.raises(ConfigError, match="water.cutoff"):
        WaterForceField(comm, BE, "spce", L, 6.5, 64)
