"""The heat solver's cost per step for ``zzhpc scale`` / ``zzhpc project`` (docs/scaling.md).

Explicit stencil with one ghost layer: one halo exchange per step
(:func:`zzhpc.core.perfmodel.stencil_step`), 4 reductions every ``diag_every`` steps.
"""

from ...core import perfmodel

DIAG_REDUCTIONS = 4


def model_params(cfg, results, dtype):
    return {
        "shape": list(cfg["heat"]["shape"]),
        "diag_every": cfg["run"].get("diag_every", 10),
        "value_bytes": perfmodel.value_bytes(dtype),
    }


def step_model(params, p, net):
    return perfmodel.stencil_step(params, p, net, diag_reductions=DIAG_REDUCTIONS)


def target_params(units, *, value_bytes=8, diag_every=100, **_):
    return {"shape": perfmodel.cube(units), "diag_every": diag_every, "value_bytes": value_bytes}


def projections(cal, options, headline):
    return [perfmodel.mesh_projection("heat", "heat stencil 100000^3", cal)]


describe_units = perfmodel.cube_label
