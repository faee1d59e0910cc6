"""Single-device checks: arrays and transfers, elementwise math, reductions, FFTs, scatter-add, random
numbers, DLPack exchange and synchronisation, each compared with NumPy in float64 on the same inputs.

Every check is a function ``(backend, dtype) -> (error, tolerance[, detail])`` that may raise (a failure)
or return a string (not run, with the reason).
"""

import numpy as np

from .result import TOL, Check, rel_error, run_check

DTYPES = ("float32", "float64")


def _data(shape, dtype, lo=0.5, hi=2.0, seed=3):
    return np.random.default_rng(seed).uniform(lo, hi, size=shape).astype(dtype)


def _norm_error(got, ref):
    """``max |got - ref| / max |ref|``: the FFT error measure (values spread over many decades)."""
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape:
        return float("inf")
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-300))


def _expect_dtype(a, dtype):
    if np.dtype(a.dtype) != np.dtype(dtype):
        raise TypeError(f"result has dtype {a.dtype}, expected {dtype}")


# Arrays ------------------------------------------------------------------------------------------------
def zeros(be, dtype):
    import array_api_compat

    z = be.zeros((3, 4, 5), dtype)
    array_api_compat.array_namespace(z)  # raises if the result is not an array of a known library
    if be.device_obj is not None and str(array_api_compat.device(z)) != str(be.device_obj):
        raise ValueError(f"zeros() landed on {array_api_compat.device(z)}, backend device is {be.device_obj}")
    h = be.to_host(z)
    if h.shape != (3, 4, 5):
        raise ValueError(f"shape {h.shape}, expected (3, 4, 5)")
    _expect_dtype(h, dtype)
    return float(np.max(np.abs(h))), 0.0


def transfer(be, dtype):
    """Host -> device -> host is bitwise, keeps the dtype, and gives C-contiguous arrays (views too)."""
    a = np.random.default_rng(1).standard_normal((6, 7, 5)).astype(dtype)
    err = 0.0
    for src in (a, a[:, ::2], a.transpose(2, 0, 1)):
        back = be.to_host(be.asarray(src))
        _expect_dtype(back, dtype)
        if not back.flags.c_contiguous:
            raise ValueError("to_host returned a non-contiguous array")
        err = max(err, rel_error(back, src))
    return err, TOL[dtype]["exact"]


def transfer_other(be, dtype):
    """int64 and complex round trips (indices and spectra)."""
    i = np.arange(-50, 50, dtype=np.int64) * 123456789
    back = be.to_host(be.asarray(i))
    _expect_dtype(back, "int64")
    cdt = "complex128" if dtype == "float64" else "complex64"
    c = (np.arange(12) + 1j * np.arange(12)[::-1]).astype(cdt)
    backc = be.to_host(be.asarray(c))
    _expect_dtype(backc, cdt)
    return max(rel_error(back, i), rel_error(backc, c)), 0.0


# Math --------------------------------------------------------------------------------------------------
def elementwise(be, dtype):
    xp = be.xp
    x, y = _data((64, 33), dtype, seed=4), _data((64, 33), dtype, seed=5)
    X, Y = be.asarray(x), be.asarray(y)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    cases = {
        "sqrt": (xp.sqrt(X), np.sqrt(x64)),
        "exp": (xp.exp(X), np.exp(x64)),
        "log": (xp.log(X), np.log(x64)),
        "sin": (xp.sin(X), np.sin(x64)),
        "cos": (xp.cos(X), np.cos(x64)),
        "tanh": (xp.tanh(X), np.tanh(x64)),
        "x*y+x": (X * Y + X, x64 * y64 + x64),
        "x/y": (X / Y, x64 / y64),
        "x**3": (X**3, x64**3),
        "where": (xp.where(X > 1.0, X, -Y), np.where(x64 > 1.0, x64, -y64)),
        "abs": (xp.abs(X - Y), np.abs(x64 - y64)),
        "floor": (xp.floor(X * 3), np.floor(x64 * 3)),
        "slice-assign": (_slice_assign(xp, X, Y), _slice_assign(np, x64.copy(), y64)),
    }
    worst, name = 0.0, ""
    for fname, (got, ref) in cases.items():
        h = be.to_host(got)
        _expect_dtype(h, dtype)
        e = rel_error(h, ref)
        if e >= worst:
            worst, name = e, fname
    return worst, TOL[dtype]["elementwise"], f"worst: {name}"


def _slice_assign(xp, a, b):
    a[1:-1, ::2] = b[2:, ::2] - b[:-2, ::2]
    return a


