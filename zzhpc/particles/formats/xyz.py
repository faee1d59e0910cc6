"""Extended XYZ (the ASE/QUIP convention, https://github.com/libAtoms/extxyz): per frame the atom count, a
comment line of ``key=value`` pairs with ``Lattice`` (nine numbers, row vectors, angstrom),
``Properties=species:S:1:pos:R:3[:velo:R:3]`` and ``pbc``, then one line per atom."""

import shlex

import numpy as np

from ...errors import InputError
from .frame import Frame


def write_xyz(path, frame: Frame, append=False):
    """Append or write one frame; positions angstrom, velocities (if any) angstrom/fs."""
    n = frame.n
    lx, ly, lz = frame.box
    props = "species:S:1:pos:R:3" + (":velo:R:3" if frame.velocities is not None else "")
    head = (
        f'Lattice="{lx:.8f} 0.0 0.0 0.0 {ly:.8f} 0.0 0.0 0.0 {lz:.8f}" Properties={props} '
        f'pbc="T T T" step={frame.step} time={frame.time!r}'
    )
    rows = [str(n), head]
    for i in range(n):
        r = f"{frame.label('species', i):<3s}" + "".join(f" {c:16.8f}" for c in frame.positions[i])
        if frame.velocities is not None:
            r += "".join(f" {c:16.10f}" for c in frame.velocities[i])
        rows.append(r)
    with open(path, "a" if append else "w") as fh:
        fh.write("\n".join(rows) + "\n")


def read_xyz(path, index=-1) -> Frame:
    """Frame ``index`` (default the last) of an extended XYZ file."""
    try:
        with open(path) as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
    starts, k = [], 0
    while k < len(lines) and lines[k].strip():
        try:
            n = int(lines[k])
        except ValueError:
            raise InputError(path, f"line {k + 1}: expected an atom count, found {lines[k][:30]!r}") from None
        starts.append((k, n))
        k += n + 2
    if not starts:
        raise InputError(path, "no frame (expected an atom count on the first line)")
    k, n = starts[index]
    info = dict(item.split("=", 1) for item in shlex.split(lines[k + 1]) if "=" in item)
    lat = np.array(info.get("Lattice", "0 0 0 0 0 0 0 0 0").split(), float).reshape(3, 3)
    if np.abs(lat - np.diag(np.diag(lat))).max() > 0:
        raise InputError(path, "a triclinic Lattice; zzhpc's boxes are orthorhombic")
    props = info.get("Properties", "species:S:1:pos:R:3").split(":")
    cols, c = {}, 0
    for name, _, width in zip(props[0::3], props[1::3], props[2::3]):
        cols[name] = (c, c + int(width))
        c += int(width)
    rows = [line.split() for line in lines[k + 2 : k + 2 + n]]
    sp = cols.get("species", (0, 1))
    pos = cols.get("pos")
    if pos is None:
        raise InputError(path, "no 'pos' property in the frame's Properties")
    x = np.array([[float(v) for v in r[pos[0] : pos[1]]] for r in rows])
    vel = cols.get("velo") or cols.get("vel")
    v = np.array([[float(q) for q in r[vel[0] : vel[1]]] for r in rows]) if vel else None
    return Frame(
        positions=x,
        box=np.diag(lat).copy(),
        velocities=v,
        species=[r[sp[0]] for r in rows],
        step=int(info.get("step", 0)),
        time=float(info.get("time", 0.0)),
    )
