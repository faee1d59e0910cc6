"""``numpy32``: NumPy as if it were a card without double precision (like Apple's ``mps``, or a vendor
NPU whose float64 is missing or emulated).

An example of a backend that lives outside zzhpc: it subclasses :class:`zzhpc.device.Backend`'s NumPy
implementation and is registered by the entry point ``numpy32`` in the group ``zzhpc.backends``
(setup.py); zzhpc is not edited. It refuses float64 the way such devices do: ``float64 = False``, float64
host data is rounded to float32 on the way in, and asking for a float64 array is an error.
"""

import numpy as np

from zzhpc.device.numpy_backend import NumpyBackend

__all__ = ["Numpy32Backend"]

_DOUBLE = (np.dtype("float64"), np.dtype("complex128"))
_SINGLE = {np.dtype("float64"): np.dtype("float32"), np.dtype("complex128"): np.dtype("complex64")}


class Numpy32Backend(NumpyBackend):
    name = "numpy32"
    float64 = False

    def dtype(self, name):
        dt = np.dtype(name)
        if dt in _DOUBLE:
            raise TypeError(f"backend numpy32 has no {dt} (a single-precision device)")
        return dt

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        dt = self.dtype(dtype) if dtype is not None else _SINGLE.get(a.dtype, a.dtype)
        return np.array(a, dtype=dt)  # a copy, like a transfer to a card

    def zeros(self, shape, dtype="float32"):
        return np.zeros(tuple(shape), dtype=self.dtype(dtype))
