r"""Pair styles: Lennard-Jones 12-6 with per-type-pair coefficients (LAMMPS ``lj/cut``), here; the
Stillinger-Weber three-body style ``sw`` (mW water) is in :mod:`.sw`.

.. math:: E(r) = 4\varepsilon[(\sigma/r)^{12} - (\sigma/r)^6] - E_\mathrm{shift},\quad r < r_c

with :math:`E_\mathrm{shift} = E(r_c)` when ``shift`` is on (LAMMPS ``pair_modify shift yes``), else 0.
Unset cross terms follow LAMMPS's default geometric mixing:
:math:`\varepsilon_{ij} = \sqrt{\varepsilon_i\varepsilon_j}`, :math:`\sigma_{ij} = \sqrt{\sigma_i\sigma_j}`.
The kernels read the tables ``lj1 = 48 eps sig^12``, ``lj2 = 24 eps sig^6``, ``lj3 = 4 eps sig^12``,
``lj4 = 4 eps sig^6``, ``cutsq`` and ``offset``, each ``(ntypes, ntypes)`` (types are 0-based inside).
"""

import math

import numpy as np

from ...errors import ConfigError

PAIR_STYLES = ("lj/cut", "sw")


def parse_pair_coeff(lines, ntypes, cutoff, key="md.pair_coeff"):
    """``["I J eps sigma [cut]", ...]`` (1-based types, ``*`` allowed) -> ``{(i, j): (eps, sig, cut)}``."""
    out = {}
    for n, line in enumerate(lines):
        words = line.split()
        if len(words) not in (4, 5):
            raise ConfigError(f"{key}[{n}]", "expected 'I J epsilon sigma [cutoff]'", line)
        try:
            ii = _types(words[0], ntypes)
            jj = _types(words[1], ntypes)
            vals = [float(w) for w in words[2:]]
        except ValueError:
            raise ConfigError(f"{key}[{n}]", f"expected type numbers 1..{ntypes} (or *) and numbers", line) from None
        eps, sig = vals[0], vals[1]
        cut = vals[2] if len(vals) > 2 else cutoff
        if eps < 0 or sig <= 0 or cut <= 0:
            raise ConfigError(f"{key}[{n}]", "needs epsilon >= 0, sigma > 0, cutoff > 0", line)
        for i in ii:
            for j in jj:
                out[(min(i, j), max(i, j))] = (eps, sig, cut)
    return out


def _types(word, ntypes):
    if word == "*":
        return list(range(ntypes))
    t = int(word)
    if not 1 <= t <= ntypes:
        raise ValueError(word)
    return [t - 1]


def lj_tables(coeffs, ntypes, shift, key="md.pair_coeff"):
    """Dense per-type-pair tables (host NumPy) from ``{(i, j): (eps, sig, cut)}``, mixing absent pairs."""
    eps = np.zeros((ntypes, ntypes))
    sig = np.ones((ntypes, ntypes))
    cut = np.zeros((ntypes, ntypes))
    for i in range(ntypes):
        if (i, i) not in coeffs:
            missing = [j + 1 for j in range(ntypes) if (min(i, j), max(i, j)) not in coeffs]
            if missing:
                raise ConfigError(
                    key,
                    f"no coefficients for type pair {i + 1} {missing[0]} "
                    f"(give 'I I eps sigma' for every type to allow mixing)",
                )
    for i in range(ntypes):
        for j in range(ntypes):
            a, b = min(i, j), max(i, j)
            if (a, b) in coeffs:
                e, s, c = coeffs[(a, b)]
            else:
                ea, sa, ca = coeffs[(a, a)]
                eb, sb, cb = coeffs[(b, b)]
                e, s, c = math.sqrt(ea * eb), math.sqrt(sa * sb), math.sqrt(ca * cb)
            eps[i, j], sig[i, j], cut[i, j] = e, s, c
    s6 = sig**6
    s12 = s6 * s6
    tab = {"lj1": 48 * eps * s12, "lj2": 24 * eps * s6, "lj3": 4 * eps * s12, "lj4": 4 * eps * s6, "cutsq": cut * cut}
    if shift:
        rr6 = (sig / cut) ** 6
        tab["offset"] = 4 * eps * (rr6 * rr6 - rr6)
    else:
        tab["offset"] = np.zeros((ntypes, ntypes))
    return tab, float(cut.max())
