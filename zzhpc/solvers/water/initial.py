r"""A water box from a GROMACS ``.gro`` file (``water.initial``), e.g. the output of ``gmx solvate``.

The file is read by :func:`zzhpc.particles.formats.read_gro` (nm, nm/ps) and converted to ``real`` units
(A, A/fs). It must hold only rigid three-site water: atoms O, H, H per molecule, in that order, the three
of one residue (names ``SOL``/``OW``/``HW1``/``HW2`` or any others whose first letter is the element), an
orthorhombic box. Anything else (ions, other residues, virtual sites, an atom count not a multiple of 3,
a triclinic box, a broken or far-from-water molecule) is an :class:`~zzhpc.errors.InputError` naming what
was found and what is expected.

Each molecule is made whole (hydrogens to the minimum image of their oxygen) and then **projected onto the
rigid geometry of the model**: the centre of mass is kept, the H-O-H bisector and the molecular plane are
kept, and O, H, H are put at the model's distances from the centre of mass (:class:`.settle.SettleGeometry`:
O at :math:`r_a` along the bisector, the hydrogens at :math:`-r_b` along it and :math:`\pm r_c` across).
GROMACS's ``spc216.gro`` is SPC geometry (0.1 nm, 109.47 deg); TIP3P's is 0.9572 A, 104.52 deg, so the
projection moves atoms by up to about 0.07 A; a molecule already rigid to the model is reproduced to
rounding. Oxygens are then wrapped into ``[0, L)`` with their hydrogens.
"""

import numpy as np

from ...errors import ConfigError, InputError
from ...particles.formats import read_gro
from .settle import SettleGeometry

NM = 10.0  # A per nm
NM_PER_PS = 0.01  # A/fs per nm/ps
MAX_BOND_ERROR = 0.25  # A: an O-H farther than this from the model's is not that water (or is broken)
ELEMENTS = ("O", "H", "H")


def element(name):
    """The element letter of a GROMACS atom name: its first letter (``OW`` -> O, ``HW1`` -> H, ``1HW`` -> H)."""
    letters = [c for c in name if c.isalpha()]
    return letters[0].upper() if letters else "?"


def box_line(path, natoms):
    """The numbers of the first frame's box line of a ``.gro`` file of ``natoms`` atoms, in nm (all nine of a
    triclinic box; :func:`read_gro` keeps the first three)."""
    with open(path) as fh:
        lines = fh.read().splitlines()
    try:
        return [float(b) for b in lines[2 + natoms].split()]
    except ValueError as exc:
        raise InputError(path, f"bad box line ({exc}); expected 3 (or 9) numbers in nm") from None


def check_atoms(path, frame):
    """Raise InputError unless the frame's atoms are O, H, H per molecule, each molecule one residue."""
    n = frame.n
    if n == 0 or n % 3:
        raise InputError(
            path, f"{n} atoms, not a multiple of 3; expected rigid three-site water only (O, H, H per molecule)"
        )
    names, resn, resi = frame.names, frame.resnames, frame.resids
    elem = np.array([element(s) for s in names]).reshape(-1, 3)
    bad = np.nonzero(np.any(elem != np.array(ELEMENTS), axis=1))[0]
    if bad.size:
        m = int(bad[0])
        found = " ".join(f"{names[3 * m + k]}" for k in range(3))
        raise InputError(
            path,
            f"atoms {3 * m + 1}-{3 * m + 3} are {found} (residue {resn[3 * m]}); expected "
            f"water only, O, H, H per molecule (SOL OW HW1 HW2): no ions, other residues "
            f"or virtual sites",
        )
    ri = np.asarray(resi).reshape(-1, 3)
    rn = np.asarray(resn, dtype=object).reshape(-1, 3)
    split = np.nonzero((ri != ri[:, :1]).any(axis=1) | (rn != rn[:, :1]).any(axis=1))[0]
    if split.size:
        m = int(split[0])
        raise InputError(
            path,
            f"atoms {3 * m + 1}-{3 * m + 3} belong to different residues "
            f"({', '.join(f'{ri[m, k]}{rn[m, k]}' for k in range(3))}); expected the O, H, H "
            f"of one water residue",
        )


def whole(x, lengths):
    """Hydrogens moved to the minimum image of their oxygen; ``x`` ``(nmol, 3, 3)``."""
    L = np.asarray(lengths)
    d = x[:, 1:] - x[:, :1]
    return np.concatenate([x[:, :1], x[:, :1] + d - L * np.round(d / L)], axis=1)


def rigid_projection(x, geom):
    """``x`` ``(nmol, 3, 3)`` moved onto the model's rigid triangle, keeping each molecule's centre of mass,
    bisector and plane (module docstring). Returns the projected positions."""
    m = np.asarray(geom.masses())[None, :, None]
    com = (m * x).sum(axis=1) / geom.mass
    b = x[:, 0] - 0.5 * (x[:, 1] + x[:, 2])
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    u = x[:, 1] - x[:, 2]
    u -= np.sum(u * b, axis=1, keepdims=True) * b
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    o = com + geom.ra * b
    h = com - geom.rb * b
    return np.stack([o, h + geom.rc * u, h - geom.rc * u], axis=1)


