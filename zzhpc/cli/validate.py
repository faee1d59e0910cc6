"""``zzhpc validate``: run the registered validation cases and print case, metric, measured, reference."""

import sys
import time

from ..errors import ConfigError


def add_parser(sub):
    p = sub.add_parser(
        "validate",
        help="check this install against published data and peer codes",
        description="Run validation cases (all, or those named: a case name or a solver "
        "name) and print a table. Exit status 1 if any metric fails.",
        epilog="Example: zzhpc validate heat --quick --json runs/validate.json",
    )
    p.add_argument("cases", nargs="*", help="case or solver names (default: all)")
    p.add_argument("--quick", action="store_true", help="the short forms that CI runs")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--list", action="store_true", help="list the cases and stop")
    add_precision(p)


def add_precision(p):
    p.add_argument(
        "--precision",
        choices=("uniform", "mixed"),
        help="backend.precision of every deck the cases run that does not set it (docs/precision.md); "
        "cases that call the force kernels directly keep theirs",
    )


def apply_precision(args):
    """``--precision``: the default of ``backend.precision`` for the decks of this process and its children."""
    import os

    if getattr(args, "precision", None):
        os.environ["ZZHPC_PRECISION"] = args.precision


def select(table, names):
    if not names:
        return list(table.values())
    out = []
    for n in names:
        hits = [c for c in table.values() if c["name"] == n or c["solver"] == n]
        if not hits:
            raise ConfigError("case", f"no such case or solver (known: {', '.join(sorted(table))})", n)
        out += [h for h in hits if h not in out]
    return out


def main(args):
    from ..io.summary import write_json_atomic
    from ..core.registry import validation_cases

    cases = select(validation_cases(), args.cases)
    apply_precision(args)
    if args.json and not args.list:  # before the first case runs: a bad path must not cost the results
        from ..io.outdir import check_file_writable

        check_file_writable(args.json)
    if args.list:
        for c in cases:
            print(f"{c['name']:28s} {c['solver']:10s} {(c['description'] or '').strip().splitlines()[0]}")
        return 0
    rows, failed = [], 0
    print(f"{'case':26s} {'metric':34s} {'measured':>13s} {'reference':>13s} {'tolerance':>11s}  result")
    for case in cases:
        t0 = time.perf_counter()
        try:
            metrics = case["run"](quick=args.quick)
        except Exception as exc:  # a case that crashes is a failure with its reason, not a traceback
            failed += 1
            print(f"{case['name']:26s} {'(error)':34s} {type(exc).__name__}: {exc}")
            rows.append({"case": case["name"], "error": f"{type(exc).__name__}: {exc}"})
            continue
        for m in metrics:
            ok = m.passed
            failed += not ok
            tol = f"{m.tolerance:.3g}" + {"rel": " rel", "abs": " abs", "max": " max", "min": " min"}[m.mode]
            ref = "" if m.reference is None else f"{m.reference:.6g}"
            print(
                f"{case['name']:26s} {m.name:34s} {m.measured:13.6g} {ref:>13s} {tol:>11s}  "
                f"{'pass' if ok else 'FAIL'}{'  ' + m.note if m.note else ''}"
            )
            rows.append(
                {
                    "case": case["name"],
                    "metric": m.name,
                    "measured": m.measured,
                    "reference": m.reference,
                    "tolerance": m.tolerance,
                    "mode": m.mode,
                    "passed": ok,
                    "note": m.note,
                    "seconds": time.perf_counter() - t0,
                }
            )
        sys.stdout.flush()
    print(f"validate: {len(rows) - failed} passed, {failed} failed")
    if args.json:
        write_json_atomic(args.json, {"quick": args.quick, "precision": args.precision or "deck", "results": rows})
    return 1 if failed else 0
