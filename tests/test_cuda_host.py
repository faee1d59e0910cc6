"""CUDA kernel sources run on the host, one thread at a time, against the NumPy reference kernels.

No GPU here: the .cu file is compiled by the host C++ compiler behind a small shim (``__global__``
dropped, ``blockIdx.x`` set from Python for each thread in turn, blockDim 1, ``atomicAdd`` a plain
add) and called through ctypes on the kernel's own sample inputs. This checks the kernel's arithmetic
and indexing (not its parallel behaviour, which tests/test_kernels.py checks on a GPU) wherever a C++
compiler exists; nvcc compilation is tests/test_cuda_sources.py.
"""

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from zzhpc.core.registry import discover
from zzhpc.device import kernel_registry

discover()
KERNELS = Path(__file__).resolve().parent.parent / "kernels" / "cuda"
CXX = shutil.which("g++") or shutil.which("c++")

SHIM = r"""
#include <math.h>
#define __global__
#define __device__
struct zz_dim3 { unsigned x, y, z; };
static zz_dim3 blockIdx = {0, 0, 0}, blockDim = {1, 1, 1}, threadIdx = {0, 0, 0};
static inline double atomicAdd(double* p, double v) { double old = *p; *p += v; return old; }
extern "C" void zz_set_thread(unsigned b) { blockIdx.x = b; }
extern "C" void zz_set_block(unsigned x, unsigned y, unsigned z) { blockIdx.x = x; blockIdx.y = y; blockIdx.z = z; }
#include "SOURCE"
"""

pytestmark = pytest.mark.skipif(CXX is None, reason="no host C++ compiler (g++/c++) on this machine")


