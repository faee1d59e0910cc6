"""PETSc options given by the user: checked before the run (a wrong type name is one line naming the
option), and those PETSc never read reported after it (what PETSc's ``-options_left`` reports, in one line)."""

import ctypes
import os
import shlex
import sys

COMMON = {
    "KSP": ("cg", "gmres", "bcgs", "minres", "richardson", "preonly"),
    "PC": ("gamg", "hypre", "jacobi", "bjacobi", "sor", "ilu", "lu", "none"),
}
CHOICE_OPTIONS = {"ksp_type": "KSP", "pc_type": "PC", "snes_type": "SNES", "mat_type": "Mat", "vec_type": "Vec"}


def user_options():
    """``[(name, value or None)]`` from ``PETSC_OPTIONS`` (which holds the options after ``--`` too)."""
    try:
        toks = shlex.split(os.environ.get("PETSC_OPTIONS", ""))
    except ValueError:
        return []
    out, i = [], 0
    while i < len(toks):
        name, value = toks[i], None
        if i + 1 < len(toks) and not _is_option(toks[i + 1]):
            value, i = toks[i + 1], i + 1
        out.append((name, value))
        i += 1
    return out


def _is_option(tok):
    if not tok.startswith("-") or len(tok) < 2:
        return False
    try:
        float(tok)
        return False
    except ValueError:
        return True


def check_options():
    """None, or the one line for the first user option PETSc would refuse (a name that is not an option,
    an unknown ``*_type``). Call after PETSc is initialised; a process without PETSc checks nothing."""
    petsc = sys.modules.get("petsc4py.PETSc")
    for name, value in user_options():
        if not name.startswith("-") or name[1:2].isdigit():
            return f"PETSc option '{name}': expected '-name [value]' (options after -- or in PETSC_OPTIONS)"
        if petsc is None:
            continue
        for suffix, cls in CHOICE_OPTIONS.items():
            if name.endswith(suffix) and hasattr(petsc, cls):
                known = {
                    v for k, v in vars(getattr(petsc, cls).Type).items() if not k.startswith("_") and isinstance(v, str)
                }
                if value is None or value not in known:
                    common = [t for t in COMMON.get(cls, ()) if t in known] or sorted(known)[:6]
                    return (
                        f"PETSc option {name} {value or ''}".rstrip() + f": not a {cls} type of this PETSc "
                        f"(e.g. {', '.join(common)}; {len(known)} known)"
                    )
    return None


def unused_options():
    """Names of the options in PETSc's database that nothing read (PetscOptionsLeftGet), or [] when this
    cannot be asked (no PETSc in this process, a library that cannot be found)."""
    petsc = sys.modules.get("petsc4py.PETSc")
    if petsc is None:
        return []
    try:
        with open("/proc/self/maps") as fh:
            lib = next(ln.split()[-1] for ln in fh if "libpetsc" in ln and ".so" in ln)
        dll = ctypes.CDLL(lib)
        import numpy as np

        pint = ctypes.c_int64 if np.dtype(petsc.IntType).itemsize == 8 else ctypes.c_int32
        n = pint()
        names = ctypes.POINTER(ctypes.c_char_p)()
        values = ctypes.POINTER(ctypes.c_char_p)()
        if dll.PetscOptionsLeftGet(None, ctypes.byref(n), ctypes.byref(names), ctypes.byref(values)):
            return []
        left = ["-" + names[i].decode() for i in range(n.value)]
        dll.PetscOptionsLeftRestore(None, ctypes.byref(n), ctypes.byref(names), ctypes.byref(values))
        return [name for name in left if name not in ("-options_left",)]
    except (OSError, StopIteration, AttributeError, ValueError):
        return []
