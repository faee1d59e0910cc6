"""CUDA cluster-pair kernel of water's real-space forces, mixed precision (source kernels/cuda/water_cluster.cu).

GROMACS's nbnxm scheme (S. Pall and B. Hess, Comput. Phys. Commun. 184, 2641 (2013)) on a GPU: clusters of
4 atoms, a CSR list of j-clusters per i-cluster with a 16-bit interaction mask per cluster pair, positions
float32 relative to the cluster centres, LJ + erfc-screened Ewald Coulomb in float32 per pair, the pair
force products and all sums in float64 (units and physics of :func:`.nonbonded.pair_forces`). The launch
is one thread per (i-cluster, j-slot): 4 threads per i-cluster, 128 per block (32 i-clusters).

The layout (``xs``, ``tslot``, ``ci_start``, ``cj``, ``mask``, ``shift``) is documented at the top of the
.cu file and is the one of the CPU cluster-pair lists; the call takes the arguments of the reference kernel
``water_cluster_forces`` (``cutoff`` [A] applied to the float32 :math:`r^2`) and returns what it returns.
Registered as the CuPy override of ``water_cluster_forces`` (:func:`cluster_forces_cuda`). The CPU
kernels evaluate the real-space Coulomb terms in the erfc-free form of :mod:`.ewald_fit`; this one still
uses exp and erfc in float32 (both within the mixed tolerances of the float64 reference). No
GPU where this was written: the source runs on the host in tests/test_cuda_host.py against the NumPy
reference and compiles with nvcc in tests/test_cuda_sources.py; the CuPy path is checked by the ``gpu``
test there wherever a GPU exists.
"""

import numpy as np

from ...device import override
from ...device.cuda_modules import cuda_module
from ...errors import NotSuitableError

# The per type-pair tables the kernel reads: float32 for the force terms, float64 for the energies.
FORCE_TABLES, ENERGY_TABLES = ("lj1", "lj2", "qq"), ("lj3", "lj4", "qq")
THREADS_PER_CLUSTER = 4
BLOCK = 128


def pack_tables(tab, xp=np):
    """``(tabf, tabw)``: the tables of :func:`.nonbonded.pair_tables` packed as the kernel reads them,
    FORCE_TABLES rounded to float32 and ENERGY_TABLES in float64, each ``(3 nt^2,)``."""
    tabf = xp.concatenate([xp.asarray(np.asarray(tab[k], dtype=np.float32).ravel()) for k in FORCE_TABLES])
    tabw = xp.concatenate([xp.asarray(np.asarray(tab[k], dtype=np.float64).ravel()) for k in ENERGY_TABLES])
    return tabf, tabw


def cluster_pair_forces_cuda(xs, tslot, ci_start, cj, mask, shift, tab, alpha, cutoff, with_energy=True, f=None):
    """Forces per slot ``(4 nclus, 3)`` float64 and ``e_lj, e_coul, virial`` [kcal/mol] as 0-d float64
    CuPy arrays (``None`` each when ``with_energy`` is false: the force-only steps). ``f``, when given, is
    added to (C-contiguous float64 ``(4 nclus, 3)``); otherwise a zeroed array is made. ``alpha``: Ewald
    splitting [1/A]. Declines (NotSuitableError) anything but CuPy arrays with float32 ``xs``."""
    try:
        import cupy
    except ImportError:
        raise NotSuitableError("cupy is not installed") from None
    if not isinstance(xs, cupy.ndarray) or xs.dtype != cupy.float32:
        raise NotSuitableError("CuPy float32 slot positions only (the mixed mode)")
    nclus = int(ci_start.shape[0]) - 1
    nslot = THREADS_PER_CLUSTER * nclus
    if xs.shape != (nslot, 3):
        raise ValueError(f"xs has shape {xs.shape}, expected ({nslot}, 3) for {nclus} clusters")
    if f is None:
        f = cupy.zeros((nslot, 3), dtype=cupy.float64)
    elif f.dtype != cupy.float64 or f.shape != (nslot, 3) or not f.flags.c_contiguous:
        raise ValueError(f"f must be a C-contiguous float64 ({nslot}, 3) array")
    acc = cupy.zeros((max(nslot, 1), 3), dtype=cupy.float64)
    if nclus > 0 and cj.shape[0] > 0:
        cuda_module("cuda/water_cluster.cu").get_function("water_cluster")(
            ((nslot + BLOCK - 1) // BLOCK,),
            (BLOCK,),
            (
                cupy.ascontiguousarray(xs),
                cupy.ascontiguousarray(tslot, dtype=cupy.int32),
                cupy.ascontiguousarray(ci_start, dtype=cupy.int32),
                cupy.ascontiguousarray(cj, dtype=cupy.int32),
                cupy.ascontiguousarray(mask, dtype=cupy.uint16),
                cupy.ascontiguousarray(shift, dtype=cupy.float32),
                np.int32(nclus),
                np.int32(np.asarray(tab["lj1"]).shape[0]),
                *pack_tables(tab, cupy),
                np.float32(float(cutoff) ** 2),
                np.float64(alpha),
                np.int32(1 if with_energy else 0),
                f,
                acc,
            ),
        )
    if not with_energy:
        return f, None, None, None
    e_lj, e_c, w = acc.sum(axis=0)
    return f, e_lj, e_c, w


@override("water_cluster_forces", "cupy")
def cluster_forces_cuda(xs, tslot, ci_start, cj, mask, shift, tab, alpha, cutoff, energy=True, virial=True):
    """The registered form (arguments of :func:`.nonbonded.cluster_forces`): the virial and the energies
    are one launch option, so a force-only step skips both and NaN comes back for what was not asked."""
    import cupy

    f, e_lj, e_c, w = cluster_pair_forces_cuda(
        xs, tslot, ci_start, cj, mask, shift, tab, alpha, cutoff, with_energy=bool(energy or virial)
    )
    nan = cupy.asarray(float("nan"))
    if not energy:
        e_lj = e_c = nan
    if not virial:
        w = nan
    return f, e_lj, e_c, w
