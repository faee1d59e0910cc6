"""Validation and benchmark cases of the incompressible solver (``zzhpc validate incompressible``,
``zzhpc bench incompressible``). Figures measured with them are in docs/incompressible.md."""

import json
import math
import os
import sys

import numpy as np
from mpi4py import MPI

from ...core import Metric, benchmark_case, validation_case
from ...core.harness import run_mpi_json
from .validation import ghia_comparison, run_deck

FIGURES = os.path.join("runs", "validate", "incompressible")


def _ghia_metrics(re, quick, cells_quick, tol_quick, cells_full=128, tol_full=0.01):
    cells = cells_quick if quick else cells_full
    tol = tol_quick if quick else tol_full
    fig = os.path.join(FIGURES, f"ghia_re{re}_{cells}.png")
    r = ghia_comparison([re], cells, 1e-6, figure=fig)[re]
    note = f"{cells}x{cells} cells, steady at t = {r['time']:.4g} ({r['steps']} steps), {fig}"
    out = [
        Metric(f"Re {re}: max |u - Ghia| (x = 0.5)", r["u"], 0.0, tol, "max", note),
        Metric(f"Re {re}: max |v - Ghia| (y = 0.5)", r["v"], 0.0, tol, "max"),
        Metric(f"Re {re}: reached steady state", float(r["steady"]), 1.0, 0.0, "abs"),
    ]
    for k, v in r["anomalous"].items():
        out.append(
            Metric(f"Re {re}: |dev| at table anomaly {k}", v, 0.0, 1.0, "max", "printed-table anomaly, reported only")
        )
    return out


@validation_case("cavity-ghia-re100", "incompressible")
def ghia_re100(quick=False):
    """Steady lid-driven cavity, Re = 100, centreline profiles against Ghia et al. (1982) Tables I/II.

    Full: 128^2 cells (Ghia's 129^2 grid lines), max |deviation| < 0.01 of the lid speed. Quick: 32^2
    cells, < 0.015."""
    return _ghia_metrics(100, quick, 32, 0.015)


@validation_case("cavity-ghia-re400", "incompressible")
def ghia_re400(quick=False):
    """Steady cavity, Re = 400, against Ghia et al. (1982). Full: 128^2 cells, < 0.02. Quick: 32^2, < 0.06."""
    return _ghia_metrics(400, quick, 32, 0.06, tol_full=0.02)


@validation_case("cavity-ghia-re1000", "incompressible")
def ghia_re1000(quick=False):
    """Steady cavity, Re = 1000, against Ghia et al. (1982). Full: 128^2 cells, < 0.03. Quick: 48^2, < 0.1."""
    return _ghia_metrics(1000, quick, 48, 0.1, tol_full=0.03)


def poiseuille_errors(ns, comm=MPI.COMM_SELF):
    """Max error of steady plane Poiseuille flow (u_centre = 1) on ``4 x n`` cells for each ``n``."""
    errs = []
    for n in ns:
        s = run_deck(
            {
                "shape": [4, n],
                "periodic": [True, False],
                "reynolds": 1.0,
                "moving_wall": "none",
                "body_force": [8.0, 0.0],
                "steady_tol": 1e-10,
            },
            t_end=50.0,
            comm=comm,
        )
        errs.append(s["results"]["poiseuille"]["max_abs_error"])
    return errs


@validation_case("channel-poiseuille-order", "incompressible")
def poiseuille_order(quick=False):
    """Laminar channel: the error against the exact parabola falls at second order under refinement."""
    ns = [8, 16, 32] if quick else [16, 32, 64, 128]
    errs = poiseuille_errors(ns)
    out = [
        Metric(
            f"order {ns[i]}->{ns[i + 1]}",
            math.log2(errs[i] / errs[i + 1]),
            2.0,
            0.1,
            "abs",
            f"errors {errs[i]:.3e} -> {errs[i + 1]:.3e}",
        )
        for i in range(len(ns) - 1)
    ]
    return out


