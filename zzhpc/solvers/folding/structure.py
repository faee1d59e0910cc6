"""Reading a protein structure (PDB or mmCIF) into the per-residue atoms a C-alpha model needs.

Only what a structure-based model uses is kept: for each residue of the chosen chain and residue range,
its name, number and atoms (name, element, coordinates in nm). Alternate locations other than the first
(blank or ``A``) are dropped, as are waters, ions and hydrogens for the contact map. Coordinates in the
files are in angstrom; everything returned is in nm.
"""

import os
from dataclasses import dataclass, field

import numpy as np

from ...errors import InputError

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
_SKIP_RESIDUES = {"HOH", "WAT", "SOL", "TIP3", "NA", "CL", "Cl", "Na", "K", "MG", "CA2", "ZN", "SO4"}


@dataclass
class Residue:
    chain: str
    number: int
    insertion: str
    name: str
    atoms: dict = field(default_factory=dict)  # atom name -> (element, xyz nm)

    @property
    def ca(self):
        return self.atoms["CA"][1]

    def heavy_atoms(self):
        return np.array([xyz for name, (el, xyz) in self.atoms.items() if el != "H"])


@dataclass
class Structure:
    path: str
    residues: list

    @property
    def ca(self):
        """C-alpha trace, ``(N, 3)`` nm."""
        return np.array([r.ca for r in self.residues])

    @property
    def sequence(self):
        return [r.name for r in self.residues]


def find_structure(name):
    """A path as given, else a structure shipped in ``zzhpc/solvers/folding/data``; None if neither."""
    if os.path.isfile(name):
        return os.path.abspath(name)
    cand = os.path.join(DATA_DIR, os.path.basename(name))
    return cand if os.path.isfile(cand) else None


def _element(name, given):
    if given:
        return given.strip().upper()
    stripped = name.strip().lstrip("0123456789")
    return stripped[:1].upper() if stripped else "X"


def _pdb_records(path):
    """Atom records ``(line_no, chain, resnum, icode, resname, atom, element, xyz_angstrom)`` of model 1."""
    out = []
    with open(path, errors="replace") as fh:
        for no, line in enumerate(fh, 1):
            rec = line[:6]
            if rec.startswith("ENDMDL"):
                break
            if not rec.startswith(("ATOM  ", "HETATM")):
                continue
            if len(line.rstrip("\n")) < 54:
                raise InputError(path, f"line {no}: truncated {rec.strip()} record (need columns 1-54)")
            try:
                xyz = (float(line[30:38]), float(line[38:46]), float(line[46:54]))
                resnum = int(line[22:26])
            except ValueError:
                raise InputError(
                    path, f"line {no}: unreadable residue number or coordinates in {line.rstrip()!r}"
                ) from None
            altloc = line[16]
            if altloc not in (" ", "A", "1"):
                continue
            out.append(
                (
                    no,
                    line[21].strip(),
                    resnum,
                    line[26].strip(),
                    line[17:21].strip(),
                    line[12:16].strip(),
                    _element(line[12:16], line[76:78] if len(line) > 76 else ""),
                    xyz,
                )
            )
    return out


