"""CUDA sources of the compiled kernels: found under ``kernels/`` and compiled once per process (CuPy).

Kept apart from the kernel registry (:mod:`zzhpc.device.kernels`), which knows nothing of any compiler: a CuPy
override asks for its compiled module here by the source's path under ``kernels/``.
"""

import os
import sys


def kernel_path(relative):
    """Path of a source under ``kernels/`` (source tree, or ``<prefix>/share/zzhpc/kernels`` installed)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for root in (os.path.join(here, "..", "..", "kernels"), os.path.join(sys.prefix, "share", "zzhpc", "kernels")):
        path = os.path.normpath(os.path.join(root, relative))
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"kernel source {relative} not found under kernels/ or {sys.prefix}/share/zzhpc")


_CUDA_MODULES = {}


def cuda_module(relative):
    """``cupy.RawModule`` of the CUDA source ``kernels/<relative>`` (see :func:`kernel_path`), compiled
    on first use and kept for the process."""
    if relative not in _CUDA_MODULES:
        import cupy

        with open(kernel_path(relative)) as fh:
            _CUDA_MODULES[relative] = cupy.RawModule(code=fh.read(), options=("--std=c++14",))
    return _CUDA_MODULES[relative]
