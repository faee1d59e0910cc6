"""``zzhpc jobs [DIR]``: the runs in an output tree and their state (running, queued, done, resumable, failed)."""

import json
import os
import sys

from ..errors import ConfigError


def add_parser(sub):
    p = sub.add_parser(
        "jobs",
        help="list the runs in an output tree with their state",
        description="Every run folder under DIR (default runs/) with its state, read from summary.json, "
        "checkpoints/ and the Slurm job record slurm_job.json (and squeue, where there is one): "
        "running, queued, done, resumable (a complete checkpoint to continue from with "
        "`zzhpc run DECK -o RUN --restart auto`, or by resubmitting its job.sbatch), failed.",
        epilog="Example: zzhpc jobs runs/   |   zzhpc jobs runs/sweep --json",
    )
    p.add_argument("dir", nargs="?", default="runs", help="output tree (default runs)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-slurm", action="store_true", help="do not ask squeue about recorded jobs")


def _fmt(v, spec=""):
    return "-" if v is None or v == "" else format(v, spec)


def main(args):
    from ..cluster.runstate import as_dicts, scan

    if not os.path.isdir(args.dir):
        raise ConfigError("DIR", "not a folder", args.dir)
    states = scan(args.dir, use_slurm=not args.no_slurm)
    if args.json:
        json.dump(as_dicts(states), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if not states:
        print(f"no runs under {args.dir}")
        return 0
    rows = [("RUN", "STATE", "SOLVER", "STEP", "TIME", "CKPT", "JOB", "DETAIL")]
    for s in states:
        rel = os.path.relpath(s.path, args.dir)
        rows.append(
            (
                rel,
                s.state,
                _fmt(s.solver),
                _fmt(s.steps),
                _fmt(s.sim_time, ".6g"),
                _fmt(s.checkpoint_step),
                _fmt(s.job_id),
                s.detail,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    counts = {}
    for s in states:
        counts[s.state] = counts.get(s.state, 0) + 1
    print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return 0