def channel(n, profile, *, re=10.0, length=4.0, comm=MPI.COMM_SELF):
    """Steady 2-D channel ``[0, length] x [0, 1]`` on ``length n x n`` cells: inflow at x = 0 (bulk speed 1,
    ``profile`` uniform or parabolic), outflow at x = length, walls at y = 0 and 1, ``Re = U_b H / nu``."""
    return run_deck(
        {
            "shape": [int(length * n), n],
            "lengths": [length, 1.0],
            "reynolds": re,
            "inflow": "x_lo",
            "outflow": "x_hi",
            "inflow_profile": profile,
            "steady_tol": 1e-8,
        },
        t_end=200.0,
        comm=comm,
    )


def _at(channel_results, x):
    c = channel_results
    return c["max_deviation_from_poiseuille"][int(np.argmin(np.abs(np.subtract(c["position"], x))))]


@validation_case("channel-inflow-outflow", "incompressible")
def channel_inflow(quick=False):
    """Inflow/outflow channel (Re 10, length 4): a parabolic inflow stays Poiseuille down the channel, its
    deviation falling at second order; a plug inflow (Re 20, length 8) develops to the same profile; the
    outflow flux equals the inflow flux and div u sits at the pressure solve's tolerance."""
    ns = [8, 16] if quick else [8, 16, 32, 64]
    devs, worst = [], {"imbalance": 0.0, "div": 0.0}
    for n in ns:
        r = channel(n, "parabolic")["results"]
        devs.append(max(r["channel"]["max_deviation_from_poiseuille"]))
        worst["imbalance"] = max(worst["imbalance"], r["mass_flux"]["relative_imbalance"])
        worst["div"] = max(worst["div"], r["max_divergence"])
    out = [
        Metric(
            f"parabolic inflow: order of max deviation from Poiseuille {ns[i]}->{ns[i + 1]}",
            math.log2(devs[i] / devs[i + 1]),
            2.0,
            0.1,
            "abs",
            f"{devs[i]:.3e} -> {devs[i + 1]:.3e} (units of the bulk speed)",
        )
        for i in range(len(ns) - 1)
    ]
    n = ns[-1]
    r = channel(n, "uniform", re=20.0, length=8.0)["results"]
    c = r["channel"]
    out += [
        Metric(f"plug inflow {8 * n}x{n}: deviation from Poiseuille at the inlet", _at(c, 0.0), 0.0, 0.5, "min"),
        Metric("plug inflow: deviation at x = H", _at(c, 1.0), 0.0, 0.1, "max", "boundary layers merging"),
        Metric(
            "plug inflow: deviation at the outlet / parabolic inflow's deviation",
            c["max_deviation_from_poiseuille"][-1] / devs[-1],
            1.0,
            0.05,
            "abs",
            "developed to the discrete Poiseuille profile",
        ),
        Metric(
            "max relative mass imbalance |Q_in - Q_out| / Q_in",
            max(worst["imbalance"], r["mass_flux"]["relative_imbalance"]),
            0.0,
            1e-9,
            "max",
        ),
        Metric(
            "max |div u| (steady channels)",
            max(worst["div"], r["max_divergence"]),
            0.0,
            1e-9,
            "max",
            "pressure KSP rtol 1e-9",
        ),
    ]
    return out


@validation_case("cavity3d-divergence", "incompressible")
def cavity3d(quick=False):
    """3-D lid-driven cube (Re = 100): runs, stays divergence-free to the pressure solve's tolerance."""
    n, steps = (16, 40) if quick else (32, 400)
    s = run_deck({"shape": [n, n, n], "reynolds": 100.0, "wall_velocity": [1.0, 0.0, 0.0]}, steps=steps)
    r = s["results"]
    return [
        Metric(
            f"{n}^3, {steps} steps: max |div u|",
            r["max_divergence"],
            0.0,
            1e-8,
            "max",
            f"pressure KSP rtol {r['ksp']['pressure']['rtol']:g}",
        ),
        Metric(
            f"{n}^3: u at the centre (x=0.5, y=0.5)",
            float(np.interp(0.5, r["u_vertical_centreline"]["y"], r["u_vertical_centreline"]["u"])),
            0.0,
            -1e-3,
            "max",
            "return flow below the lid",
        ),
    ]