def _cif_records(path):
    """Atom records of the ``_atom_site`` loop of an mmCIF file (first model, label-free author numbering)."""
    with open(path, errors="replace") as fh:
        lines = fh.readlines()
    cols, out, i = [], [], 0
    while i < len(lines):
        if lines[i].strip() == "loop_" and i + 1 < len(lines) and lines[i + 1].startswith("_atom_site."):
            i += 1
            while i < len(lines) and lines[i].startswith("_atom_site."):
                cols.append(lines[i].split()[0][len("_atom_site.") :])
                i += 1
            break
        i += 1
    if not cols:
        raise InputError(path, "no _atom_site loop (not an mmCIF coordinate file)")
    need = ["group_PDB", "label_atom_id", "Cartn_x", "Cartn_y", "Cartn_z"]
    missing = [c for c in need if c not in cols]
    if missing:
        raise InputError(path, f"_atom_site lacks {', '.join(missing)}")
    idx = {c: k for k, c in enumerate(cols)}

    def get(tok, *names, default=""):
        for n in names:
            if n in idx and tok[idx[n]] not in ("?", "."):
                return tok[idx[n]]
        return default

    first_model = None
    while i < len(lines):
        line = lines[i]
        no = i + 1
        i += 1
        if not line.strip() or line.startswith(("#", "loop_", "_")):
            if out:
                break
            continue
        tok = line.split()
        if len(tok) != len(cols):
            raise InputError(path, f"line {no}: {len(tok)} fields in an _atom_site row, expected {len(cols)}")
        model = get(tok, "pdbx_PDB_model_num", default="1")
        first_model = first_model or model
        if model != first_model:
            break
        if get(tok, "label_alt_id") not in ("", "A", "1"):
            continue
        try:
            xyz = tuple(float(tok[idx[c]]) for c in ("Cartn_x", "Cartn_y", "Cartn_z"))
            resnum = int(get(tok, "auth_seq_id", "label_seq_id", default="0"))
        except ValueError:
            raise InputError(path, f"line {no}: unreadable coordinates or residue number") from None
        out.append(
            (
                no,
                get(tok, "auth_asym_id", "label_asym_id"),
                resnum,
                get(tok, "pdbx_PDB_ins_code"),
                get(tok, "auth_comp_id", "label_comp_id"),
                get(tok, "auth_atom_id", "label_atom_id").strip('"'),
                get(tok, "type_symbol").upper() or _element(tok[idx["label_atom_id"]], ""),
                xyz,
            )
        )
    return out


def read_structure(path, chain="", residues=None):
    """Residues of one chain of a PDB or mmCIF file.

    Parameters
    ----------
    path : str
        ``.pdb``/``.ent`` (fixed columns) or ``.cif``/``.mmcif``.
    chain : str
        Chain identifier; empty = the first chain in the file (a blank chain ID counts as a chain).
    residues : (first, last) or None
        Inclusive author residue-number range; None = the whole chain.

    Raises InputError naming the file (and line) for unreadable files, missing C-alpha atoms and empty
    selections.
    """
    if not os.path.isfile(path):
        raise InputError(path, "structure file not found")
    recs = _cif_records(path) if path.lower().endswith((".cif", ".mmcif")) else _pdb_records(path)
    recs = [r for r in recs if r[4] not in _SKIP_RESIDUES]
    if not recs:
        raise InputError(path, "no protein atoms (ATOM/HETATM records) found")
    chains = list(dict.fromkeys(r[1] for r in recs))
    want = chain if chain else chains[0]
    if want not in chains:
        if len(chains) == 1 and chains[0] == "":
            want = ""  # a file without chain IDs is one chain, whatever it is called
        else:
            raise InputError(path, f"no chain {chain!r} (chains: {', '.join(repr(c) for c in chains)})")
    res, order, lines = {}, [], {}
    for no, ch, num, ic, rname, aname, el, xyz in recs:
        if ch != want or (residues and not residues[0] <= num <= residues[1]):
            continue
        key = (num, ic)
        if key not in res:
            res[key] = Residue(ch, num, ic, rname)
            order.append(key)
            lines[key] = no
        res[key].atoms.setdefault(aname, (el, np.array(xyz) / 10.0))
    if not order:
        raise InputError(path, f"chain {want!r} has no residues in range {residues}")
    for key in order:
        if "CA" not in res[key].atoms:
            raise InputError(path, f"line {lines[key]}: residue {res[key].name} {key[0]}{key[1]} has no CA atom")
    out = [res[k] for k in order]
    if len(out) < 5:
        raise InputError(path, f"only {len(out)} residues selected; a C-alpha model needs at least 5")
    return Structure(path, out)


def write_pdb(path, structure, chain="A"):
    """Write the selected residues (all their atoms) as a plain PDB file, renumbered atoms, one chain."""
    with open(path, "w") as fh:
        fh.write(f"REMARK   1 zzhpc folding: residues of {os.path.basename(structure.path)}\n")
        n = 0
        for r in structure.residues:
            for name, (el, xyz) in r.atoms.items():
                n += 1
                a = 10.0 * xyz
                aname = name if len(name) == 4 else f" {name:<3s}"
                rname = r.name[:4] if len(r.name) >= 4 else f"{r.name:>3s} "
                fh.write(
                    f"ATOM  {n:5d} {aname} {rname}{chain}{r.number:4d}{r.insertion:1s}   "
                    f"{a[0]:8.3f}{a[1]:8.3f}{a[2]:8.3f}  1.00  0.00          {el:>2s}\n"
                )
        fh.write("TER\nEND\n")
