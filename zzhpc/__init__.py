"""zzhpc: domain-decomposed simulations on MPI clusters of accelerator cards.

Layers, each depending only on those above it:

- ``zzhpc.device``   backends (numpy, cupy, torch) and rank-to-card mapping
- ``zzhpc.parallel`` process grids, halo exchange, distributed FFT, timers, fault handling
- ``zzhpc.io``       parallel HDF5, XDMF, checkpoints, provenance, summaries
- ``zzhpc.config``   TOML input decks and their validation
- ``zzhpc.core``     the solver base class, registry and the run loop
- ``zzhpc.solvers``  one sub-package per solver (never imported by the layers above)
- ``zzhpc.cli``      the ``zzhpc`` command
"""

import os as _os

# Debian's h5py loads its MPI build only when asked; harmless elsewhere.
_os.environ.setdefault("H5PY_ALWAYS_USE_MPI", "1")

from ._version import __version__  # noqa: E402
from .errors import ConfigError, InputError, ZzhpcError  # noqa: E402

__all__ = ["__version__", "ConfigError", "InputError", "Simulation", "ZzhpcError"]


def __getattr__(name):
    # Simulation imports MPI and the run loop: only when asked for, so `import zzhpc` stays light.
    if name == "Simulation":
        from .simulation import Simulation

        return Simulation
    raise AttributeError(f"module 'zzhpc' has no attribute {name!r}")
