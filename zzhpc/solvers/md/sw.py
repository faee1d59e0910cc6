r"""Stillinger-Weber three-body potential (LAMMPS ``pair_style sw``), one element, and its mW water set.

.. math::

    E = \sum_i \sum_{j>i} \phi_2(r_{ij}) + \sum_i \sum_{j \ne i} \sum_{k>j} \phi_3(r_{ij}, r_{ik}, \theta_{jik})

    \phi_2(r) = A\varepsilon\,[B(\sigma/r)^p - (\sigma/r)^q]\,\exp\!\Big(\frac{\sigma}{r - a\sigma}\Big)

    \phi_3 = \lambda\varepsilon\,(\cos\theta_{jik} - \cos\theta_0)^2
             \exp\!\Big(\frac{\gamma\sigma}{r_{ij} - a\sigma}\Big)\exp\!\Big(\frac{\gamma\sigma}{r_{ik} - a\sigma}\Big)

both zero beyond the cutoff :math:`a\sigma`. References: Stillinger & Weber, Phys. Rev. B 31, 5262 (1985);
LAMMPS ``pair_style sw`` documentation (the same form and file format).

mW water (Molinero & Moore, J. Phys. Chem. B 113, 4008 (2009)) is the silicon form with
:math:`\lambda = 23.15` (silicon: 21), :math:`\varepsilon = 6.189` kcal/mol, :math:`\sigma = 2.3925` A,
:math:`a = 1.8` (cutoff 4.3065 A), :math:`\gamma = 1.2`, :math:`\cos\theta_0 = -1/3`,
:math:`A = 7.049556277`, :math:`B = 0.6022245584`, :math:`p = 4`, :math:`q = 0`; one site of mass
18.015 g/mol per molecule. These parameters are in ``units real``.

A ``.sw`` file holds entries of 14 numbers after three element names (``e1 e2 e3 epsilon sigma a lambda
gamma costheta0 A B p q tol``), free-format over lines, ``#`` comments; only the entry ``E E E`` of the
chosen element is used (one-element systems: every atom type is that element). ``tol`` must be 0 here
(LAMMPS's tabulation tolerance is not implemented).
"""

from dataclasses import astuple, dataclass

from ...errors import ConfigError, InputError

FIELDS = ("epsilon", "sigma", "a", "lambda_", "gamma", "costheta0", "A", "B", "p", "q", "tol")


@dataclass(frozen=True)
class SWParams:
    """One Stillinger-Weber element (LAMMPS file order); ``units`` is the unit style they are in."""

    epsilon: float
    sigma: float
    a: float
    lambda_: float
    gamma: float
    costheta0: float
    A: float
    B: float
    p: float
    q: float
    tol: float = 0.0
    units: str = ""

    @property
    def cutoff(self):
        return self.a * self.sigma


BUILTIN = {
    "mW": SWParams(6.189, 2.3925, 1.8, 23.15, 1.2, -1.0 / 3.0, 7.049556277, 0.6022245584, 4.0, 0.0, 0.0, "real"),
}
MW_MASS = 18.015  # g/mol, one mW site per water molecule


def read_sw_file(path, element):
    """The entry ``element element element`` of a LAMMPS ``.sw`` file (InputError names file and problem)."""
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
    units = ""
    words = []
    for line in text.splitlines():
        if "UNITS:" in line:
            units = line.split("UNITS:")[1].split()[0]
        words += line.split("#")[0].split()
    if len(words) % 14:
        raise InputError(
            path, f"expected entries of 14 words (3 elements and 11 numbers), found {len(words)} words in all"
        )
    found = None
    for n in range(0, len(words), 14):
        names, nums = words[n : n + 3], words[n + 3 : n + 14]
        try:
            vals = [float(w) for w in nums]
        except ValueError:
            raise InputError(
                path,
                f"entry {n // 14 + 1} ({' '.join(names)}): expected 11 numbers after the "
                f"element names, got '{' '.join(nums)}'",
            ) from None
        if names == [element] * 3:
            found = vals
    if found is None:
        raise InputError(path, f"no entry '{element} {element} {element}' (one-element systems only)")
    prm = SWParams(*found, units=units)
    check_params(prm, path)
    return prm


