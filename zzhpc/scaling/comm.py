r"""Per-step work and communication of each solver on ``P`` ranks (one rank per card).

Times use the Hockney model of a message, :math:`t = \alpha + n/\beta` (latency, link bandwidth),
and an all-to-all throughput per rank :math:`B_{a2a}`; a reduction over ``P`` ranks costs
:math:`\alpha_{ar}\lceil\log_2 P\rceil` (recursive doubling). Returned dicts:
``work`` = compute units per rank (what the calibrated cost per unit multiplies), ``memory`` = units
held per rank (what the calibrated bytes per unit multiply), ``halo`` / ``alltoall`` / ``reduction``
= seconds per step. Formulas (docs/scaling.md):

* **heat** (explicit stencil, one ghost layer): one halo exchange per step, two messages per
  decomposed axis of one face each, :math:`t_h = \sum_{a: P_a>1} 2(\alpha + 8 A_a/\beta)`, ``A_a`` the
  local face (cells); 4 reductions every ``diag_every`` steps.
* **md** (spatial decomposition, staged 6-direction ghost exchange as in LAMMPS): ghost shell of
  width :math:`r_g = r_c + r_{skin}` around a local box of sides ``L_a``; per decomposed axis and
  direction, :math:`\rho\, r_g \prod_{b<a}(L_b + 2r_g)\prod_{b>a}L_b` atoms; positions forward and
  forces back every step (24 B per atom each), migration every ``neigh_every`` steps (56 B per atom);
  compute units :math:`N/P + G/2` (pairs with ghosts counted once under Newton's third law); memory
  units :math:`N/P + G`; 5 reductions every ``diag_every`` steps.
* **spectral** (pseudo-spectral): ``F`` distributed 3-D FFTs per step (40 for the 2N RK4: 5 stages x 8;
  runs record theirs in ``results.ffts_per_step``; 36 for summaries from before it), one
  all-to-all per FFT for slabs, two for pencils (over sub-groups of :math:`\sqrt P`); each moves the
  rank's complex block, :math:`V = 16 N_0 N_1 (N_2/2+1)/P` bytes (float64), of which the fraction
  :math:`(p-1)/p` leaves the rank: :math:`t = (p-1)\alpha + V(p-1)/(p B_{a2a})`; compute units
  :math:`(N/P)\log_2 N` (FFT cost).
* **folding** (replica exchange): replicas are independent; compute units :math:`\lceil R/P\rceil`;
  one small all-gather every ``exchange_every`` steps.
* **incompressible** (PETSc DMDA, projection method, KSP): per step the solver's own ``2 d + 2``
  global-to-local scatters of one scalar field (velocity twice, pressure and its increment) with the
  DMDA's BOX stencil (:math:`3^k - 1` neighbours over ``k`` decomposed axes; faces carry the bytes);
  per momentum CG iteration one MatMult (face neighbours, :math:`t_\star`) and 3 allreduces; per
  pressure CG iteration one MatMult, one GAMG V-cycle and 3 allreduces. V-cycle: 7 face exchanges on
  every level but the coarsest (the finest with the grid's own faces) (Chebyshev(2) pre- and post-smoothing, residual, restriction,
  interpolation), each level held by :math:`P_\ell = \min(P, N_\ell / 50)` ranks (PETSc's process
  reduction), and a gather and scatter of the coarsest level, :math:`2\alpha\lceil\log_2 P\rceil`;
  level sizes :math:`N_\ell` as measured, or :math:`N / 7^\ell` down to 50 unknowns. Iterations per
  step as measured (``results.ksp``). Compute and memory units :math:`N/P`.
"""
import math

from .workloads import LATTICE_BASIS


def dims_create(p, ndim):
    """A balanced process grid of ``p`` over ``ndim`` axes (like ``MPI_Dims_create``)."""
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


def _reduce(net, p, count, every):
    if p <= 1 or not every:
        return 0.0
    return count * net["allreduce_latency_s"] * math.ceil(math.log2(p)) / every


def heat(params, p, net):
    shape = params["shape"]
    n = math.prod(shape)
    dims = dims_create(p, len(shape))
    local = [s / d for s, d in zip(shape, dims)]
    halo = 0.0
    for a, d in enumerate(dims):
        if d > 1:
            face = math.prod(local) / local[a]
            halo += 2 * (net["latency_s"] + params.get("value_bytes", 8) * face / net["bandwidth_Bps"])
    return {"work": n / p, "memory": n / p, "halo": halo, "alltoall": 0.0,
            "reduction": _reduce(net, p, 4, params.get("diag_every", 10))}


