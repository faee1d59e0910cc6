"""Every registered kernel on every usable backend, and every override, against the NumPy reference.

Parametrised over the registry (Dedalus style): a newly registered kernel or override is tested without
anyone editing this file.
"""

import numpy as np
import pytest

from zzhpc.core.registry import discover
from zzhpc.device import backend_status, get_backend, kernel_registry

discover()
REG = kernel_registry()
STATUS = backend_status()


def _to(backend, obj):
    """Sample inputs (arrays, possibly inside tuples, lists and dicts) onto the backend."""
    if isinstance(obj, np.ndarray):
        return backend.asarray(obj.copy())
    if isinstance(obj, dict):
        return {k: _to(backend, v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and any(isinstance(o, (np.ndarray, dict, list, tuple)) for o in obj):
        return type(obj)(_to(backend, o) for o in obj)
    return obj


def _host(backend, obj):
    if isinstance(obj, (tuple, list)):
        return [_host(backend, o) for o in obj]
    try:
        return backend.to_host(obj)
    except Exception:
        return np.asarray(obj)


def assert_close(got, ref, tol):
    """Compare kernel results, tuples (energy, forces, ...) element by element."""
    if isinstance(ref, list):
        assert isinstance(got, list) and len(got) == len(ref)
        for g, r in zip(got, ref):
            assert_close(g, r, tol)
        return
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(ref, dtype=float), rtol=tol, atol=tol)


def _canonical(entry, result):
    """The kernel's canonical form of a host result, where its contract leaves the layout free."""
    return entry["canonical"](result) if entry["canonical"] else result


CASES = [(name, b) for name, k in REG.items() if k["sample"] for b in STATUS]
OVERRIDES = [
    (name, b, i) for name, k in REG.items() if k["sample"] for b, fns in k["overrides"].items() for i in range(len(fns))
]


def test_registry_not_empty():
    assert "heat_ftcs" in REG and REG["heat_ftcs"]["sample"] is not None


@pytest.mark.parametrize("name, bname", CASES)
def test_generic_kernel_on_backend_matches_numpy(name, bname):
    ok, why = STATUS[bname]
    if not ok:
        pytest.skip(f"backend {bname} not available here: {why}")
    k = REG[name]
    args, kw = k["sample"](np.random.default_rng(7))
    ref = _host(get_backend("numpy"), k["generic"](*_to(get_backend("numpy"), args), **kw))
    be = get_backend(bname)
    got = _host(be, k["generic"](*_to(be, args), **kw))
    assert_close(_canonical(k, got), _canonical(k, ref), 1e-12)


@pytest.mark.parametrize("name, bname, index", OVERRIDES)
def test_override_matches_reference(name, bname, index):
    ok, why = STATUS.get(bname, (False, "unregistered"))
    if not ok:
        pytest.skip(f"override for {bname}: backend not available here ({why})")
    k = REG[name]
    fn = k["overrides"][bname][index]
    rng = np.random.default_rng(11)
    for _ in range(3):
        args, kw = k["sample"](rng)
        ref = _host(get_backend("numpy"), k["generic"](*_to(get_backend("numpy"), args), **kw))
        be = get_backend(bname)
        got = _host(be, fn(*_to(be, args), **kw))
        assert_close(_canonical(k, got), _canonical(k, ref), 1e-10)
