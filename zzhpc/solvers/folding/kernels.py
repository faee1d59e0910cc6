r"""Forces and energies of the C-alpha structure-based model for a batch of replicas, written once against xp.

Positions are ``(R, N, 3)`` (replica axis first). Bonded terms act on consecutive beads, so they are slices
of the chain, never gathers. Pair terms (native 12-10 contacts and 12 repulsion) use the dense
``(R, N, N)`` distance matrix from the Gram matrix, :math:`r_{ij}^2 = |x_i|^2 + |x_j|^2 - 2 x_i\cdot x_j`
(coordinates centred first), and the pair forces are gathered with one batched matrix product,
:math:`F_i = x_i \sum_j f_{ij} - \sum_j f_{ij} x_j`: no scatter, the same code on NumPy, PyTorch and CuPy.
"""

import array_api_compat
import numpy as np

from ...device import kernel, override
from ...errors import NotSuitableError


def _sub(a, b):
    return tuple(p - q for p, q in zip(a, b))


def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _scale(c, a):
    return tuple(c * p for p in a)


def _add(f, g, lo):
    """``f[:, lo:lo+M] += g`` for a force component ``f`` (R, N) and ``g`` (R, M), by ``__setitem__``."""
    hi = lo + g.shape[1]
    f[:, lo:hi] = f[:, lo:hi] + g


def _sample(rng):
    from .model import CalphaModel

    n = 12
    t = np.linspace(0, 3 * np.pi, n)
    native = np.stack([0.5 * np.cos(t), 0.5 * np.sin(t), 0.15 * t], 1)
    m = CalphaModel(
        native=native,
        r0=np.full(n - 1, 0.38),
        theta0=np.full(n - 2, 1.9),
        phi0=np.full(n - 3, 0.8),
        contacts=np.array([[0, 5], [2, 9], [3, 11]]),
        sigma=np.array([0.6, 0.7, 0.55]),
        k_bond=20000.0,
        k_angle=40.0,
        k1=1.0,
        k3=0.5,
        sigma_rep=0.4,
        epsilon=1.0,
    )
    x = native[None] + 0.03 * rng.standard_normal((5, n, 3))
    return (x, m.kernel_params()), {"energy": True}


def _same(a):
    return a


def _bonded(xp, x, p, energy, lo=_same, wide=_same):
    """Bond, angle and dihedral forces as three ``(R, N)`` components, and energies ``(R,)`` or None.

    Mixed precision: ``lo`` rounds each difference vector to float32 (the terms then run in float32 with
    the float32 parameters in ``p``), ``wide`` widens what is summed to the state's dtype."""
    e = None
    # Bonded terms work on components, vectors being 3-tuples of contiguous (R, M) arrays.
    c = tuple(xp.asarray(x[..., k], copy=True) for k in range(3))  # contiguous components
    f = [xp.zeros_like(c[0]) for _ in range(3)]

    def seg(lo, hi):
        return tuple(v[:, lo : v.shape[1] + hi if hi else None] for v in c)

    def sub(a, b):
        return tuple(lo(v) for v in _sub(a, b))

    # Bonds: 1/2 K (r - r0)^2 between beads i, i+1.
    d = sub(seg(1, 0), seg(0, -1))
    r = xp.sqrt(_dot(d, d))
    dr = r - p["r0"]
    g = _scale(p["k_bond"] * dr / r, d)
    for k in range(3):
        _add(f[k], g[k], 0)
        _add(f[k], -g[k], 1)
    if energy:
        e = 0.5 * p["k_bond"] * xp.sum(wide(dr * dr), axis=-1)

    # Angles: 1/2 K (theta - theta0)^2 at bead j = i+1.
    a = sub(seg(0, -2), seg(1, -1))
    b = sub(seg(2, 0), seg(1, -1))
    la2, lb2, ab = _dot(a, a), _dot(b, b), _dot(a, b)
    axb = _cross(a, b)
    sin_lab = xp.sqrt(_dot(axb, axb))  # |a||b| sin(theta)
    theta = xp.atan2(sin_lab, ab)
    dth = theta - p["theta0"]
    # dtheta/da = (ab a/|a|^2 - b) / (|a||b| sin), likewise for b; F = -K dth dtheta/dx.
    cc = p["k_angle"] * dth / sin_lab
    ca, cb = cc * ab / la2, cc * ab / lb2
    for k in range(3):
        fi = cc * b[k] - ca * a[k]
        fk = cc * a[k] - cb * b[k]
        _add(f[k], fi, 0)
        _add(f[k], -(fi + fk), 1)
        _add(f[k], fk, 2)
    if energy:
        e = e + 0.5 * p["k_angle"] * xp.sum(wide(dth * dth), axis=-1)

    # Dihedrals: k1 [1 - cos(phi - phi0)] + k3 [1 - cos 3(phi - phi0)] (forces as in GROMACS do_dih_fup).
    rij = sub(seg(0, -3), seg(1, -2))
    rkj = sub(seg(2, -1), seg(1, -2))
    rkl = sub(seg(2, -1), seg(3, 0))
    m = _cross(rij, rkj)
    n = _cross(rkj, rkl)
    iprm, iprn, nrkj2 = _dot(m, m), _dot(n, n), _dot(rkj, rkj)
    nrkj = xp.sqrt(nrkj2)
    phi = xp.atan2(nrkj * _dot(rij, n), _dot(m, n))
    dp = phi - p["phi0"]
    ddphi = p["k1"] * xp.sin(dp) + 3.0 * p["k3"] * xp.sin(3.0 * dp)
    cm, cn = -ddphi * nrkj / iprm, ddphi * nrkj / iprn
    pp, qq = _dot(rij, rkj) / nrkj2, _dot(rkl, rkj) / nrkj2
    for k in range(3):
        f_i, f_l = cm * m[k], cn * n[k]
        svec = pp * f_i - qq * f_l
        _add(f[k], f_i, 0)
        _add(f[k], svec - f_i, 1)
        _add(f[k], -(f_l + svec), 2)
        _add(f[k], f_l, 3)
    if energy:
        e = e + xp.sum(wide(p["k1"] * (1.0 - xp.cos(dp)) + p["k3"] * (1.0 - xp.cos(3.0 * dp))), axis=-1)

    return f, e


