"""Per-step work and communication of a solver on ``P`` ranks (one rank per card), asked of the solver.

Each solver states its own step model (:meth:`~zzhpc.core.Solver.step_model`, in its package's
``perfmodel.py``, built from :mod:`zzhpc.core.perfmodel`) and the model's parameters of a finished run
(:meth:`~zzhpc.core.Solver.model_params`); this module only looks the solver up, so a solver from
another package is calibrated and projected by the same code. Formulas: docs/scaling.md.
"""

STEP_TERMS = ("work", "memory", "halo", "alltoall", "reduction")


def _solver(name):
    from ..core.registry import get_solver

    return get_solver(name)


def step_cost(solver, params, p, net):
    """``{work, memory, halo, alltoall, reduction[, note]}`` of ``solver`` with ``params`` on ``p`` ranks."""
    out = _solver(solver).step_model(params, p, net)
    missing = [k for k in STEP_TERMS if k not in out]
    if missing:
        raise ValueError(f"solver {solver}: step_model returned no {', '.join(missing)}")
    return out


def params_from_summary(summary):
    """The model's parameters of one run, from its ``summary.json`` (validated config and results)."""
    cfg = (summary.get("provenance") or {}).get("config") or {}
    return _solver(summary["solver"]).model_params(cfg, summary.get("results") or {}, summary.get("dtype"))
