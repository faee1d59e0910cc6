r"""The words in which a solver states its cost per step for ``zzhpc scale`` and ``zzhpc project``.

A solver's step model (:meth:`~zzhpc.core.solver.Solver.step_model`) returns a :data:`StepCost`:
``work`` (compute units per rank, which the calibrated cost per unit multiplies), ``memory`` (units held
per rank, which the calibrated bytes per unit multiply) and the seconds per step of its ``halo``,
``alltoall`` and ``reduction`` communication on ``P`` ranks. Messages follow the Hockney model
:math:`t = \alpha + n/\beta`; a reduction over ``P`` ranks costs :math:`\alpha_{ar}\lceil\log_2 P\rceil`
(recursive doubling). ``net`` is the network of :mod:`zzhpc.scaling.microbench` (or of a projection's
cards): ``latency_s``, ``bandwidth_Bps``, ``alltoall_Bps_per_rank``, ``allreduce_latency_s``.
Formulas and their sources: docs/scaling.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

StepCost = dict  # {"work", "memory", "halo", "alltoall", "reduction": float, ...extra figures}
Network = dict  # {"latency_s", "bandwidth_Bps", "alltoall_Bps_per_rank", "allreduce_latency_s": float}


def dims_create(p: int, ndim: int) -> list[int]:
    """A balanced process grid of ``p`` over ``ndim`` axes (like ``MPI_Dims_create``), largest first."""
    dims = [1] * ndim
    f = []
    n, d = p, 2
    while n > 1:
        while n % d == 0:
            f.append(d)
            n //= d
        d += 1
    for q in sorted(f, reverse=True):
        i = min(range(ndim), key=lambda j: dims[j])
        dims[i] *= q
    return sorted(dims, reverse=True)


def reductions(net: Network, p: int, count: float, every: float | None) -> float:
    """Seconds per step of ``count`` small allreduces every ``every`` steps on ``p`` ranks."""
    if p <= 1 or not every:
        return 0.0
    return count * net["allreduce_latency_s"] * math.ceil(math.log2(p)) / every


def value_bytes(dtype: str | None) -> int:
    """Bytes of one real value of a run's ``dtype`` (``summary.json``'s)."""
    return 4 if dtype == "float32" else 8


def cube(units: float, ndim: int = 3) -> list[int]:
    """The shape of a cubic mesh of about ``units`` points."""
    n = round(units ** (1 / ndim))
    return [n] * ndim


def stencil_step(params: dict, p: int, net: Network, *, diag_reductions: int, components: int = 1) -> StepCost:
    r"""An explicit stencil with one ghost layer on a block-decomposed mesh of ``params["shape"]``.

    One halo exchange per step, two messages per decomposed axis of one face each,
    :math:`t_h = \sum_{a: P_a>1} 2(\alpha + c\,b\,A_a/\beta)` (``A_a`` the local face in cells, ``c``
    components of ``b`` bytes); ``diag_reductions`` allreduces every ``params["diag_every"]`` steps;
    compute and memory units :math:`N/P`."""
    shape = params["shape"]
    n = math.prod(shape)
    dims = dims_create(p, len(shape))
    local = [s / d for s, d in zip(shape, dims)]
    vb = components * params.get("value_bytes", 8)
    halo = 0.0
    for a, d in enumerate(dims):
        if d > 1:
            face = math.prod(local) / local[a]
            halo += 2 * (net["latency_s"] + vb * face / net["bandwidth_Bps"])
    return {
        "work": n / p,
        "memory": n / p,
        "halo": halo,
        "alltoall": 0.0,
        "reduction": reductions(net, p, diag_reductions, params.get("diag_every", 10)),
    }


@dataclass
class Projection:
    """One way to project a calibrated solver (``zzhpc project``).

    ``tag`` names it in tables (``" (mW water)"``); ``geometry`` goes to the solver's
    :meth:`~zzhpc.core.solver.Solver.target_params`; ``model`` to the prediction (``cost_ratio``,
    ``memory_ratio``: another potential's cost and bytes per unit against the calibrated one);
    ``headline`` lists the ``(label, units)`` targets of ``zzhpc project headline``, under ``heading``."""

    tag: str = ""
    geometry: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    headline: Sequence[tuple[str, float]] = ()
    heading: str = ""
    #: ``note(cal, args) -> str``: words printed under the headline table (e.g. the memory arithmetic).
    note: Any = None


def mesh_projection(name: str, label: str, cal: dict, **geometry: Any) -> Projection:
    """The headline of a mesh solver: a 10^15-point mesh (100000^3), labelled ``label``."""
    return Projection(
        geometry=geometry,
        headline=[(label, 1e15)],
        heading=f"**{name}, 10^15-point mesh** (calibration: {cal.get('source', '?')})",
    )


def particle_step(params: dict, p: int, net: Network, *, diag_reductions: int, site_bytes: int = 1) -> StepCost:
    r"""Spatial decomposition of ``params["natoms"]`` particles at number density ``params["density"]``
    with a staged 6-direction ghost exchange (as in LAMMPS).

    Ghost shell of width :math:`r_g` (``params["ghost_cut"]``: cutoff + skin) around a local box of sides
    ``L_a``; per decomposed axis and direction :math:`\rho\, r_g \prod_{b<a}(L_b + 2r_g)\prod_{b>a}L_b`
    particles; positions forward and forces back every step (24 B per particle each), migration every
    ``neigh_every`` steps (56 B per particle), all times ``site_bytes`` (atoms per particle: a rigid
    molecule's); compute units :math:`N/P + G/2` (pairs with ghosts counted once under Newton's third
    law); memory units :math:`N/P + G`; ``diag_reductions`` allreduces every ``diag_every`` steps."""
    n, rho, rg = params["natoms"], params["density"], params["ghost_cut"]
    box = (n / rho) ** (1 / 3)
    dims = dims_create(p, 3)
    L = [box / d for d in dims]
    ghosts, halo, msgs = 0.0, 0.0, 0
    for a in range(3):
        if dims[a] == 1:
            continue
        slab = rho * rg * math.prod(L[b] + 2 * rg for b in range(a)) * math.prod(L[b] for b in range(a + 1, 3))
        ghosts += 2 * slab
        msgs += 2
        halo += 2 * (2 * net["latency_s"] + 48 * site_bytes * slab / net["bandwidth_Bps"])
    every = params.get("neigh_every", 10) or 10
    halo += (msgs * net["latency_s"] + 56 * site_bytes * ghosts / net["bandwidth_Bps"]) / every
    return {
        "work": n / p + ghosts / 2,
        "memory": n / p + ghosts,
        "halo": halo,
        "alltoall": 0.0,
        "reduction": reductions(net, p, diag_reductions, params.get("diag_every", 10)),
        "ghosts_per_rank": ghosts,
    }


def cube_label(units: float) -> str:
    """A mesh of ``units`` points by its side: ``" (1,000^3)"``."""
    return f" ({round(units ** (1 / 3)):,}^3)"
