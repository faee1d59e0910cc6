"""LAMMPS data files (``read_data``/``write_data``), atom styles ``atomic`` and ``full``.

Format: https://docs.lammps.org/read_data.html. Orthorhombic boxes only. Topology sections (Bonds,
Angles, Dihedrals, Impropers) and coefficient sections are kept as read and written back unchanged,
so a ``full`` file makes the round trip.
"""

import numpy as np

from ...errors import InputError

_HEADER = {
    "atoms": "natoms",
    "atom types": "ntypes",
    "bonds": "nbonds",
    "bond types": "nbondtypes",
    "angles": "nangles",
    "angle types": "nangletypes",
    "dihedrals": "ndihedrals",
    "dihedral types": "ndihedraltypes",
    "impropers": "nimpropers",
    "improper types": "nimpropertypes",
}
_TOPOLOGY = {"Bonds": 4, "Angles": 5, "Dihedrals": 6, "Impropers": 6}
_SECTIONS = {
    "Atoms",
    "Velocities",
    "Masses",
    "Pair Coeffs",
    "PairIJ Coeffs",
    "Bond Coeffs",
    "Angle Coeffs",
    "Dihedral Coeffs",
    "Improper Coeffs",
    "BondBond Coeffs",
    "BondAngle Coeffs",
    "MiddleBondTorsion Coeffs",
    "EndBondTorsion Coeffs",
    "AngleTorsion Coeffs",
    "AngleAngleTorsion Coeffs",
    "BondBond13 Coeffs",
    "AngleAngle Coeffs",
} | set(_TOPOLOGY)
STYLES = {"atomic": 5, "full": 7}


def read_data(path, style=None):
    """Parse a data file into a dict of NumPy arrays (sorted by atom id); InputError names file and line."""
    try:
        with open(path) as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
    out = {"box_lo": [0.0] * 3, "box_hi": [1.0] * 3, "ntypes": 0, "natoms": 0, "coeffs": {}, "topology": {}}
    n = 1
    # Header: up to the first section keyword.
    while n < len(lines):
        text = lines[n].split("#")[0].strip()
        if text in _SECTIONS:
            break
        n += 1
        if not text:
            continue
        words = text.split()
        try:
            if text.endswith(("xlo xhi", "ylo yhi", "zlo zhi")):
                d = "xyz".index(words[2][0])
                out["box_lo"][d], out["box_hi"][d] = float(words[0]), float(words[1])
            elif text.endswith("xy xz yz"):
                if any(float(w) != 0.0 for w in words[:3]):
                    raise InputError(path, f"line {n}: triclinic boxes are not supported")
            else:
                key = " ".join(words[1:])
                if key in _HEADER:
                    out[_HEADER[key]] = int(words[0])
                elif key.endswith(("per atom", "extra bond per atom")) or "extra" in key or "ellipsoids" in key:
                    continue
                else:
                    raise InputError(path, f"line {n}: unknown header line '{text}'")
        except (ValueError, IndexError):
            raise InputError(path, f"line {n}: cannot parse '{text}'") from None
    natoms, ntypes = out["natoms"], out["ntypes"]
    if natoms <= 0 or ntypes <= 0:
        raise InputError(path, "header needs 'N atoms' and 'N atom types' with N > 0")
    while n < len(lines):
        raw = lines[n]
        name = raw.split("#")[0].strip()
        n += 1
        if not name:
            continue
        if name not in _SECTIONS:
            raise InputError(path, f"line {n}: unknown section '{name}'")
        comment = raw.split("#")[1].strip() if "#" in raw else ""
        count = {"Atoms": natoms, "Velocities": natoms, "Masses": ntypes, "Pair Coeffs": ntypes}.get(name)
        if name in _TOPOLOGY:
            count = out.get("n" + name.lower(), 0)
        elif name == "PairIJ Coeffs":
            count = ntypes * (ntypes + 1) // 2
        elif count is None:
            key = "n" + name.split()[0].lower() + "types"
            count = out.get(key, 0)
        while n < len(lines) and not lines[n].strip():
            n += 1
        first = n
        rows = []
        while n < len(lines) and len(rows) < count:
            t = lines[n].split("#")[0].strip()
            n += 1
            if t:
                rows.append(t.split())
        if len(rows) < count:
            raise InputError(path, f"section '{name}' (line {first}): expected {count} lines, found {len(rows)}")
        try:
            _section(out, name, comment, rows, style)
        except (ValueError, IndexError) as exc:
            raise InputError(path, f"section '{name}' starting at line {first + 1}: malformed line ({exc})") from None
    if "x" not in out:
        raise InputError(path, "no Atoms section")
    if out.get("masses") is None:
        out["masses"] = None
    return out


