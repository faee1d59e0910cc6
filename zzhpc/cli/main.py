"""``zzhpc`` entry point: argument parsing, and the one place where errors become exit codes."""
import argparse
import sys

from .. import __version__
from ..errors import ZzhpcError
from . import bench, check_backend, info, jobs, project, run, sbatch, scale, validate

COMMANDS = {"info": info, "run": run, "validate": validate, "bench": bench, "check-backend": check_backend,
            "sbatch": sbatch, "jobs": jobs, "scale": scale, "project": project}


def build_parser():
    p = argparse.ArgumentParser(
        prog="zzhpc",
        description="Simulations on MPI clusters of accelerator cards: turbulence, molecular dynamics, "
                    "protein folding. Run under MPI as `mpiexec -n P zzhpc run DECK.toml`.",
        epilog="Examples:\n  zzhpc info\n  mpiexec -n 3 zzhpc run examples/heat.toml\n"
               "  zzhpc validate heat --quick\n  zzhpc info heat      # the keys of the heat solver's deck",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"zzhpc {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod in COMMANDS.items():
        mod.add_parser(sub)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
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
