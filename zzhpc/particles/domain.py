"""Spatial decomposition of an orthorhombic box: atom migration, ghost atoms, forward and reverse comm.

After LAMMPS's ``Comm::exchange/borders/forward_comm/reverse_comm`` (Plimpton, J. Comput. Phys. 117, 1
(1995)). Ranks form a Cartesian grid (:class:`zzhpc.parallel.ProcessGrid`); rank ``c`` owns the slab
``[split[d][c_d], split[d][c_d + 1])`` along each axis ``d``.

* ``exchange``: atoms that left the sub-domain go to the neighbour, axis by axis (repeated while any
  atom is still outside, so a move across several thin sub-domains is handled).
* ``borders``: ghost atoms within ``cutghost`` of each face, axis by axis (x, then y, then z, sending
  the ghosts already received along earlier axes, so edges and corners need no diagonal messages),
  several hops when a sub-domain is thinner than ``cutghost``; periodic images are shifted by the box
  length as they cross the box boundary, also when a rank is its own neighbour.
* ``forward_comm``: each step, ghost positions from the send lists recorded by ``borders``.
* ``reverse_comm``: ghost forces summed back onto their owners (Newton's third law across ranks).

Every message is a typed buffer: the row count first, then each per-atom array (:mod:`.messages`),
on the device when the backend says GPU-aware MPI, else staged through host NumPy buffers.
"""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Sequence

import numpy as np
from array_api_compat import device as _dev
from mpi4py import MPI

from ..device.base import Array, Backend
from ..errors import ConfigError, SimulationError, collective
from ..parallel.cartesian import ProcessGrid, choose_process_grid
from .messages import incoming, mpi_view, outgoing, receive_buffer, sendrecv_rows


def choose_dims(size: int, lengths: Sequence[float], requested: Sequence[int] | None = None) -> list[int]:
    """Process grid minimising the sub-domain surface (LAMMPS ``ProcMap::onelevel_grid``), from the one
    chooser of process grids (:func:`zzhpc.parallel.cartesian.choose_process_grid`)."""
    if requested:
        return list(requested)

    def surface(d):
        lx, ly, lz = lengths[0] / d[0], lengths[1] / d[1], lengths[2] / d[2]
        # 12 significant digits: permutations of a cube's grid tie exactly, the first in order wins
        return float(f"{lx * ly + ly * lz + lx * lz:.12g}")

    dims = choose_process_grid(size, [size] * 3, key=surface)
    assert dims is not None  # every factorisation fits limits of `size`
    return list(dims)


class Swap:
    """One ghost message: ``sendlist`` (+ ``shift``) to ``dest``; ``nrecv`` rows from ``source`` at ``first``."""

    __slots__ = ("sendlist", "shift", "dest", "source", "first", "nrecv", "self_", "nsend")

    def __init__(self, sendlist, shift, dest, source, first, nrecv, self_):
        self.sendlist, self.shift, self.dest, self.source = sendlist, shift, dest, source
        self.first, self.nrecv, self.self_ = first, nrecv, self_
        self.nsend = int(sendlist.shape[0])


