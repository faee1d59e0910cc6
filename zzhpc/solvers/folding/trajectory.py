"""C-alpha trajectories that VMD, MDAnalysis, mdtraj and OpenMM tools read: CHARMM/NAMD DCD plus a PDB topology.

The DCD layout is the one OpenMM's ``DCDFile`` writes (little-endian, 32-bit Fortran records, coordinates
in angstrom as float32, no unit cell); the frame count in the header is updated after every frame, so a
file cut short by a crash is still readable up to its last complete frame.
"""

import os
import struct
import time

import numpy as np

from ...errors import InputError

_AKMA_PS = 0.04888821  # CHARMM's AKMA time unit in ps: DCD headers store the step in it
_RESNAMES = {"HIE": "HIS", "HID": "HIS", "HIP": "HIS", "CYX": "CYS"}


def write_ca_pdb(path, positions_nm, sequence, chain="A", models=None):
    """C-alpha trace as PDB: one model, or ``models`` frames ``(F, N, 3)`` as MODEL/ENDMDL blocks."""
    frames = [positions_nm] if models is None else list(models)
    with open(path, "w") as fh:
        fh.write("REMARK   1 zzhpc folding: C-alpha trace\n")
        for k, x in enumerate(frames):
            if models is not None:
                fh.write(f"MODEL     {k + 1:4d}\n")
            for i, (xyz, name) in enumerate(zip(10.0 * np.asarray(x), sequence)):
                rn = _RESNAMES.get(name, name)[:3]
                fh.write(
                    f"ATOM  {i + 1:5d}  CA  {rn:>3s} {chain}{i + 1:4d}    "
                    f"{xyz[0]:8.3f}{xyz[1]:8.3f}{xyz[2]:8.3f}  1.00  0.00           C\n"
                )
            fh.write("TER\n")
            if models is not None:
                fh.write("ENDMDL\n")
        fh.write("END\n")


class DCDWriter:
    """Append frames of ``n_atoms`` beads (nm in, angstrom stored) to a DCD file.

    ``dt`` is the time per step; reduced time units are written as if they were ps (as SMOG/GROMACS do).
    """

    def __init__(self, path, n_atoms, first_step=0, interval=1, dt=1.0, append=False):
        self.path, self.n = path, n_atoms
        if append and os.path.isfile(path):
            # A restart: keep the frames before ``first_step`` (those the interrupted run wrote after its
            # checkpoint are written again), and drop any torn frame a kill left after the last whole one.
            h = read_dcd_header(path)
            keep = h["frames"]
            if h["interval"] > 0 and first_step >= h["first_step"]:
                keep = min(keep, -(-(first_step - h["first_step"]) // h["interval"]))
            with open(path, "r+b") as fh:
                fh.truncate(h["header_bytes"] + keep * 3 * (4 * n_atoms + 8))
                fh.seek(8)
                fh.write(struct.pack("<i", keep))
            self.frames = keep
            return
        self.frames = 0
        with open(path, "wb") as fh:
            fh.write(
                struct.pack(
                    "<i4c9if", 84, b"C", b"O", b"R", b"D", 0, first_step, interval, 0, 0, 0, 0, 0, 0, dt / _AKMA_PS
                )
            )
            fh.write(struct.pack("<13i", 0, 0, 0, 0, 0, 0, 0, 0, 0, 24, 84, 164, 2))
            fh.write(struct.pack("<80s", b"Created by zzhpc folding"))
            fh.write(struct.pack("<80s", ("Created " + time.asctime()).encode("ascii")))
            fh.write(struct.pack("<4i", 164, 4, n_atoms, 4))

    def write(self, x_nm, step):
        x = 10.0 * np.asarray(x_nm, dtype=np.float64)
        if x.shape != (self.n, 3):
            raise ValueError(f"frame of shape {x.shape}, expected {(self.n, 3)}")
        with open(self.path, "r+b") as fh:
            fh.seek(0, os.SEEK_END)
            for c in range(3):
                fh.write(struct.pack("<i", 4 * self.n))
                fh.write(np.ascontiguousarray(x[:, c], dtype="<f4").tobytes())
                fh.write(struct.pack("<i", 4 * self.n))
            self.frames += 1
            fh.seek(8)
            fh.write(struct.pack("<i", self.frames))
            fh.seek(20)
            fh.write(struct.pack("<i", step))


def read_dcd_header(path):
    with open(path, "rb") as fh:
        head = fh.read(84 + 8 + 4 + 164 + 4 + 4 + 4 + 4)
    if len(head) < 276 or struct.unpack("<i", head[:4])[0] != 84 or head[4:8] != b"CORD":
        raise InputError(path, "not a little-endian CHARMM DCD file")
    frames, first, interval = struct.unpack("<3i", head[8:20])
    n = struct.unpack("<i", head[268:272])[0]
    return {"frames": frames, "first_step": first, "interval": interval, "atoms": n, "header_bytes": 276}


def read_dcd(path):
    """All frames of a DCD file written as above, ``(F, N, 3)`` in nm."""
    h = read_dcd_header(path)
    n = h["atoms"]
    rec = 4 * n + 8
    with open(path, "rb") as fh:
        fh.seek(h["header_bytes"])
        raw = fh.read()
    if len(raw) < h["frames"] * 3 * rec:
        raise InputError(path, f"truncated: header says {h['frames']} frames, data holds {len(raw) // (3 * rec)}")
    out = np.empty((h["frames"], n, 3))
    for f in range(h["frames"]):
        for c in range(3):
            off = (3 * f + c) * rec + 4
            out[f, :, c] = np.frombuffer(raw[off : off + 4 * n], dtype="<f4")
    return out / 10.0