def _build(source, tmp_path):
    shim = tmp_path / "shim.cpp"
    shim.write_text(SHIM.replace("SOURCE", str(KERNELS / source)))
    lib = tmp_path / (Path(source).stem + ".so")
    proc = subprocess.run(
        [CXX, "-O1", "-shared", "-fPIC", "-std=c++14", "-o", str(lib), str(shim)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return ctypes.CDLL(str(lib))


def _ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p)


def _threads(lib, fn, n, args):
    for b in range(n):
        lib.zz_set_thread(ctypes.c_uint(b))
        fn(*args)


@pytest.mark.parametrize("half", [True, False])
def test_water_pair_cu_matches_the_reference(tmp_path, half):
    entry = kernel_registry()["water_pair_forces"]
    args, _ = entry["sample"](np.random.default_rng(3))
    x, types, mol, neigh, nlocal, tab, alpha, _ = args
    if not half:  # a full list: every partner of each owned atom
        from zzhpc.particles.neighbors import neighbor_list

        neigh = neighbor_list(x, nlocal, (-3.0,) * 3, (11.0,) * 3, 2.5, False)
    f_ref, e_lj, e_c, w = (np.asarray(v) for v in entry["generic"](x, types, mol, neigh, nlocal, tab, alpha, half))
    lib = _build("water_pair.cu", tmp_path)
    fn = lib.water_pair
    xc = np.ascontiguousarray(x, dtype=np.float64)
    ty = np.ascontiguousarray(types, dtype=np.int64)
    mo = np.ascontiguousarray(mol, dtype=np.int64)
    nb = np.ascontiguousarray(neigh, dtype=np.int32)
    packed = np.concatenate(
        [np.asarray(tab[k], dtype=np.float64).ravel() for k in ("lj1", "lj2", "lj3", "lj4", "qq", "cutsq")]
    )
    f = np.zeros((x.shape[0], 3))
    acc = np.zeros((nlocal, 3))
    _threads(
        lib,
        fn,
        nlocal,
        (
            _ptr(xc),
            _ptr(ty),
            _ptr(mo),
            _ptr(nb),
            ctypes.c_longlong(nlocal),
            ctypes.c_longlong(nb.shape[1]),
            ctypes.c_longlong(tab["lj1"].shape[0]),
            _ptr(packed),
            ctypes.c_double(alpha),
            ctypes.c_int(int(half)),
            _ptr(f),
            _ptr(acc),
        ),
    )
    scale = 1.0 if half else 0.5
    np.testing.assert_allclose(scale * acc.sum(axis=0), [e_lj, e_c, w], rtol=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=1e-11, atol=1e-11 * np.abs(f_ref).max())
    assert np.abs(f_ref).max() > 1.0  # the sample has real forces


def test_md_sw_cu_matches_the_reference(tmp_path):
    from zzhpc.solvers.md.sw import CONSTANT_ORDER

    entry = kernel_registry()["md_sw_forces"]
    args, kw = entry["sample"](np.random.default_rng(5))
    x, neigh, nlocal, sw = args[:4]
    f_ref, e_ref, w_ref = (np.asarray(v) for v in entry["generic"](*args, **kw))
    lib = _build("md_sw.cu", tmp_path)
    xc = np.ascontiguousarray(x, dtype=np.float64)
    nb = np.ascontiguousarray(neigh, dtype=np.int64)
    c = np.array([float(sw[k]) for k in CONSTANT_ORDER])
    f = np.zeros((x.shape[0], 3))
    acc = np.zeros((nlocal, 2))
    _threads(
        lib,
        lib.md_sw_full,
        nlocal,
        (_ptr(xc), _ptr(nb), ctypes.c_longlong(nlocal), ctypes.c_longlong(nb.shape[1]), _ptr(c), _ptr(f), _ptr(acc)),
    )
    np.testing.assert_allclose(acc.sum(axis=0), [e_ref, w_ref], rtol=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=1e-11, atol=1e-11 * np.abs(f_ref).max())
    assert np.abs(f_ref).max() > 0.1 and abs(float(e_ref)) > 0


def test_md_lj_cu_matches_the_reference(tmp_path):
    entry = kernel_registry()["md_lj_forces"]
    from zzhpc.particles.neighbors import neighbor_list

    args, _ = entry["sample"](np.random.default_rng(9))
    x, types, _, nlocal, tab = args[:5]
    box = 6.0  # the sample's: owned atoms in [0, 6)^3, ghosts within 1.3 of it; the CUDA kernel takes full lists
    neigh = neighbor_list(x, nlocal, (-1.3,) * 3, (box + 1.3,) * 3, 1.3, False)
    f_ref, e_ref, w_ref = (np.asarray(v) for v in entry["generic"](x, types, neigh, nlocal, tab, False))
    lib = _build("md_lj.cu", tmp_path)
    packed = np.stack(
        [np.asarray(tab[k], dtype=np.float64).ravel() for k in ("lj1", "lj2", "lj3", "lj4", "cutsq", "offset")]
    )
    xc = np.ascontiguousarray(x, dtype=np.float64)
    f = np.zeros((x.shape[0], 3))
    e = np.zeros(nlocal)
    w = np.zeros(nlocal)
    nb = np.ascontiguousarray(neigh, dtype=np.int64)
    _threads(
        lib,
        lib.md_lj_full,
        nlocal,
        (
            _ptr(xc),
            _ptr(np.ascontiguousarray(types, dtype=np.int64)),
            _ptr(nb),
            ctypes.c_longlong(nlocal),
            ctypes.c_longlong(nb.shape[1]),
            ctypes.c_longlong(tab["lj1"].shape[0]),
            _ptr(packed),
            _ptr(f),
            _ptr(e),
            _ptr(w),
        ),
    )
    np.testing.assert_allclose([0.5 * e.sum(), 0.5 * w.sum()], [e_ref, w_ref], rtol=1e-12)
    np.testing.assert_allclose(f[:nlocal], f_ref[:nlocal], rtol=1e-11, atol=1e-11 * np.abs(f_ref).max())


@pytest.mark.parametrize("dtype, name", [(np.float64, "heat_ftcs_f64"), (np.float32, "heat_ftcs_f32")])
def test_heat_stencil_cu_matches_the_reference(tmp_path, dtype, name):
    entry = kernel_registry()["heat_ftcs"]
    (u, out, coefs), _ = entry["sample"](np.random.default_rng(2))
    u = u.astype(dtype)
    ref = np.asarray(entry["generic"](u.copy(), u.copy(), coefs))
    lib = _build("heat_stencil.cu", tmp_path)
    got = u.copy()
    n0, n1, n2 = (s - 2 for s in u.shape)
    ct = ctypes.c_double if dtype == np.float64 else ctypes.c_float
    fn = getattr(lib, name)
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                lib.zz_set_block(ctypes.c_uint(k), ctypes.c_uint(j), ctypes.c_uint(i))
                fn(_ptr(u), _ptr(got), ctypes.c_int(n0), ctypes.c_int(n1), ctypes.c_int(n2), *(ct(c) for c in coefs))
    tol = 1e-6 if dtype == np.float32 else 1e-14  # the reference sums the terms in another order
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * float(np.abs(ref).max()))
    assert not np.allclose(got, u)
