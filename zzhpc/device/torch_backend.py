"""PyTorch: CPU, CUDA/ROCm, and out-of-tree devices (Ascend ``npu``, Cambricon ``mlu``, Moore Threads ``musa``).

The vendor plug-in (``torch_npu``, ``torch_mlu``, ``torch_musa``) is imported on demand for its device type.
"""

import importlib

import numpy as np

from .base import Backend

_PLUGINS = {"npu": "torch_npu", "mlu": "torch_mlu", "musa": "torch_musa"}
_DLPACK = {"cpu": 1, "cuda": 2, "rocm": 10}  # fallback only; the device is asked first


class TorchBackend(Backend):
    name = "torch"
    kind = "cpu"  # becomes a card backend when given a non-CPU device string

    def __init__(self, device="cpu", gpu_aware_mpi=False):
        super().__init__(device, gpu_aware_mpi)
        import torch

        dev_type = str(device).split(":")[0]
        if dev_type in _PLUGINS:
            importlib.import_module(_PLUGINS[dev_type])
        import array_api_compat.torch as xp

        self.torch, self.xp = torch, xp
        self._dev = torch.device(device)
        self.kind = "cpu" if dev_type == "cpu" else "gpu"
        self.float64 = dev_type != "mps"  # Apple's backend lacks float64; check-backend probes the rest
        try:  # ask torch itself: vendor devices have their own DLPack codes
            self.dlpack_device = tuple(int(v) for v in torch.empty(1, device=self._dev).__dlpack_device__())
        except Exception:
            self.dlpack_device = (_DLPACK.get(dev_type, 0), self._dev.index or 0)

    @classmethod
    def available(cls):
        try:
            import torch
        except Exception as exc:
            return False, f"torch cannot be imported ({type(exc).__name__})"
        return True, torch.__version__

    @classmethod
    def device_count(cls):
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0

    def version(self):
        return self.torch.__version__

    def device_name(self):
        """The card's model as torch names it; the CPU's model for ``cpu``."""
        if self.kind == "cpu":
            return super().device_name()
        mod = getattr(self.torch, self._dev.type, None)  # torch.cuda, torch.npu, torch.mlu, ...
        if mod is not None and hasattr(mod, "get_device_name"):
            return str(mod.get_device_name(self._dev.index or 0))
        return self._dev.type

    @property
    def device_obj(self):
        return self._dev

    def dtype(self, name):
        return getattr(self.torch, name)

    def asarray(self, a, dtype=None):
        t = self.torch.as_tensor(np.asarray(a), device=self._dev)
        return t if dtype is None else t.to(self.dtype(str(np.dtype(dtype))))

    def to_host(self, a):
        h = a.detach().cpu().numpy()
        return np.ascontiguousarray(h).reshape(h.shape)  # keep 0-d arrays 0-d

    def zeros(self, shape, dtype="float64"):
        return self.torch.zeros(tuple(shape), dtype=self.dtype(dtype), device=self._dev)

    def synchronize(self):
        mod = getattr(self.torch, self._dev.type, None)
        if self._dev.type != "cpu" and hasattr(mod, "synchronize"):
            mod.synchronize()

    @classmethod
    def owns(cls, a):
        return type(a).__module__.split(".")[0] == "torch"

    @classmethod
    def scatter_add(cls, target, index, values):
        target.index_add_(0, index, values)
        return target

    @classmethod
    def dtype_name(cls, a):
        return str(a.dtype).replace("torch.", "")

    @classmethod
    def erfc(cls, a):
        import torch

        return torch.special.erfc(a)

    @classmethod
    def nbytes(cls, a):
        return int(a.numel()) * int(a.element_size())

    def mpi_buffer(self, a):
        self.synchronize()
        return a
