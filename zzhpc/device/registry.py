"""Backends registered by name, plus those from other packages (entry point group ``zzhpc.backends``)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .base import Backend
from .cupy_backend import CupyBackend
from .numpy_backend import NumpyBackend
from .torch_backend import TorchBackend

# The built-ins first: an array is owned by the first backend whose ``owns`` says so (zzhpc.device.arrays).
_BACKENDS: dict[str, type[Backend]] = {cls.name: cls for cls in (NumpyBackend, CupyBackend, TorchBackend)}
_loaded_entry_points = False


def register_backend(cls: type[Backend]) -> type[Backend]:
    """Class decorator: make a :class:`~zzhpc.device.base.Backend` subclass available by its ``name``."""
    _BACKENDS[str(cls.name)] = cls
    return cls


def _load() -> None:
    global _loaded_entry_points
    if not _loaded_entry_points:
        _loaded_entry_points = True
        from importlib.metadata import entry_points

        try:
            eps = entry_points(group="zzhpc.backends")
        except TypeError:  # Python < 3.10
            eps = entry_points().get("zzhpc.backends", [])  # type: ignore[arg-type]
        for ep in eps:
            try:
                cls = ep.load()
                _BACKENDS.setdefault(getattr(cls, "name", ep.name) or ep.name, cls)
            except Exception as exc:  # a broken plugin must not break zzhpc
                _BACKENDS.setdefault(ep.name, _broken(ep.name, exc))


def _broken(name, exc):
    from .base import Backend

    class Broken(Backend):
        asarray = to_host = None

        @classmethod
        def available(cls):
            return False, f"plugin failed to load: {exc}"

    Broken.name = name
    return Broken


def registered_classes() -> list[type[Backend]]:
    """Every registered backend class, built-ins first (numpy, cupy, torch), then plug-ins."""
    _load()
    return list(_BACKENDS.values())


def backend_names() -> list[str]:
    _load()
    return sorted(_BACKENDS)


def backend_class(name: str) -> type[Backend]:
    _load()
    if name not in _BACKENDS:
        raise ConfigError("backend.name", f"unknown backend (registered: {', '.join(sorted(_BACKENDS))})", name)
    return _BACKENDS[name]


def backend_status() -> dict[str, tuple[bool, str]]:
    """``{name: (available, version-or-reason)}`` for every registered backend."""
    _load()
    return {n: _BACKENDS[n].available() for n in sorted(_BACKENDS)}


def get_backend(
    name: str = "numpy", device: str = "local-rank", *, comm: Any = None, gpu_aware_mpi: bool = False
) -> Backend:
    """Instantiate backend ``name`` on the card this rank should use.

    ``device`` is a policy (``local-rank``, ``round-robin``), a card number, or a full device string
    such as ``cuda:1`` or ``npu:0``. Asking for a backend that cannot run here is one clear ConfigError.
    """
    cls = backend_class(name)
    ok, why = cls.available()
    if not ok:
        raise ConfigError("backend.name", f"backend not usable here: {why}", name)
    from .mapping import choose_device

    dev = choose_device(cls, device, comm)
    return cls(device=dev, gpu_aware_mpi=gpu_aware_mpi)