def run_mpi(ranks, payload, timeout=900):
    """Run this module's worker under ``mpiexec -n ranks``; return its JSON answer."""
    return run_mpi_json(
        ranks, [sys.executable, "-m", "zzhpc.solvers.incompressible.cases", json.dumps(payload)], timeout=timeout
    )


@validation_case("incompressible-ranks", "incompressible")
def ranks(quick=False):
    """The same cavity on 1, 2 (and 4) ranks: centreline profiles agree to the KSP tolerance."""
    counts = [1, 2] if quick else [1, 2, 4]
    payload = {"task": "profile", "params": {"shape": [32, 24], "reynolds": 100.0}, "steps": 50}
    res = {n: run_mpi(n, payload) for n in counts}
    out = []
    for n in counts[1:]:
        d = max(
            np.max(np.abs(np.subtract(res[n]["u"], res[1]["u"]))), np.max(np.abs(np.subtract(res[n]["v"], res[1]["v"])))
        )
        out.append(
            Metric(
                f"{n} ranks vs 1: max profile difference", float(d), 0.0, 1e-8, "max", f"process grid {res[n]['grid']}"
            )
        )
    return out


@benchmark_case("incompressible-step", "incompressible")
def bench(quick=False):
    """Time per step, KSP iterations per step and share of the pressure solve; 2-D and 3-D cavities.

    No peer code here: ``peer`` is 'none' and the ratio is absent; the pressure share is from the solver's
    own phase timers (``timers_s.pressure_solve``), as PETSc's -log_view would attribute KSPSolve."""
    sizes = (
        [([64, 64], 40), ([16, 16, 16], 10)] if quick else [([128, 128], 200), ([256, 256], 100), ([64, 64, 64], 20)]
    )
    rows = []
    for shape, steps in sizes:
        for n in (1, 2):
            r = run_mpi(
                n,
                {
                    "task": "bench",
                    "params": {"shape": shape, "reynolds": 100.0, "wall_velocity": [1.0] + [0.0] * (len(shape) - 1)},
                    "steps": steps,
                },
                timeout=1800,
            )
            rows.append(
                dict(
                    {
                        "label": f"cavity {'x'.join(map(str, shape))} cells, {n} rank(s)",
                        "peer": "none",
                        "ratio": None,
                        "ranks": n,
                        "cells": shape,
                        "steps": steps,
                    },
                    **r,
                )
            )
    return rows


def _worker(args):
    comm = MPI.COMM_WORLD
    s = run_deck(args["params"], steps=args["steps"], comm=comm)
    r = s["results"]
    if args["task"] == "profile":
        ans = {"u": r["u_vertical_centreline"]["u"], "v": r["v_horizontal_centreline"]["v"], "grid": r["process_grid"]}
    else:
        steps = s["steps_this_run"]
        t = s["timers_s"]
        loop = s["time_per_step_s"] * steps
        p, m = r["ksp"]["pressure"], r["ksp"]["momentum"]
        ans = {
            "zzhpc_s_per_step": s["time_per_step_s"],
            "pressure_ksp_its_per_step": p["iterations_total"] / steps,
            "momentum_ksp_its_per_step": sum(x["iterations_total"] for x in m) / steps,
            "pressure_solve_share": t["pressure_solve"]["max"] / loop,
            "momentum_solve_share": t["momentum_solve"]["max"] / loop,
            "halo_share": t.get("halo", {"max": 0.0})["max"] / loop,
            "ksp": f"{p['ksp_type']}/{p['pc_type']}",
            "memory_hwm_mb_max": s["memory_hwm_mb"]["max"] if s["memory_hwm_mb"] else None,
        }
    if comm.Get_rank() == 0:
        print(json.dumps(ans))


if __name__ == "__main__":
    _worker(json.loads(sys.argv[1]))
