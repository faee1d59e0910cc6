"""Device layer: array backends chosen by name, and the rank-to-card mapping.

Solver code is written once against ``backend.xp`` (an Array API namespace); moving data to and from the
host and to MPI goes through the backend, and so do the array operations the Array API lacks
(scatter-add, dtype names, ``erfc``): :mod:`.arrays` finds the backend of an array for kernels.
The kernel registry (:mod:`.kernels`) and the CUDA source loader (:mod:`.cuda_modules`) are apart.
See docs/porting.md to add an accelerator.
"""

from .base import Backend
from .registry import register_backend, get_backend, backend_names, backend_status, backend_class
from .mapping import local_rank, choose_device
from .kernels import kernel, override, get_kernel, kernel_registry
from .arrays import backend_name, dtype_name, erfc, scatter_add

__all__ = [
    "Backend",
    "register_backend",
    "get_backend",
    "backend_names",
    "backend_status",
    "backend_class",
    "local_rank",
    "choose_device",
    "kernel",
    "override",
    "get_kernel",
    "kernel_registry",
    "backend_name",
    "dtype_name",
    "erfc",
    "scatter_add",
]
