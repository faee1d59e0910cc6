"""H5MD trajectory of a water run, through the particle library's writer (:mod:`zzhpc.particles.h5md`).

Atoms are written in global id order (O, H, H of molecule 0, then molecule 1, ...), species 0 = O and
1 = H. Molecules are written whole: the oxygen inside the box, its hydrogens next to it, and all three
atoms carry the oxygen's image flags, so ``position + image * edges`` unwraps every atom. The box
edges of each frame are those of the moment (they change under NPT).
"""

import numpy as np

from ...particles import h5md
from . import molecules as mol


class Trajectory:
    def __init__(self, path, w, append=False):
        self.writer = h5md.H5MDWriter(path, w.comm, 3 * w.nmol, w.domain, w.units, append=append)

    def write(self, w, step, time):
        be, xp = w.backend, w.xp
        n = int(w.xm.shape[0])
        lengths = np.asarray(w.lengths)
        x = np.asarray(be.to_host(w.xm), dtype=float).copy()
        img = np.asarray(be.to_host(w.image)).copy()
        # Owned oxygens may sit just outside the box between list builds: wrap whole molecules.
        shift = np.floor(x[:, 0] / lengths)
        x -= (shift * lengths)[:, None, :]
        img += shift.astype(img.dtype)
        atoms = {
            "id": be.to_host(mol.atom_ids(w.mid, xp)),
            "type": np.tile(np.array([0, 1, 1], np.int64), n),
            "x": x.reshape(-1, 3),
            "v": np.asarray(be.to_host(w.vm), dtype=float).reshape(-1, 3),
            "image": np.repeat(img, 3, axis=0),
        }
        self.writer.write_frame(atoms, step, time, edges=lengths)

    def close(self):
        self.writer.close()
