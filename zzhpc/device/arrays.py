"""Array operations for code that holds arrays but no backend (kernels): the backend is found by the array.

Each function asks the registered backends in turn (built-ins first) which one :meth:`~.Backend.owns`
the array and runs that backend's operation, so a kernel written against ``xp`` needs no test of its
own for the library it was handed.
"""

from __future__ import annotations

from typing import Any

from .base import Array, Backend


def backend_class_for(a: Any) -> type[Backend]:
    """The registered backend class whose library ``a`` belongs to."""
    from .registry import registered_classes

    for cls in registered_classes():
        if cls.owns(a):
            return cls
    raise TypeError(f"no registered backend owns arrays of type {type(a).__module__}.{type(a).__name__}")


def backend_name(a: Any) -> str:
    """Registry name of the backend owning ``a`` (``'numpy'``, ``'cupy'``, ``'torch'``): whose kernel
    overrides apply to it."""
    return str(backend_class_for(a).name)


def scatter_add(target: Array, index: Array, values: Array) -> Array:
    """``target[index[k]] += values[k]`` with repeated indices, in place (see :meth:`.Backend.scatter_add`)."""
    return backend_class_for(target).scatter_add(target, index, values)


def dtype_name(a: Array) -> str:
    """NumPy-style dtype name of ``a`` (see :meth:`.Backend.dtype_name`)."""
    return backend_class_for(a).dtype_name(a)


def erfc(a: Array) -> Array:
    """Complementary error function of ``a`` (see :meth:`.Backend.erfc`)."""
    return backend_class_for(a).erfc(a)


def nbytes(a: Array) -> int:
    """Bytes held by the elements of ``a``."""
    return backend_class_for(a).nbytes(a)
