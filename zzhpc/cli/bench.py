"""``zzhpc bench``: registered benchmarks, zzhpc and its peer timed in the same run; JSON output."""

import platform

from .validate import add_precision, apply_precision, select


def add_parser(sub):
    p = sub.add_parser(
        "bench",
        help="time zzhpc against peer codes, side by side",
        description="Run benchmark cases (all, or those named) and print time per step of "
        "zzhpc and of the peer, their ratio and memory per unit of work.",
        epilog="Example: zzhpc bench heat --quick --json runs/bench.json",
    )
    p.add_argument("cases", nargs="*", help="case or solver names (default: all)")
    p.add_argument("--quick", action="store_true", help="small sizes, for CI")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    add_precision(p)
    p.add_argument("--list", action="store_true", help="list the benchmark cases and stop")


def main(args):
    from ..io.summary import write_json_atomic
    from ..core.registry import benchmark_cases
    from ..io.provenance import cpu_model

    cases = select(benchmark_cases(), args.cases)
    if args.list:
        for c in cases:
            print(f"{c['name']:28s} {c['solver']:10s} {(c['description'] or '').strip().splitlines()[0]}")
        return 0
    if args.json:  # before the first case runs: a bad path must not cost the timings
        from ..io.outdir import check_file_writable

        check_file_writable(args.json)
    results = []
    apply_precision(args)
    for case in cases:
        res = case["run"](quick=args.quick)
        for row in res if isinstance(res, list) else [res]:
            row = dict({"case": case["name"]}, **row)
            results.append(row)
            line = f"{row['case']:24s} {row.get('label', ''):28s}"
            if row.get("zzhpc_s_per_step") is not None:
                line += f" zzhpc {row['zzhpc_s_per_step']:.4g} s/step"
            if row.get("peer_s_per_step") is not None:
                line += f"  {row.get('peer', 'peer')} {row['peer_s_per_step']:.4g} s/step"
            if row.get("ratio") is not None:
                line += f"  ratio {row['ratio']:.3f}"
            extra = [
                f"{k}={v:.4g}"
                for k, v in row.items()
                if isinstance(v, float) and k not in ("zzhpc_s_per_step", "peer_s_per_step", "ratio")
            ][:4]
            print(line + ("  " + " ".join(extra) if extra else ""))
    out = {"machine": {"cpu": cpu_model(), "platform": platform.platform()}, "quick": args.quick, "results": results}
    if args.json:
        write_json_atomic(args.json, out)
    return 0
