"""CuPy: NVIDIA CUDA and AMD ROCm GPUs (ROCm builds of CuPy have the same API)."""

import numpy as np

from .base import Backend


class CupyBackend(Backend):
    name = "cupy"
    kind = "gpu"
    device_prefix = "cuda"

    def __init__(self, device="cuda:0", gpu_aware_mpi=False):
        super().__init__(device, gpu_aware_mpi)
        import cupy
        import array_api_compat.cupy as xp

        self.cupy, self.xp = cupy, xp
        self.index = int(str(device).rsplit(":", 1)[-1]) if ":" in str(device) else 0
        cupy.cuda.Device(self.index).use()
        rocm = getattr(cupy.cuda.runtime, "is_hip", False)
        self.dlpack_device = (10 if rocm else 2, self.index)  # kDLROCM / kDLCUDA

    @classmethod
    def available(cls):
        try:
            import cupy
        except Exception as exc:  # ImportError or a broken CUDA install
            return False, f"cupy cannot be imported ({type(exc).__name__}: {exc})".splitlines()[0]
        try:
            n = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:
            return False, f"cupy sees no GPU ({exc})".splitlines()[0]
        return (True, cupy.__version__) if n > 0 else (False, "cupy sees no GPU")

    @classmethod
    def device_count(cls):
        import cupy

        return cupy.cuda.runtime.getDeviceCount()

    def device_name(self):
        """The card's model as the CUDA/ROCm runtime names it (e.g. ``NVIDIA H100 80GB HBM3``)."""
        name = self.cupy.cuda.runtime.getDeviceProperties(self.index)["name"]
        return name.decode() if isinstance(name, bytes) else str(name)

    def version(self):
        return self.cupy.__version__

    def dtype(self, name):
        return np.dtype(name)

    def asarray(self, a, dtype=None):
        return self.cupy.asarray(a, dtype=dtype)

    def to_host(self, a):
        h = self.cupy.asnumpy(a)
        return np.ascontiguousarray(h).reshape(h.shape)

    def zeros(self, shape, dtype="float64"):
        return self.cupy.zeros(tuple(shape), dtype=dtype)

    def synchronize(self):
        self.cupy.cuda.get_current_stream().synchronize()

    @classmethod
    def owns(cls, a):
        return type(a).__module__.split(".")[0] == "cupy"

    @classmethod
    def scatter_add(cls, target, index, values):
        import cupyx

        cupyx.scatter_add(target, index, values)
        return target

    @classmethod
    def erfc(cls, a):
        import cupyx.scipy.special

        return cupyx.scipy.special.erfc(a)

    def mpi_buffer(self, a):
        self.synchronize()  # MPI must not read a buffer a kernel is still writing
        return a