def md(params, p, net):
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
        halo += 2 * (2 * net["latency_s"] + 48 * slab / net["bandwidth_Bps"])
    every = params.get("neigh_every", 10) or 10
    halo += (msgs * net["latency_s"] + 56 * ghosts / net["bandwidth_Bps"]) / every
    return {"work": n / p + ghosts / 2, "memory": n / p + ghosts, "halo": halo, "alltoall": 0.0,
            "reduction": _reduce(net, p, 5, params.get("diag_every", 10)), "ghosts_per_rank": ghosts}


def spectral(params, p, net):
    shape = params["shape"]
    n = math.prod(shape)
    ffts = params.get("ffts_per_step", 36)
    vbytes = 2 * params.get("value_bytes", 8) * shape[0] * shape[1] * (shape[2] // 2 + 1) / p
    groups = [p] if params.get("decomposition", "slab") == "slab" else [g for g in dims_create(p, 2)]
    a2a = 0.0
    for g in groups:
        if g > 1:
            a2a += (g - 1) * net["latency_s"] + vbytes * (g - 1) / g / net["alltoall_Bps_per_rank"]
    return {"work": n / p * math.log2(n), "memory": n / p, "halo": 0.0, "alltoall": ffts * a2a,
            "reduction": _reduce(net, p, 6, params.get("diag_every", 10))}


def folding(params, p, net):
    r = params["replicas"]
    return {"work": math.ceil(r / p), "memory": math.ceil(r / p), "halo": 0.0, "alltoall": 0.0,
            "reduction": _reduce(net, p, 1, params.get("exchange_every", 100))}


MG_COARSENING = 7.0   # GAMG unknowns per coarse unknown (measured 4.4 to 9.3 on the fine levels, 64^2 to 64^3)
MG_EQ_LIMIT = 50      # PETSc GAMG defaults: coarse equation limit and equations per process
MG_EXCHANGES = 7      # face exchanges per level and V-cycle
CG_REDUCTIONS = 3     # allreduces per CG iteration: two inner products and the residual norm


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


def incompressible(params, p, net):
    shape = params["shape"]
    nd, n = len(shape), math.prod(shape)
    dims = dims_create(p, nd)
    k = sum(1 for d in dims if d > 1)
    star = _face_exchange(shape, dims, net)
    box = star + (3 ** k - 1 - 2 * k) * net["latency_s"]   # edges and corners: latency only
    its_p = params.get("pressure_its", 13.0)
    its_m = params.get("momentum_its", 12.0 * nd)
    sizes = params.get("multigrid_sizes") or multigrid_sizes(n)
    halo = (2 * nd + 2) * box + its_m * star + its_p * (star + vcycle(sizes, nd, p, net, star))
    red = _reduce(net, p, CG_REDUCTIONS * (its_p + its_m) + 1, 1) + _reduce(net, p, 4, params.get("diag_every", 10))
    return {"work": n / p, "memory": n / p, "halo": halo, "alltoall": 0.0, "reduction": red}


MODELS = {"heat": heat, "md": md, "spectral": spectral, "folding": folding, "incompressible": incompressible}


def params_from_summary(summary):
    """The model's parameters of one run, from its ``summary.json`` (validated config and results)."""
    cfg = (summary.get("provenance") or {}).get("config") or {}
    res = summary.get("results") or {}
    solver = summary["solver"]
    run = cfg.get("run", {})
    vb = 4 if summary.get("dtype") == "float32" else 8
    if solver == "heat":
        return {"shape": list(cfg["heat"]["shape"]), "diag_every": run.get("diag_every", 10), "value_bytes": vb}
    if solver == "spectral":
        return {"shape": list(cfg["spectral"]["shape"]), "decomposition": cfg["spectral"]["decomposition"],
                "ffts_per_step": res.get("ffts_per_step", 36), "diag_every": run.get("diag_every", 10),
                "value_bytes": vb}
    if solver == "md":
        m = cfg["md"]
        natoms = res.get("natoms") or LATTICE_BASIS[m["lattice"]] * math.prod(m["cells"])
        rho = m["density"]
        if m.get("lattice_constant"):
            rho = LATTICE_BASIS[m["lattice"]] / m["lattice_constant"] ** 3
        return {"natoms": natoms, "density": rho, "ghost_cut": m["cutoff"] + m["skin"],
                "neigh_every": m["neigh_every"], "diag_every": run.get("diag_every", 10)}
    if solver == "folding":
        return {"replicas": cfg["folding"]["replicas"], "exchange_every": cfg["folding"]["exchange_every"]}
    if solver == "incompressible":
        kp, km = res["ksp"]["pressure"], res["ksp"]["momentum"]
        solves = max(kp["solves"], 1)
        return {"shape": list(cfg["incompressible"]["shape"]), "pressure_its": kp["iterations_total"] / solves,
                "momentum_its": sum(m["iterations_total"] for m in km) / solves,
                "multigrid_sizes": kp.get("multigrid_sizes"), "diag_every": run.get("diag_every", 10)}
    raise KeyError(solver)
