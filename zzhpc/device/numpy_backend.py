"""NumPy: the CPU reference backend every other backend is checked against."""

import numpy as np

from .base import Backend


class NumpyBackend(Backend):
    name = "numpy"
    kind = "cpu"
    dlpack_device = (1, 0)  # kDLCPU

    def __init__(self, device="cpu", gpu_aware_mpi=False):
        super().__init__("cpu", gpu_aware_mpi)
        import array_api_compat.numpy as xp

        self.xp = xp

    @classmethod
    def available(cls):
        return True, np.__version__

    def version(self):
        return np.__version__

    def dtype(self, name):
        return np.dtype(name)

    def asarray(self, a, dtype=None):
        return np.asarray(a, dtype=None if dtype is None else np.dtype(dtype))

    def to_host(self, a):
        return np.ascontiguousarray(a).reshape(np.shape(a))  # keep 0-d arrays 0-d

    def zeros(self, shape, dtype="float64"):
        return np.zeros(tuple(shape), dtype=np.dtype(dtype))

    @classmethod
    def owns(cls, a):
        return isinstance(a, (np.ndarray, np.generic))

    @classmethod
    def scatter_add(cls, target, index, values):
        """Sums per index by ``numpy.bincount`` (values summed first, in index order, then added to the
        target; a float32 target gets the float64 sum rounded once), column by column for 2-D targets."""
        n = target.shape[0]
        if target.ndim == 1:
            target += np.bincount(index, weights=values, minlength=n)
            return target
        for d in range(target.shape[1]):
            target[:, d] += np.bincount(index, weights=values[:, d], minlength=n)
        return target

    @classmethod
    def erfc(cls, a):
        try:
            from scipy.special import erfc
        except ImportError:  # pragma: no cover - scipy is present wherever the tests run
            import math

            return np.vectorize(math.erfc, otypes=[np.asarray(a).dtype])(a)
        return erfc(a)
