"""zzhpc's H5MD trajectories (``trajectory.h5md`` of the md and water solvers) as ``.gro``, extended XYZ or
LAMMPS dump frames, for the tools that read those (VMD, OVITO, ASE, MDAnalysis, GROMACS, LAMMPS)."""

import json
import os

import h5py
import numpy as np

from ...errors import InputError
from .frame import Frame
from .gro import write_gro
from .lammps_dump import write_dump
from .xyz import write_xyz

FORMATS = {".gro": "gro", ".xyz": "xyz", ".extxyz": "xyz", ".dump": "dump", ".lammpstrj": "dump"}
# Water trajectories hold atoms O, H, H of each molecule in id order (species 0 = O, 1 = H).
WATER_NAMES = ("OW", "HW1", "HW2")


def _solver_of(path):
    """The solver that wrote the run folder holding ``path`` (its summary.json), or None."""
    summary = os.path.join(os.path.dirname(os.path.abspath(path)), "summary.json")
    try:
        with open(summary) as fh:
            return json.load(fh).get("solver")
    except (OSError, ValueError):
        return None


def h5md_frames(path, frames="last"):
    """Frames of an H5MD trajectory written by zzhpc: ``"last"``, ``"all"`` or a list of indices.

    Positions and velocities stay in the file's units (``unit`` attributes: angstrom and angstrom/fs for
    ``real`` runs; reduced units for Lennard-Jones runs).
    """
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(path, f"not an HDF5 file ({exc})") from None
    with f:
        if "particles/trajectory/position/value" not in f:
            raise InputError(path, "no /particles/trajectory/position: not an H5MD trajectory written by zzhpc")
        g = f["particles/trajectory"]
        total = g["position/value"].shape[0]
        if total == 0:
            raise InputError(path, "the trajectory holds no frame yet")
        idx = [total - 1] if frames == "last" else range(total) if frames == "all" else list(frames)
        unit = g["position/value"].attrs.get("unit", b"")
        unit = unit.decode() if isinstance(unit, bytes) else str(unit)
        species, ids = g["species"][()], g["id"][()]
        for t in idx:
            yield Frame(
                positions=g["position/value"][t],
                velocities=g["velocity/value"][t],
                box=g["box/edges/value"][min(t, g["box/edges/value"].shape[0] - 1)],
                ids=ids,
                types=species,
                step=int(g["position/step"][t]),
                time=float(g["position/time"][t]),
                extra={"unit": unit},
            )


def _label(frame, solver):
    """Names, residues and element symbols of the frame's atoms (water: OW/HW1/HW2 in SOL molecules)."""
    n = frame.n
    if solver == "water" and n % 3 == 0 and set(np.unique(frame.types)) <= {0, 1}:
        frame.names = [WATER_NAMES[i % 3] for i in range(n)]
        frame.species = ["O" if i % 3 == 0 else "H" for i in range(n)]
        frame.resnames = ["SOL"] * n
        frame.resids = np.arange(n) // 3 + 1
    else:
        # Lennard-Jones and mW sites have no element: type names, and ASE's dummy symbol X.
        frame.names = [f"T{int(t)}" for t in frame.types]
        frame.species = ["X"] * n
        frame.resnames = ["MOL"] * n
    return frame


def convert(src, dst, frames="last", solver=None):
    """Write the chosen frames of H5MD ``src`` to ``dst`` (format from its suffix); return the frame count.

    ``.gro`` is in nm and nm/ps, converted from angstrom when the trajectory is in ``real`` units.
    """
    fmt = FORMATS.get(os.path.splitext(dst)[1].lower())
    if fmt is None:
        raise InputError(dst, f"unknown output format; expected a suffix among {', '.join(sorted(FORMATS))}")
    solver = solver or _solver_of(src)
    count = 0
    for frame in h5md_frames(src, frames):
        frame = _label(frame, solver)
        first = count == 0
        if fmt == "gro":
            if frame.extra["unit"].lower() == "angstrom":
                frame.positions = frame.positions * 0.1
                frame.velocities = frame.velocities * 100.0  # angstrom/fs -> nm/ps
                frame.box = frame.box * 0.1
            frame.title = f"zzhpc {solver or 'trajectory'} (from {os.path.basename(src)})"
            write_gro(dst, frame, append=not first)
        elif fmt == "xyz":
            write_xyz(dst, frame, append=not first)
        else:
            write_dump(dst, frame, append=not first)
        count += 1
    return count