def check_params(prm, where):
    """Physical ranges; raise InputError naming ``where``."""
    for name in ("epsilon", "sigma", "a", "A"):
        if not getattr(prm, name) > 0:
            raise InputError(where, f"{name} = {getattr(prm, name)} must be > 0")
    for name in ("lambda_", "gamma", "B", "p", "q"):
        if not getattr(prm, name) >= 0:
            raise InputError(where, f"{name.rstrip('_')} = {getattr(prm, name)} must be >= 0")
    if prm.tol != 0.0:
        raise InputError(where, f"tol = {prm.tol}: only tol = 0 (no tabulation cut) is supported")
    if not -1.0 <= prm.costheta0 <= 1.0:
        raise InputError(where, f"costheta0 = {prm.costheta0} must lie in [-1, 1]")


def sw_params(p, units):
    """The :class:`SWParams` of an MD deck section ``p`` (``sw_file`` + ``sw_element``, else ``sw_params``)."""
    if p.get("sw_file"):
        path = p["sw_file"]
        try:
            prm = read_sw_file(path, p.get("sw_element", "mW"))
        except InputError as exc:
            raise ConfigError("md.sw_file", str(exc)[len(str(path)) + 2 :], path) from None
        if prm.units and prm.units != units:
            raise ConfigError("md.sw_file", f"the file says UNITS: {prm.units} but md.units is '{units}'", p["sw_file"])
        return prm
    name = p.get("sw_params", "mW")
    if name not in BUILTIN:
        raise ConfigError("md.sw_params", f"unknown built-in set (allowed: {', '.join(BUILTIN)})", name)
    prm = BUILTIN[name]
    if prm.units != units:
        raise ConfigError(
            "md.units",
            f"the built-in '{name}' parameters are in units {prm.units}, set md.units = \"{prm.units}\"",
            units,
        )
    return prm


# Order of the constants of sw_constants in the flat arrays the compiled kernels take.
CONSTANT_ORDER = (
    "cut",
    "cutsq",
    "sigma",
    "sigma_gamma",
    "lambda_epsilon",
    "lambda_epsilon2",
    "costheta",
    "powerp",
    "powerq",
    "c1",
    "c2",
    "c3",
    "c4",
    "c5",
    "c6",
)


def sw_constants(prm):
    """Derived constants of the kernels (names as in LAMMPS ``PairSW::setup_params``), host floats."""
    e, s = prm.epsilon, prm.sigma
    Ae = prm.A * e
    return {
        "cut": prm.a * s,
        "cutsq": (prm.a * s) ** 2,
        "sigma": s,
        "sigma_gamma": s * prm.gamma,
        "lambda_epsilon": prm.lambda_ * e,
        "lambda_epsilon2": 2.0 * prm.lambda_ * e,
        "costheta": prm.costheta0,
        "powerp": prm.p,
        "powerq": prm.q,
        "c1": Ae * prm.p * prm.B * s**prm.p,
        "c2": Ae * prm.q * s**prm.q,
        "c3": Ae * prm.B * s ** (prm.p + 1.0),
        "c4": Ae * s ** (prm.q + 1.0),
        "c5": Ae * prm.B * s**prm.p,
        "c6": Ae * s**prm.q,
    }


def sw_file_text(prm, element="mW"):
    """A LAMMPS ``.sw`` file (one entry, full precision) of ``prm``, for the peer run and for users."""
    vals = " ".join(repr(float(v)) for v in astuple(prm)[:11])
    return (
        f"# DATE: generated by zzhpc UNITS: {prm.units}\n"
        f"# Stillinger-Weber entry: elements, epsilon sigma a lambda gamma costheta0 A B p q tol\n"
        f"{element} {element} {element} {vals}\n"
    )
