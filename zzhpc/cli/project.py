"""``zzhpc project``: measure the network, calibrate the performance model, project to many cards."""

import argparse
import json
import os
import sys

from ..errors import ConfigError


def add_parser(sub):
    p = sub.add_parser(
        "project",
        help="performance model: network microbenchmark, calibration, projections to many cards",
        description="network: MPI latency/bandwidth/all-to-all under mpiexec -n 2. calibrate: fit the model "
        "to a scaling sweep's runs (those at --ranks) and check it against the other runs. "
        "predict: time per step, memory per card, efficiency of one target. headline: the "
        "standard targets (10^12 water molecules, a 10^15-point mesh, what fits on 60,000 cards).",
        epilog="Examples:\n"
        "  zzhpc project network -o runs/net.json\n"
        "  zzhpc project calibrate runs/scale-md-strong --ranks 1,2 --network runs/net.json -o md.cal.json\n"
        "  zzhpc project predict md.cal.json --units 1e12 --cards 60000 --memory-gb 64 --link-GBps 25\n"
        "  zzhpc project headline --cal md.cal.json --cal spectral.cal.json --cards 60000\n"
        "  zzhpc project headline --bench runs/md_bench.json --network runs/net.json --cards 60000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s = p.add_subparsers(dest="project_command", metavar="ACTION")
    n = s.add_parser("network", help="MPI microbenchmarks (mpiexec -n RANKS)")
    n.add_argument("--ranks", type=int, default=2)
    n.add_argument("--quick", action="store_true")
    n.add_argument("--mpiexec", default="mpiexec")
    n.add_argument("--output", "-o", help="write the JSON here")
    c = s.add_parser("calibrate", help="fit the model to a sweep's runs, or to a bench's rows (--bench)")
    c.add_argument("sweep", nargs="?", help="sweep folder of zzhpc scale")
    c.add_argument(
        "--bench",
        metavar="JSON",
        help="calibrate on the rows of `zzhpc bench --json` instead (one calibration per solver and precision; "
        "--output is then a folder, default the JSON's)",
    )
    c.add_argument("--precision", help="with --bench: only this precision (float64, float32, mixed)")
    _bytes_option(c)
    c.add_argument("--ranks", default="1,2", help="rank counts to calibrate on (default 1,2)")
    c.add_argument("--network", help="JSON of `zzhpc project network` (default: measure now, quick)")
    c.add_argument("--output", "-o", help="calibration JSON (default SWEEP/calibration.json)")
    c.add_argument(
        "--fit",
        choices=("exact", "origin"),
        default="exact",
        help="exact: t0 + c W through the points (default); origin: t0 = 0, c by least squares "
        "(positive; for projections when the exact fit gives c <= 0 on a noisy machine)",
    )
    pr = s.add_parser("predict", help="project one target")
    pr.add_argument("calibration")
    pr.add_argument("--units", type=float, required=True, help="grid points, atoms or replicas")
    pr.add_argument("--cards", type=int, required=True)
    _card_options(pr)
    h = s.add_parser("headline", help="the standard projection tables (Markdown)")
    h.add_argument("--cal", action="append", default=[], help="calibration JSON (one per solver)")
    h.add_argument(
        "--bench",
        action="append",
        default=[],
        metavar="JSON",
        help="also calibrate on the rows of this `zzhpc bench --json` file (one calibration per solver and precision)",
    )
    h.add_argument("--network", help="with --bench: JSON of `zzhpc project network` (default: measure now, quick)")
    h.add_argument("--fit", choices=("exact", "origin"), default="origin", help="with --bench (default origin)")
    h.add_argument("--precision", help="with --bench: only this precision (float64, float32, mixed)")
    _bytes_option(h)
    h.add_argument("--cards", type=int, default=60000)
    _card_options(h)


def _bytes_option(p):
    p.add_argument(
        "--bytes-per-unit",
        choices=("fit", "arrays"),
        default="fit",
        help="with --bench: fit the bytes per unit to the peak resident memory (default), or take the "
        "solver's counted arrays on one rank (docs/scaling.md)",
    )


def _card_options(p):
    p.add_argument("--memory-gb", type=float, default=64.0, help="memory per card (default 64)")
    p.add_argument("--link-GBps", type=float, default=25.0, help="injection bandwidth per card (default 25)")
    p.add_argument("--latency-us", type=float, default=2.0, help="message latency (default 2 us)")
    p.add_argument(
        "--compute-speedup",
        type=float,
        default=1.0,
        help="a card's compute speed over one calibration rank (default 1: as measured)",
    )
    p.add_argument("--fixed-memory-gb", type=float, help="fixed memory per card (default: calibrated)")
    p.add_argument("--decomposition", default="pencil", choices=("slab", "pencil"), help="spectral FFT layout")
    p.add_argument("--water", choices=("none", "mW"), default="none", help="md: mW water instead of LJ")
    p.add_argument(
        "--sw-cost-ratio",
        type=float,
        help="cost per particle-step of mW (Stillinger-Weber) over LJ (default: the calibration's, measured by "
        "`zzhpc bench md_mw_lammps`, else 2.0: 1.87-2.09 on one rank, docs/mw.md)",
    )
    p.add_argument(
        "--sw-memory-ratio",
        type=float,
        help="bytes per mW molecule over bytes per LJ atom (default: the calibration's, else 0.70: 324 against "
        "461 bytes, docs/mw.md)",
    )


def main(args):
    cmd = args.project_command
    if cmd == "network":
        from ..scaling.microbench import measure

        res = measure(args.ranks, mpiexec=args.mpiexec, quick=args.quick)
        text = json.dumps(res, indent=1)
        if args.output:
            with open(args.output, "w") as fh:
                fh.write(text + "\n")
        sys.stdout.write(_network_line(res) + "\n")
        return 0
    if cmd == "calibrate":
        return _calibrate(args)
    if cmd == "predict":
        from ..scaling.model import load
        from ..scaling.projection_tables import target_table

        cal = load(args.calibration)
        if cal["c_s_per_unit"] <= 0 or cal["mem_bytes_per_unit"] <= 0:
            raise ConfigError(
                "calibration",
                "c <= 0 or b <= 0 (noise larger than the signal): recalibrate with --fit origin "
                "or on a quieter machine",
                cal["c_s_per_unit"],
            )
        sys.stdout.write(target_table(cal, [(f"{args.units:.3g} {cal['unit']}s", args.units)], args))
        return 0
    if cmd == "headline":
        if not args.cal and not args.bench:
            raise ConfigError("--cal", "give at least one calibration JSON (or a bench JSON with --bench)")
        from ..scaling.model import load
        from ..scaling.projection_tables import headline

        cals = [load(c) for c in args.cal]
        if args.bench:
            from ..scaling.bench_calibration import calibrate_bench

            net = _network(args.network)
            for path in args.bench:
                cals += [
                    cal
                    for cal, _ in calibrate_bench(
                        path, net, fit=args.fit, precision=args.precision, memory=args.bytes_per_unit
                    )
                ]
        bad = [c["solver"] for c in cals if c["c_s_per_unit"] <= 0 or c["mem_bytes_per_unit"] <= 0]
        if bad:
            raise ConfigError(
                "--cal",
                "calibration with c <= 0 or b <= 0 (noise larger than the signal) cannot project; "
                "recalibrate with --fit origin or on a quieter machine",
                ",".join(bad),
            )
        sys.stdout.write(headline(cals, args))
        return 0
    raise ConfigError("project", "expected an action: network, calibrate, predict or headline", cmd)


def _network_line(res):
    return (
        f"latency {res['latency_s'] * 1e6:.3g} us, bandwidth {res['bandwidth_Bps'] / 1e9:.3g} GB/s, "
        f"all-to-all {res['alltoall_Bps_per_rank'] / 1e9:.3g} GB/s per rank, allreduce "
        f"{res['allreduce_latency_s'] * 1e6:.3g} us ({res['ranks']} ranks, {res['cpu_model']}, "
        f"{res['mpi_library']})"
    )


def _network(path):
    """The network JSON of `zzhpc project network`, or a quick measurement now."""
    if path:
        from ..errors import InputError

        try:
            with open(path) as fh:
                return json.load(fh)
        except (OSError, ValueError) as exc:
            raise InputError(path, f"not a network JSON (zzhpc project network -o): {exc}") from None
    from ..scaling.microbench import measure

    return measure(2, quick=True)


def _calibrate(args):
    from ..scaling.calibration import calibrate_sweep, check_table
    from ..scaling.model import save
    from ..scaling.sweep import parse_ranks

    if args.bench:
        return _calibrate_bench(args)
    if not args.sweep:
        raise ConfigError("calibrate", "give a sweep folder of zzhpc scale, or --bench JSON")
    net = _network(args.network) if args.network else None
    cal, checks = calibrate_sweep(args.sweep, parse_ranks(args.ranks), net, fit=args.fit)
    out = args.output or os.path.join(args.sweep, "calibration.json")
    save(cal, out)
    sys.stdout.write(check_table(cal, checks))
    sys.stderr.write(f"[project] calibration written to {out}\n")
    return 0


def _calibrate_bench(args):
    """One calibration per solver and precision of the bench file: FOLDER/SOLVER-PRECISION.cal.json."""
    from ..scaling.bench_calibration import calibrate_bench
    from ..scaling.calibration import check_table
    from ..scaling.model import save

    folder = args.output or os.path.dirname(os.path.abspath(args.bench))
    os.makedirs(folder, exist_ok=True)
    net = _network(args.network)
    for cal, checks in calibrate_bench(
        args.bench, net, fit=args.fit, precision=args.precision, memory=args.bytes_per_unit
    ):
        out = os.path.join(folder, f"{cal['solver']}-{cal['precision']}.cal.json")
        save(cal, out)
        sys.stdout.write(check_table(cal, checks) + "\n")
        for w in cal["warnings"]:
            sys.stdout.write(f"Warning: {w}\n")
        sys.stderr.write(f"[project] calibration written to {out}\n")
    return 0