@kernel("sbm_forces", sample=_sample)
def sbm_forces(x, p, energy=False, mixed=False):
    """Forces ``(R, N, 3)`` [eps/nm] and, if ``energy``, potential energies ``(R,)`` [eps].

    ``p`` holds device arrays ``r0 (N-1)``, ``theta0 (N-2)``, ``phi0 (N-3)``, ``a12, b10, a, b (N, N)``
    (pair coefficients, :math:`V = a/r^{12} - b/r^{10}`, ``a12 = 12a``, ``b10 = 10b``), ``eye (N, N)``
    and the scalars ``k_bond, k_angle, k1, k3``. ``mixed``: :func:`sbm_forces_mixed`.
    """
    xp = array_api_compat.array_namespace(x)
    if mixed:
        return sbm_forces_mixed(xp, x, p, energy)
    f, e = _bonded(xp, x, p, energy)
    # Pairs: a/r^12 - b/r^10 over the dense matrix (diagonal and |i-j| <= 3 have a = b = 0). One batched
    # product of [-2x, |x|^2, 1] with [x, 1, |x|^2] gives r^2 = |x_i|^2 + |x_j|^2 - 2 x_i.x_j directly.
    xc = x - xp.mean(x, axis=1, keepdims=True)
    sq = _dot((xc[..., 0], xc[..., 1], xc[..., 2]), (xc[..., 0], xc[..., 1], xc[..., 2]))
    one = xp.ones_like(sq)
    left = xp.stack([-2.0 * xc[..., 0], -2.0 * xc[..., 1], -2.0 * xc[..., 2], sq, one], axis=-1)
    right = xp.stack([xc[..., 0], xc[..., 1], xc[..., 2], one, sq], axis=1)
    u = 1.0 / (left @ right + p["eye"])
    u3 = u * u * u
    fs = (u3 * u3) * (p["a12"] * u - p["b10"])
    rs = xp.sum(fs, axis=-1)
    fp = fs @ xc
    out = xp.stack([xc[..., k] * rs - fp[..., k] + f[k] for k in range(3)], axis=-1)
    if energy:
        u5 = u3 * u * u
        e = e + 0.5 * xp.sum(xp.reshape(u5 * (p["a"] * u - p["b"]), (x.shape[0], -1)), axis=-1)
    return out, e


def mixed_params(p):
    """What the float32 terms use: ``p``'s term arrays in float32 and its scalars as Python floats (``a, b``,
    the energy coefficients, stay in ``p``). The solver stores the result as ``p["float32"]``, found here."""
    if "float32" in p:
        return p["float32"]
    # Python floats for the scalars: a NumPy float64 scalar would promote float32 arrays (NEP 50).
    out = {k: _float32(p[k]) for k in ("r0", "theta0", "phi0", "a12", "b10", "eye")}
    out.update({k: float(p[k]) for k in ("k_bond", "k_angle", "k1", "k3")})
    return out


def _float32(a):
    xp = array_api_compat.array_namespace(a)
    return xp.astype(a, xp.float32)


