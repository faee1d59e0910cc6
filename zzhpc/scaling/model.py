r"""The performance model: calibrate on measured runs, predict time per step and memory per card.

.. math:: T(P) = s\,(t_0 + c\,W(P)) + t_{halo}(P) + t_{a2a}(P) + t_{red}(P), \qquad
          M(P) = m_0 + b\,U(P)

``W`` and ``U`` are the compute and memory units per rank and the communication times come from
:mod:`.comm` (each solver's step model) with the network measured by :mod:`.microbench`. ``t_0`` (fixed cost per step: Python,
kernel launches), ``c`` (seconds per unit per step), ``m_0`` (fixed memory per rank) and ``b`` (bytes per
unit) are fitted by least squares to the calibration runs; with two runs and two
unknowns each fit is exact. A negative constant (noise larger than the signal) is kept, so the fit
still reproduces its points, and reported in the calibration's ``warnings``. ``s = max(1, P / cores)`` is the core-sharing factor of an
oversubscribed machine (``cores`` = logical CPUs of the calibration machine); a projection for cards
uses ``s = 1`` (one rank per card) and divides ``t_0 + cW`` by the stated compute speed-up of a card.
"""

import json
import math

from .comm import params_from_summary, step_cost


def _lstsq(rows, rhs):
    """Least squares ``rows @ x = rhs`` (exact for two points); one point fits the slope alone."""
    import numpy as np

    a = np.asarray(rows, dtype=float)
    b = np.asarray(rhs, dtype=float)
    if len({tuple(r) for r in rows}) < 2:  # one distinct point: no intercept can be told apart
        return [0.0, float(b.mean() / a[0, 1])] if a[0, 1] else [float(b.mean()), 0.0]
    scale = np.abs(a).max(axis=0)
    scale[scale == 0] = 1.0
    x = np.linalg.lstsq(a / scale, b, rcond=None)[0]
    return [float(v) for v in x / scale]


def point(summary, net, cores):
    """A calibration point from a ``summary.json``: measured times and the model's units."""
    return make_point(
        summary["solver"],
        params_from_summary(summary),
        summary["ranks"],
        summary["time_per_step_s"],
        (summary.get("memory_hwm_mb") or {}).get("max"),
        net,
        cores,
    )


def make_point(solver, params, ranks, time_per_step_s, memory_max_mb, net, cores):
    """A calibration point of ``solver``: the run's model parameters, rank count, measured time per step
    and largest rank's peak memory (MB), with the model's units and communication on ``net``."""
    m = step_cost(solver, params, ranks, net)
    return {
        "ranks": ranks,
        "params": params,
        "time_per_step_s": time_per_step_s,
        "memory_max_mb": memory_max_mb,
        "work": m["work"],
        "memory_units": m["memory"],
        "comm_s": m["halo"] + m["alltoall"] + m["reduction"],
        "share": max(1.0, ranks / cores),
    }


def calibrate(summaries, net, cores, solver=None, fit="exact"):
    """Fit ``t_0, c, m_0, b`` to the runs of one solver; returns the calibration dict.

    ``fit="exact"``: two-parameter least squares (reproduces two calibration runs exactly, may give a
    negative constant on a noisy machine); ``"origin"``: ``t_0 = 0`` and ``c`` by least squares through
    the origin (always positive; for projections when the exact fit is unphysical)."""
    summaries = [s for s in summaries if s.get("status") == "done" and s.get("time_per_step_s")]
    if not summaries:
        raise ValueError("no finished runs to calibrate on")
    solver = solver or summaries[0]["solver"]
    return fit_points([point(s, net, cores) for s in summaries if s["solver"] == solver], solver, net, cores, fit)


