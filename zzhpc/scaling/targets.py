"""Projection targets: a solver's problem at a size far beyond this machine, on ``P`` cards.

A target names the problem size in the calibrated solver's terms (``units``: grid points, atoms,
replicas) and the cards: memory per card, link bandwidth, latency, compute speed-up over one
calibration rank. :func:`project` returns the predicted time per step, memory per card, whether it
fits, and the fewest cards it would need; :func:`largest_fitting` the largest problem that fits.
"""
import math
from dataclasses import dataclass

from .model import cards_needed, predict

# Stated assumptions (docs/scaling.md): mW water (Molinero & Moore, J. Phys. Chem. B 113, 4008 (2009))
# is one particle per molecule, Stillinger-Weber form, cutoff a*sigma = 1.8 * 2.3925 A, at 1 g/cm^3.
MW_DENSITY_PER_A3 = 0.0334
MW_GHOST_CUT_A = 1.8 * 2.3925 + 2.0   # cutoff + LAMMPS real-units default skin (2 A)


@dataclass
class Cards:
    """The machine of a projection: ``count`` cards of ``memory_gb`` with the given links."""

    count: int
    memory_gb: float = 64.0
    link_GBps: float = 25.0
    latency_us: float = 2.0
    compute_speedup: float = 1.0
    fixed_memory_gb: float = None   # per-card overhead (default: the calibrated fixed memory per rank)

    def network(self):
        bw = self.link_GBps * 1e9
        return {"latency_s": self.latency_us * 1e-6, "bandwidth_Bps": bw, "alltoall_Bps_per_rank": bw,
                "allreduce_latency_s": self.latency_us * 1e-6}


def params_for(solver, units, *, decomposition="pencil", value_bytes=8, density=None, ghost_cut=None,
               diag_every=100, neigh_every=10, exchange_every=100, pressure_its=13.0, momentum_its=36.0):
    """Model parameters of a cubic problem of ``units`` work units (incompressible: KSP iterations per
    step as given, by default those measured on the 3-D cavity; GAMG levels by the stated ratio)."""
    if solver == "incompressible":
        n = round(units ** (1 / 3))
        return {"shape": [n, n, n], "diag_every": diag_every, "pressure_its": pressure_its,
                "momentum_its": momentum_its}
    if solver in ("heat", "spectral"):
        n = round(units ** (1 / 3))
        p = {"shape": [n, n, n], "diag_every": diag_every, "value_bytes": value_bytes}
        if solver == "spectral":
            # The default scheme: Carpenter-Kennedy 2N RK4, 5 stages x 8 FFTs (docs/spectral.md).
            p.update(decomposition=decomposition, ffts_per_step=40)
        return p
    if solver == "md":
        return {"natoms": units, "density": density or 0.8442, "ghost_cut": ghost_cut or 2.8,
                "neigh_every": neigh_every, "diag_every": diag_every}
    if solver == "folding":
        return {"replicas": int(units), "exchange_every": exchange_every}
    raise KeyError(solver)


def project(cal, params, cards, **kw):
    """Prediction on ``cards.count`` cards, with ``fits`` and ``cards_needed`` (None: never fits)."""
    card_bytes = cards.memory_gb * 1e9
    fixed = None if cards.fixed_memory_gb is None else cards.fixed_memory_gb * 1e9
    kw = dict(kw, net=cards.network(), compute_speedup=cards.compute_speedup, fixed_memory_bytes=fixed)
    out = predict(cal, params, cards.count, **kw)
    out["card_memory_bytes"] = card_bytes
    out["fits"] = out["memory_per_rank_bytes"] <= card_bytes
    out["cards_needed"] = cards.count if out["fits"] else cards_needed(cal, params, card_bytes, cards.count, **kw)
    if cal["solver"] == "spectral" and params.get("decomposition") == "slab" and cards.count > params["shape"][0]:
        out["note"] = f"slab decomposition needs P <= N0 = {params['shape'][0]}: use pencils"
    return out


def largest_fitting(cal, solver, cards, lo=1.0, **kw):
    """The largest unit count (to 0.1 %) whose memory per card fits, with its prediction."""
    def fits(u):
        return project(cal, params_for(solver, u, **kw.get("geometry", {})), cards,
                       **kw.get("model", {}))["fits"]
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
