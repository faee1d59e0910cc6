"""Checkpoint and restart of a water run: bitwise on the same rank count, exact in physics on another.

Saved per rank in memory order: owned molecules (positions, velocities, ids, images) and the
positions of the last neighbour-list build; as attributes the box now and at the last build, the
sub-domain boundaries, the list age, and the integrator's accumulators. A restart rebuilds the ghosts
and the list at the build positions in the build box, then puts the box and positions of the moment
back and refreshes the ghosts: the same lists, the same summation order, the same numbers. On another
rank count each rank reads an even share of the molecules, which then migrate to their owners in the
sub-domains of the new rank count, and the lists are built afresh (:func:`_redecompose`).
"""

import numpy as np

from ...errors import InputError
from ...io.hdf5 import concatenated_share, read_concatenated
from . import molecules as mol
from .integrate import RigidVerlet


def write_rows(h5, name, local, comm):
    """Per-rank row blocks one after the other, written independently (a rank may hold no rows:
    a collective write with an empty selection does not complete with this h5py/HDF5)."""
    local = np.ascontiguousarray(local)
    n = local.shape[0]
    offset = comm.exscan(n) or 0
    total = comm.allreduce(n)
    dset = h5.create_dataset(name, shape=(total,) + local.shape[1:], dtype=local.dtype)
    if n:
        dset[offset : offset + n] = local
    return offset, total


def save_water_state(w, h5):
    be, n = w.backend, int(w.xm.shape[0])
    write_rows(h5, "state/count", np.array([n], dtype=np.int64), w.comm)
    arrays = {
        "x": w.xp.reshape(w.xm, (n, 9)),
        "v": w.xp.reshape(w.vm, (n, 9)),
        "id": w.mid,
        "image": w.image,
        "xhold": w.xp.reshape(w.xmhold, (n, 9)),
        "xprune": w.xp.reshape(w.xhold, (n, 9)),
    }
    for k, a in arrays.items():
        write_rows(h5, f"state/{k}", be.to_host(a), w.comm)
    for k, v in w.integrator.state().items():
        h5.attrs[k] = v
    h5.attrs["dt"], h5.attrs["ago"], h5.attrs["nbuilds"], h5.attrs["nmol"] = w.dt, w.ago, w.nbuilds, w.nmol
    h5.attrs["nprunes"], h5.attrs["box_prune"] = w.nprunes, np.asarray(w.box_prune)
    h5.attrs["lengths"] = np.asarray(w.lengths)
    h5.attrs["box_hold"] = np.asarray(w.box_hold)
    h5.attrs["split"] = np.array([s for ax in w.domain.split for s in ax])
    h5.attrs["split_hold"] = np.array([s for ax in w.split_hold for s in ax])


def _split(flat, dims):
    out = []
    for ax in range(3):
        k = dims[ax] + 1
        out.append([float(s) for s in flat[:k]])
        flat = flat[k:]
    return out


def load_water_state(w, h5, path):
    if "state/count" not in h5:
        raise InputError(path, "dataset 'state/count' is missing")
    if int(h5.attrs["nmol"]) != w.nmol:
        raise InputError(path, f"checkpoint of {int(h5.attrs['nmol'])} molecules, the deck has {w.nmol}")
    # on another rank count: an even share of the rows each, then migrated to their owners
    start, n, same = concatenated_share(h5, w.comm, path=path)
    get = {k: read_concatenated(h5, f"state/{k}", start, n, path) for k in ("x", "v", "id", "image", "xhold", "xprune")}
    be, xp, dt = w.backend, w.xp, w.ctx.dtype
    w.xm = be.asarray(get["x"].reshape(n, 3, 3), dtype=dt)
    w.vm = be.asarray(get["v"].reshape(n, 3, 3), dtype=dt)
    w.mid = be.asarray(get["id"], dtype="int64")
    w.image = be.asarray(get["image"], dtype="int64")
    w.dt = float(h5.attrs["dt"])
    dom = w.domain
    if not same:
        _redecompose(w, h5)
        return
    # The ghost pattern and outer list of the last build in the box of that build, the atom list of
    # the last prune in the box of that prune.
    mol.set_box(dom, [float(v) for v in h5.attrs["box_hold"]])
    dom.split = _split(list(h5.attrs["split_hold"]), dom.dims)
    dom.split_changed()
    w._rebuild(
        restore=(
            be.asarray(get["xhold"].reshape(n, 9), dtype=dt),
            be.asarray(get["xprune"].reshape(3 * n, 3), dtype=dt),
            [float(v) for v in h5.attrs["box_prune"]],
        )
    )
    w.box_hold, w.split_hold = list(dom.length), [list(s) for s in dom.split]
    # The box of the moment; ghost shifts follow the box edges as the barostat moves them.
    mol.set_box(dom, [float(v) for v in h5.attrs["lengths"]])
    dom.split = _split(list(h5.attrs["split"]), dom.dims)
    dom.split_changed()
    mol.reset_shifts(dom)
    w.ff.set_box(w.lengths)
    w.integrator = RigidVerlet(w)
    w.integrator.load({k: h5.attrs[k] for k in w.integrator.state()})
    w.x[: 3 * n] = xp.reshape(w.xm, (3 * n, 3))
    dom.forward_comm(w.xrows)
    w.ago, w.nbuilds, w.nprunes = int(h5.attrs["ago"]), int(h5.attrs["nbuilds"]), int(h5.attrs["nprunes"])
    w.box_prune = [float(v) for v in h5.attrs["box_prune"]]
    w._forces()


def _redecompose(w, h5):
    """Restart on another rank count: the box of the moment with this rank count's sub-domains, then a
    fresh migration, ghosts, outer list and atom list. The state is the checkpoint's; the lists and the
    summation order are new, so the run continues exactly in physics but not bitwise."""
    dom = w.domain
    mol.set_box(dom, [float(v) for v in h5.attrs["lengths"]])
    w.ff.set_box(w.lengths)
    w._rebuild()
    w.integrator = RigidVerlet(w)
    w.integrator.load({k: h5.attrs[k] for k in w.integrator.state()})
    w.nbuilds += int(h5.attrs["nbuilds"])
    w.nprunes += int(h5.attrs["nprunes"])
    w._forces()
