"""Spectral solver on 2 and 4 ranks (in-process, COMM_WORLD): the same results as one rank, for slab and
pencil layouts; the random initial field does not depend on the decomposition; parallel HDF5 restart
state re-read on another decomposition."""

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.device import get_backend
from zzhpc.solvers.spectral import diagnostics as dg
from zzhpc.solvers.spectral import initial
from zzhpc.solvers.spectral.cases import run_spectral, spectral_deck
from zzhpc.solvers.spectral.grid import SpectralGrid

COMM = MPI.COMM_WORLD


def _serial(deck, **kw):
    """The one-rank result, computed on rank 0 and shared."""
    res = run_spectral(deck, comm=MPI.COMM_SELF, **kw)[1] if COMM.Get_rank() == 0 else None
    return COMM.bcast(res, root=0)


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize(
    "decomposition, initial_field, rule",
    [
        ("slab", "taylor_green", "2/3"),
        ("pencil", "random", "2/3"),
        ("slab", "random", "3/2"),
        ("pencil", "taylor_green", "3/2"),
    ],
)
def test_series_match_one_rank(decomposition, initial_field, rule):
    deck = spectral_deck(
        (16, 16, 12),
        steps=4,
        dt=0.05,
        initial=initial_field,
        dealias=rule,
        decomposition=decomposition,
        forcing="band" if initial_field == "random" else "none",
    )
    ref = _serial(deck)
    _, s = run_spectral(deck, comm=COMM)
    for key in ("energy", "dissipation", "enstrophy", "max_velocity", "cfl"):
        assert np.allclose(s[key], ref[key], rtol=1e-13, atol=0), key
    assert np.max(s["max_divergence"]) < 1e-12


@pytest.mark.mpi(min_size=2)
def test_torch_matches_numpy_across_ranks():
    pytest.importorskip("torch", reason="torch (the optional torch backend) is not installed")
    deck = spectral_deck((16, 16, 16), steps=3, dt=0.05, initial="random", decomposition="pencil")
    _, a = run_spectral(deck, comm=COMM)
    _, b = run_spectral(deck, comm=COMM, backend="torch")
    assert np.allclose(a["energy"], b["energy"], rtol=1e-12, atol=0)


@pytest.mark.mpi(min_size=2)
def test_random_field_is_independent_of_the_decomposition():
    be = get_backend("numpy")
    fields = {}
    for dec in ("slab", "pencil"):
        g = SpectralGrid(COMM, (12, 16, 10), be, decomposition=dec)
        uh = initial.random_isotropic(g, energy=0.5, k0=3.0, seed=5)
        full = np.zeros((3,) + g.fft.spectral_shape, complex)
        full[(slice(None),) + g.fft.spectral_slice_local] = uh
        fields[dec] = COMM.allreduce(full, op=MPI.SUM)
        assert dg.energy(g, uh) == pytest.approx(0.5, rel=1e-12)
    gs = SpectralGrid(MPI.COMM_SELF, (12, 16, 10), be)
    serial = initial.random_isotropic(gs, energy=0.5, k0=3.0, seed=5)
    for dec, f in fields.items():
        assert np.allclose(f, serial, rtol=0, atol=1e-14 * np.abs(serial).max()), dec
