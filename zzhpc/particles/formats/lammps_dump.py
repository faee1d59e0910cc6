"""LAMMPS text dump files (``dump custom ... id type x y z [vx vy vz]``, https://docs.lammps.org/dump.html):
per frame the ``ITEM: TIMESTEP``, ``NUMBER OF ATOMS``, ``BOX BOUNDS pp pp pp`` and ``ATOMS`` sections."""

import numpy as np

from ...errors import InputError
from .frame import Frame


def write_dump(path, frame: Frame, append=False):
    """Append or write one frame in the units of the run (``real``: angstrom, angstrom/fs)."""
    n = frame.n
    ids = frame.ids if frame.ids is not None else np.arange(1, n + 1)
    types = frame.types if frame.types is not None else np.ones(n, dtype=int)
    cols = "id type x y z" + (" vx vy vz" if frame.velocities is not None else "")
    lo = np.asarray(frame.extra.get("box_lo", np.zeros(3)), float)
    hi = lo + np.asarray(frame.box, float)
    rows = ["ITEM: TIMESTEP", str(int(frame.step)), "ITEM: NUMBER OF ATOMS", str(n), "ITEM: BOX BOUNDS pp pp pp"]
    rows += [f"{a:.10g} {b:.10g}" for a, b in zip(lo, hi)]
    rows.append(f"ITEM: ATOMS {cols}")
    data = [np.asarray(ids, dtype=np.int64)[:, None], np.asarray(types, dtype=np.int64)[:, None], frame.positions] + (
        [frame.velocities] if frame.velocities is not None else []
    )
    for i in range(n):
        r = f"{int(data[0][i, 0])} {int(data[1][i, 0])} " + " ".join(f"{c:.10g}" for c in frame.positions[i])
        if frame.velocities is not None:
            r += " " + " ".join(f"{c:.10g}" for c in frame.velocities[i])
        rows.append(r)
    with open(path, "a" if append else "w") as fh:
        fh.write("\n".join(rows) + "\n")


def read_dump(path, index=-1) -> Frame:
    """Frame ``index`` (default the last) of a text dump with ``id type x y z`` (scaled ``xs ys zs`` too)."""
    try:
        with open(path) as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
    starts = [k for k, line in enumerate(lines) if line.startswith("ITEM: TIMESTEP")]
    if not starts:
        raise InputError(path, "no 'ITEM: TIMESTEP' line: not a LAMMPS text dump")
    k = starts[index]
    try:
        step = int(lines[k + 1])
        n = int(lines[k + 3])
        bounds = np.array([[float(v) for v in lines[k + 5 + d].split()[:2]] for d in range(3)])
        cols = lines[k + 8].split()[2:]
        rows = np.array([[float(v) for v in line.split()] for line in lines[k + 9 : k + 9 + n]]).reshape(n, len(cols))
    except (IndexError, ValueError) as exc:
        raise InputError(
            path, f"frame at line {k + 1}: {exc}; expected TIMESTEP, NUMBER OF ATOMS, BOX BOUNDS, ATOMS sections"
        ) from None
    c = {name: j for j, name in enumerate(cols)}
    lo, length = bounds[:, 0], bounds[:, 1] - bounds[:, 0]
    if all(a in c for a in ("x", "y", "z")):
        x = rows[:, [c["x"], c["y"], c["z"]]]
    elif all(a in c for a in ("xs", "ys", "zs")):
        x = lo + rows[:, [c["xs"], c["ys"], c["zs"]]] * length
    else:
        raise InputError(path, f"ATOMS columns {cols}: expected x y z or xs ys zs")
    v = rows[:, [c["vx"], c["vy"], c["vz"]]] if all(a in c for a in ("vx", "vy", "vz")) else None
    ids = rows[:, c["id"]].astype(np.int64) if "id" in c else np.arange(1, n + 1)
    types = rows[:, c["type"]].astype(np.int64) if "type" in c else None
    return Frame(positions=x, box=length, velocities=v, ids=ids, types=types, step=step, extra={"box_lo": lo})
