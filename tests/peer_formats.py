"""Run in the peer environment (MDAnalysis, ASE): read files zzhpc wrote with the tools that own the formats
and print what they found as JSON (positions in each tool's own units)."""

import json
import sys
import warnings

warnings.filterwarnings("ignore")


def mda(path, fmt=None, **kw):
    import MDAnalysis as mda

    u = mda.Universe(path, format=fmt, **kw) if fmt else mda.Universe(path, **kw)
    u.trajectory[-1]  # the last frame, as the other readers give
    return {
        "n": int(u.atoms.n_atoms),
        "frames": int(len(u.trajectory)),
        "pos": u.atoms.positions.tolist(),
        "box": [float(b) for b in u.dimensions[:3]],
        "names": [str(n) for n in getattr(u.atoms, "names", [])][:6],
    }


def ase_read(path, fmt):
    import ase.io

    frames = ase.io.read(path, index=":", format=fmt)
    a = frames[-1]
    return {
        "n": len(a),
        "frames": len(frames),
        "pos": a.get_positions().tolist(),
        "box": [float(x) for x in a.cell.lengths()],
        "symbols": a.get_chemical_symbols()[:6],
    }


if __name__ == "__main__":
    req = json.loads(sys.stdin.read())
    out = {}
    for key, (tool, path, fmt, kw) in req.items():
        out[key] = mda(path, fmt, **kw) if tool == "mda" else ase_read(path, fmt)
    print(json.dumps(out))