def wrap_oxygens(x, lengths):
    """Oxygens into ``[0, L)``, hydrogens shifted with them (the molecule stays whole)."""
    L = np.asarray(lengths)
    shift = np.floor(x[:, 0] / L)
    x = x - (shift * L)[:, None, :]
    over = x[:, 0] >= L  # -tiny + L rounds to L
    return x - (over * L)[:, None, :]


def read_water_gro(path, model):
    """A water box of ``model`` from ``path``.

    Returns a dict: ``x`` ``(nmol, 3, 3)`` [A] rigid to the model, oxygens in ``[0, L)``; ``v``
    ``(nmol, 3, 3)`` [A/fs] or None when the file has no velocities (``has_velocities``); ``lengths`` [A];
    ``nmol``;
    ``projection_A`` the largest distance an atom moved onto the rigid geometry; ``title``.
    Raises InputError (one line naming what was found and what is expected) for anything but water.
    """
    frame = read_gro(path)  # the first frame of a multi-frame file
    box = box_line(path, frame.n)
    if len(box) not in (3, 9):
        raise InputError(path, f"box line has {len(box)} numbers; expected 3 (orthorhombic) or 9")
    if len(box) == 9 and any(b != 0.0 for b in box[3:]):
        raise InputError(
            path, f"triclinic box (off-diagonal {box[3:]} nm); expected an orthorhombic box (gmx solvate -box X Y Z)"
        )
    if min(box[:3]) <= 0:
        raise InputError(path, f"box edges {box[:3]} nm; expected three positive edges")
    check_atoms(path, frame)
    geom = SettleGeometry(model)
    lengths = [NM * float(b) for b in box[:3]]
    x = whole(NM * np.asarray(frame.positions, float).reshape(-1, 3, 3), lengths)
    d = np.linalg.norm(x[:, 1:] - x[:, :1], axis=2)
    worst = np.unravel_index(np.argmax(np.abs(d - geom.d_OH)), d.shape)
    if abs(d[worst] - geom.d_OH) > MAX_BOND_ERROR:
        m = int(worst[0])
        raise InputError(
            path,
            f"molecule {m + 1} (atoms {3 * m + 1}-{3 * m + 3}) has an O-H distance of "
            f"{d[worst]:.3f} A; expected about {geom.d_OH} A ({model.name}) within "
            f"{MAX_BOND_ERROR} A",
        )
    xr = rigid_projection(x, geom)
    moved = float(np.max(np.linalg.norm(xr - x, axis=2)))
    v = None
    if frame.velocities is not None:
        v = NM_PER_PS * np.asarray(frame.velocities, float).reshape(-1, 3, 3)
    return {
        "x": wrap_oxygens(xr, lengths),
        "v": v,
        "has_velocities": v is not None,
        "lengths": lengths,
        "nmol": frame.n // 3,
        "projection_A": moved,
        "title": frame.title,
    }


def check_initial(w, schema):
    """Deck check of ``water.initial`` (``w`` the validated ``[water]`` table): the file is a water box, the
    cutoff fits it, ``molecules`` and ``density`` are not set against it. Sets ``w["molecules"]`` to the
    file's count, so the recorded configuration (summary.json, ``zzhpc scale``) names the real system."""
    from .models import get_model

    start = read_water_gro(w["initial"], get_model(w["model"]))
    n = start["nmol"]
    if w["molecules"] not in (schema["molecules"].default, n):
        raise ConfigError(
            "water.molecules",
            f"{w['initial']} holds {n} molecules; leave water.molecules out with water.initial (or set it to {n})",
            w["molecules"],
        )
    if w["density"] != schema["density"].default:
        raise ConfigError(
            "water.density",
            f"the box of {w['initial']} sets the density; leave water.density out with water.initial",
            w["density"],
        )
    half = 0.5 * min(start["lengths"])
    if w["cutoff"] + w["skin"] > half:
        raise ConfigError(
            "water.cutoff",
            f"cutoff + skin must not exceed half the shortest box edge of "
            f"{w['initial']} ({half:.3f} A); use a larger box or a shorter cutoff",
            w["cutoff"],
        )
    w["molecules"] = n


def start_record(start, p):
    """What ``summary.json`` says of the start: the builder's lattice or the file, projection, velocities."""
    if start is None:
        return {"source": "lattice", "density": p["density"], "box_seed": p["box_seed"]}
    from_file = start["has_velocities"] and not p["minimise_steps"]
    return {
        "source": p["initial"],
        "title": start["title"],
        "box_A": start["lengths"],
        "rigid_projection_max_A": start["projection_A"],
        "velocities": "file" if from_file else "maxwell-boltzmann",
    }
