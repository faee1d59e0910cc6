"""Projection targets: a solver's problem at a size far beyond this machine, on ``P`` cards.

A target names the problem size in the calibrated solver's terms (``units``: grid points, atoms,
replicas) and the cards: memory per card, link bandwidth, latency, compute speed-up over one
calibration rank. The solver turns a unit count into its model's parameters
(:meth:`~zzhpc.core.Solver.target_params`). :func:`project` returns the predicted time per step,
memory per card, whether it fits, and the fewest cards it would need; :func:`largest_fitting` the
largest problem that fits.
"""

import math
from dataclasses import dataclass

from .model import cards_needed, predict


@dataclass
class Cards:
    """The machine of a projection: ``count`` cards of ``memory_gb`` with the given links."""

    count: int
    memory_gb: float = 64.0
    link_GBps: float = 25.0
    latency_us: float = 2.0
    compute_speedup: float = 1.0
    fixed_memory_gb: float = None  # per-card overhead (default: the calibrated fixed memory per rank)

    def network(self):
        bw = self.link_GBps * 1e9
        return {
            "latency_s": self.latency_us * 1e-6,
            "bandwidth_Bps": bw,
            "alltoall_Bps_per_rank": bw,
            "allreduce_latency_s": self.latency_us * 1e-6,
        }


def params_for(solver, units, **geometry):
    """Model parameters of ``solver``'s problem of ``units`` work units (a cube for a mesh), shaped by
    ``geometry`` (a :class:`~zzhpc.core.perfmodel.Projection`'s)."""
    from ..core.registry import get_solver

    return get_solver(solver).target_params(units, **geometry)


def project(cal, params, cards, **kw):
    """Prediction on ``cards.count`` cards, with ``fits`` and ``cards_needed`` (None: never fits)."""
    card_bytes = cards.memory_gb * 1e9
    fixed = None if cards.fixed_memory_gb is None else cards.fixed_memory_gb * 1e9
    kw = dict(kw, net=cards.network(), compute_speedup=cards.compute_speedup, fixed_memory_bytes=fixed)
    out = predict(cal, params, cards.count, **kw)
    out["card_memory_bytes"] = card_bytes
    out["fits"] = out["memory_per_rank_bytes"] <= card_bytes
    out["cards_needed"] = cards.count if out["fits"] else cards_needed(cal, params, card_bytes, cards.count, **kw)
    return out


def largest_fitting(cal, solver, cards, lo=1.0, **kw):
    """The largest unit count (to 0.1 %) whose memory per card fits, with its prediction."""

    def fits(u):
        return project(cal, params_for(solver, u, **kw.get("geometry", {})), cards, **kw.get("model", {}))["fits"]

    if not fits(lo):
        return None, None
    hi = lo * 2
    while fits(hi):
        lo, hi = hi, hi * 2
    while hi / lo > 1.001:
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    params = params_for(solver, lo, **kw.get("geometry", {}))
    return lo, project(cal, params, cards, **kw.get("model", {}))
