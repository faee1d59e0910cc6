r"""The spectral solver's cost per step for ``zzhpc scale`` / ``zzhpc project`` (docs/scaling.md).

Pseudo-spectral, 2N-storage RK4: ``F`` distributed 3-D FFTs per step (40: 5 stages x 8; runs record theirs
in ``results.ffts_per_step``, 36 for summaries from before it), one all-to-all per FFT for
slabs, two for pencils (over sub-groups of :math:`\sqrt P`); each moves the rank's complex block,
:math:`V = 16 N_0 N_1 (N_2/2+1)/P` bytes (float64), of which the fraction :math:`(p-1)/p` leaves the rank:
:math:`t = (p-1)\alpha + V(p-1)/(p B_{a2a})`; compute units :math:`(N/P)\log_2 N` (FFT cost); 6 reductions
every ``diag_every`` steps.
"""

import math

from ...core import perfmodel

FFTS_PER_STEP = 40  # Carpenter-Kennedy 2N RK4, 5 stages x 8 FFTs (docs/spectral.md)


def model_params(cfg, results, dtype):
    return {
        "shape": list(cfg["spectral"]["shape"]),
        "decomposition": cfg["spectral"]["decomposition"],
        "ffts_per_step": results.get("ffts_per_step", FFTS_PER_STEP),
        "diag_every": cfg["run"].get("diag_every", 10),
        "value_bytes": perfmodel.value_bytes(dtype),
    }


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
    out = {
        "work": n / p * math.log2(n),
        "memory": n / p,
        "halo": 0.0,
        "alltoall": ffts * a2a,
        "reduction": perfmodel.reductions(net, p, 6, params.get("diag_every", 10)),
    }
    if slab and p > shape[0]:
        out["note"] = f"slab decomposition needs P <= N0 = {shape[0]}: use pencils"
    return out


def target_params(units, *, decomposition="pencil", value_bytes=8, diag_every=100, **_):
    return {
        "shape": perfmodel.cube(units),
        "diag_every": diag_every,
        "value_bytes": value_bytes,
        "decomposition": decomposition,
        "ffts_per_step": FFTS_PER_STEP,
    }


def projections(cal, options, headline):
    geometry = {"decomposition": options.get("decomposition", "pencil")}
    pj = perfmodel.mesh_projection("spectral", "spectral DNS 100000^3 (10^15 points)", cal, **geometry)
    pj.note = fit_note
    return [pj]


def fit_note(cal, args, points=1e15):
    """The memory arithmetic of a spectral mesh of ``points`` on the cards, in plain words."""
    room = args.cards * args.memory_gb * 1e9 / points
    b = cal["mem_bytes_per_unit"]
    return (
        f"\nA {points:.3g}-point mesh on {args.cards:,} cards of {args.memory_gb:g} GB leaves "
        f"{args.cards:,} x {args.memory_gb:g}e9 B / {points:.3g} = {room:.3g} bytes per point; this "
        f"calibration needs {b:.3g}. The velocity field alone, three float32 components, is 12 bytes per "
        f"point (even stored only on the 2/3-rule modes, 12 x (2/3)^3 = 3.6, with nothing left for a "
        f"Runge-Kutta register or a transform), so such a mesh {'fits' if b <= room else 'cannot fit'}.\n"
    )


describe_units = perfmodel.cube_label
