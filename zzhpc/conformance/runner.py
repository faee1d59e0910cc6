"""Run the whole kit on one backend and report: a table for people, a dict (JSON) for machines."""

import platform

from .result import FAIL, PASS, SKIP, Check, merge_ranks


def check_backend(name, device="local-rank", *, comm=None, gpu_aware_mpi=False, mpi="auto", kernels=True):
    """Collective: check backend ``name`` on every rank of ``comm``; the report dict on every rank.

    ``mpi``: ``"auto"`` runs the MPI checks on ``comm`` when it has 2 ranks or more, and otherwise in a
    2-rank child job under ``mpiexec``; ``"off"`` skips them (reported as not run); ``"only"`` runs only
    them. A backend that cannot be instantiated raises :class:`~zzhpc.errors.ConfigError` on every rank.
    """
    from mpi4py import MPI
    from .. import __version__
    from ..device import get_backend

    comm = comm or MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    be = get_backend(name, device, comm=comm, gpu_aware_mpi=gpu_aware_mpi)
    needs, why64 = {}, ""
    if not be.float64 and rank == 0 and mpi != "only":
        from .solvers import float64_needs, float64_summary

        needs = float64_needs()
        why64 = f"the device has no float64; {float64_summary(needs)}"

    rows = []
    if mpi != "only":
        from .local import local_checks

        local = local_checks(be, why64)
        if kernels:
            from .kernels import kernel_checks

            local += kernel_checks(be)
        gathered = comm.gather(local, root=0)
        rows = merge_ranks(gathered) if rank == 0 else []
    dtypes = ("float32", "float64") if be.float64 else ("float32",)
    if mpi == "off":
        rows.append(Check("mpi", "MPI part", status=SKIP, detail="not run: --no-mpi"))
    elif size >= 2:
        from .mpi import mpi_checks

        m = mpi_checks(be, comm, dtypes)
        rows += m or []
    elif mpi == "only":
        rows.append(Check("mpi", "MPI part", status=FAIL, detail="--mpi-only needs 2 ranks or more"))
    else:
        from .launch import mpi_part

        rows += mpi_part(name, device, gpu_aware_mpi)

    report = None
    if rank == 0:
        from .solvers import precision_modes

        report = {
            "backend": name,
            "zzhpc": __version__,
            "device": be.describe(),
            "ranks": size,
            "host": platform.node(),
            "float64": be.float64,
            "solvers_float64": {n: {"needs_float64": v, "why": w} for n, (v, w) in needs.items()},
            "solvers_precision": precision_modes(be.float64, needs or None),
            "checks": [c.as_dict() for c in rows],
            "counts": {s: sum(c.status == s for c in rows) for s in (PASS, FAIL, SKIP)},
            "passed": not any(c.status == FAIL for c in rows),
        }
    return comm.bcast(report, root=0)


def _fmt(v):
    if v is None:
        return "-"
    if v == 0:
        return "0"
    return f"{v:.2e}"


def format_table(report):
    """The report as a fixed-width table with a one-line verdict."""
    d = report["device"]
    lines = [
        f"zzhpc check-backend {report['backend']}: device {d['device']}, version {d['version'] or '?'}, "
        f"float64 {'yes' if report['float64'] else 'NO'}, gpu_aware_mpi {d['gpu_aware_mpi']}, "
        f"{report['ranks']} rank(s)"
    ]
    head = ("GROUP", "CHECK", "DTYPE", "RESULT", "ERROR", "TOL", "RANKS", "DETAIL")
    rows = [head] + [
        (
            c["group"],
            c["name"],
            c["dtype"] or "-",
            c["status"].upper(),
            _fmt(c["error"]),
            _fmt(c["tolerance"]),
            str(c["ranks"]),
            c["detail"],
        )
        for c in report["checks"]
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
    for r in rows:
        lines.append("  ".join(x.ljust(w) for x, w in zip(r, widths)) + "  " + r[-1])
    n = report["counts"]
    verdict = "PASSED" if report["passed"] else "FAILED"
    lines.append(f"{verdict}: {n[PASS]} passed, {n[FAIL]} failed, {n[SKIP]} not run")
    if not report["float64"] and report["solvers_float64"]:
        lines.append("without float64:")
        for s, v in report["solvers_float64"].items():
            state = {True: "cannot run", False: "runs in float32", None: "unknown"}[v["needs_float64"]]
            lines.append(f"  {s:16s} {state}: {v['why']}")
    if report.get("solvers_precision"):
        lines.append("precision modes per solver (docs/precision.md):")
        for s, modes in report["solvers_precision"].items():
            lines.append(f"  {s:16s} {', '.join(modes) if modes else 'none'}")
    return "\n".join(lines)
