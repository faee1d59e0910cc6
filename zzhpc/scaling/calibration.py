"""Calibrate the model on some runs of a sweep and check it against the others.

The check reports, for every finished run, the measured time per step, the prediction for
dedicated cores (one rank per card, the model used for projections) and the prediction with the
calibration machine's cores shared (``P > cores`` oversubscribes), with relative errors.
"""

import json
import os

from .collect import load_sweep
from .model import calibrate, point, predict, rel_error


def sweep_summaries(sweep_dir):
    meta = load_sweep(sweep_dir)
    out = []
    for r in meta["runs"]:
        path = os.path.join(sweep_dir, "runs", r["name"], "out", "summary.json")
        if os.path.isfile(path):
            with open(path) as fh:
                out.append(json.load(fh))
    return out


def calibrate_sweep(sweep_dir, ranks, net=None, fit="exact"):
    """``(calibration, checks)``: fit on the runs at ``ranks``, predict every finished run."""
    if net is None:
        from .microbench import measure

        net = measure(2, quick=True)
    summaries = [s for s in sweep_summaries(sweep_dir) if s.get("status") == "done"]
    cores = os.cpu_count() or 1
    cal = calibrate([s for s in summaries if s["ranks"] in ranks], net, cores, fit=fit)
    cal["source"] = os.path.abspath(sweep_dir)
    cal["calibration_ranks"] = list(ranks)
    cal["network_measured"] = {
        k: net.get(k) for k in ("ranks", "cpu_model", "logical_cpus", "mpi_library", "load_average")
    }
    checks = []
    for s in summaries:
        q = point(s, net, cores)
        dedicated = predict(cal, q["params"], q["ranks"])["time_per_step_s"]
        shared = predict(cal, q["params"], q["ranks"], shared_cores=True)
        checks.append(
            {
                "ranks": q["ranks"],
                "calibration": q["ranks"] in ranks,
                "measured_s": q["time_per_step_s"],
                "dedicated_s": dedicated,
                "dedicated_error": rel_error(dedicated, q["time_per_step_s"]),
                "shared_s": shared["time_per_step_s"],
                "shared_error": rel_error(shared["time_per_step_s"], q["time_per_step_s"]),
                "memory_mb": q["memory_max_mb"],
                "model_memory_mb": shared["memory_per_rank_bytes"] / 2**20,
                "memory_error": rel_error(shared["memory_per_rank_bytes"] / 2**20, q["memory_max_mb"])
                if q["memory_max_mb"]
                else None,
            }
        )
    cal["checks"] = checks
    return cal, checks


def check_table(cal, checks):
    """Markdown: the fitted constants, then measured against predicted per run."""
    lines = [
        f"**{cal['solver']}** calibrated on ranks {cal['calibration_ranks']} ({cal.get('fit', 'exact')} fit, "
        f"{cal['cores']} logical CPUs): t0 = {cal['t0_s']:.3g} s/step, c = {cal['c_s_per_unit']:.3g} "
        f"s per {cal['unit']} and step, m0 = {cal['mem_fixed_bytes'] / 2**20:.1f} MB, "
        f"b = {cal['mem_bytes_per_unit']:.3g} bytes per {cal['unit']}.",
        "",
        "| ranks | role | measured t/step [s] | model, own cores [s] | error | model, shared cores [s] "
        "| error | memory HWM [MB] | model [MB] | error |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in sorted(checks, key=lambda c: (c["ranks"], c["measured_s"])):

        def pct(x):
            return "-" if x is None else f"{100 * x:+.1f}%"

        lines.append(
            f"| {c['ranks']} | {'calibration' if c['calibration'] else 'prediction'} | "
            f"{c['measured_s']:.4g} | {c['dedicated_s']:.4g} | {pct(c['dedicated_error'])} | "
            f"{c['shared_s']:.4g} | {pct(c['shared_error'])} | "
            f"{c['memory_mb'] or 0:.1f} | {c['model_memory_mb']:.1f} | {pct(c['memory_error'])} |"
        )
    return "\n".join(lines) + "\n"
