"""Device layer: backends by name, transfers, rank-to-card mapping, kernel overrides."""

import numpy as np
import pytest

from zzhpc.device import Backend, backend_status, choose_device, get_backend, get_kernel, local_rank, override
from zzhpc.device.kernels import kernel
from zzhpc.errors import ConfigError, NotSuitableError


def test_registry_lists_builtin_backends():
    st = backend_status()
    assert {"numpy", "torch", "cupy"} <= set(st)
    assert st["numpy"][0] is True


def test_roundtrip_and_dtypes(backend):
    a = np.arange(12.0).reshape(3, 4)
    d = backend.asarray(a)
    back = backend.to_host(d * 2)
    assert isinstance(back, np.ndarray) and back.flags.c_contiguous
    np.testing.assert_array_equal(back, 2 * a)
    z = backend.zeros((2, 3), "float32")
    assert backend.to_host(z).dtype == np.float32
    desc = backend.describe()
    assert desc["name"] == backend.name and desc["float64"] is True and desc["gpu_aware_mpi"] is False


def test_xp_namespace_is_shared(backend):
    xp = backend.xp
    a = backend.asarray(np.linspace(0, 1, 8))
    s = float(xp.sum(xp.sin(a) ** 2 + xp.cos(a) ** 2))
    assert abs(s - 8) < 1e-12
    f = backend.to_host(xp.fft.rfft(a))
    np.testing.assert_allclose(f, np.fft.rfft(np.linspace(0, 1, 8)), atol=1e-12)


def test_missing_gpu_backend_is_one_clear_line():
    ok, why = backend_status()["cupy"]
    if ok:
        pytest.skip("cupy works on this machine")
    with pytest.raises(ConfigError) as err:
        get_backend("cupy")
    assert "backend.name" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="unknown backend"):
        get_backend("fortran")


def test_local_rank_from_launcher_variables(monkeypatch):
    for var in (
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "MV2_COMM_WORLD_LOCAL_RANK",
        "MPI_LOCALRANKID",
        "PMI_LOCAL_RANK",
        "SLURM_LOCALID",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLURM_LOCALID", "3")
    assert local_rank() == 3
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1")  # the MPI launcher's own variable wins
    assert local_rank() == 1
    monkeypatch.delenv("OMPI_COMM_WORLD_LOCAL_RANK")
    monkeypatch.delenv("SLURM_LOCALID")
    from mpi4py import MPI

    assert local_rank(MPI.COMM_WORLD) == 0  # shared-memory split of a singleton


class FourCards(Backend):
    """A card backend with four devices, to exercise the mapping policies (arrays are not used)."""

    name, kind, device_prefix = "fourcards", "gpu", "cuda"
    asarray = to_host = None

    @classmethod
    def device_count(cls):
        return 4


def test_mapping_policies(monkeypatch):
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "5")
    with pytest.raises(ConfigError, match="local rank 5 has no card"):
        choose_device(FourCards, "local-rank")
    assert choose_device(FourCards, "round-robin") == "cuda:1"
    assert choose_device(FourCards, "2") == "cuda:2"
    assert choose_device(FourCards, "npu:0") == "npu:0"
    assert choose_device(FourCards, "npu") == "npu:5"
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "2")
    assert choose_device(FourCards, "local-rank") == "cuda:2"


def test_override_declines_and_falls_back():
    calls = []

    @kernel("_test_scale")
    def generic(a, f):
        calls.append("generic")
        return a * f

    @override("_test_scale", "numpy")
    def fast(a, f):
        if a.dtype != np.float64:
            raise NotSuitableError("float64 only")
        calls.append("fast")
        return a * f

    k = get_kernel("_test_scale", "numpy")
    np.testing.assert_array_equal(k(np.ones(3), 2.0), 2 * np.ones(3))
    np.testing.assert_array_equal(k(np.ones(3, np.float32), 2.0), 2 * np.ones(3))
    assert calls == ["fast", "generic"]
    assert get_kernel("_test_scale", "torch") is generic


def test_array_operations_of_the_backend(backend):
    """scatter_add, dtype_name, erfc, nbytes: the same through the backend and through the array (kernels)."""
    from zzhpc.device import arrays

    idx = np.array([0, 0, 2, 4, 2, 0])
    vals = np.arange(18.0).reshape(6, 3) / 7.0
    ref = np.zeros((5, 3))
    np.add.at(ref, idx, vals)
    for fn in (backend.scatter_add, arrays.scatter_add):
        t = backend.zeros((5, 3), "float64")
        out = fn(t, backend.asarray(idx), backend.asarray(vals))
        np.testing.assert_allclose(backend.to_host(t), ref, rtol=1e-15)  # in place
        assert out is t
        t1 = backend.zeros((5,), "float64")
        fn(t1, backend.asarray(idx), backend.asarray(vals[:, 0]))
        np.testing.assert_allclose(backend.to_host(t1), ref[:, 0], rtol=1e-15)
    a = backend.asarray(np.linspace(0.0, 3.0, 7), dtype="float32")
    assert backend.dtype_name(a) == arrays.dtype_name(a) == "float32"
    assert backend.to_host(backend.asarray(np.ones(2), dtype=backend.dtype_name(a))).dtype == np.float32
    import math

    np.testing.assert_allclose(backend.to_host(arrays.erfc(a)), [math.erfc(v) for v in np.linspace(0, 3, 7)], rtol=1e-6)
    assert backend.nbytes(a) == arrays.nbytes(a) == 28
    assert arrays.backend_name(a) == backend.name


def test_numpy_scatter_add_sums_per_index_before_adding():
    """Bitwise the formula the MD, water and PME kernels used before it became a backend operation:
    ``f[:, d] += bincount(idx, weights=v[:, d])`` (float32 targets get the float64 sum rounded once)."""
    from zzhpc.device import scatter_add

    rng = np.random.default_rng(3)
    idx = rng.integers(0, 40, 500)
    for dt in (np.float64, np.float32):
        f = rng.standard_normal((40, 3)).astype(dt)
        v = rng.standard_normal((500, 3)).astype(dt)
        old = f.copy()
        for d in range(3):
            old[:, d] += np.bincount(idx, weights=v[:, d], minlength=40)
        new = scatter_add(f.copy(), idx, v)
        assert new.dtype == dt and new.tobytes() == old.tobytes()


def test_an_array_no_backend_owns_is_one_clear_error():
    from zzhpc.device import scatter_add

    with pytest.raises(TypeError, match="no registered backend owns arrays of type builtins.list"):
        scatter_add([0.0], [0], [1.0])
