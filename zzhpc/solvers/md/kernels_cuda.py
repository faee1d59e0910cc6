"""CUDA versions of the MD force kernels for the CuPy backend (sources in kernels/cuda/md_*.cu).

The LJ force kernel sums over the full list (``half=False``), one thread per owned atom, so no atomics
are needed and results do not depend on thread scheduling; half lists (Newton on) decline with
NotSuitableError and run the reference kernel. The Stillinger-Weber kernel (mW water, ``md_sw.cu``)
adds the partners' shares of its two- and three-body terms with atomicAdd. The neighbour list they
read is :mod:`zzhpc.particles.neighbors_cuda`.

No GPU was available where these were written: tests/test_cuda_host.py runs each kernel's source on
the host (one thread at a time, through a C++ shim) against the NumPy reference, nvcc compiles them
in tests/test_cuda_sources.py, and tests/test_kernels.py compares the CuPy overrides on a GPU.
"""

import numpy as np

from ...device import override
from ...device.cuda_modules import cuda_module
from ...errors import NotSuitableError


@override("md_lj_forces", "cupy")
def lj_forces_cuda(x, types, neigh, nlocal, tab, half, mixed=False):
    if mixed:
        raise NotSuitableError("mixed precision: no CUDA version yet")
    import cupy

    if half or x.dtype != np.float64:
        raise NotSuitableError("full lists of float64 positions only")
    ntypes = int(tab["lj1"].shape[0])
    f = cupy.zeros((x.shape[0], 3), dtype=cupy.float64)
    e = cupy.zeros(nlocal, dtype=cupy.float64)
    w = cupy.zeros(nlocal, dtype=cupy.float64)
    packed = cupy.stack(
        [cupy.asarray(tab[k], dtype=cupy.float64).ravel() for k in ("lj1", "lj2", "lj3", "lj4", "cutsq", "offset")]
    )
    fn = cuda_module("cuda/md_lj.cu").get_function("md_lj_full")
    block = 128
    nb = np.int64(neigh.shape[1])
    fn(
        ((nlocal + block - 1) // block,),
        (block,),
        (
            x,
            cupy.asarray(types, dtype=cupy.int64),
            cupy.ascontiguousarray(neigh, dtype=cupy.int64),
            np.int64(nlocal),
            nb,
            np.int64(ntypes),
            packed,
            f,
            e,
            w,
        ),
    )
    return f, 0.5 * e.sum(), 0.5 * w.sum()


@override("md_sw_forces", "cupy")
def sw_forces_cuda(x, neigh, nlocal, sw, chunk=None):
    import cupy
    from .sw import CONSTANT_ORDER

    if not isinstance(x, cupy.ndarray) or x.dtype != np.float64:
        raise NotSuitableError("CuPy float64 positions only")
    nlocal = int(nlocal)
    f = cupy.zeros((x.shape[0], 3), dtype=cupy.float64)
    acc = cupy.zeros((max(nlocal, 1), 2), dtype=cupy.float64)
    if nlocal == 0 or neigh.shape[1] == 0:
        zero = acc[:0, 0].sum()
        return f, zero, zero
    c = cupy.asarray([float(sw[k]) for k in CONSTANT_ORDER], dtype=cupy.float64)
    block = 128
    cuda_module("cuda/md_sw.cu").get_function("md_sw_full")(
        ((nlocal + block - 1) // block,),
        (block,),
        (
            cupy.ascontiguousarray(x),
            cupy.ascontiguousarray(neigh, dtype=cupy.int64),
            np.int64(nlocal),
            np.int64(neigh.shape[1]),
            c,
            f,
            acc,
        ),
    )
    return f, acc[:, 0].sum(), acc[:, 1].sum()
