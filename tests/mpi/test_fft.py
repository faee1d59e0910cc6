"""MPI tests of zzhpc.parallel.fft.DistributedFFT.

Run:  mpiexec -n K python -m pytest --with-mpi tests/mpi/test_fft.py   (K = 1, 2, 3, 4)

Every rank builds the same global field from numpy default_rng(1234) and keeps
its own block, so results are deterministic for a given rank count.
"""

import math

import numpy as np
import pytest
from mpi4py import MPI

from zzhpc.parallel.fft import DistributedFFT
from zzhpc.parallel.partition import block_ranges

SHAPES = [(16, 12, 10), (9, 7, 8), (8, 8, 8), (6, 5, 7)]
TOL = {"float64": 1e-12, "float32": 1e-5}


def _layouts():
    """(decomposition, proc_grid) cases; 'Px1'/'1xP' are resolved per rank count."""
    return [("slab", None), ("pencil", None), ("pencil", "1xP"), ("pencil", "Px1")]


def _grid(spec, nproc):
    return {"1xP": (1, nproc), "Px1": (nproc, 1)}.get(spec, spec)


def _admissible(shape, nproc, decomposition, grid):
    """The documented rule, restated independently of the implementation."""
    n0, n1, n2 = shape
    if decomposition == "slab":
        return nproc <= min(n0, n1)
    cands = [grid] if grid else [(p, nproc // p) for p in range(1, nproc + 1) if nproc % p == 0]
    return any(p0 * p1 == nproc and p0 <= min(n0, n1) and p1 <= min(n1, n2 // 2 + 1) for p0, p1 in cands)


def _field(shape, dtype):
    return np.random.default_rng(1234).standard_normal(shape).astype(dtype)


def _assemble(comm, fft, local, global_shape):
    """Gather every rank's (slices, block) and place them; check they tile the array exactly once."""
    full = np.zeros(global_shape, dtype=np.asarray(local).dtype)
    hits = np.zeros(global_shape, dtype=int)
    for sl, blk in comm.allgather((fft.spectral_slice_local, np.asarray(local))):
        full[sl] = blk
        hits[sl] += 1
    assert (hits == 1).all()
    return full


def _check_roundtrip(comm, fft, u, dtype, to_np=np.asarray, from_np=lambda a: a):
    tol = TOL[dtype]
    ul = u[fft.real_slice_local]
    uh = fft.forward(from_np(ul.copy()))
    assert tuple(uh.shape) == fft.spectral_shape_local
    uh_np = to_np(uh)
    assert uh_np.dtype == (np.complex64 if dtype == "float32" else np.complex128)
    ref = np.fft.rfftn(u.astype(np.float64))
    got = _assemble(comm, fft, uh_np, ref.shape)
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * np.abs(ref).max())
    back = to_np(fft.backward(uh))
    assert back.dtype == np.dtype(dtype) and back.shape == ul.shape
    np.testing.assert_allclose(back, ul, rtol=tol, atol=tol * np.abs(u).max())


@pytest.mark.mpi(min_size=1)
@pytest.mark.parametrize("decomposition,grid", [("slab", None), ("pencil", None), ("pencil", "1xP")])
def test_layout_is_block_partition(decomposition, grid):
    """Blocks follow zzhpc.parallel.partition (first N % P ranks get one more) and tile the grids."""
    comm = MPI.COMM_WORLD
    shape = (9, 7, 8)
    fft = DistributedFFT(comm, shape, decomposition=decomposition, proc_grid=_grid(grid, comm.size))
    p0, p1 = fft.proc_grid
    c0, c1 = divmod(comm.rank, p1)  # Cartesian, row-major, reorder=False
    real = [block_ranges(9, p0)[c0], block_ranges(7, p1)[c1], (0, 8)]
    spec = [(0, 9), block_ranges(7, p0)[c0], block_ranges(5, p1)[c1]]
    for got, want in ((fft.real_slice_local, real), (fft.spectral_slice_local, spec)):
        assert [(s.start, s.stop - s.start) for s in got] == want
    assert fft.real_shape_local == tuple(c for _, c in real)
    assert fft.spectral_shape_local == tuple(c for _, c in spec)
    for key, full in (("real_slice_local", shape), ("spectral_slice_local", (9, 7, 5))):
        hits = np.zeros(full, dtype=int)
        for sl in comm.allgather(getattr(fft, key)):
            hits[sl] += 1
        assert (hits == 1).all()


@pytest.mark.mpi(min_size=1)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("decomposition,grid", _layouts())
def test_numpy_matches_rfftn_and_roundtrip(decomposition, grid, shape, dtype):
    comm = MPI.COMM_WORLD
    grid = _grid(grid, comm.size)
    if not _admissible(shape, comm.size, decomposition, grid):
        with pytest.raises(ValueError):
            DistributedFFT(comm, shape, decomposition=decomposition, dtype=dtype, proc_grid=grid)
        return
    fft = DistributedFFT(comm, shape, decomposition=decomposition, dtype=dtype, proc_grid=grid)
    assert fft.real_shape_local == tuple(s.stop - s.start for s in fft.real_slice_local)
    assert fft.empty_real().shape == fft.real_shape_local
    assert fft.empty_spectral().dtype == (np.complex64 if dtype == "float32" else np.complex128)
    _check_roundtrip(comm, fft, _field(shape, dtype), dtype)


def _np_pad(uh, shape, padded):
    """Reference padding with numpy on the gathered spectrum: copy the N-grid modes into the M grid
    at the same signed mode numbers; Nyquist modes (-N/2 on axes 0, 1; +N/2 on the half axis 2) dropped."""
    m0, m1, m2 = padded
    out = np.zeros((m0, m1, m2 // 2 + 1), dtype=uh.dtype)
    f0, f1 = np.fft.fftfreq(shape[0], 1 / shape[0]), np.fft.fftfreq(shape[1], 1 / shape[1])
    f2 = np.fft.rfftfreq(shape[2], 1 / shape[2])
    keep = [2 * np.abs(f) < n for f, n in zip((f0, f1, f2), shape)]
    i0, i1, i2 = (np.nonzero(k)[0] for k in keep)
    dst = (f0[i0].astype(int) % m0, f1[i1].astype(int) % m1, f2[i2].astype(int))
    out[np.ix_(*dst)] = uh[np.ix_(i0, i1, i2)]
    return out


@pytest.mark.mpi(min_size=1)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "shape,padded", [((16, 12, 10), (24, 18, 15)), ((9, 7, 8), (14, 11, 12)), ((8, 8, 8), (8, 8, 8))]
)
@pytest.mark.parametrize("decomposition,grid", _layouts())
def test_padded_transforms_match_numpy(decomposition, grid, shape, padded, dtype):
    """backward_padded = irfftn of the zero-padded gathered spectrum (scaled to field values);
    forward_padded truncates back exactly; a product formed on the 3/2 grid is alias-free."""
    comm = MPI.COMM_WORLD
    grid = _grid(grid, comm.size)
    if not _admissible(shape, comm.size, decomposition, grid):
        return
    tol = TOL[dtype]
    fft = DistributedFFT(comm, shape, decomposition=decomposition, dtype=dtype, proc_grid=grid, padded_shape=padded)
    hits = np.zeros(padded, dtype=int)
    for sl in comm.allgather(fft.padded_slice_local):
        hits[sl] += 1
    assert (hits == 1).all()
    u = _field(shape, "float64")
    uh = np.fft.rfftn(u)
    ref_fine = np.fft.irfftn(_np_pad(uh, shape, padded), s=padded) * (math.prod(padded) / math.prod(shape))
    got = np.asarray(fft.backward_padded(uh[fft.spectral_slice_local].astype(fft._host_complex)))
    assert got.shape == fft.padded_shape_local and got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, ref_fine[fft.padded_slice_local], rtol=tol, atol=tol * np.abs(u).max())
    # forward_padded(backward_padded(uh)) == uh with its Nyquist modes zeroed.
    back = _assemble(comm, fft, np.asarray(fft.forward_padded(got)), uh.shape)
    want = np.zeros_like(uh)
    f = [
        np.fft.fftfreq(shape[0], 1 / shape[0]),
        np.fft.fftfreq(shape[1], 1 / shape[1]),
        np.fft.rfftfreq(shape[2], 1 / shape[2]),
    ]
    keep = np.ix_(*[np.nonzero(2 * np.abs(fi) < n)[0] for fi, n in zip(f, shape)])
    want[keep] = uh[keep]
    np.testing.assert_allclose(back, want, rtol=tol, atol=tol * np.abs(uh).max())
    if all(2 * m >= 3 * n for m, n in zip(padded, shape)):
        # 3/2 rule: on every kept mode the result equals the exact spectrum of u^2, taken on a grid
        # of 2N (where nothing aliases), although M < 2N.
        big = tuple(2 * n for n in shape)
        ub = np.fft.irfftn(_np_pad(uh, shape, big), s=big) * (math.prod(big) / math.prod(shape))
        exact = np.fft.rfftn(ub * ub) * (math.prod(shape) / math.prod(big))
        exact_n = np.zeros_like(uh)
        idx = [np.nonzero(2 * np.abs(fi) < n)[0] for fi, n in zip(f, shape)]
        exact_n[keep] = exact[
            np.ix_(f[0][idx[0]].astype(int) % big[0], f[1][idx[1]].astype(int) % big[1], f[2][idx[2]].astype(int))
        ]
        sq = _assemble(comm, fft, np.asarray(fft.forward_padded(got * got)), uh.shape)
        np.testing.assert_allclose(sq, exact_n, rtol=tol, atol=20 * tol * np.abs(exact_n).max())
        # ...which the product on the N grid does not (it aliases).
        un = np.fft.irfftn(want, s=shape)
        aliased = np.fft.rfftn(un * un)
        assert np.abs(aliased[keep] - exact_n[keep]).max() > 1e3 * tol * np.abs(exact_n).max()


@pytest.mark.mpi(min_size=1)
def test_padded_transforms_on_torch_match_numpy():
    torch = pytest.importorskip("torch", reason="torch (the optional torch backend) is not installed")
    import array_api_compat.torch as xpt

    comm = MPI.COMM_WORLD
    kw = dict(decomposition="pencil", padded_shape=(12, 9, 15))
    a = DistributedFFT(comm, (8, 6, 10), **kw)
    b = DistributedFFT(comm, (8, 6, 10), xp=xpt, from_host=torch.as_tensor, to_host=lambda t: t.numpy(), **kw)
    u = _field((8, 6, 10), "float64")[a.real_slice_local]
    ra = a.forward_padded(a.backward_padded(a.forward(u)) ** 2)
    rb = b.forward_padded(b.backward_padded(b.forward(torch.as_tensor(u.copy()))) ** 2).numpy()
    np.testing.assert_allclose(rb, ra, rtol=1e-12, atol=1e-12 * np.abs(ra).max())


@pytest.mark.mpi(min_size=1)
@pytest.mark.parametrize("decomposition", ["slab", "pencil"])
def test_scipy_fft_with_overwrite_matches_numpy_and_keeps_inputs(decomposition):
    """The NumPy backend's SciPy FFT may work in place on the plan's own intermediates: same
    transforms as numpy.fft to round-off, and the caller's arrays are never changed."""
    pytest.importorskip("scipy", reason="scipy is not installed")
    from zzhpc.device import get_backend
    from zzhpc.device.fftlib import fft_namespace

    comm, shape = MPI.COMM_WORLD, (16, 12, 10)
    xp = fft_namespace(get_backend("numpy"))
    assert xp.fft.supports_overwrite
    kw = dict(decomposition=decomposition, padded_shape=(24, 18, 15))
    a, b = DistributedFFT(comm, shape, **kw), DistributedFFT(comm, shape, xp=xp, **kw)
    assert b._own == {"overwrite_x": True} and a._own == {}
    u = _field(shape, "float64")[a.real_slice_local].copy()
    uh = a.forward(u)
    fine = a.backward_padded(uh)
    for name, arg in (("forward", u), ("backward", uh), ("backward_padded", uh), ("forward_padded", fine)):
        keep = np.array(arg, copy=True)
        want, got = getattr(a, name)(arg), getattr(b, name)(arg)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
        assert np.array_equal(arg, keep), f"{name} changed its input"


def test_padded_needs_a_larger_grid():
    with pytest.raises(ValueError, match="padded_shape must be 3 ints >= shape"):
        DistributedFFT(MPI.COMM_SELF, (8, 8, 8), padded_shape=(12, 6, 12))
    with pytest.raises(ValueError, match="needs padded_shape"):
        DistributedFFT(MPI.COMM_SELF, (8, 8, 8)).backward_padded(np.zeros((8, 8, 5), complex))


@pytest.mark.mpi(min_size=1)
@pytest.mark.parametrize("gpu_aware", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(16, 12, 10), (9, 7, 8)])
@pytest.mark.parametrize("decomposition,grid", [("slab", None), ("pencil", "1xP"), ("pencil", None)])
def test_torch_namespace(decomposition, grid, shape, dtype, gpu_aware):
    torch = pytest.importorskip("torch", reason="torch (the optional torch backend) is not installed")
    xt = pytest.importorskip("array_api_compat.torch", reason="array-api-compat has no torch support here")
    comm = MPI.COMM_WORLD
    grid = _grid(grid, comm.size)
    if not _admissible(shape, comm.size, decomposition, grid):
        pytest.skip("layout not admissible at this rank count")
    # gpu_aware=True hands torch CPU tensors to MPI directly (mpi4py reads them via DLPack).
    fft = DistributedFFT(
        comm,
        shape,
        decomposition=decomposition,
        dtype=dtype,
        proc_grid=grid,
        xp=xt,
        to_host=lambda t: t.numpy(),
        from_host=torch.from_numpy,
        gpu_aware_mpi=gpu_aware,
    )
    assert isinstance(fft.empty_spectral(), torch.Tensor)
    _check_roundtrip(comm, fft, _field(shape, dtype), dtype, to_np=lambda t: t.numpy(), from_np=torch.from_numpy)


@pytest.mark.mpi(min_size=1)
@pytest.mark.parametrize("decomposition,grid", [("slab", None), ("pencil", None), ("pencil", "1xP")])
def test_numpy_gpu_aware_path(decomposition, grid):
    comm = MPI.COMM_WORLD
    calls = []
    fft = DistributedFFT(
        comm,
        (9, 7, 8),
        decomposition=decomposition,
        proc_grid=_grid(grid, comm.size),
        gpu_aware_mpi=True,
        synchronize=lambda: calls.append(1),
    )
    _check_roundtrip(comm, fft, _field((9, 7, 8), "float64"), "float64")
    assert len(calls) == 2 * sum(p > 1 for p in fft.proc_grid)  # one per transpose per direction


@pytest.mark.mpi(min_size=1)
@pytest.mark.parametrize("decomposition", ["slab", "pencil"])
def test_from_backend(backend, decomposition):
    """The zzhpc.device backends (numpy, torch; cupy where a GPU is present) plug in directly."""
    comm = MPI.COMM_WORLD
    fft = DistributedFFT.from_backend(comm, (9, 7, 8), backend, decomposition=decomposition)
    _check_roundtrip(comm, fft, _field((9, 7, 8), "float64"), "float64", to_np=backend.to_host, from_np=backend.asarray)


def _expect_error(comm, shape, **kw):
    with pytest.raises(ValueError) as err:
        DistributedFFT(comm, shape, **kw)
    msg = str(err.value)
    assert "\n" not in msg and str(shape) in msg and f"{comm.size} rank" in msg
    assert repr(kw.get("decomposition", "slab")) in msg
    assert len(set(comm.allgather(msg))) == 1  # identical on every rank
    return msg


@pytest.mark.mpi(min_size=1)
def test_bad_proc_grid():
    comm = MPI.COMM_WORLD
    _expect_error(comm, (8, 8, 8), decomposition="pencil", proc_grid=(comm.size + 1, 1))


@pytest.mark.mpi(min_size=2)
def test_impossible_decompositions():
    comm = MPI.COMM_WORLD
    p = comm.size
    assert "min(N0, N1)" in _expect_error(comm, (p - 1, 8, 8), decomposition="slab")
    assert "min(N0, N1)" in _expect_error(comm, (8, p - 1, 8), decomposition="slab")
    _expect_error(comm, (p - 1, 8, 8), decomposition="pencil", proc_grid=(p, 1))
    _expect_error(comm, (1, 1, 1), decomposition="pencil")  # no grid at all fits
    if p >= 3:  # P1 > N2//2+1
        _expect_error(comm, (8, 8, 2 * (p - 1) - 1), decomposition="pencil", proc_grid=(1, p))


@pytest.mark.mpi(min_size=1)
@pytest.mark.parametrize("lengths", [(2 * math.pi,) * 3, (1.0, 2.0, 3.0)])
@pytest.mark.parametrize("decomposition,grid", [("slab", None), ("pencil", None), ("pencil", "1xP")])
def test_spectral_derivative(decomposition, grid, lengths):
    comm = MPI.COMM_WORLD
    shape = (16, 12, 10)
    fft = DistributedFFT(comm, shape, decomposition=decomposition, proc_grid=_grid(grid, comm.size))
    x = [np.arange(n)[sl] * (L / n) for n, sl, L in zip(shape, fft.real_slice_local, lengths)]
    a = [2 * math.pi * m / L for m, L in zip((1, 2, 3), lengths)]
    x0, x1, x2 = np.meshgrid(*x, indexing="ij")
    u = np.sin(a[0] * x0) * np.cos(a[1] * x1) * np.sin(a[2] * x2)
    exact = [
        a[0] * np.cos(a[0] * x0) * np.cos(a[1] * x1) * np.sin(a[2] * x2),
        -a[1] * np.sin(a[0] * x0) * np.sin(a[1] * x1) * np.sin(a[2] * x2),
        a[2] * np.sin(a[0] * x0) * np.cos(a[1] * x1) * np.cos(a[2] * x2),
    ]
    uh = fft.forward(u)
    ks = fft.wavenumbers(lengths)
    for ax, k in enumerate(ks):
        expect = [1, 1, 1]
        expect[ax] = fft.spectral_shape_local[ax]
        assert k.shape == tuple(expect)
        np.testing.assert_allclose(fft.backward(1j * k * uh), exact[ax], atol=1e-11 * max(a))


@pytest.mark.mpi(min_size=1)
@pytest.mark.parametrize("library", ["native", "auto"])
@pytest.mark.parametrize("decomposition,grid", _layouts())
def test_transforms_into_given_arrays_and_work_buffers(decomposition, grid, library):
    """``out=`` arrays, ``out="work"`` and the work views give the plain transforms; the caller's input is
    kept; a field in ``work_real``/``work_spectral`` is consumed without harm."""
    from zzhpc.device import get_backend
    from zzhpc.device.fftlib import fft_namespace

    comm, shape = MPI.COMM_WORLD, (16, 12, 10)
    grid = _grid(grid, comm.size)
    if not _admissible(shape, comm.size, decomposition, grid):
        pytest.skip("layout not admissible at this rank count")
    fft = DistributedFFT(
        comm, shape, decomposition=decomposition, proc_grid=grid, xp=fft_namespace(get_backend("numpy"), library)
    )
    assert fft._into == (library == "auto")
    u = _field(shape, "float64")[fft.real_slice_local].copy()
    keep = u.copy()
    want = np.fft.rfftn(_field(shape, "float64"))[fft.spectral_slice_local]
    tol = 1e-12 * np.abs(want).max()
    out = fft.empty_spectral()
    assert fft.forward(u, out=out) is out
    np.testing.assert_allclose(out, want, atol=tol)
    np.testing.assert_allclose(fft.forward(u, out="work"), want, atol=tol)
    assert np.array_equal(u, keep)
    w = fft.work_real()
    w[...] = u
    np.testing.assert_allclose(fft.forward(w, out="work"), want, atol=tol)
    back = fft.empty_real()
    assert fft.backward(out, out=back) is back
    np.testing.assert_allclose(back, u, atol=1e-12)
    ws = fft.work_spectral()
    ws[...] = out
    np.testing.assert_allclose(fft.backward(ws, out=back), u, atol=1e-12)


@pytest.mark.mpi(min_size=2)
def test_alltoall_is_timed_as_its_own_phase():
    from zzhpc.parallel import PhaseTimers

    comm, timers = MPI.COMM_WORLD, PhaseTimers()
    fft = DistributedFFT(comm, (8, 8, 8), decomposition="pencil", timers=timers)
    fft.backward(fft.forward(np.ones(fft.real_shape_local)))
    transposes = 2 * sum(p > 1 for p in fft.proc_grid)
    assert timers.counts["alltoall"] == transposes and timers.totals["alltoall"] > 0


def test_process_grid_chooser_is_shared_with_cartesian_grids():
    from zzhpc.parallel.cartesian import choose_process_grid as dims
    from zzhpc.parallel.fft import _choose_grid, choose_process_grid

    assert _choose_grid is choose_process_grid
    for nproc in range(1, 65):
        lim = (16, 9)
        old = [
            (p0, nproc // p0)
            for p0 in range(1, nproc + 1)
            if nproc % p0 == 0 and p0 <= lim[0] and nproc // p0 <= lim[1]
        ]
        want = min(old, key=lambda g: (max(g), -g[0])) if old else None
        assert dims(nproc, lim) == want, nproc  # the pencil rule of before
        if want:
            assert choose_process_grid((16, 16, 16), nproc, "pencil") == dims(nproc, (16, 9))
    assert dims(16, (16, 16, 16)) == (4, 2, 2)  # as MPI_Dims_create orders them
    assert dims(12, (100, 100, 1)) == (4, 3, 1) and dims(7, (6, 6)) is None
    assert dims(8, (8, 8, 8), fixed=(0, 4, 0)) == (2, 4, 1)


def _local_runs(n, sl, half=False):
    """Runs (local slices) of the modes |m| < n/3 of one axis within the local slice ``sl``."""
    m = (np.fft.rfftfreq(n, 1 / n) if half else np.fft.fftfreq(n, 1 / n))[sl]
    idx = np.nonzero(np.abs(m) < n / 3)[0]
    groups = np.split(idx, np.nonzero(np.diff(idx) > 1)[0] + 1) if idx.size else []
    return [slice(int(g[0]), int(g[-1]) + 1) for g in groups if g.size]


@pytest.mark.mpi(min_size=1)
@pytest.mark.parametrize("decomposition,grid", _layouts())
def test_truncated_transforms_match_full_ones_on_the_kept_modes(decomposition, grid):
    """``kept=`` skips the columns outside the 2/3-rule boxes: the same field (backward of a field zero
    outside them) and the same kept modes (forward)."""
    from zzhpc.device import get_backend
    from zzhpc.device.fftlib import fft_namespace

    comm, shape = MPI.COMM_WORLD, (16, 12, 10)
    grid = _grid(grid, comm.size)
    if not _admissible(shape, comm.size, decomposition, grid):
        pytest.skip("layout not admissible at this rank count")
    for xp in (None, fft_namespace(get_backend("numpy"))):
        fft = DistributedFFT(comm, shape, decomposition=decomposition, proc_grid=grid, xp=xp)
        sl = fft.spectral_slice_local
        kept = (_local_runs(shape[1], sl[1]), _local_runs(shape[2], sl[2], half=True))
        m = [
            np.fft.fftfreq(shape[0], 1 / shape[0]),
            np.fft.fftfreq(shape[1], 1 / shape[1])[sl[1]],
            np.fft.rfftfreq(shape[2], 1 / shape[2])[sl[2]],
        ]
        keep = [np.abs(mi) < n / 3 for mi, n in zip(m, shape)]
        mask = keep[0][:, None, None] & keep[1][None, :, None] & keep[2][None, None, :]
        uh = fft.forward(_field(shape, "float64")[fft.real_slice_local]) * mask
        full, trunc = fft.backward(uh), fft.empty_real()
        fft.backward(uh, out=trunc, kept=kept)
        np.testing.assert_allclose(trunc, full, atol=1e-13 * np.abs(full).max())
        want = fft.forward(full * full)
        got = np.array(fft.forward(full * full, out="work", kept=kept))
        np.testing.assert_allclose(got[:, mask.any(axis=0)], want[:, mask.any(axis=0)], atol=1e-12 * np.abs(want).max())
