"""The backend descriptor: what a solver and the parallel layer need to know about a device."""
import abc

import numpy as np


class Backend(abc.ABC):
    """An array library on one device.

    Attributes
    ----------
    name : registry name (``numpy``, ``cupy``, ``torch``).
    xp : the Array API namespace solver code is written against.
    device : device string (``cpu``, ``cuda:0``, ``npu:1``, ...).
    float64 : whether the device computes in double precision.
    dlpack_device : DLPack ``(device_type, id)`` of arrays on this device.
    gpu_aware_mpi : hand device buffers straight to MPI; an explicit user setting, never guessed.
    """

    name = None
    kind = "cpu"  # "cpu" or "gpu": GPU backends need a card per rank

    def __init__(self, device="cpu", gpu_aware_mpi=False):
        self.device = device
        self.gpu_aware_mpi = bool(gpu_aware_mpi)

    # Availability -------------------------------------------------------------------------------
    @classmethod
    def available(cls):
        """``(True, version)`` when usable here, else ``(False, one-line reason)``."""
        return True, ""

    @classmethod
    def device_count(cls):
        return 1

    # Arrays -------------------------------------------------------------------------------------
    float64 = True
    dlpack_device = (1, 0)

    def dtype(self, name):
        """Backend dtype for ``'float64'``, ``'float32'``, ``'complex128'``, ``'int64'`` ..."""
        return getattr(self.xp, name)

    @abc.abstractmethod
    def asarray(self, a, dtype=None):
        """Host (NumPy) data to a device array."""

    @abc.abstractmethod
    def to_host(self, a):
        """A device array as a C-contiguous NumPy array."""

    def zeros(self, shape, dtype="float64"):
        return self.xp.zeros(tuple(shape), dtype=self.dtype(dtype), device=self.device_obj)

    @property
    def device_obj(self):
        return None

    def synchronize(self):
        """Wait for queued device work (for timers and before host-side MPI)."""

    def mpi_buffer(self, a):
        """An object MPI can read/write in place when ``gpu_aware_mpi`` is set."""
        return a

    def version(self):
        return ""

    def device_name(self):
        """The model of the device arrays live on (recorded in provenance): the CPU's model name here."""
        from ..io.provenance import cpu_model
        return cpu_model()

    def describe(self):
        return {"name": self.name, "device": str(self.device), "float64": self.float64,
                "gpu_aware_mpi": self.gpu_aware_mpi, "version": self.version(),
                "dlpack_device": list(self.dlpack_device)}

    def __repr__(self):
        return f"<Backend {self.name} on {self.device}>"


def host_copy(a):
    """NumPy array, contiguous (shared helper for CPU backends)."""
    return np.ascontiguousarray(a)
