"""Every solver kernel with a ``sample`` run on the backend and compared with NumPy (as tests/test_kernels.py).

The generic kernel runs on the backend under test, and so does every override registered for it; the
reference is the generic kernel on NumPy. On a device without float64 the sample's float64 arrays are
rounded to float32 first and the reference is computed in float64 from those rounded inputs.
"""

import numpy as np

from .result import TOL, Check, rel_error, run_check


def _to_device(be, obj, single):
    """Host sample -> backend: arrays (float64 -> float32 on single-precision devices), recursively."""
    if isinstance(obj, np.ndarray):
        a = obj.astype(np.float32) if single and obj.dtype == np.float64 else obj.copy()
        return be.asarray(a)
    if isinstance(obj, dict):
        return {k: _to_device(be, v, single) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(be, o, single) for o in obj)
    return obj


def _round32(obj):
    if isinstance(obj, np.ndarray):
        return obj.astype(np.float32).astype(np.float64) if obj.dtype == np.float64 else obj
    if isinstance(obj, dict):
        return {k: _round32(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_round32(o) for o in obj)
    return obj


def _to_host(be, obj):
    if isinstance(obj, (list, tuple)):
        return [_to_host(be, o) for o in obj]
    if isinstance(obj, (int, float, complex, np.generic)):
        return np.asarray(obj)
    try:
        return be.to_host(obj)
    except Exception:
        return np.asarray(obj)


def _compare(got, ref):
    if isinstance(ref, list):
        if not isinstance(got, list) or len(got) != len(ref):
            return float("inf")
        return max((_compare(g, r) for g, r in zip(got, ref)), default=0.0)
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape and got.size == ref.size == 1:
        got = got.reshape(ref.shape)  # a 0-d result that to_host returned as shape (1,)
    return rel_error(got, ref)


def _one(be, ref_be, fn, generic, sample, single, draws, canonical=None):
    err = 0.0
    canon = canonical or (lambda r: r)
    rng = np.random.default_rng(7)
    for _ in range(draws):
        args, kw = sample(rng)
        if single:
            args, kw = _round32(args), _round32(kw)
        ref = _to_host(ref_be, generic(*_to_device(ref_be, args, False), **_to_device(ref_be, kw, False)))
        got = _to_host(be, fn(*_to_device(be, args, single), **_to_device(be, kw, single)))
        err = max(err, _compare(canon(got), canon(ref)))
    return err


def kernel_checks(be):
    """One check per (kernel, generic or override) for backend ``be``."""
    from ..core.registry import discover, discovery_errors
    from ..device import get_backend, kernel_registry

    discover()  # solver kernels register when their packages are imported
    ref_be = get_backend("numpy")
    single = not be.float64
    dtype = "float32" if single else "float64"
    out = []
    for name, k in sorted(kernel_registry().items()):
        if k["sample"] is None:
            continue
        out.append(
            run_check(
                Check("kernels", name, dtype, detail=k["generic"].__module__),
                lambda k=k: (
                    _one(be, ref_be, k["generic"], k["generic"], k["sample"], single, 1, k["canonical"]),
                    TOL[dtype]["kernel"],
                ),
            )
        )
        for i, fn in enumerate(k["overrides"].get(be.name, [])):
            out.append(
                run_check(
                    Check("kernels", f"{name} override {i} ({fn.__name__})", dtype, detail=fn.__module__),
                    lambda fn=fn, k=k: (
                        _one(be, ref_be, fn, k["generic"], k["sample"], single, 3, k["canonical"]),
                        TOL[dtype]["override"],
                    ),
                )
            )
    for name, err in sorted(discovery_errors().items()):
        out.append(Check("kernels", f"load {name}", "", detail=f"solver package failed to load: {err}"))
    return out
