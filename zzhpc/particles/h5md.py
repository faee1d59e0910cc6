"""H5MD trajectories (de Buyl, Colberg & Hoefling, Comput. Phys. Commun. 185, 1546 (2014)), H5MD 1.1.

The particle group is named ``trajectory`` because MDAnalysis, opening the file without a topology,
looks for exactly that name. Layout read by MDAnalysis (``H5MDReader``) and OVITO: ``/particles/trajectory/{position,velocity,image}/
{value,step,time}`` with frames ordered by atom id, ``/particles/trajectory/box`` (edges, boundary),
``species`` and ``id``. Written collectively with parallel HDF5: at each frame the atoms are
redistributed so that rank ``r`` holds a contiguous block of ids and writes its hyperslab.
"""

import numpy as np

from ..io import open_parallel
from ..io.provenance import stamp_h5
from .._version import __version__

# MDAnalysis's H5MD reader knows "Angstrom fs-1" (capitalised) for velocities.
_UNITS = {"real": {"position": "angstrom", "velocity": "Angstrom fs-1", "time": "fs"}}


class H5MDWriter:
    def __init__(self, path, comm, natoms, domain, units, append=False):
        self.path, self.comm, self.n = path, comm, natoms
        size, r = comm.Get_size(), comm.Get_rank()
        self.lo = natoms * r // size
        self.hi = natoms * (r + 1) // size
        self.bounds = [natoms * k // size for k in range(size + 1)]
        self.domain = domain
        self.f = open_parallel(path, "a" if append else "w", comm)
        stamp_h5(self.f)  # collective: the running run's provenance record, also in a file a kill cuts short
        f = self.f
        # Appending (a restart): species and ids are in the file already; the index of the first new frame
        # is looked up at the first write (frames from its step on are replaced).
        self.static = "h5md" in f and f["particles/trajectory/position/value"].shape[0] > 0
        self.next = None if "h5md" in f else 0
        if "h5md" in f:
            return
        h = f.create_group("h5md")
        h.attrs["version"] = np.array([1, 1])
        h.create_group("author").attrs["name"] = "zzhpc"
        c = h.create_group("creator")
        c.attrs["name"], c.attrs["version"] = "zzhpc", __version__
        g = f.create_group("particles/trajectory")
        box = g.create_group("box")
        box.attrs["dimension"] = 3
        box.attrs["boundary"] = np.array([b"periodic" if p else b"none" for p in domain.periodic])
        edges = box.create_group("edges")
        edges.create_dataset("value", shape=(0, 3), maxshape=(None, 3), dtype="f8", chunks=(64, 3))
        edges.create_dataset("step", shape=(0,), maxshape=(None,), dtype="i8", chunks=(64,))
        edges.create_dataset("time", shape=(0,), maxshape=(None,), dtype="f8", chunks=(64,))
        units_ = _UNITS.get(units.name, {})
        for name, dt in (("position", "f8"), ("velocity", "f8"), ("image", "i4")):
            grp = g.create_group(name)
            v = grp.create_dataset(
                "value",
                shape=(0, natoms, 3),
                maxshape=(None, natoms, 3),
                dtype=dt,
                chunks=(1, max(1, min(natoms, 1 << 16)), 3),
            )
            grp.create_dataset("step", shape=(0,), maxshape=(None,), dtype="i8", chunks=(64,))
            t = grp.create_dataset("time", shape=(0,), maxshape=(None,), dtype="f8", chunks=(64,))
            if name in units_:
                v.attrs["unit"] = units_[name]
                t.attrs["unit"] = units_["time"]
        g.create_dataset("species", shape=(natoms,), dtype="i4")
        g.create_dataset("id", shape=(natoms,), dtype="i8")

    def _by_id(self, atoms):
        """Redistribute host atoms so that this rank holds ids ``lo+1 .. hi`` in order."""
        dest = np.searchsorted(self.bounds, atoms["id"] - 1, side="right") - 1
        size = self.comm.Get_size()
        out = [{k: v[dest == r] for k, v in atoms.items()} for r in range(size)]
        got = self.comm.alltoall(out)
        d = {k: np.concatenate([g[k] for g in got]) for k in atoms}
        o = np.argsort(d["id"], kind="stable")
        d = {k: v[o] for k, v in d.items()}
        if len(d["id"]) != self.hi - self.lo or (len(d["id"]) and d["id"][0] != self.lo + 1):
            raise ValueError("H5MD output needs atom ids 1..N without gaps")
        return d

    def write_frame(self, atoms, step, time, edges=None):
        """One frame; ``edges`` are the box edges of the moment (default: the domain's). Frames already in
        the file at ``step`` or later (written after the checkpoint a run restarted from) are replaced."""
        d = self._by_id(atoms)
        g = self.f["particles/trajectory"]
        edges = np.asarray(self.domain.length if edges is None else edges, dtype=float)
        t = self.next
        if t is None:  # rank 0 reads the steps (it wrote them; another rank's read need not see them yet)
            t = int(np.searchsorted(g["position/step"][()], step, side="left")) if self.comm.Get_rank() == 0 else None
            t = self.comm.bcast(t, root=0)
        self.next = t + 1
        sl = slice(self.lo, self.hi)
        for name, key in (("position", "x"), ("velocity", "v"), ("image", "image")):
            grp = g[name]
            grp["value"].resize(t + 1, axis=0)
            grp["step"].resize(t + 1, axis=0)
            grp["time"].resize(t + 1, axis=0)
            with grp["value"].collective:
                grp["value"][t, sl, :] = d[key]
            if self.comm.Get_rank() == 0:
                grp["step"][t] = step
                grp["time"][t] = time
        e = g["box/edges"]
        for k in ("value", "step", "time"):
            e[k].resize(t + 1, axis=0)
        if self.comm.Get_rank() == 0:
            e["value"][t] = edges
            e["step"][t] = step
            e["time"][t] = time
        if t == 0 or not self.static:
            with g["species"].collective:
                g["species"][sl] = d["type"].astype(np.int32)
            with g["id"].collective:
                g["id"][sl] = d["id"]
            self.static = True
        self.f.flush()

    def close(self):
        if self.f is not None:
            self.f.close()
            self.f = None
