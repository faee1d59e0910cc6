"""Validation of the Gray-Scott plugin (``zzhpc validate grayscott``): against the exact linear solution
and against SciPy's adaptive integrator for the reaction kinetics."""

import math
import shutil
import tempfile

from mpi4py import MPI

from zzhpc.core import Metric, validation_case
from zzhpc.core.deck import resolve
from zzhpc.core.run import run


def run_deck(params, *, steps=None, t_end=None, dt=None, backend="numpy", comm=MPI.COMM_SELF):
    """Run ``[grayscott] = params`` in-process with no field output; return the summary."""
    deck = {
        "solver": "grayscott",
        "backend": {"name": backend},
        "run": {"diag_every": 10**9, "progress_every": 1e9, "steps": steps or 0},
        "grayscott": dict(params),
        "output": {"fields": False},
    }
    if t_end is not None:
        deck["run"]["t_end"] = t_end
    if dt is not None:
        deck["run"]["dt"] = dt
    tmp = tempfile.mkdtemp(prefix="zzhpc-gs-") if comm.Get_rank() == 0 else None
    deck["output"]["dir"] = comm.bcast(tmp, root=0)
    try:
        cls, cfg = resolve(deck, comm.Get_size())
        return run(cls, cfg, comm, quiet=True, install_signals=False)
    finally:
        comm.Barrier()
        if comm.Get_rank() == 0:
            shutil.rmtree(tmp, ignore_errors=True)


@validation_case("grayscott-linear-mode", "grayscott")
def linear_mode(quick=False):
    """u = 1 + A sin(...), v = 0 stays linear: the amplitude follows the scheme's exact factor, and
    exp(-(F + D_u k^2) t) up to the O(h^2) truncation error."""
    n = 32 if quick else 128
    s = run_deck(
        {"shape": [n, n], "lengths": [1.0, 1.0], "du": 1e-3, "initial": "mode", "amplitude": 0.01, "mode": [1, 2]},
        t_end=5.0 if quick else 20.0,
        dt=0.02 if quick else 0.005,
    )
    d, r = s["diagnostics"], s["results"]
    mode_max = 1.0  # the cell centres sample sin(2 pi x) sin(4 pi y) below its peak of 1
    for m, k in ((1, n), (2, n)):
        mode_max *= max(abs(math.sin(2 * math.pi * m * (i + 0.5) / k)) for i in range(k))
    amp = d["mode_amplitude"] / (0.01 * mode_max)
    return [
        Metric("amplitude / scheme's exact factor", amp / r["discrete_decay"], 1.0, 1e-10, "abs"),
        Metric(
            "max error / amplitude (vs exp(-(F + Du k^2) t))",
            d["error_max"] / d["mode_amplitude"],
            0.0,
            2e-2 if quick else 2e-3,
            "max",
            f"O(h^2 + dt), t = {s['time']:.4g}",
        ),
    ]


def _kinetics_reference(t_end, u0=0.5, v0=0.25, feed=0.04, kill=0.06):
    from scipy.integrate import solve_ivp

    def rhs(_, y):
        u, v = y
        return [-u * v * v + feed * (1 - u), u * v * v - (feed + kill) * v]

    sol = solve_ivp(rhs, (0, t_end), [u0, v0], method="DOP853", rtol=1e-12, atol=1e-14)
    return sol.y[:, -1]


@validation_case("grayscott-kinetics", "grayscott")
def kinetics(quick=False):
    """A uniform state follows the reaction ODEs: forward Euler against SciPy's DOP853 (rtol 1e-12),
    error falling at first order in dt."""
    t_end = 50.0 if quick else 200.0
    ref = _kinetics_reference(t_end)
    dts = [0.5, 0.25, 0.125] if quick else [0.5, 0.25, 0.125, 0.0625]
    errs = []
    for dt in dts:
        d = run_deck({"shape": [4, 4], "initial": "uniform"}, t_end=t_end, dt=dt)["diagnostics"]
        errs.append(max(abs(d["u_mean"] - ref[0]), abs(d["v_mean"] - ref[1])))
    orders = [math.log(errs[i] / errs[i + 1], 2) for i in range(len(errs) - 1)]
    return [Metric(f"order dt {dts[i]}->{dts[i + 1]}", o, 1.0, 0.1, "abs") for i, o in enumerate(orders)] + [
        Metric(f"error at dt {dts[-1]}", errs[-1], 0.0, 1e-3, "max", "max over u, v")
    ]
