"""``zzhpc run DECK.toml``: validate the deck before any work, then run the solver on every rank."""
import sys

from ..errors import ConfigError, InputError, ZzhpcError


def add_parser(sub):
    p = sub.add_parser("run", help="run an input deck (under mpiexec for several ranks)",
                       description="Run a TOML input deck. Every rank runs this command; rank 0 prints "
                                   "progress and writes OUTPUT/summary.json next to the HDF5 output.",
                       epilog="Example: mpiexec -n 3 zzhpc run examples/heat.toml --set run.t_end=0.02")
    p.add_argument("deck", help="TOML input deck, or a previous run's summary.json or HDF5 file "
                                "(reruns exactly the recorded configuration)")
    p.add_argument("--backend", help="array backend (numpy, torch, cupy, ...); overrides backend.name")
    p.add_argument("--output", "-o", help="output folder; overrides output.dir")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a deck value, e.g. --set run.steps=100 (repeatable)")
    p.add_argument("--restart", help="'auto' (newest checkpoint in the output folder) or a checkpoint file")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")


def main(args):
    from mpi4py import MPI
    from ..core.deck import load_config
    from ..core.registry import get_solver
    from ..parallel.faults import abort_all, install_excepthook

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    # Every rank imports the same solver modules (some initialise collective libraries such as PETSc).
    from ..core.registry import discover
    discover()
    overrides = list(args.overrides) + ([f"run.restart='{args.restart}'"] if args.restart else [])
    # Validate on rank 0 only, then share the verdict: every rank exits 2 together, no work started.
    result = None
    if rank == 0:
        try:
            _, cfg = load_config(args.deck, comm.Get_size(), overrides, backend=args.backend,
                                 output=args.output)
            result = ("ok", cfg)
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
    cfg = result[1]
    install_excepthook()
    try:
        from ..core.run import run
        summary = run(get_solver(cfg["solver"]), cfg, comm, quiet=args.quiet)
    except ZzhpcError as exc:
        if getattr(exc, "collective", False):  # every rank raised it: exit together, say it once
            if rank == 0:
                sys.stderr.write(f"zzhpc: {exc}\n")
            return exc.exit_code
        abort_all(exc, exc.exit_code)
    except Exception as exc:  # any other fault: show where, end all ranks
        abort_all(f"{type(exc).__name__}: {exc}", 1, show_traceback=True)
    return 0 if summary["status"] in ("done", "interrupted") else 1
