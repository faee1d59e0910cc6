"""Calibrations of the performance model from a ``zzhpc bench --json`` file (``zzhpc project ... --bench``).

A bench row that can calibrate carries ``calibration``: ``solver``, ``precision`` and either one point
(``ranks``, the step model's ``params``, ``time_per_step_s``, ``memory_hwm_mb_max``; e.g. ``md_lj``'s rows)
or ``constants`` that the solver's projections read from the calibration (``md_mw_lammps``'s rows: the
measured mW/LJ cost and memory ratios). Rows are grouped by solver and precision; each group's points are
fitted as a sweep's runs are (:func:`.model.fit_points`), so the 1- and 2-rank runs of one bench give
``t0, c, m0, b`` exactly as ``zzhpc project calibrate SWEEP --ranks 1,2`` does. Constants measured on one
rank are preferred (the rank count the earlier ratios were measured on), else their mean over rows.
Nothing here names a solver.
"""

import datetime
import json
import os

from ..errors import InputError
from .model import fit_points, make_point


def load_bench(path):
    try:
        with open(path) as fh:
            bench = json.load(fh)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a bench JSON file (zzhpc bench --json): {exc}") from None
    if not isinstance(bench, dict) or not isinstance(bench.get("results"), list):
        raise InputError(path, "not a bench JSON file: expected an object with a 'results' list")
    return bench


def bench_groups(bench):
    """``{(solver, precision): {"points": [...], "constants": [(ranks, {...}), ...], "cases": [...]}}``."""
    groups = {}
    for row in bench["results"]:
        c = row.get("calibration")
        if not c:
            continue
        g = groups.setdefault((c["solver"], c["precision"]), {"points": [], "constants": [], "cases": []})
        if row.get("case") and row["case"] not in g["cases"]:
            g["cases"].append(row["case"])
        if "params" in c:
            g["points"].append(c)
        if c.get("constants"):
            g["constants"].append((c.get("ranks"), c["constants"]))
    return groups


def _constants(pairs):
    """One rank's values where a row on one rank has them, else the mean over the rows."""
    one = [c for r, c in pairs if r == 1]
    use = one or [c for _, c in pairs]
    keys = sorted({k for c in use for k in c})
    return {k: sum(c[k] for c in use if k in c) / sum(1 for c in use if k in c) for k in keys}


def calibrate_bench(path, net, cores=None, fit="origin", precision=None, memory="fit"):
    """``[(calibration, checks), ...]``: one per solver and precision of the bench file at ``path``
    (``precision``: only that one). A group without points (constants only) cannot be fitted: skipped.

    ``memory="fit"``: ``m0`` and ``b`` fitted to the peak resident memory of the points, as for a sweep;
    ``"arrays"``: ``b`` = the solver's counted bytes per unit on one rank (``bytes_per_unit_arrays``) and
    ``m0`` the mean of what the peaks leave over (interpreter, libraries, temporaries): for a bench at one
    size, where the 1- and 2-rank peaks differ by less than their noise."""
    bench = load_bench(path)
    cores = cores or os.cpu_count() or 1
    written = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
    out = []
    for (solver, prec), g in sorted(bench_groups(bench).items()):
        if precision and prec != precision:
            continue
        if not g["points"]:
            continue
        pts = [
            make_point(solver, c["params"], c["ranks"], c["time_per_step_s"], c.get("memory_hwm_mb_max"), net, cores)
            for c in g["points"]
        ]
        cal = fit_points(pts, solver, net, cores, fit=fit)
        # When measured: the points' own stamps (a copied file keeps them), else the file's time.
        stamps = sorted(c["measured_utc"] for c in g["points"] if c.get("measured_utc"))
        when = datetime.datetime.fromisoformat(stamps[0]) if stamps else written
        arrays = [c["bytes_per_unit_arrays"] for c in g["points"] if c.get("bytes_per_unit_arrays") and c["ranks"] == 1]
        cal.update(
            {
                "name": f"{solver} ({prec})",
                "precision": prec,
                "source": f"{os.path.abspath(path)} ({', '.join(g['cases'])}; {prec}; "
                f"measured {when:%Y-%m-%d %H:%M} UTC)",
                "bench": {
                    "path": os.path.abspath(path),
                    "measured_utc": when.isoformat(timespec="seconds"),
                    "machine": bench.get("machine"),
                    "quick": bench.get("quick"),
                    "cases": g["cases"],
                },
                "calibration_ranks": sorted({q["ranks"] for q in pts}),
                "constants": _constants(g["constants"]),
                "arrays_bytes_per_unit": arrays[0] if arrays else None,
            }
        )
        if memory == "arrays":
            if not cal["arrays_bytes_per_unit"]:
                raise InputError(
                    path, f"{cal['name']}: no counted bytes per unit on one rank for --bytes-per-unit arrays"
                )
            b = cal["arrays_bytes_per_unit"]
            left = [q["memory_max_mb"] * 2**20 - b * q["memory_units"] for q in pts if q["memory_max_mb"]]
            cal["mem_bytes_per_unit"], cal["mem_fixed_bytes"] = b, sum(left) / len(left)
            cal["warnings"] = [w for w in cal["warnings"] if not w.startswith(("mem_fixed", "mem_bytes"))]
        cal["memory_from"] = memory
        if bench.get("quick"):
            cal["warnings"].append("calibrated on a --quick bench: small sizes, for testing the pipeline only")
        out.append((cal, check_points(cal, pts)))
    if not out:
        raise InputError(
            path,
            "no bench row carries a calibration point"
            + (f" in precision '{precision}'" if precision else "")
            + " (expected e.g. the rows of `zzhpc bench md_lj --json`)",
        )
    return out


def check_points(cal, pts):
    """Measured against predicted for every point (all of them calibrate), as :func:`.calibration.check_table` wants."""
    from .model import predict, rel_error

    checks = []
    for q in pts:
        dedicated = predict(cal, q["params"], q["ranks"])
        shared = predict(cal, q["params"], q["ranks"], shared_cores=True)
        mem = shared["memory_per_rank_bytes"] / 2**20
        checks.append(
            {
                "ranks": q["ranks"],
                "calibration": True,
                "measured_s": q["time_per_step_s"],
                "dedicated_s": dedicated["time_per_step_s"],
                "dedicated_error": rel_error(dedicated["time_per_step_s"], q["time_per_step_s"]),
                "shared_s": shared["time_per_step_s"],
                "shared_error": rel_error(shared["time_per_step_s"], q["time_per_step_s"]),
                "memory_mb": q["memory_max_mb"],
                "model_memory_mb": mem,
                "memory_error": rel_error(mem, q["memory_max_mb"]) if q["memory_max_mb"] else None,
            }
        )
    return checks
