"""``zzhpc info``: backends, MPI, rank-to-device map, solvers; ``zzhpc info SOLVER``: its deck keys."""

import json
import socket

from ..errors import ConfigError


def add_parser(sub):
    p = sub.add_parser(
        "info",
        help="what this installation and this MPI job can do",
        description="Backends available here, MPI vendor and version, rank count, "
        "rank-to-device map, GPU-aware MPI setting, solvers. With a solver "
        "name: every key its input deck accepts.",
    )
    p.add_argument("solver", nargs="?", help="show the deck keys of this solver")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--backend", default="numpy", help="backend whose device map to show")
    p.add_argument("--device", default="local-rank", help="device policy for the map")


def main(args):
    from mpi4py import MPI
    from .. import __version__
    from ..config.schema import describe
    from ..core.deck import full_schema
    from ..core.registry import discovery_errors, get_solver, solver_names
    from ..device import backend_status, get_backend, local_rank
    from ..io.provenance import mpi_library

    if args.solver:
        cls = get_solver(args.solver)
        if MPI.COMM_WORLD.Get_rank() == 0:
            print(f"{cls.name}: {cls.description}\n")
            print("\n".join(describe(full_schema(cls))))
        return 0
    comm = MPI.COMM_WORLD
    status = backend_status()
    try:
        dev = str(get_backend(args.backend, args.device, comm=comm).device)
    except ConfigError as exc:
        dev = f"unavailable: {exc}"
    rows = comm.gather(
        {"rank": comm.Get_rank(), "host": socket.gethostname(), "local_rank": local_rank(comm), "device": dev}, root=0
    )
    if comm.Get_rank() != 0:
        return 0
    from ..core.registry import _SOLVERS

    info = {
        "zzhpc": __version__,
        "backends": {n: {"available": ok, "detail": why} for n, (ok, why) in status.items()},
        "mpi": {"library": mpi_library(), "standard": "{}.{}".format(*MPI.Get_version()), "ranks": comm.Get_size()},
        "rank_devices": rows,
        "device_backend": args.backend,
        "gpu_aware_mpi": "off unless backend.gpu_aware_mpi = true (an explicit setting)",
        "solvers": {
            n: {"description": _SOLVERS[n].description, "module": _SOLVERS[n].__module__} for n in solver_names()
        },
        "solver_load_errors": discovery_errors(),
    }
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"zzhpc {__version__}")
    print(f"MPI: {info['mpi']['library']} (MPI {info['mpi']['standard']}), {comm.Get_size()} rank(s)")
    print("backends:")
    for n, b in info["backends"].items():
        print(f"  {n:8s} {'yes' if b['available'] else 'no ':3s}  {b['detail']}")
    print(f"rank-to-device map ({args.backend}, policy {args.device}):")
    for r in rows:
        print(f"  rank {r['rank']:4d}  host {r['host']}  local rank {r['local_rank']}  device {r['device']}")
    print(f"GPU-aware MPI: {info['gpu_aware_mpi']}")
    print("solvers:")
    for n, s in info["solvers"].items():
        print(f"  {n:12s} {s['description']}  [{s['module']}]")
    for n, e in info["solver_load_errors"].items():
        print(f"  {n:12s} FAILED TO LOAD: {e}")
    return 0