def _section(out, name, comment, rows, style):
    if name == "Masses":
        m = np.zeros(out["ntypes"])
        for r in rows:
            m[int(r[0]) - 1] = float(r[1])
        out["masses"] = m
    elif name == "Atoms":
        ncol = len(rows[0])
        st = style or (comment if comment in STYLES else ("full" if ncol in (7, 10) else "atomic"))
        if st not in STYLES:
            raise ValueError(f"atom style '{st}' (supported: {', '.join(STYLES)})")
        base = STYLES[st]
        if ncol not in (base, base + 3):
            raise ValueError(f"{ncol} columns for atom style {st}")
        a = np.array(rows, dtype=object)
        ids = a[:, 0].astype(np.int64)
        order = np.argsort(ids, kind="stable")
        a, ids = a[order], ids[order]
        out["style"], out["id"] = st, ids
        if st == "atomic":
            out["type"] = a[:, 1].astype(np.int64)
            xcol = 2
        else:
            out["mol"] = a[:, 1].astype(np.int64)
            out["type"] = a[:, 2].astype(np.int64)
            out["q"] = a[:, 3].astype(np.float64)
            xcol = 4
        out["x"] = a[:, xcol : xcol + 3].astype(np.float64)
        out["image"] = (
            a[:, xcol + 3 : xcol + 6].astype(np.int64) if ncol == base + 3 else np.zeros((len(ids), 3), np.int64)
        )
        if out["type"].min() < 1 or out["type"].max() > out["ntypes"]:
            raise ValueError(f"atom type outside 1..{out['ntypes']}")
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate atom ids")
    elif name == "Velocities":
        a = np.array(rows, dtype=np.float64)
        out["v_id"] = a[:, 0].astype(np.int64)
        out["v"] = a[:, 1:4]
    elif name == "Pair Coeffs":
        out["pair_coeffs"] = [(int(r[0]), [float(w) for w in r[1:]]) for r in rows]
        out["coeffs"][name] = [" ".join(r) for r in rows]
    elif name in _TOPOLOGY:
        out["topology"][name] = np.array(rows, dtype=np.int64).reshape(-1, _TOPOLOGY[name])
    else:
        out["coeffs"][name] = [" ".join(r) for r in rows]


def velocities_by_id(data):
    """Velocities ordered like ``data['id']`` (zeros when the file has none)."""
    if "v" not in data:
        return np.zeros_like(data["x"])
    order = np.argsort(data["v_id"], kind="stable")
    if not np.array_equal(data["v_id"][order], data["id"]):
        raise ValueError("Velocities section ids do not match the Atoms section")
    return data["v"][order]


def write_data(path, d, title="zzhpc md"):
    """Write ``d`` (keys as :func:`read_data` returns, arrays sorted by id) as a LAMMPS data file."""
    st = d.get("style", "atomic")
    with open(path, "w") as fh:
        fh.write(f"LAMMPS data file written by {title}\n\n")
        fh.write(f"{len(d['id'])} atoms\n{d['ntypes']} atom types\n")
        for name in _TOPOLOGY:
            top = d.get("topology", {}).get(name)
            if top is not None and len(top):
                fh.write(f"{len(top)} {name.lower()}\n")
        for key, word in (
            ("nbondtypes", "bond"),
            ("nangletypes", "angle"),
            ("ndihedraltypes", "dihedral"),
            ("nimpropertypes", "improper"),
        ):
            if d.get(key):
                fh.write(f"{d[key]} {word} types\n")
        fh.write("\n")
        for k, ax in enumerate("xyz"):
            fh.write(f"{d['box_lo'][k]!r} {d['box_hi'][k]!r} {ax}lo {ax}hi\n")
        if d.get("masses") is not None:
            fh.write("\nMasses\n\n")
            for t, m in enumerate(d["masses"]):
                fh.write(f"{t + 1} {m!r}\n")
        for name, rows in d.get("coeffs", {}).items():
            fh.write(f"\n{name}\n\n" + "".join(r + "\n" for r in rows))
        fh.write(f"\nAtoms # {st}\n\n")
        x, img = d["x"], d["image"]
        for k in range(len(d["id"])):
            pos = " ".join(f"{v:.17g}" for v in x[k])
            ims = " ".join(str(int(v)) for v in img[k])
            if st == "atomic":
                fh.write(f"{d['id'][k]} {d['type'][k]} {pos} {ims}\n")
            else:
                fh.write(f"{d['id'][k]} {d['mol'][k]} {d['type'][k]} {d['q'][k]:.17g} {pos} {ims}\n")
        if d.get("v") is not None:
            fh.write("\nVelocities\n\n")
            for k in range(len(d["id"])):
                fh.write(f"{d['id'][k]} " + " ".join(f"{v:.17g}" for v in d["v"][k]) + "\n")
        for name in _TOPOLOGY:
            top = d.get("topology", {}).get(name)
            if top is not None and len(top):
                fh.write(f"\n{name}\n\n" + "".join(" ".join(str(int(v)) for v in r) + "\n" for r in top))
