"""CUDA neighbour list for the CuPy backend (source in kernels/cuda/md_lj.cu, ``md_neighbor_full``).

One thread per owned atom walks the 27 bins around its atom (bins built on the device by a counting
sort in CuPy) and writes a full list; half lists (Newton on) decline with NotSuitableError and run
the reference kernel. tests/test_cuda_host.py runs the source on the host against the NumPy
reference, tests/test_cuda_sources.py compiles it with nvcc, tests/test_kernels.py compares the
override on a GPU.
"""

import numpy as np

from ..device import override
from ..device.cuda_modules import cuda_module
from ..errors import NotSuitableError
from .neighbors import bin_geometry


@override("md_neighbor_list", "cupy")
def neighbor_list_cuda(x, nlocal, lo, hi, cutneigh, half, chunk=None):
    import cupy

    if half or x.dtype != np.float64:
        raise NotSuitableError("full lists of float64 positions only")
    nb, size = bin_geometry(lo, hi, cutneigh)
    c = [cupy.clip(cupy.floor((x[:, d] - lo[d]) / size[d]).astype(cupy.int64), 0, nb[d] - 1) for d in range(3)]
    cell = (c[2] * nb[1] + c[1]) * nb[0] + c[0]
    order = cupy.argsort(cell)  # stable (radix sort)
    ncell = nb[0] * nb[1] * nb[2]
    start = cupy.searchsorted(cell[order], cupy.arange(ncell + 1)).astype(cupy.int64)
    fn = cuda_module("cuda/md_lj.cu").get_function("md_neighbor_full")
    maxn = 64
    while True:
        neigh = cupy.full((nlocal, maxn), -1, dtype=cupy.int64)
        nn = cupy.zeros(nlocal, dtype=cupy.int64)
        block = 128
        fn(
            ((nlocal + block - 1) // block,),
            (block,),
            (
                x,
                order.astype(cupy.int64),
                start,
                cupy.asarray(cell, dtype=cupy.int64),
                np.int64(nlocal),
                np.int64(nb[0]),
                np.int64(nb[1]),
                np.int64(nb[2]),
                np.float64(cutneigh * cutneigh),
                np.int64(maxn),
                neigh,
                nn,
            ),
        )
        worst = int(nn.max()) if nlocal else 0
        if worst <= maxn:
            return neigh[:, :worst].copy()
        maxn = int(worst * 1.2) + 8
