"""The folding solver's cost per step for ``zzhpc scale`` / ``zzhpc project`` (docs/scaling.md).

Replica exchange: replicas are independent; compute and memory units :math:`\\lceil R/P\\rceil`; one small
all-gather every ``exchange_every`` steps.
"""

import math

from ...core import perfmodel


def model_params(cfg, results, dtype):
    return {"replicas": cfg["folding"]["replicas"], "exchange_every": cfg["folding"]["exchange_every"]}


def step_model(params, p, net):
    r = params["replicas"]
    return {
        "work": math.ceil(r / p),
        "memory": math.ceil(r / p),
        "halo": 0.0,
        "alltoall": 0.0,
        "reduction": perfmodel.reductions(net, p, 1, params.get("exchange_every", 100)),
    }


def target_params(units, *, exchange_every=100, **_):
    return {"replicas": int(units), "exchange_every": exchange_every}
