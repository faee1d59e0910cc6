"""``zzhpc check-backend NAME``: the backend conformance kit (:mod:`zzhpc.conformance`), as a table."""

import argparse


def add_parser(sub):
    p = sub.add_parser(
        "check-backend",
        help="check that an array backend does what zzhpc needs (porting a new device)",
        description="Run the conformance kit against backend NAME: arrays and host transfers, elementwise "
        "math and reductions in float32/float64, FFTs, scatter-add, random numbers, DLPack, "
        "synchronisation, halo exchange, all-to-all and distributed FFT through MPI (host-staged "
        "and device buffers), and every solver kernel against NumPy. Prints pass/fail with the "
        "error measured; exit status 1 if any check fails. Started on one rank it runs the MPI "
        "part as a 2-rank job under mpiexec; under `mpiexec -n 2` it runs it in place.",
        epilog="Examples:\n  zzhpc check-backend torch\n  zzhpc check-backend torch --device npu:0\n"
        "  mpiexec -n 2 zzhpc check-backend cupy --gpu-aware-mpi --json runs/cupy-check.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("backend", metavar="NAME", help="backend name (`zzhpc info` lists them)")
    p.add_argument(
        "--device",
        default="local-rank",
        help="device: local-rank (default), round-robin, a card number or a string such as cuda:1",
    )
    p.add_argument(
        "--gpu-aware-mpi",
        action="store_true",
        help="declare MPI GPU-aware: also hand device buffers of GPU backends straight to MPI",
    )
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--no-mpi", action="store_true", help="skip the MPI part (reported as not run)")
    mode.add_argument("--mpi-only", action="store_true", help="run only the MPI part (needs 2 ranks or more)")
    p.add_argument("--no-kernels", action="store_true", help="skip the solver kernels")


def main(args):
    from mpi4py import MPI
    from ..conformance import check_backend, format_table
    from ..io.summary import write_json_atomic

    comm = MPI.COMM_WORLD
    mpi = "off" if args.no_mpi else "only" if args.mpi_only else "auto"
    report = check_backend(
        args.backend, args.device, comm=comm, gpu_aware_mpi=args.gpu_aware_mpi, mpi=mpi, kernels=not args.no_kernels
    )
    if comm.Get_rank() == 0:
        if not args.mpi_only or not args.json:
            print(format_table(report), flush=True)
        if args.json:
            write_json_atomic(args.json, report)
    return 0 if report["passed"] else 1