class Domain:
    """Box, process grid, sub-domain bounds and the ghost communication pattern of this rank."""

    def __init__(
        self,
        comm: MPI.Intracomm,
        backend: Backend,
        lo: Sequence[float],
        hi: Sequence[float],
        periodic: Sequence[bool],
        cutghost: float,
        dims: Sequence[int] | None = None,
        *,
        key: str = "parallel.dims",
    ) -> None:
        self.backend, self.xp = backend, backend.xp
        self.boxlo = [float(v) for v in lo]
        self.boxhi = [float(v) for v in hi]
        self.length = [h - l for l, h in zip(self.boxlo, self.boxhi)]
        self.periodic = [bool(p) for p in periodic]
        self.cutghost = float(cutghost)
        dims = choose_dims(comm.Get_size(), self.length, dims)
        if len(dims) != 3:
            raise ConfigError(key, "expected 3 entries (x, y, z)", dims)
        # The grid decomposes space, not cells: pass one "cell" per rank so any box shape is allowed.
        self.grid = ProcessGrid(comm, dims, self.periodic, dims, key=key)
        self.comm = self.grid.comm
        self.dims, self.coords = self.grid.dims, self.grid.coords
        self.split = [
            [self.boxlo[d] + self.length[d] * k / self.dims[d] for k in range(self.dims[d] + 1)] for d in range(3)
        ]
        self.split_changed()
        self.swaps: list[Swap] = []

    # Sub-domain bounds ----------------------------------------------------------------------------
    def rescale(self, mu: float, origin: Sequence[float]) -> None:
        """Scale the box and every sub-domain boundary by ``mu`` about the point ``origin`` (barostats).

        Atom positions are the caller's to scale; ghosts keep their old shifts until the next
        ``borders`` (or until the caller resets them)."""
        for d in range(3):
            o = float(origin[d])
            self.boxlo[d] = o + mu * (self.boxlo[d] - o)
            self.boxhi[d] = o + mu * (self.boxhi[d] - o)
            self.length[d] = self.boxhi[d] - self.boxlo[d]
            self.split[d] = [o + mu * (s - o) for s in self.split[d]]
        self.split_changed()

    def split_changed(self) -> None:
        """Recompute this rank's bounds after ``split`` changed (load balancing, restart)."""
        for d in range(3):
            self.split[d][0], self.split[d][-1] = self.boxlo[d], self.boxhi[d]
        self.sublo = [self.split[d][self.coords[d]] for d in range(3)]
        self.subhi = [self.split[d][self.coords[d] + 1] for d in range(3)]
        self.need = []
        for d in range(3):
            thin = min(self.split[d][k + 1] - self.split[d][k] for k in range(self.dims[d]))
            n = math.ceil(self.cutghost / thin) if thin > 0 else 1
            if not self.periodic[d]:
                n = min(n, self.dims[d] - 1)
            self.need.append(n)

    def balance(self, x: Array, min_fraction: float = 0.25) -> None:
        """Shift the sub-domain boundaries so that each slab of ranks holds as many atoms (collective).

        Along every split axis the boundaries move to the quantiles of the global atom distribution
        (LAMMPS ``balance ... shift``-like, one pass); a slab keeps at least ``min_fraction`` of the
        uniform width so that ghost hops stay few. Atoms move to their new owners at the next
        ``exchange``.
        """
        xh = self.backend.to_host(x)
        for d in range(3):
            n = self.dims[d]
            if n == 1:
                continue
            lo, hi, L = self.boxlo[d], self.boxhi[d], self.length[d]
            nbins = 4096
            hist = np.histogram(xh[:, d], bins=nbins, range=(lo, hi))[0].astype(np.int64)
            hist = self.comm.allreduce(hist)
            cum = np.concatenate([[0], np.cumsum(hist)]).astype(float)
            if cum[-1] == 0:
                continue
            edges = np.linspace(lo, hi, nbins + 1)
            wmin = min_fraction * L / n
            cuts = [lo]
            for k in range(1, n):
                target = cum[-1] * k / n
                i = int(np.searchsorted(cum, target))
                i = min(max(i, 1), nbins)
                frac = (target - cum[i - 1]) / max(cum[i] - cum[i - 1], 1)
                c = edges[i - 1] + frac * (edges[i] - edges[i - 1])
                cuts.append(min(max(c, cuts[-1] + wmin), hi - (n - k) * wmin))
            self.split[d] = cuts + [hi]
        self.split_changed()

    def bin_region(self) -> tuple[list[float], list[float]]:
        """A box holding every owned and ghost atom (for neighbour binning)."""
        c = self.cutghost
        return ([self.sublo[d] - c for d in range(3)], [self.subhi[d] + c for d in range(3)])

    def describe(self) -> dict[str, Any]:
        return {
            "dims": list(self.dims),
            "periodic": self.periodic,
            "box_lo": self.boxlo,
            "box_hi": self.boxhi,
            "cutghost": self.cutghost,
        }

    # Periodic wrap and migration ----------------------------------------------------------------------
    def pbc(self, atoms: dict[str, Array]) -> None:
        """Wrap owned positions into the periodic box, counting image flags."""
        xp = self.xp
        x, img = atoms["x"], atoms["image"]
        for d in range(3):
            if not self.periodic[d]:
                continue
            lo, hi, L = self.boxlo[d], self.boxhi[d], self.length[d]
            n = xp.floor((x[:, d] - lo) / L)
            x[:, d] = x[:, d] - n * L
            x[:, d] = xp.where(x[:, d] >= hi, lo, x[:, d])  # rounding of lo - tiny + L
            img[:, d] = img[:, d] + xp.astype(n, img.dtype)

    def _lost_atoms_message(self, count, d):
        """True for periodic and walled axes alike, with the usual causes."""
        axis = "xyz"[d]
        if self.periodic[d]:
            what = (
                f"{count} atom(s) moved too far along {axis} in one step to be wrapped into the periodic box "
                f"(velocities blew up)"
            )
        else:
            what = f"{count} atom(s) crossed the wall of the box along {axis} (non-periodic axis)"
        return (
            f"{what}; usual causes: run.dt too large, or overlapping atoms in the initial configuration "
            f"(energy minimise it, or start on a lattice)"
        )

    def exchange(self, atoms: dict[str, Array]) -> dict[str, Array]:
        """Move atoms outside this sub-domain to the ranks that own them; returns the new ``atoms``."""
        xp = self.xp
        for d in range(3):
            lo, hi = self.sublo[d], self.subhi[d]
            for _ in range(self.dims[d] + 1):
                x = atoms["x"][:, d]
                out = self.comm.allreduce(int(xp.sum((x < lo) | (x >= hi))))
                if not out:
                    break
                low, high = x < lo, x >= hi
                down, up = self.grid.neighbours[d]
                lost = int(bool(xp.any(low))) if down == MPI.PROC_NULL else 0
                lost += int(bool(xp.any(high))) if up == MPI.PROC_NULL else 0
                if self.dims[d] == 1 or self.comm.allreduce(lost):
                    raise collective(SimulationError(self._lost_atoms_message(out, d)))
                keys = list(atoms)
                from_up = sendrecv_rows(self.comm, self.backend, [atoms[k][low] for k in keys], down, up, 10 + d)
                from_down = sendrecv_rows(self.comm, self.backend, [atoms[k][high] for k in keys], up, down, 20 + d)
                keep = ~(low | high)
                atoms = {k: xp.concat([atoms[k][keep], from_up[i], from_down[i]], axis=0) for i, k in enumerate(keys)}
            else:
                raise SimulationError(f"atoms could not be placed along axis {'xyz'[d]} (moved too far)")
        return atoms

    # Ghosts -----------------------------------------------------------------------------------------
    def borders(self, x: Array, *cols: Array) -> tuple[Array, ...]:
        """Ghost atoms of owned ``x`` and per-atom columns ``cols`` (e.g. types, molecule ids).

        Returns ``(x_all, *cols_all)``: owned rows first, then ghosts; records the swaps that
        ``forward_comm``/``reverse_comm`` replay. A row of ``x`` may hold several points,
        ``(n, 3k)`` (e.g. the sites of a rigid molecule): its first point decides whether the row is
        a ghost, and periodic shifts move every point, so ghost molecules arrive whole.
        """
        if x.ndim != 2 or x.shape[1] % 3:
            raise ValueError(f"Domain.borders: positions have shape {tuple(x.shape)}, expected (n, 3k)")
        xp, be = self.xp, self.backend
        me = self.comm.Get_rank()
        self.swaps = []
        columns = list(cols)
        for d in range(3):
            down, up = self.grid.neighbours[d]
            # Hop 0 sends from every atom so far (owned + ghosts of earlier axes); hop k > 0 forwards
            # what hop k - 1 brought from the opposite side.
            cand = [xp.arange(x.shape[0], device=_dev(x))] * 2
            for _hop in range(self.need[d]):
                xs, cs, got = [x], [[c] for c in columns], []
                first = int(x.shape[0])
                for dirn, (dest, source) in enumerate(((down, up), (up, down))):
                    c = cand[dirn]
                    if dirn == 0:
                        sel = c[x[c, d] < self.sublo[d] + self.cutghost]
                        shift = self.length[d] if self.coords[d] == 0 else 0.0
                    else:
                        sel = c[x[c, d] >= self.subhi[d] - self.cutghost]
                        shift = -self.length[d] if self.coords[d] == self.dims[d] - 1 else 0.0
                    if dest == MPI.PROC_NULL:
                        sel = sel[:0]
                    sv = np.zeros(x.shape[1])
                    sv[d::3] = shift
                    shiftv = be.asarray(sv, dtype=be.dtype_name(x))
                    bx, bc = x[sel] + shiftv, [col[sel] for col in columns]
                    self_ = dest == me and source == me
                    rx, *rc = sendrecv_rows(self.comm, be, [bx, *bc], dest, source, 30 + d)
                    nrecv = int(rx.shape[0])
                    self.swaps.append(Swap(sel, shiftv, dest, source, first, nrecv, self_))
                    got.append(xp.arange(first, first + nrecv, device=_dev(x)))
                    first += nrecv
                    xs.append(rx)
                    for lst, r in zip(cs, rc):
                        lst.append(r)
                x = xp.concat(xs, axis=0)
                columns = [xp.concat(lst, axis=0) for lst in cs]
                cand = got
        return (x, *columns)

    def forward_comm(self, x: Array) -> Array:
        """Refresh ghost rows of ``x`` (in place) from their owners, in the order ``borders`` built them.

        The two directions of a hop are independent, so each pair of swaps shares one wait."""
        be = self.backend
        for k in range(0, len(self.swaps), 2):
            reqs, done = [], []
            for tag, s in enumerate(self.swaps[k : k + 2]):
                buf = x[s.sendlist] + s.shift
                if s.self_:
                    x[s.first : s.first + s.nrecv] = buf
                    continue
                recv = receive_buffer(be, x, s.nrecv)
                send = outgoing(be, buf)
                reqs.append(self.comm.Irecv(mpi_view(be, recv), source=s.source, tag=40 + tag))
                reqs.append(self.comm.Isend(send, dest=s.dest, tag=40 + tag))
                done.append((s, recv, send))
            if reqs:
                MPI.Request.Waitall(reqs)
            for s, recv, _ in done:
                if s.nrecv:
                    x[s.first : s.first + s.nrecv] = incoming(be, recv)
        return x

    def reverse_comm(self, f: Array) -> Array:
        """Add ghost-row forces of ``f`` onto the owners' rows (in place), undoing ``forward_comm``."""
        be = self.backend
        for k in range(len(self.swaps) - 2, -1, -2):
            reqs, done = [], []
            for tag, s in enumerate(self.swaps[k : k + 2]):
                got = f[s.first : s.first + s.nrecv]
                if s.self_:
                    done.append((s, got, None))
                    continue
                recv = receive_buffer(be, f, s.nsend)
                send = outgoing(be, got)
                reqs.append(self.comm.Irecv(mpi_view(be, recv), source=s.dest, tag=50 + tag))
                reqs.append(self.comm.Isend(send, dest=s.source, tag=50 + tag))
                done.append((s, recv, send))
            if reqs:
                MPI.Request.Waitall(reqs)
            for s, buf, _ in done:
                if s.nsend:
                    f[s.sendlist] = f[s.sendlist] + (buf if s.self_ else incoming(be, buf))
        return f

    def nghost(self) -> int:
        """Ghost rows received by the last ``borders``."""
        return sum(s.nrecv for s in self.swaps)
