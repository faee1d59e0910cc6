"""``zzhpc`` entry point: argument parsing, and the one place where errors become exit codes."""

import argparse
import os
import sys

from .. import __version__
from ..errors import ZzhpcError
from . import bench, check_backend, convert, info, jobs, project, run, sbatch, scale, validate

COMMANDS = {
    "info": info,
    "run": run,
    "validate": validate,
    "bench": bench,
    "check-backend": check_backend,
    "sbatch": sbatch,
    "jobs": jobs,
    "scale": scale,
    "project": project,
    "convert": convert,
}


def build_parser():
    p = argparse.ArgumentParser(
        prog="zzhpc",
        description="Simulations on MPI clusters of accelerator cards: turbulence, molecular dynamics, "
        "protein folding. Run under MPI as `mpiexec -n P zzhpc run DECK.toml`.",
        epilog="Examples:\n  zzhpc info\n  mpiexec -n 3 zzhpc run examples/heat.toml\n"
        "  zzhpc validate heat --quick\n  zzhpc info heat      # the keys of the heat solver's deck\n"
        "  zzhpc run examples/cavity_re100.toml -- -pc_type hypre   # options after -- go to PETSc",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"zzhpc {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for mod in COMMANDS.values():
        mod.add_parser(sub)
    return p


def main(argv=None):
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after "--" goes to PETSc (e.g. `zzhpc run deck.toml -- -ksp_type gmres -log_view`).
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: len(argv) - len(extra) - (1 if "--" in argv else 0)])
    if extra:
        os.environ["PETSC_OPTIONS"] = " ".join(filter(None, [os.environ.get("PETSC_OPTIONS", "")] + extra))
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command].main(args) or 0
    except ZzhpcError as exc:
        sys.stderr.write(f"zzhpc: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("zzhpc: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
