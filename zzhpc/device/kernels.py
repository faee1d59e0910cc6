"""Hot kernels: one generic version against ``xp``, optional per-backend overrides that may decline.

A solver calls ``get_kernel("name", backend)(...)``. Overrides registered for the backend are tried
first; one that raises :class:`~zzhpc.errors.NotSuitableError` (unsupported dtype, shape, missing
compiler) hands the call to the next and finally to the generic kernel (after PyFR's providers).
Tests compare every override with the NumPy result of the generic kernel (tests/test_kernels.py).
"""

from ..errors import NotSuitableError

_GENERIC = {}
_OVERRIDES = {}
_SAMPLES = {}
_CANONICAL = {}


def kernel(name, sample=None, canonical=None):
    """Decorator: the generic (reference) kernel ``name``.

    ``sample(rng) -> (args, kwargs)`` makes random NumPy inputs for the override conformance tests.
    ``canonical(result) -> result`` (NumPy in, NumPy out) maps a result to the form two correct
    versions share, for results whose layout the contract leaves free (e.g. the order of the
    neighbours within a row of a neighbour list).
    """

    def deco(fn):
        _GENERIC[name] = fn
        if sample is not None:
            _SAMPLES[name] = sample
        if canonical is not None:
            _CANONICAL[name] = canonical
        return fn

    return deco


def override(name, backend):
    """Decorator: a faster version of kernel ``name`` for ``backend`` (may raise NotSuitableError)."""

    def deco(fn):
        _OVERRIDES.setdefault(name, {}).setdefault(backend, []).append(fn)
        return fn

    return deco


def get_kernel(name, backend):
    """Callable running the best kernel ``name`` for ``backend`` (a Backend or its name)."""
    bname = getattr(backend, "name", backend)
    generic = _GENERIC[name]
    overrides = _OVERRIDES.get(name, {}).get(bname, [])
    if not overrides:
        return generic

    def run(*args, **kw):
        for fn in overrides:
            try:
                return fn(*args, **kw)
            except NotSuitableError:
                continue
        return generic(*args, **kw)

    run.__name__ = f"{name}[{bname}]"
    return run


def kernel_registry():
    """``{name: {"generic": fn, "sample": fn|None, "canonical": fn|None, "overrides": {backend: [fn, ...]}}}``."""
    return {
        n: {
            "generic": f,
            "sample": _SAMPLES.get(n),
            "canonical": _CANONICAL.get(n),
            "overrides": dict(_OVERRIDES.get(n, {})),
        }
        for n, f in _GENERIC.items()
    }


def register_kernel_modules(package, modules):
    """Import the kernel modules ``package.<module>`` a package lists: their ``@kernel``/``@override``
    decorators fill the registry. Each package calls this from its ``register_kernels()``, the one place
    that names what it registers; importing a module twice registers nothing twice."""
    import importlib

    for m in modules:
        importlib.import_module(f"{package}.{m}")