def sbm_forces_mixed(xp, x, p, energy):
    r"""Mixed precision (``backend.precision = "mixed"``, docs/precision.md) against ``xp``.

    Every difference of positions is taken in the state's dtype and rounded to float32; the terms run in
    float32 with float32 parameters (:func:`mixed_params`); forces and energies are summed in the
    state's dtype. Pairs use the differences :math:`x_i - x_j` themselves, not the Gram matrix
    (whose :math:`|x_i|^2 + |x_j|^2 - 2x_i\cdot x_j` cancels: relative error ~ :math:`|x|^2/r^2` times
    the rounding), and :math:`F_i = \sum_j f_{ij}(x_i - x_j)` is summed along the last (contiguous)
    axis, so that NumPy sums pairwise: on a device without float64 (``dtype`` float32) the sums are then
    float32 pairwise sums, whose error grows as log N. The pair energy is the float32
    :math:`r^{-10}` times the ``dtype`` coefficients ``a, b``.
    """
    q = mixed_params(p)
    f32 = xp.float32

    def lo(a):
        return xp.astype(a, f32)

    def wide(a):
        return xp.astype(a, x.dtype)

    f, e = _bonded(xp, x, q, energy, lo, wide)
    r = x.shape[0]
    d = [lo(x[:, :, None, k] - x[:, None, :, k]) for k in range(3)]  # (R, N, N): x_i - x_j
    u = 1.0 / (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + q["eye"])
    u3 = u * u * u
    fs = (u3 * u3) * (q["a12"] * u - q["b10"])
    out = xp.stack([xp.sum(wide(fs * d[k]), axis=-1) + f[k] for k in range(3)], axis=-1)
    if energy:
        ep = wide(u3 * u * u) * (p["a"] * wide(u) - p["b"])
        e = e + 0.5 * xp.sum(xp.reshape(ep, (r, -1)), axis=-1)
    return out, e


def _sample_step(rng):
    (x, p), kw = _sample(rng)
    v = 0.5 * rng.standard_normal(x.shape)
    f = sbm_forces(x, p)[0]
    scale = rng.uniform(0.02, 0.1, (x.shape[0], 1, 1))
    return (x, v, f, rng.standard_normal(x.shape), scale, p, 0.002, float(np.exp(-0.002))), kw


@kernel("sbm_baoab_step", sample=_sample_step)
def sbm_baoab_step(x, v, f, noise, scale, p, h, c1, energy=False, force=None, mixed=False):
    r"""One BAOAB Langevin step (unit mass) of every replica; ``force(x, energy)`` defaults to :func:`sbm_forces`.

    B: :math:`v \mathrel{+}= \tfrac{h}{2} F`; A: :math:`x \mathrel{+}= \tfrac{h}{2} v`; O: :math:`v \leftarrow
    c_1 v + s\,\xi` with ``scale`` :math:`s = \sqrt{(1 - c_1^2) k_BT}` per replica ``(R, 1, 1)`` and
    ``noise`` :math:`\xi` standard normal ``(R, N, 3)``; A; forces; B (Leimkuhler & Matthews 2013).
    Returns ``(x, v, f, E or None)``; overrides may update ``x, v, f`` in place. ``mixed``: the forces
    of :func:`sbm_forces_mixed` (the step itself stays in the state's dtype).
    """
    half = 0.5 * h
    v = v + half * f
    x = x + half * v
    v = c1 * v + scale * noise
    x = x + half * v
    f, e = (force or (lambda y, en: sbm_forces(y, p, en, mixed)))(x, energy)
    v = v + half * f
    return x, v, f, e


# The compiled override registers first, so it is tried before the NumPy one below.
from . import kernels_numba  # noqa: E402,F401

_WORK = {}


def _workspace(shape, dtype):
    key = (shape, dtype)
    if key not in _WORK:
        _WORK.clear()  # one shape at a time: the solver calls with a few fixed chunk sizes
        r, n = shape
        _WORK[key] = {k: np.empty((r, n, n), dtype) for k in ("u", "t", "fs", "e")}
    return _WORK[key]


@override("sbm_forces", "numpy")
def sbm_forces_numpy(x, p, energy=False, mixed=False):
    """NumPy version: the same arithmetic, the ``(R, N, N)`` pair arrays computed in place in a cached
    workspace. Fresh half-megabyte temporaries otherwise cost page faults on every call (glibc serves them
    with mmap), which made the generic kernel 2-3 times slower on CPUs. Declines the mixed mode."""
    if mixed or not isinstance(x, np.ndarray) or x.ndim != 3 or x.dtype not in (np.float32, np.float64):
        raise NotSuitableError("3-D float NumPy arrays, uniform precision only")
    f, e = _bonded(array_api_compat.array_namespace(x), x, p, energy)
    r, n, _ = x.shape
    w = _workspace((r, n), x.dtype)
    u, t, fs = w["u"], w["t"], w["fs"]
    xc = x - x.mean(axis=1, keepdims=True)
    sq = np.einsum("rnc,rnc->rn", xc, xc)
    left = np.concatenate([-2.0 * xc, sq[..., None], np.ones_like(sq)[..., None]], axis=-1)
    right = np.concatenate([np.swapaxes(xc, 1, 2), np.ones_like(sq)[:, None], sq[:, None]], axis=1)
    np.matmul(left, right, out=u)
    u += p["eye"]
    np.reciprocal(u, out=u)
    np.multiply(u, u, out=t)
    t *= u
    if energy:
        ee = w["e"]
        np.multiply(p["a"], u, out=ee)
        ee -= p["b"]
        ee *= t
        ee *= u
        ee *= u
        e = e + 0.5 * ee.reshape(r, -1).sum(axis=1)
    t *= t
    np.multiply(p["a12"], u, out=fs)
    fs -= p["b10"]
    fs *= t
    rs = fs.sum(axis=-1)
    fp = np.matmul(fs, xc)
    out = xc * rs[..., None]
    out -= fp
    out += np.stack(f, axis=-1)
    return out, e
