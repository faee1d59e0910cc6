"""Particle file formats of the field, in and out: GROMACS ``.gro``, extended XYZ, LAMMPS dump (text), and
conversion of zzhpc's H5MD trajectories into them (``zzhpc convert``). LAMMPS data files live in
:mod:`zzhpc.solvers.md.datafile`. Each writer is checked against the tool that owns the format (MDAnalysis,
ASE) in the tests.

Every reader returns a :class:`Frame` (host NumPy arrays, atoms in file order); every writer takes one.
Units are the file format's own: ``.gro`` nm and nm/ps, XYZ and LAMMPS ``real`` dumps angstrom (and
angstrom/fs).
"""

from .frame import Frame
from .gro import read_gro, write_gro
from .lammps_dump import read_dump, write_dump
from .xyz import read_xyz, write_xyz

READERS = {"gro": read_gro, "xyz": read_xyz, "dump": read_dump}
WRITERS = {"gro": write_gro, "xyz": write_xyz, "dump": write_dump}

__all__ = ["Frame", "READERS", "WRITERS", "read_dump", "read_gro", "read_xyz", "write_dump", "write_gro", "write_xyz"]