def reductions(be, dtype):
    xp = be.xp
    x = _data((48, 96), dtype, seed=6)
    X = be.asarray(x)
    x64 = x.astype(np.float64)
    m = _data((40, 40), dtype, seed=7)
    M = be.asarray(m)
    cases = {
        "sum": (xp.sum(X), np.sum(x64)),
        "sum axis 0": (xp.sum(X, axis=0), np.sum(x64, axis=0)),
        "sum axis 1": (xp.sum(X, axis=1), np.sum(x64, axis=1)),
        "mean": (xp.mean(X), np.mean(x64)),
        "max": (xp.max(X), np.max(x64)),
        "min": (xp.min(X, axis=1), np.min(x64, axis=1)),
        "prod": (xp.prod(X[:3, :8]), np.prod(x64[:3, :8])),
        "cumulative_sum": (xp.cumulative_sum(X, axis=1), np.cumsum(x64, axis=1)),
        "matmul": (xp.matmul(M, M), m.astype(np.float64) @ m.astype(np.float64)),
        "argmax": (xp.argmax(X, axis=1), np.argmax(x, axis=1)),
    }
    worst, name, note = 0.0, "", ""
    for fname, (got, ref) in cases.items():
        h = be.to_host(got)
        if fname != "argmax":
            _expect_dtype(h, dtype)
        if h.shape != np.shape(ref) and h.size == np.size(ref):
            # Tolerated, but shown: to_host should keep the shape of 0-d results.
            note = f"; to_host gave shape {h.shape} for a {np.ndim(ref)}-d result"
            h = h.reshape(np.shape(ref))
        e = rel_error(h, ref)
        if e >= worst:
            worst, name = e, fname
    return worst, TOL[dtype]["reduction"], f"worst: {name}{note}"


def fft(be, dtype):
    xp = be.xp
    cdt = "complex128" if dtype == "float64" else "complex64"
    x = np.random.default_rng(8).standard_normal((6, 8, 10)).astype(dtype)
    X = be.asarray(x)
    x64 = x.astype(np.float64)
    r = xp.fft.rfftn(X)
    rh = be.to_host(r)
    _expect_dtype(rh, cdt)
    errs = {
        "rfftn": _norm_error(rh, np.fft.rfftn(x64)),
        "irfftn(rfftn)": _norm_error(be.to_host(xp.fft.irfftn(r, s=x.shape)), x64),
    }
    c = (x + 1j * x[::-1]).astype(cdt)
    C = be.asarray(c)
    ch = be.to_host(xp.fft.fftn(C, axes=(1, 2)))
    _expect_dtype(ch, cdt)
    errs["fftn axes (1,2)"] = _norm_error(ch, np.fft.fftn(c.astype(np.complex128), axes=(1, 2)))
    errs["ifftn"] = _norm_error(
        be.to_host(xp.fft.ifftn(C, axes=(0,))), np.fft.ifftn(c.astype(np.complex128), axes=(0,))
    )
    name = max(errs, key=errs.get)
    return errs[name], TOL[dtype]["fft"], f"worst: {name}"


def scatter(be, dtype):
    rng = np.random.default_rng(9)
    idx = rng.integers(0, 50, size=2000)
    vals = rng.standard_normal((2000, 3)).astype(dtype)
    ref = np.zeros((50, 3))
    np.add.at(ref, idx, vals.astype(np.float64))
    T = be.zeros((50, 3), dtype)
    out = be.scatter_add(T, be.asarray(idx), be.asarray(vals))
    h = be.to_host(T if out is None else out)
    _expect_dtype(h, dtype)
    return rel_error(h, ref), TOL[dtype]["reduction"]


# Random numbers ----------------------------------------------------------------------------------------
def device_random(be, seed, shape, dtype, kind):
    """Uniform [0, 1) or standard normal numbers made on the device by its library, from ``seed``."""
    if hasattr(be, "random"):
        return be.random(seed, shape, dtype, kind)
    lib = getattr(be, "torch", None)
    if lib is not None:
        g = lib.Generator(device=be.device_obj).manual_seed(seed)
        f = lib.rand if kind == "uniform" else lib.randn
        return f(shape, generator=g, device=be.device_obj, dtype=be.dtype(dtype))
    cp = getattr(be, "cupy", None)
    if cp is not None:
        g = cp.random.default_rng(seed)
        return g.random(shape, dtype=dtype) if kind == "uniform" else g.standard_normal(shape, dtype=dtype)
    g = np.random.default_rng(seed)
    a = g.random(shape, dtype=dtype) if kind == "uniform" else g.standard_normal(shape, dtype=dtype)
    return be.asarray(a)


