r"""The spectral solver's cost per step for ``zzhpc scale`` / ``zzhpc project`` (docs/scaling.md).

Pseudo-spectral, RK4: ``F`` distributed 3-D FFTs per step (36: 4 stages x 9), one all-to-all per FFT for
slabs, two for pencils (over sub-groups of :math:`\sqrt P`); each moves the rank's complex block,
:math:`V = 16 N_0 N_1 (N_2/2+1)/P` bytes (float64), of which the fraction :math:`(p-1)/p` leaves the rank:
:math:`t = (p-1)\alpha + V(p-1)/(p B_{a2a})`; compute units :math:`(N/P)\log_2 N` (FFT cost); 6 reductions
every ``diag_every`` steps.
"""
import math

from ...core import perfmodel

FFTS_PER_STEP = 36


def model_params(cfg, results, dtype):
    return {"shape": list(cfg["spectral"]["shape"]), "decomposition": cfg["spectral"]["decomposition"],
            "ffts_per_step": results.get("ffts_per_step", FFTS_PER_STEP),
            "diag_every": cfg["run"].get("diag_every", 10), "value_bytes": perfmodel.value_bytes(dtype)}


def step_model(params, p, net):
    shape = params["shape"]
    n = math.prod(shape)
    ffts = params.get("ffts_per_step", FFTS_PER_STEP)
    vbytes = 2 * params.get("value_bytes", 8) * shape[0] * shape[1] * (shape[2] // 2 + 1) / p
    slab = params.get("decomposition", "slab") == "slab"
    groups = [p] if slab else [g for g in perfmodel.dims_create(p, 2)]
    a2a = 0.0
    for g in groups:
        if g > 1:
            a2a += (g - 1) * net["latency_s"] + vbytes * (g - 1) / g / net["alltoall_Bps_per_rank"]
    out = {"work": n / p * math.log2(n), "memory": n / p, "halo": 0.0, "alltoall": ffts * a2a,
           "reduction": perfmodel.reductions(net, p, 6, params.get("diag_every", 10))}
    if slab and p > shape[0]:
        out["note"] = f"slab decomposition needs P <= N0 = {shape[0]}: use pencils"
    return out


def target_params(units, *, decomposition="pencil", value_bytes=8, diag_every=100, **_):
    return {"shape": perfmodel.cube(units), "diag_every": diag_every, "value_bytes": value_bytes,
            "decomposition": decomposition, "ffts_per_step": FFTS_PER_STEP}


def projections(cal, options, headline):
    geometry = {"decomposition": options.get("decomposition", "pencil")}
    return [perfmodel.mesh_projection("spectral", "spectral DNS 100000^3 (10^15 points)", cal, **geometry)]


describe_units = perfmodel.cube_label
