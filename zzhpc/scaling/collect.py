"""Collect a sweep's ``summary.json`` files into rows: one per run, then one per rank count.

Per run: time per step (the run loop's wall time over its steps), each timer phase per step (the
phase's total, mean over ranks, over the steps of the run: it includes set-up work done inside
that phase, e.g. the first neighbour list; ``io`` and ``checkpoint`` are per run, as a sweep writes
them once at the end), memory high-water mark per rank, work units.
Per rank count: min / median / max of the repeats, speedup and parallel efficiency against the
smallest rank count ``P0``:

* strong scaling: ``S(P) = P0 T(P0) / T(P)``, ``E(P) = S(P) / P``;
* weak scaling: ``E(P) = T(P0) / T(P)``, scaled speedup ``S(P) = P E(P)``.
"""

import json
import os
import statistics

from ..parallel.timers import MODEL_PHASES, PHASE_CHECKPOINT, PHASE_IO
from .sweep import read_state
from .workloads import workload

# The model's phases first, then "fft" (the local transforms, which spectral solvers time apart).
LOOP_PHASES = MODEL_PHASES[:3] + ("fft",) + MODEL_PHASES[3:]
PER_RUN_PHASES = (PHASE_IO, PHASE_CHECKPOINT)


def load_sweep(sweep_dir):
    with open(os.path.join(sweep_dir, "sweep.json")) as fh:
        return json.load(fh)


def run_rows(sweep_dir):
    """One dict per run that has a summary (any status), in plan order."""
    meta = load_sweep(sweep_dir)
    wl = workload(meta["solver"], meta["key"])
    rows = []
    for r in meta["runs"]:
        run_dir = os.path.join(sweep_dir, "runs", r["name"])
        path = os.path.join(run_dir, "out", "summary.json")
        state = read_state(run_dir)
        if not os.path.isfile(path):
            rows.append(
                {
                    "name": r["name"],
                    "ranks": r["ranks"],
                    "repeat": r["repeat"],
                    "status": state.get("status", "pending"),
                }
            )
            continue
        with open(path) as fh:
            s = json.load(fh)
        rows.append(summary_row(s, r["name"], r["repeat"], wl, state))
    return rows


def summary_row(s, name, repeat, wl, state=None):
    """A flat row from one ``summary.json``."""
    steps = s.get("steps_this_run") or 0
    prov = s.get("provenance") or {}
    cfg = prov.get("config") or {}
    units = wl.count(cfg, s.get("results"))
    ranks = s["ranks"]
    mem = s.get("memory_hwm_mb") or {}
    per_rank = mem.get("per_rank") or []
    backend = s.get("backend") or {}
    row = {
        "name": name,
        "ranks": ranks,
        "repeat": repeat,
        "status": (state or {}).get("status") or s.get("status"),
        "units": units,
        "unit": wl.unit,
        "units_per_rank": units / ranks if units else None,
        "steps": steps,
        "time_per_step_s": s.get("time_per_step_s"),
        "wall_time_s": s.get("wall_time_s"),
        "memory_max_mb": mem.get("max"),
        "memory_mean_mb": sum(per_rank) / len(per_rank) if per_rank else None,
        "backend": f"{backend.get('name', '?')} {backend.get('version', '')}".strip(),
        "device": backend.get("device"),
        "dtype": s.get("dtype"),
        "cpu_model": prov.get("cpu_model"),
        "hosts": ",".join(prov.get("hosts") or []),
        "mpi_library": (prov.get("mpi_library") or "").split(", package")[0],
        "loadavg_before": ((state or {}).get("loadavg_before") or [None])[0],
    }
    # The loop-only timers (newer summaries) leave set-up out of the per-step phases.
    loop = s.get("loop_timers_s")
    for phase, t in (loop or s.get("timers_s") or {}).items():
        if phase in PER_RUN_PHASES and loop is None:  # the final checkpoint and output are once per run, not per step
            row[f"{phase}_run_s"] = t["mean"]
            continue
        row[f"{phase}_s"] = t["mean"] / steps if steps else None
        row[f"{phase}_max_s"] = t["max"] / steps if steps else None
    return row


def phases_of(rows):
    names = []
    for r in rows:
        for k in r:
            if k.endswith("_max_s"):
                p = k[: -len("_max_s")]
                if p not in names:
                    names.append(p)
    order = {p: i for i, p in enumerate(LOOP_PHASES)}
    return sorted(names, key=lambda p: (order.get(p, len(order)), p))


def aggregate(rows, mode):
    """One dict per rank count from the runs that finished (``status == "done"``)."""
    done = [r for r in rows if r.get("status") == "done" and r.get("time_per_step_s")]
    phases = phases_of(done)
    by_p = {}
    for r in done:
        by_p.setdefault(r["ranks"], []).append(r)
    out = []
    for p in sorted(by_p):
        rs = by_p[p]
        t = [r["time_per_step_s"] for r in rs]
        agg = {
            "ranks": p,
            "runs": len(rs),
            "units": rs[0]["units"],
            "units_per_rank": rs[0]["units_per_rank"],
            "unit": rs[0]["unit"],
            "t_min_s": min(t),
            "t_median_s": statistics.median(t),
            "t_max_s": max(t),
            "memory_max_mb": max(r["memory_max_mb"] or 0 for r in rs),
        }
        for ph in phases:
            vals = [r.get(f"{ph}_s") or 0.0 for r in rs]
            agg[f"{ph}_s"] = statistics.median(vals)
        out.append(agg)
    if out:
        p0, t0 = out[0]["ranks"], out[0]["t_median_s"]
        for a in out:
            if mode == "weak":
                a["efficiency"] = t0 / a["t_median_s"]
                a["speedup"] = a["ranks"] / p0 * a["efficiency"]
            else:
                a["speedup"] = p0 * t0 / a["t_median_s"]
                a["efficiency"] = a["speedup"] / a["ranks"]
    return out, phases


def machine(rows):
    """Where the sweep ran: CPU model, logical CPUs, hosts, backend, MPI library."""
    r = next((r for r in rows if r.get("cpu_model")), {})
    loads = [x["loadavg_before"] for x in rows if x.get("loadavg_before") is not None]
    return {
        "cpu_model": r.get("cpu_model"),
        "logical_cpus": os.cpu_count(),
        "hosts": r.get("hosts"),
        "backend": r.get("backend"),
        "device": r.get("device"),
        "dtype": r.get("dtype"),
        "mpi_library": r.get("mpi_library"),
        "load_average": (min(loads), max(loads)) if loads else None,
    }
