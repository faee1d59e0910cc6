"""``zzhpc sbatch DECK.toml``: check the deck, render a Slurm batch script, print it or submit it."""

import argparse
import os
import shlex
import subprocess
import sys

from ..errors import ZzhpcError


def add_parser(sub):
    p = sub.add_parser(
        "sbatch",
        help="render (and submit) a Slurm job for an input deck",
        description="Check the deck for the rank count of the allocation, then render a batch script from "
        "slurm/job.sh.in: one rank per card, srun --mpi=PLUGIN (or mpiexec), SIGUSR1 before the "
        "time limit -> checkpoint -> requeue -> resume from the newest checkpoint. Prints the "
        "script (default, --dry-run) or submits it (--submit) and prints the job id.",
        epilog="Examples:\n"
        "  zzhpc sbatch examples/heat.toml --nodes 1 --ntasks-per-node 2 --time 00:10:00\n"
        "  zzhpc sbatch deck.toml --nodes 4 --ntasks-per-node 4 --gpus-per-node 4 --time 12:00:00 \\\n"
        "      --site example-nvidia-modules --submit\n"
        "  zzhpc sbatch deck.toml --nodes 1 --ntasks-per-node 2 --time 1:00:00 \\\n"
        "      --sweep 'heat.shape=[[64,64],[128,128]]' --dependency afterok:1234 --submit",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("deck", help="TOML input deck")
    p.add_argument("--nodes", "-N", type=int, required=True, help="nodes")
    p.add_argument("--ntasks-per-node", type=int, required=True, help="MPI ranks per node (one per card)")
    p.add_argument("--gpus-per-node", type=int, default=0, help="cards per node (default 0)")
    p.add_argument("--time", "-t", required=True, help="time limit, HH:MM:SS (or MM, D-HH:MM:SS)")
    p.add_argument("--partition", "-p", default="", help="partition (default: the site profile's)")
    p.add_argument("--account", "-A", default="", help="account (default: the site profile's)")
    p.add_argument("--container", default="", help="run zzhpc inside this image (Apptainer .sif by default)")
    p.add_argument("--site", help="site profile: a name in slurm/sites/ or a .toml path (default generic)")
    p.add_argument("--launcher", choices=("srun", "mpiexec"), help="override the site's launcher")
    p.add_argument("--output", "-o", default="", help="output folder; overrides output.dir")
    p.add_argument("--backend", default="", help="array backend; overrides backend.name")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a deck value (repeatable)",
    )
    p.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="KEY=[V1,V2,...]",
        help="a job array over these values of KEY (a TOML array; several --sweep: every "
        "combination); task i writes OUTPUT/task-00i",
    )
    p.add_argument("--array-parallel", type=int, default=0, metavar="M", help="at most M array tasks at once")
    p.add_argument("--dependency", "-d", default="", help="Slurm dependency, e.g. afterok:1234")
    p.add_argument("--job-name", "-J", default="", help="job name (default zzhpc-SOLVER)")
    p.add_argument(
        "--hide-cards",
        action="store_true",
        help="give each rank only its own card (CUDA_VISIBLE_DEVICES per rank, backend.device=0); "
        "off by default: hiding cards disables Open MPI's intra-node GPU (IPC) paths",
    )
    p.add_argument("--signal-lead", type=int, help="seconds before the limit for SIGUSR1 (site default 300)")
    p.add_argument("--max-requeues", type=int, help="requeues after a time-limit checkpoint (site default 5)")
    p.add_argument(
        "--sbatch-option",
        action="append",
        default=[],
        metavar="OPT",
        help="extra #SBATCH option, e.g. --sbatch-option=--exclusive (repeatable)",
    )
    p.add_argument("--script", help="also write the script to this file")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the script (the default)")
    mode.add_argument("--submit", action="store_true", help="submit with sbatch and print the job id")


def main(args):
    from ..cluster.jobscript import JobRequest, plan, render
    from ..cluster.sites import load_site
    from ..core.harness import child_env

    site = load_site(args.site)
    req = JobRequest(
        deck=args.deck,
        nodes=args.nodes,
        ntasks_per_node=args.ntasks_per_node,
        gpus_per_node=args.gpus_per_node,
        time=args.time,
        partition=args.partition,
        account=args.account,
        container=args.container,
        output=args.output,
        backend=args.backend,
        job_name=args.job_name,
        sets=args.overrides,
        sweeps=args.sweep,
        array_parallel=args.array_parallel,
        dependency=args.dependency,
        hide_cards=args.hide_cards,
        launcher=args.launcher or "",
        signal_lead=args.signal_lead,
        max_requeues=args.max_requeues,
        sbatch_options=args.sbatch_option,
        command_line=shlex.join(["zzhpc", *sys.argv[1:]]) if sys.argv[1:2] == ["sbatch"] else "",
    )
    job = plan(req, site)  # ConfigError -> exit 2 before anything is written or submitted
    text = render(job)
    if args.script:
        _write(args.script, text)
    if not args.submit:
        sys.stdout.write(text)
        return 0
    os.makedirs(job.output, exist_ok=True)  # Slurm needs the log folder before the job starts
    path = args.script or os.path.join(job.output, "job.sbatch")
    _write(path, text)
    try:
        # Not the C environment: MPI_Init (mpi4py, imported with the solvers) adds OMPI_/PMIX_ variables there
        # that would make the job's mpiexec think it is already inside an MPI job.
        proc = subprocess.run(
            ["sbatch", "--parsable", path], capture_output=True, text=True, timeout=120, env=child_env()
        )
    except FileNotFoundError:
        raise ZzhpcError(
            f"sbatch not found: is this a Slurm login node? (the script is in {path}; --dry-run prints it)"
        ) from None
    if proc.returncode != 0:
        raise ZzhpcError(f"sbatch failed ({proc.returncode}): {proc.stderr.strip()}")
    job_id = proc.stdout.strip().split(";")[0]
    if not job_id:
        raise ZzhpcError(f"sbatch printed no job id: {proc.stdout!r}")
    runs = f"{len(job.runs)} array tasks" if job.is_array else "1 run"
    sys.stderr.write(f"zzhpc: submitted job {job_id} ({runs}, output {job.output}, script {path})\n")
    print(job_id)
    return 0


def _write(path, text):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)
