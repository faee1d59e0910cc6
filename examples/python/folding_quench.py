"""Temperature quench of a villin folding run through a callback: walkers start unfolded at a high
temperature; after 4,000 steps a callback cools every walker below the folding temperature.

Run: python examples/python/folding_quench.py
"""

import os
import tempfile


import zzhpc

HERE = os.path.dirname(os.path.abspath(__file__))
out = os.environ.get("ZZHPC_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="zzhpc-quench-")
hot, cold = 1.2, 0.6
sim = zzhpc.Simulation(
    os.path.join(HERE, "..", "fold_villin.toml"),
    output=os.path.join(out, "quench"),
    set={
        "folding.replicas": 4,
        "folding.exchange_every": 0,
        "folding.temperatures": [hot] * 4,
        "folding.initial": "native",
        "folding.sample_every": 100,
        "run.diag_every": 500,
    },
)
sim.every(4000, lambda s: s.solver.set_temperatures([cold] * 4) if s.step == 4000 else None)
sim.run(8000)
cols = sim.diagnostics
sim.close()
before = cols["kinetic_t_mean"][(cols["step"] > 2000) & (cols["step"] <= 4000)].mean()
after = cols["kinetic_t_mean"][cols["step"] > 6000].mean()
if sim.comm.Get_rank() == 0:
    print(f"kinetic temperature {before:.3f} before the quench, {after:.3f} after (targets {hot}, {cold})")
assert abs(before - hot) < 0.15 and abs(after - cold) < 0.1
