"""``zzhpc run DECK.toml``: validate the deck before any work, then run the solver on every rank.

A previous run's ``summary.json`` (or any HDF5 file it wrote) replays that run: the recorded deck, PETSc
options and numeric environment knobs, into a new folder ``OLD-replay-N`` unless ``--output`` is given."""

import os
import sys

from ..errors import CollectiveError, ConfigError, InputError, ZzhpcError


def add_parser(sub):
    p = sub.add_parser(
        "run",
        help="run an input deck (under mpiexec for several ranks)",
        description="Run a TOML input deck. Every rank runs this command; rank 0 prints "
        "progress and writes OUTPUT/summary.json next to the HDF5 output. A fresh "
        "run never overwrites an earlier run's results: it refuses a folder that "
        "holds them (continue that run with --restart auto, or give a new "
        "--output), or moves them aside with --set output.existing=backup.",
        epilog="Example: mpiexec -n 3 zzhpc run examples/heat.toml --set run.t_end=0.02\n"
        "Replay: zzhpc run runs/heat/summary.json   (writes runs/heat-replay-1)",
    )
    p.add_argument(
        "deck",
        help="TOML input deck, or a previous run's summary.json or HDF5 file "
        "(replays the recorded configuration and PETSc options into OLD-replay-N)",
    )
    p.add_argument("--backend", help="array backend (numpy, torch, cupy, ...); overrides backend.name")
    p.add_argument("--output", "-o", help="output folder; overrides output.dir")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a deck value, e.g. --set run.steps=100 (repeatable)",
    )
    p.add_argument("--restart", help="'auto' (newest checkpoint in the output folder) or a checkpoint file")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")


def replay_source_dir(path):
    """The run folder a provenance file belongs to (``fields/`` and ``checkpoints/`` files: their parent)."""
    d = os.path.dirname(os.path.abspath(path))
    return os.path.dirname(d) if os.path.basename(d) in ("fields", "checkpoints") else d


def apply_recorded_environment(path):
    """Every rank, before PETSc starts: the replayed run's PETSc options (before any given now, so that
    these win) and its numeric environment knobs (those not set now). Returns the record or None."""
    from ..core.deck import read_provenance
    from ..io.provenance import replay_petsc_options

    try:
        prov = read_provenance(path)
    except ZzhpcError:
        return None  # rank 0 reports it while checking the deck
    recorded = replay_petsc_options(prov)
    if recorded:
        os.environ["PETSC_OPTIONS"] = " ".join(filter(None, [recorded, os.environ.get("PETSC_OPTIONS", "")]))
    for k, v in (prov.get("environment") or {}).items():
        os.environ.setdefault(k, v)
    return prov


def _check(args, comm, replay):
    """Rank 0: the validated configuration and the notes to print, or raise ConfigError/InputError."""
    from ..core.deck import load_config
    from ..io import outdir as folder
    from .petscopts import check_options

    output, notes = args.output, []
    if replay is not None and not output:
        output = folder.replay_dir(replay_source_dir(args.deck))
    _, cfg = load_config(
        args.deck,
        comm.Get_size(),
        list(args.overrides) + ([f"run.restart='{args.restart}'"] if args.restart else []),
        backend=args.backend,
        output=output,
    )
    bad = check_options()
    if bad:
        raise ConfigError("PETSc options", bad)
    if replay is not None:
        notes.append(f"replaying {os.path.abspath(args.deck)} into {os.path.abspath(cfg['output']['dir'])}")
        ranks = replay.get("ranks")
        if ranks and ranks != comm.Get_size():
            notes.append(
                f"the replayed run had {ranks} rank(s), this one {comm.Get_size()}: solvers that "
                "sum in rank order may differ in the last bits"
            )
    return cfg, notes


def main(args):
    from mpi4py import MPI
    from ..core.deck import is_provenance_file
    from ..core.registry import discover, get_solver
    from ..parallel.faults import abort_all, install_excepthook

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    replay = apply_recorded_environment(args.deck) if is_provenance_file(args.deck) else None
    # Every rank imports the same solver modules (some initialise collective libraries such as PETSc).
    discover()
    if os.environ.get("PETSC_OPTIONS", "").strip():
        _start_petsc()  # every rank: options given are checked, recorded and reported whichever solver runs
    # Validate on rank 0 only, then share the verdict: every rank exits 2 together, no work started.
    result = None
    if rank == 0:
        try:
            result = ("ok",) + _check(args, comm, replay)
        except (ConfigError, InputError) as exc:
            result = ("error", str(exc), 2)
        except Exception as exc:  # a bug in a check must not leave the other ranks waiting in bcast
            import traceback

            traceback.print_exc()
            result = ("error", f"internal error while checking the deck: {type(exc).__name__}: {exc}", 1)
    result = comm.bcast(result, root=0)
    if result[0] == "error":
        if rank == 0:
            sys.stderr.write(f"zzhpc: {result[1]}\n")
        return result[2]
    cfg, notes = result[1], result[2]
    install_excepthook()
    try:
        from ..core.run import run

        summary = run(
            get_solver(cfg["solver"]),
            cfg,
            comm,
            quiet=args.quiet,
            notes=notes,
            replay_of=os.path.abspath(args.deck) if replay is not None else None,
        )
    except CollectiveError as exc:  # every rank raised it: exit together, say it once
        if rank == 0:
            sys.stderr.write(f"zzhpc: {exc}\n")
        return exc.exit_code
    except ZzhpcError as exc:
        abort_all(exc, exc.exit_code)
    except Exception as exc:  # any other fault: show where, end all ranks
        abort_all(f"{type(exc).__name__}: {exc}", 1, show_traceback=True)
    _report_unused_petsc_options(rank)
    return 0 if summary["status"] in ("done", "interrupted") else 1


def _start_petsc():
    try:
        from petsc4py import PETSc  # noqa: F401  (initialises PETSc on COMM_WORLD with PETSC_OPTIONS)
    except ImportError:
        pass


def _report_unused_petsc_options(rank):
    from .petscopts import unused_options, user_options

    given = {name for name, _ in user_options()}
    left = [n for n in unused_options() if n in given]
    if rank == 0 and left:
        sys.stderr.write(
            f"zzhpc: PETSc never read option{'s' if len(left) > 1 else ''} {' '.join(left)} "
            "(misspelt, or for a solver this run does not use)\n"
        )
