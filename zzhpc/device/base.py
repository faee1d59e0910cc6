"""The backend descriptor: what a solver and the parallel layer need to know about a device.

Besides moving arrays, a backend owns the few array operations the Array API lacks or spells per
library (scatter-add, dtype names, ``erfc``, byte counts): code above the device layer calls them and
never asks which library an array came from. Kernels, which hold arrays but no backend, reach the
same operations through :mod:`zzhpc.device.arrays`, which finds the backend that owns an array.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np

from ..errors import ZzhpcError

Array = Any  # an array of the backend's library (numpy.ndarray, cupy.ndarray, torch.Tensor, ...)


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

    name: ClassVar[str | None] = None
    kind: str = "cpu"  # "cpu" or "gpu": GPU backends need a card per rank
    xp: Any

    def __init__(self, device: str = "cpu", gpu_aware_mpi: bool = False) -> None:
        self.device = device
        self.gpu_aware_mpi = bool(gpu_aware_mpi)

    # Availability -------------------------------------------------------------------------------
    @classmethod
    def available(cls) -> tuple[bool, str]:
        """``(True, version)`` when usable here, else ``(False, one-line reason)``."""
        return True, ""

    @classmethod
    def device_count(cls) -> int:
        return 1

    # Arrays -------------------------------------------------------------------------------------
    float64: bool = True
    dlpack_device: tuple[int, int] = (1, 0)

    def dtype(self, name: str) -> Any:
        """Backend dtype for ``'float64'``, ``'float32'``, ``'complex128'``, ``'int64'`` ..."""
        return getattr(self.xp, name)

    @abc.abstractmethod
    def asarray(self, a: Any, dtype: str | None = None) -> Array:
        """Host (NumPy) data to a device array."""

    @abc.abstractmethod
    def to_host(self, a: Array) -> np.ndarray:
        """A device array as a C-contiguous NumPy array."""

    def zeros(self, shape: tuple[int, ...], dtype: str = "float64") -> Array:
        return self.xp.zeros(tuple(shape), dtype=self.dtype(dtype), device=self.device_obj)

    @property
    def device_obj(self) -> Any:
        return None

    def synchronize(self) -> None:
        """Wait for queued device work (for timers and before host-side MPI)."""

    def mpi_buffer(self, a: Array) -> Array:
        """An object MPI can read/write in place when ``gpu_aware_mpi`` is set."""
        return a

    # Array operations the Array API lacks (class methods: kernels reach them through the array) ------
    @classmethod
    def owns(cls, a: Any) -> bool:
        """Whether ``a`` is an array of this backend's library (decided without importing it)."""
        return False

    @classmethod
    def scatter_add(cls, target: Array, index: Array, values: Array) -> Array:
        """``target[index[k]] += values[k]`` along the first axis, repeated indices summing, in place;
        returns ``target``. A new backend must define it (``zzhpc check-backend`` tests it)."""
        raise ZzhpcError(
            f"backend {cls.name} defines no scatter_add(target, index, values); a backend plug-in must define it"
        )

    @classmethod
    def dtype_name(cls, a: Array) -> str:
        """The NumPy-style name of ``a``'s dtype (``'float64'``, ``'int64'``), as :meth:`dtype` takes it."""
        return str(a.dtype)

    @classmethod
    def erfc(cls, a: Array) -> Array:
        """Complementary error function, elementwise (the Array API has none)."""
        raise ZzhpcError(
            f"backend {cls.name} defines no erfc(a); a backend plug-in must define it for the water kernels"
        )

    @classmethod
    def nbytes(cls, a: Array) -> int:
        """Bytes held by the elements of ``a``."""
        return int(np.prod(a.shape)) * int(a.itemsize)

    # Description ----------------------------------------------------------------------------------
    def version(self) -> str:
        return ""

    def device_name(self) -> str:
        """The model of the device arrays live on (recorded in provenance): the CPU's model name here."""
        from ..io.provenance import cpu_model

        return cpu_model()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "device": str(self.device),
            "float64": self.float64,
            "gpu_aware_mpi": self.gpu_aware_mpi,
            "version": self.version(),
            "dlpack_device": list(self.dlpack_device),
        }

    def __repr__(self) -> str:
        return f"<Backend {self.name} on {self.device}>"


def host_copy(a: Any) -> np.ndarray:
    """NumPy array, contiguous (shared helper for CPU backends)."""
    return np.ascontiguousarray(a)