def fit_points(pts, solver, net, cores, fit="exact"):
    """:func:`calibrate` on points made already (:func:`make_point`): a sweep's runs or a bench's rows."""
    # Compute time = measured time - modelled communication, shared cores divided out.
    ys = [max(q["time_per_step_s"] - q["comm_s"], 0.0) / q["share"] for q in pts]
    if fit == "origin":
        t0, c = 0.0, sum(y * q["work"] for y, q in zip(ys, pts)) / sum(q["work"] ** 2 for q in pts)
    else:
        t0, c = _lstsq([[1.0, q["work"]] for q in pts], ys)
    mems = [q for q in pts if q["memory_max_mb"]]
    m0, b = (
        _lstsq([[1.0, q["memory_units"]] for q in mems], [q["memory_max_mb"] * 2**20 for q in mems])
        if mems
        else (0.0, 0.0)
    )
    from ..core.registry import get_solver

    cal = {
        "solver": solver,
        "unit": get_solver(solver).work_unit,
        "t0_s": t0,
        "c_s_per_unit": c,
        "mem_fixed_bytes": m0,
        "mem_bytes_per_unit": b,
        "network": {k: net[k] for k in ("latency_s", "bandwidth_Bps", "alltoall_Bps_per_rank", "allreduce_latency_s")},
        "cores": cores,
        "fit": fit,
        "points": pts,
        "warnings": [],
    }
    for name, v in (("t0_s", t0), ("c_s_per_unit", c), ("mem_fixed_bytes", m0), ("mem_bytes_per_unit", b)):
        if v < 0:
            cal["warnings"].append(
                f"{name} = {v:.3g} < 0: timing or memory noise exceeds the signal between "
                "the calibration runs; use larger problems or more repeats"
            )
    for q in pts:
        pr = predict(cal, q["params"], q["ranks"], shared_cores=True)
        q["model_time_per_step_s"], q["model_memory_mb"] = pr["time_per_step_s"], pr["memory_per_rank_bytes"] / 2**20
    return cal


def predict(
    cal,
    params,
    ranks,
    *,
    net=None,
    shared_cores=False,
    compute_speedup=1.0,
    cost_ratio=1.0,
    memory_ratio=1.0,
    fixed_memory_bytes=None,
):
    """Time per step (by phase), memory per rank and communication efficiency on ``ranks`` ranks.

    ``net`` replaces the calibrated network (a target's card links); ``compute_speedup`` divides the
    compute time (a card faster than a calibration rank); ``cost_ratio`` / ``memory_ratio`` multiply
    the cost and bytes per unit (a different potential, e.g. mW water against LJ); ``shared_cores``
    applies the oversubscription factor of the calibration machine.
    """
    net = dict(cal["network"], **(net or {}))
    m = step_cost(cal["solver"], params, ranks, net)
    share = max(1.0, ranks / cal["cores"]) if shared_cores else 1.0
    compute = share * (cal["t0_s"] + cost_ratio * cal["c_s_per_unit"] * m["work"]) / compute_speedup
    total = compute + m["halo"] + m["alltoall"] + m["reduction"]
    fixed = cal["mem_fixed_bytes"] if fixed_memory_bytes is None else fixed_memory_bytes
    mem = fixed + memory_ratio * cal["mem_bytes_per_unit"] * m["memory"]
    return {
        "ranks": ranks,
        "time_per_step_s": total,
        "compute_s": compute,
        "halo_s": m["halo"],
        "alltoall_s": m["alltoall"],
        "reduction_s": m["reduction"],
        "memory_per_rank_bytes": mem,
        "efficiency": compute / total if total > 0 else None,
        "work_per_rank": m["work"],
        "memory_units_per_rank": m["memory"],
        **({"note": m["note"]} if m.get("note") else {}),
    }


def cards_needed(cal, params, card_bytes, start, **kw):
    """The fewest ranks (from ``start`` upwards, doubling then bisecting) whose memory per rank fits."""

    def fits(p):
        return predict(cal, params, p, **kw)["memory_per_rank_bytes"] <= card_bytes

    if fits(start):
        return start
    lo, hi = start, start * 2
    while not fits(hi):
        lo, hi = hi, hi * 2
        if hi > 1e15:
            return None
    while hi - lo > max(1, lo // 1000):
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi


def save(cal, path):
    with open(path, "w") as fh:
        json.dump(cal, fh, indent=1)
        fh.write("\n")


def load(path):
    from ..errors import InputError

    try:
        with open(path) as fh:
            cal = json.load(fh)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a calibration file: {exc}") from None
    for k in ("solver", "t0_s", "c_s_per_unit", "mem_fixed_bytes", "mem_bytes_per_unit", "network", "cores"):
        if k not in cal:
            raise InputError(path, f"calibration key '{k}' missing")
    return cal


def rel_error(pred, meas):
    return (pred - meas) / meas if meas else math.nan
