"""GROMACS ``.gro`` coordinate files (https://manual.gromacs.org/current/reference-manual/file-formats.html#gro).

Fixed columns: residue number (5), residue name (5), atom name (5), atom number (5), position (3 x 8.3, nm),
optionally velocity (3 x 8.4, nm/ps: same width, one more decimal); last line the box (nm). Numbers wrap at 100000 as GROMACS writes them.
"""

import numpy as np

from ...errors import InputError
from .frame import Frame


def write_gro(path, frame: Frame, precision=3, append=False):
    """Write (or append, as ``gmx trjconv`` does for several frames) ``frame`` as ``.gro``: positions nm,
    velocities nm/ps, ``precision`` decimals (GROMACS uses 3)."""
    with open(path, "a" if append else "w") as fh:
        fh.write(format_gro(frame, precision))


def format_gro(frame: Frame, precision=3) -> str:
    """The ``.gro`` text of one frame."""
    w, p = precision + 5, precision
    n = frame.n
    resids = frame.resids if frame.resids is not None else np.arange(1, n + 1)
    resnames = frame.resnames or ["MOL"] * n
    ids = frame.ids if frame.ids is not None else np.arange(1, n + 1)
    x, v = np.asarray(frame.positions, float), frame.velocities
    lines = [f"{frame.title} t= {frame.time:.5f} step= {frame.step}", f"{n:5d}"]
    for i in range(n):
        s = (
            f"{int(resids[i]) % 100000:5d}{str(resnames[i])[:5]:<5s}{frame.label('names', i)[:5]:>5s}"
            f"{int(ids[i]) % 100000:5d}" + "".join(f"{c:{w}.{p}f}" for c in x[i])
        )
        if v is not None:
            s += "".join(f"{c:{w}.{p + 1}f}" for c in v[i])
        lines.append(s)
    lines.append("".join(f"{b:{w + 2}.{p + 2}f}" for b in frame.box))  # 10.5f at GROMACS's 3 decimals
    return "\n".join(lines) + "\n"


def read_gro(path) -> Frame:
    """Read a single-frame ``.gro`` (the column width is taken from the first atom line, as GROMACS does)."""
    try:
        with open(path) as fh:
            lines = fh.read().splitlines()
        n = int(lines[1].split()[0])
    except (OSError, IndexError, ValueError) as exc:
        raise InputError(path, f"not a .gro file ({exc}); expected a title line, then the atom count") from None
    atoms = lines[2 : 2 + n]
    if len(atoms) < n or len(lines) < n + 3:
        raise InputError(path, f"{len(atoms)} atom lines for an atom count of {n} (or no box line)")
    first = atoms[0] if n else ""
    # Width of a coordinate: distance between the first two decimal points after column 20.
    dots = [k for k, c in enumerate(first[20:], 20) if c == "."]
    w = dots[1] - dots[0] if len(dots) > 1 else 8
    try:
        x = np.array([[float(a[20 + k * w : 20 + (k + 1) * w]) for k in range(3)] for a in atoms])
        # Velocities take the coordinates' width with one more decimal (GROMACS: %8.3f and %8.4f).
        has_v = len(first.rstrip()) >= 20 + 6 * w
        v = (
            np.array([[float(a[20 + (3 + k) * w : 20 + (4 + k) * w]) for k in range(3)] for a in atoms])
            if has_v
            else None
        )
        box = np.array([float(b) for b in lines[2 + n].split()[:3]])
    except ValueError as exc:
        raise InputError(path, f"bad atom or box line ({exc}); expected fixed-width .gro columns") from None
    return Frame(
        positions=x.reshape(n, 3),
        box=box,
        velocities=v,
        ids=np.array([int(a[15:20]) for a in atoms]),
        names=[a[10:15].strip() for a in atoms],
        resids=np.array([int(a[0:5]) for a in atoms]),
        resnames=[a[5:10].strip() for a in atoms],
        title=lines[0].strip(),
    )
