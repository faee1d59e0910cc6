r"""The incompressible solver's cost per step for ``zzhpc scale`` / ``zzhpc project`` (docs/scaling.md).

PETSc DMDA, projection method, KSP: per step the solver's own ``2 d + 2`` global-to-local scatters of one
scalar field (velocity twice, pressure and its increment) with the DMDA's BOX stencil (:math:`3^k - 1`
neighbours over ``k`` decomposed axes; faces carry the bytes); per momentum CG iteration one MatMult (face
neighbours, :math:`t_\star`) and 3 allreduces; per pressure CG iteration one MatMult, one GAMG V-cycle and 3
allreduces. V-cycle: 7 face exchanges on every level but the coarsest (the finest with the grid's own
faces) (Chebyshev(2) pre- and post-smoothing, residual, restriction, interpolation), each level held by
:math:`P_\ell = \min(P, N_\ell / 50)` ranks (PETSc's process reduction), and a gather and scatter of the
coarsest level, :math:`2\alpha\lceil\log_2 P\rceil`; level sizes :math:`N_\ell` as measured, or
:math:`N / 7^\ell` down to 50 unknowns. Iterations per step as measured (``results.ksp``). Compute and
memory units :math:`N/P`.
"""

import math

from ...core import perfmodel
from ...core.perfmodel import dims_create

MG_COARSENING = 7.0  # GAMG unknowns per coarse unknown (measured 4.4 to 9.3 on the fine levels, 64^2 to 64^3)
MG_EQ_LIMIT = 50  # PETSc GAMG defaults: coarse equation limit and equations per process
MG_EXCHANGES = 7  # face exchanges per level and V-cycle
CG_REDUCTIONS = 3  # allreduces per CG iteration: two inner products and the residual norm


def _face_exchange(shape, dims, net, value_bytes=8):
    """One exchange of a scalar field's faces with the 2 neighbours of every decomposed axis."""
    local = [s / d for s, d in zip(shape, dims)]
    t = 0.0
    for a, d in enumerate(dims):
        if d > 1:
            t += 2 * (net["latency_s"] + value_bytes * math.prod(local) / local[a] / net["bandwidth_Bps"])
    return t


def multigrid_sizes(n):
    """Unknowns per level of a GAMG hierarchy over ``n`` unknowns (finest first), by the stated ratio."""
    sizes = [n]
    while sizes[-1] > MG_EQ_LIMIT:
        sizes.append(max(1, int(sizes[-1] / MG_COARSENING)))
    return sizes


def vcycle(sizes, nd, p, net, fine):
    """Communication of one V-cycle over levels of ``sizes`` unknowns on ``p`` ranks (``fine``: one face
    exchange on the finest level, which has the grid's own shape)."""
    t = MG_EXCHANGES * fine if len(sizes) > 1 else 0.0
    for n_l in sizes[1:-1]:
        p_l = max(1, min(p, n_l // MG_EQ_LIMIT))
        side = n_l ** (1.0 / nd)
        t += MG_EXCHANGES * _face_exchange([side] * nd, dims_create(p_l, nd), net)
    return t + (2 * net["latency_s"] * math.ceil(math.log2(p)) if p > 1 else 0.0)


def step_model(params, p, net):
    shape = params["shape"]
    nd, n = len(shape), math.prod(shape)
    dims = dims_create(p, nd)
    k = sum(1 for d in dims if d > 1)
    star = _face_exchange(shape, dims, net)
    box = star + (3**k - 1 - 2 * k) * net["latency_s"]  # edges and corners: latency only
    its_p = params.get("pressure_its", 13.0)
    its_m = params.get("momentum_its", 12.0 * nd)
    sizes = params.get("multigrid_sizes") or multigrid_sizes(n)
    halo = (2 * nd + 2) * box + its_m * star + its_p * (star + vcycle(sizes, nd, p, net, star))
    red = perfmodel.reductions(net, p, CG_REDUCTIONS * (its_p + its_m) + 1, 1) + perfmodel.reductions(
        net, p, 4, params.get("diag_every", 10)
    )
    return {"work": n / p, "memory": n / p, "halo": halo, "alltoall": 0.0, "reduction": red}


def model_params(cfg, results, dtype):
    kp, km = results["ksp"]["pressure"], results["ksp"]["momentum"]
    solves = max(kp["solves"], 1)
    return {
        "shape": list(cfg["incompressible"]["shape"]),
        "pressure_its": kp["iterations_total"] / solves,
        "momentum_its": sum(m["iterations_total"] for m in km) / solves,
        "multigrid_sizes": kp.get("multigrid_sizes"),
        "diag_every": cfg["run"].get("diag_every", 10),
    }


def target_params(units, *, diag_every=100, pressure_its=13.0, momentum_its=36.0, **_):
    """A cube of ``units`` cells; KSP iterations per step as given (by default those measured on the 3-D
    cavity); GAMG levels by the stated ratio."""
    return {
        "shape": perfmodel.cube(units),
        "diag_every": diag_every,
        "pressure_its": pressure_its,
        "momentum_its": momentum_its,
    }


def projections(cal, options, headline):
    # The calibration runs' iterations per step; at the target they are assumed unchanged.
    pts = [q["params"] for q in cal.get("points", []) if "pressure_its" in q["params"]]
    geometry = {k: sum(q[k] for q in pts) / len(pts) for k in ("pressure_its", "momentum_its")} if pts else {}
    return [perfmodel.mesh_projection("incompressible", "incompressible (PETSc, GAMG) 100000^3", cal, **geometry)]


describe_units = perfmodel.cube_label
