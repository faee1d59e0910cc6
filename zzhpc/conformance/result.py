"""One conformance check: what was compared, the error measured, the tolerance, the verdict."""

from dataclasses import asdict, dataclass

import numpy as np

PASS, FAIL, SKIP = "pass", "fail", "not run"

# Tolerances of the comparison with NumPy, per precision of the device arithmetic.
TOL = {
    "float64": {
        "exact": 0.0,
        "elementwise": 1e-13,
        "reduction": 1e-13,
        "fft": 1e-12,
        "kernel": 1e-12,
        "override": 1e-10,
    },
    "float32": {"exact": 0.0, "elementwise": 1e-5, "reduction": 1e-5, "fft": 1e-5, "kernel": 2e-4, "override": 2e-4},
}


@dataclass
class Check:
    """A row of the conformance table.

    ``error`` is the measured discrepancy (see :func:`rel_error`); the check passes when
    ``error <= tolerance``. ``status`` is ``pass``, ``fail`` or ``not run`` (with the reason in ``detail``).
    """

    group: str
    name: str
    dtype: str = ""
    status: str = SKIP
    error: float = None
    tolerance: float = None
    detail: str = ""
    ranks: int = 1

    def as_dict(self):
        return asdict(self)


def rel_error(got, ref):
    """``max |got - ref| / (1 + |ref|)``: absolute error near zero, relative error for large values.

    The same measure as ``numpy.testing.assert_allclose(got, ref, rtol=tol, atol=tol)`` passing at ``tol``
    (up to a factor of two). Shapes must agree; a shape mismatch is an infinite error.
    """
    got = np.asarray(got)
    ref = np.asarray(ref)
    if got.shape != ref.shape:
        return float("inf")
    if got.size == 0:
        return 0.0
    if got.dtype.kind in "biu" and ref.dtype.kind in "biu":
        return float(np.max(np.abs(got.astype(np.int64) - ref.astype(np.int64))))
    g = got.astype(np.complex128 if np.iscomplexobj(got) or np.iscomplexobj(ref) else np.float64)
    r = ref.astype(g.dtype)
    if not np.all(np.isfinite(g) == np.isfinite(r)):
        return float("inf")
    fin = np.isfinite(r)
    if not np.array_equal(g[~fin], r[~fin]):
        return float("inf")
    return float(np.max(np.abs(g[fin] - r[fin]) / (1.0 + np.abs(r[fin])), initial=0.0))


def judge(check, error, tolerance, detail=""):
    """Fill in ``check`` from a measured error (NaN counts as a failure)."""
    check.error = float(error)
    check.tolerance = float(tolerance)
    check.status = PASS if check.error <= check.tolerance else FAIL
    if detail:
        check.detail = detail
    return check


def run_check(check, fn, *args, **kw):
    """Call ``fn(*args) -> (error, tolerance[, detail])``; any exception is a failure, with its message."""
    try:
        out = fn(*args, **kw)
    except Exception as exc:  # a conformance kit reports, it does not crash
        check.status = FAIL
        check.detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        return check
    if out is None:
        check.status = PASS
        return check
    if isinstance(out, str):
        check.status, check.detail = SKIP, out
        return check
    return judge(check, *out)


def merge_ranks(per_rank):
    """One list of checks from every rank's list: the worst verdict and the largest error per row."""
    merged = []
    for rows in zip(*per_rank):
        worst = rows[0]
        for r in rows[1:]:
            if r.status == FAIL and worst.status != FAIL:
                worst = r
            elif r.status == worst.status and (r.error or 0) > (worst.error or 0):
                worst = r
        worst.ranks = len(rows)
        merged.append(worst)
    return merged
