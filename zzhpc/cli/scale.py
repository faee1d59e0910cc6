"""``zzhpc scale DECK.toml``: a strong or weak scaling sweep, its tables and plots."""

import argparse
import os
import shlex
import sys

from ..errors import ConfigError, ZzhpcError


def add_parser(sub):
    p = sub.add_parser(
        "scale",
        help="strong/weak scaling sweep over rank counts: CSV, Markdown, PNG plots",
        description="Run a deck at several rank counts (locally with mpiexec, one run after another, or as "
        "Slurm jobs), collect each run's summary.json (time per step, per-phase timers, memory "
        "high-water mark per rank) and write runs.csv, scaling.csv, scaling.md and PNG plots into "
        "the sweep folder. An interrupted sweep resumes: runs already done are not rerun. "
        "Weak scaling: the deck's problem is the problem per rank; on P ranks the scaled key "
        "(grid shape, lattice cells, replicas; --weak-key) holds P times the work. Options may "
        "also come from a [scaling] table in the deck (mode, ranks, repeat, key, steps, set).",
        epilog="Examples:\n"
        "  zzhpc scale examples/heat.toml --mode strong --ranks 1,2,4 --steps 200 -o runs/scale-heat\n"
        "  zzhpc scale examples/lj_melt.toml --mode weak --ranks 1,2,4 --steps 50 --set md.cells=[8,8,8]\n"
        "  zzhpc scale --report-only runs/scale-heat\n"
        "  zzhpc scale deck.toml --ranks 4,8,16 --slurm --time 00:20:00 --ranks-per-node 4 --submit",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("deck", nargs="?", help="TOML input deck (optionally with a [scaling] table)")
    p.add_argument("--mode", choices=("strong", "weak"), help="strong (fixed problem) or weak (fixed per rank)")
    p.add_argument("--ranks", help="rank counts, e.g. 1,2,4 (default [scaling].ranks or 1,2)")
    p.add_argument("--repeat", type=int, help="runs per rank count (min/median/max reported)")
    p.add_argument("--steps", type=int, help="steps per run (sets run.steps, drops run.t_end)")
    p.add_argument("--weak-key", help="deck key scaled with P in weak scaling (default per solver)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a deck value in every run (repeatable)",
    )
    p.add_argument("--backend", help="array backend for every run")
    p.add_argument("--output", "-o", help="sweep folder (default runs/scale-SOLVER-MODE)")
    p.add_argument("--fields", action="store_true", help="keep field output (off by default in sweeps)")
    p.add_argument("--timeout", type=float, help="seconds allowed per run")
    p.add_argument("--mpiexec", default="mpiexec", help="MPI launcher (default mpiexec)")
    p.add_argument("--mpiexec-arg", action="append", default=[], metavar="ARG", help="extra launcher argument")
    p.add_argument("--report-only", metavar="SWEEP", help="only (re)write the tables and plots of a sweep folder")
    p.add_argument("--no-plots", action="store_true", help="tables only")
    s = p.add_argument_group("Slurm")
    s.add_argument("--slurm", action="store_true", help="one Slurm job per run (zzhpc sbatch) instead of mpiexec")
    s.add_argument("--time", default="00:30:00", help="time limit per job (default 00:30:00)")
    s.add_argument("--ranks-per-node", type=int, help="ranks (cards) per node")
    s.add_argument("--gpus-per-node", type=int, default=0, help="cards per node")
    s.add_argument("--site", help="site profile for zzhpc sbatch")
    s.add_argument("--sbatch-option", action="append", default=[], metavar="OPT", help="extra #SBATCH option")
    s.add_argument("--submit", action="store_true", help="submit (default: write the job scripts only)")


def main(args):
    from ..scaling.report import write_report

    if args.report_only:
        return _report(args.report_only, args, write_report)
    if not args.deck:
        raise ConfigError("deck", "give a deck, or --report-only SWEEP")
    from ..scaling.deckio import read_sweep_deck
    from ..scaling.sweep import mpiexec_options, plan_sweep, run_sweep

    deck, table = read_sweep_deck(args.deck)
    plan = plan_sweep(
        deck,
        table,
        args.deck,
        mode=args.mode,
        ranks=args.ranks,
        repeat=args.repeat,
        key=args.weak_key,
        steps=args.steps,
        overrides=args.overrides,
        fields=args.fields,
    )
    out = args.output or os.path.join("runs", f"scale-{plan.solver}-{plan.mode}")
    if args.slurm:
        return _slurm(plan, out, args)
    sys.stderr.write(
        f"[scale] {plan.solver} {plan.mode} scaling, ranks {plan.ranks}, {plan.repeat} repeat(s): "
        f"{len(plan.runs)} runs in {out}\n"
    )
    extra = mpiexec_options(args.mpiexec, max(plan.ranks)) + list(args.mpiexec_arg)
    states = run_sweep(plan, out, mpiexec=args.mpiexec, mpiexec_args=extra, backend=args.backend, timeout=args.timeout)
    rc = _report(out, args, write_report)
    failed = [n for n, s in states.items() if s.get("status") != "done"]
    if failed:
        sys.stderr.write(
            f"[scale] {len(failed)} run(s) failed: {', '.join(failed)} (see RUN/log.txt); "
            "run the same command again to retry them\n"
        )
        return 1
    return rc


def _report(sweep_dir, args, write_report):
    if not os.path.isfile(os.path.join(sweep_dir, "sweep.json")):
        raise ConfigError("--report-only", "not a sweep folder (no sweep.json)", sweep_dir)
    rep = write_report(
        sweep_dir,
        command=shlex.join(["zzhpc", *sys.argv[1:]]) if sys.argv[1:2] == ["scale"] else None,
        plots=not args.no_plots,
    )
    sys.stdout.write(rep["markdown"])
    sys.stderr.write(
        f"[scale] wrote {sweep_dir}/scaling.csv, runs.csv, scaling.md"
        f"{', ' + str(len(rep['plots'])) + ' plots' if rep['plots'] else ''}\n"
    )
    return 0


def _slurm(plan, out, args):
    from ..scaling.slurm import slurm_commands, submit

    cmds, array = slurm_commands(
        plan,
        out,
        time=args.time,
        ranks_per_node=args.ranks_per_node,
        gpus_per_node=args.gpus_per_node,
        site=args.site,
        extra=args.sbatch_option,
        submit=args.submit,
        backend=args.backend,
    )
    if array:
        sys.stdout.write(f"# zzhpc sbatch not available: job array {array} (submit: sbatch {array})\n")
        return 0
    try:
        outs = submit(cmds)
    except RuntimeError as exc:
        raise ZzhpcError(str(exc)) from None
    for cmd, text in zip(cmds, outs):
        sys.stdout.write(f"# {shlex.join(cmd)}\n{text}")
    sys.stderr.write(
        f"[scale] {len(cmds)} job(s) {'submitted' if args.submit else 'rendered'}; when they are "
        f"done: zzhpc scale --report-only {out}\n"
    )
    return 0
