"""``zzhpc convert TRAJ.h5md OUT.{gro,xyz,dump}``: a zzhpc trajectory in the formats other tools read."""


def add_parser(sub):
    p = sub.add_parser(
        "convert",
        help="write a trajectory.h5md as .gro, extended XYZ or LAMMPS dump",
        description="Convert the H5MD trajectory of an md or water run into the format of another tool: "
        "GROMACS .gro (nm, nm/ps; water as SOL with OW/HW1/HW2), extended XYZ (.xyz/.extxyz, the "
        "ASE convention) or a LAMMPS text dump (.dump/.lammpstrj, id type x y z vx vy vz). "
        "The format follows the output file's suffix.",
        epilog="Examples:\n  zzhpc convert runs/water/trajectory.h5md last.gro\n"
        "  zzhpc convert runs/md/trajectory.h5md all.lammpstrj --all",
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
    )
    p.add_argument("trajectory", help="trajectory.h5md written by zzhpc")
    p.add_argument("output", help="output file; its suffix picks the format")
    p.add_argument("--all", action="store_true", help="every frame (default: the last)")
    p.add_argument(
        "--solver",
        choices=("md", "water"),
        default=None,
        help="label atoms as this solver's (default: from the run folder's summary.json)",
    )


def main(args):
    import os

    from ..errors import InputError
    from ..particles.formats.convert import convert

    if os.path.exists(args.output):
        raise InputError(args.output, "exists; give a new output file (zzhpc never overwrites one)")
    n = convert(args.trajectory, args.output, frames="all" if args.all else "last", solver=args.solver)
    print(f"convert: {n} frame(s) -> {args.output}")
    return 0