def random(be, dtype):
    """Same seed, same stream; moments within 6 standard errors: the error shown is the largest z-score."""
    n = 200_000
    zmax = 0.0
    for kind, mu, var, m4 in (("uniform", 0.5, 1 / 12, 1 / 80), ("normal", 0.0, 1.0, 3.0)):
        a = be.to_host(device_random(be, 1234, (n,), dtype, kind))
        b = be.to_host(device_random(be, 1234, (n,), dtype, kind))
        _expect_dtype(a, dtype)
        if not np.array_equal(a, b):
            raise ValueError(f"{kind}: the same seed gave different numbers")
        if kind == "uniform" and (a.min() < 0 or a.max() >= 1):
            raise ValueError(f"uniform numbers outside [0, 1): [{a.min()}, {a.max()}]")
        c = be.to_host(device_random(be, 1235, (n,), dtype, kind))
        if np.array_equal(a, c):
            raise ValueError(f"{kind}: seeds 1234 and 1235 gave the same numbers")
        a = a.astype(np.float64)
        z_mean = (a.mean() - mu) / np.sqrt(var / n)
        z_var = (a.var() - var) / np.sqrt((m4 - var**2) / n)
        zmax = max(zmax, abs(z_mean), abs(z_var))
    return zmax, 6.0, "z-score of mean and variance"


# DLPack and synchronisation ----------------------------------------------------------------------------
def dlpack(be, dtype):
    """The declared DLPack device matches the arrays'; from_dlpack is zero-copy; NumPy reads CPU arrays."""
    xp = be.xp
    h = _data((17,), dtype, seed=10)
    a = be.asarray(h)
    dev = tuple(int(v) for v in a.__dlpack_device__())
    if dev[0] != int(be.dlpack_device[0]) or dev[1] != int(be.dlpack_device[1]):
        raise ValueError(f"arrays report DLPack device {dev}, the backend declares {tuple(be.dlpack_device)}")
    b = xp.from_dlpack(a)  # may be read-only (NumPy): write through the original to see the sharing
    a[0] = 42.0
    if float(be.to_host(b)[0]) != 42.0:
        raise ValueError("from_dlpack copied the data (DLPack exchange must be zero-copy)")
    a[0] = float(h[0])
    err = rel_error(be.to_host(b), h)
    if dev[0] == 1:  # kDLCPU: NumPy takes the array without a copy
        err = max(err, rel_error(np.from_dlpack(a), h))
        return err, 0.0, "same library and NumPy"
    partner = _gpu_partner(be)
    if partner is None:
        return err, 0.0, "same library only (no second GPU library here)"
    name, lib = partner
    err = max(err, rel_error(be.to_host(xp.from_dlpack(lib.from_dlpack(a))), h))
    return err, 0.0, f"same library and {name}"


def _gpu_partner(be):
    if be.name != "torch":
        try:
            import torch

            if torch.cuda.is_available():
                return "torch", torch.utils.dlpack
        except ImportError:
            pass
    if be.name != "cupy":
        try:
            import cupy

            if cupy.cuda.runtime.getDeviceCount() > 0:
                return "cupy", cupy
        except Exception:
            pass
    return None


def synchronize(be, dtype):
    """Queued work is complete after ``synchronize()``: a chain of matmuls read back right after it."""
    xp = be.xp
    n = 192
    m = (np.eye(n) + 1e-3 * np.random.default_rng(11).standard_normal((n, n))).astype(dtype)
    M = be.asarray(m)
    R = M
    for _ in range(4):
        R = xp.matmul(R, M)
    be.synchronize()
    ref = np.linalg.matrix_power(m.astype(np.float64), 5)
    return rel_error(be.to_host(R), ref), TOL[dtype]["reduction"] * 10


CHECKS = [
    ("arrays", "zeros", zeros),
    ("arrays", "transfer", transfer),
    ("arrays", "int64/complex", transfer_other),
    ("math", "elementwise", elementwise),
    ("math", "reductions", reductions),
    ("fft", "fft", fft),
    ("scatter", "scatter-add", scatter),
    ("random", "uniform/normal", random),
    ("dlpack", "exchange", dlpack),
    ("sync", "synchronize", synchronize),
]


def local_checks(be, no_float64_reason=""):
    """All single-device checks on backend ``be``, in float32 and float64 (float64: only where present)."""
    out = []
    for dtype in DTYPES:
        if dtype == "float64" and not be.float64:
            out.append(
                Check("float64", "all float64 checks", dtype, detail=no_float64_reason or "the device has no float64")
            )
            continue
        for group, name, fn in CHECKS:
            out.append(run_check(Check(group, name, dtype), fn, be, dtype))
    return out
