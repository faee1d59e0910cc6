"""CUDA version of the water real-space kernel for the CuPy backend (source kernels/cuda/water_pair.cu).

One thread per owned atom over the neighbour rows, half lists through atomicAdd (so force sums may
differ in the last bits between runs; energies and virial are exact sums over the same pairs).
Declines (NotSuitableError, the reference kernel runs) for arrays other than CuPy float64. Checked
against the NumPy reference by tests/test_kernels.py wherever CuPy has a GPU; compiled by nvcc in
tests/test_cuda_sources.py everywhere nvcc is installed.
"""

import numpy as np

from ...device import override
from ...device.cuda_modules import cuda_module
from ...errors import NotSuitableError


@override("water_pair_forces", "cupy")
def pair_forces_cuda(x, types, mol, neigh, nlocal, tab, alpha, half, mixed=False, energy=True, virial=True):
    """float64 only; ``energy``/``virial`` (force-only steps) are accepted and everything is computed."""
    if mixed:
        raise NotSuitableError("mixed precision: no CUDA version yet")
    try:
        import cupy
    except ImportError:  # pragma: no cover - only reached with CuPy arrays
        raise NotSuitableError("cupy is not installed") from None
    if not isinstance(x, cupy.ndarray) or x.dtype != np.float64:
        raise NotSuitableError("CuPy float64 positions only")
    nlocal = int(nlocal)
    f = cupy.zeros((x.shape[0], 3), dtype=cupy.float64)
    acc = cupy.zeros((max(nlocal, 1), 3), dtype=cupy.float64)
    if nlocal == 0 or neigh.shape[1] == 0:
        zero = acc[:0, 0].sum()
        return f, zero, zero, zero
    ntypes = int(tab["lj1"].shape[0])
    packed = cupy.concatenate(
        [cupy.asarray(tab[k], dtype=cupy.float64).ravel() for k in ("lj1", "lj2", "lj3", "lj4", "qq", "cutsq")]
    )
    block = 128
    cuda_module("cuda/water_pair.cu").get_function("water_pair")(
        ((nlocal + block - 1) // block,),
        (block,),
        (
            cupy.ascontiguousarray(x),
            cupy.ascontiguousarray(types, dtype=cupy.int64),
            cupy.ascontiguousarray(mol, dtype=cupy.int64),
            cupy.ascontiguousarray(neigh, dtype=cupy.int32),
            np.int64(nlocal),
            np.int64(neigh.shape[1]),
            np.int64(ntypes),
            packed,
            np.float64(alpha),
            np.int32(1 if half else 0),
            f,
            acc,
        ),
    )
    e_lj, e_c, w = acc[:, 0].sum(), acc[:, 1].sum(), acc[:, 2].sum()
    if not half:
        e_lj, e_c, w = 0.5 * e_lj, 0.5 * e_c, 0.5 * w
    return f, e_lj, e_c, w
