r"""PME charge spreading and force interpolation on a brick of the grid: xp reference kernels.

Conventions shared with the compiled overrides (:mod:`.kernels_numba`):

* ``u`` ``(N, 3)``: scaled fractional coordinates :math:`u_{jd} = K_d x_{jd}/L_d` (any real value, the
  grid is periodic). Atom ``j`` touches grid points :math:`k = \lfloor u\rfloor - i`, ``i = 0 .. p-1``,
  with weight :math:`M_p(u - \lfloor u\rfloor + i)` (:func:`bspline`).
* The brick is the block of grid points ``lo[d] .. lo[d] + shape[d] - 1`` (periodic, ``shape[d] <= K_d``);
  grid point ``k`` lives at brick index ``(k - lo[d]) mod K_d``, which lies below ``shape[d]`` for every
  point an atom touches.
"""

from array_api_compat import array_namespace, device as _dev
import numpy as np

from ...device import kernel, scatter_add


def bspline(w, order):
    """Weights ``c[i] = M_p(w + i)`` and derivatives ``d[i] = M_p'(w + i)``, ``i = 0 .. p-1``.

    ``w`` (any shape) in ``[0, 1)``; returns two lists of ``p`` arrays shaped like ``w``. Recursion
    :math:`M_n(x) = [x M_{n-1}(x) + (n-x) M_{n-1}(x-1)]/(n-1)` from :math:`M_2`, and
    :math:`M_n'(x) = M_{n-1}(x) - M_{n-1}(x-1)` (Essmann et al. 1995, eqs. 4.1-4.2).
    """
    c = [w, 1.0 - w]
    d = [1.0 + 0.0 * w, -1.0 + 0.0 * w]
    for n in range(3, order + 1):
        if n == order:
            d = [c[i] - (c[i - 1] if i else 0.0) for i in range(n - 1)] + [-c[n - 2]]
        prev = c + [0.0 * w]
        c = [((w + i) * prev[i] + (n - w - i) * (prev[i - 1] if i else 0.0)) / (n - 1) for i in range(n)]
    return c, d


def _stencil(u, lo, grid, order):
    """Brick indices ``(N, p)``, weights and derivative weights ``(N, p)`` per axis."""
    xp = array_namespace(u)
    idx, th, dth = [], [], []
    for d in range(3):
        base = xp.floor(u[:, d])
        c, dc = bspline(u[:, d] - base, order)
        k = xp.astype(base, xp.int64)[:, None] - xp.arange(order, dtype=xp.int64, device=_dev(u))[None, :]
        idx.append((k - int(lo[d])) % int(grid[d]))
        th.append(xp.stack(c, axis=1))
        dth.append(xp.stack(dc, axis=1))
    return idx, th, dth


def _flat(idx, shape):
    return (
        idx[0][:, :, None, None] * (shape[1] * shape[2])
        + idx[1][:, None, :, None] * shape[2]
        + idx[2][:, None, None, :]
    )


def _sample(rng):
    n, grid, order = 50, (12, 10, 9), 5
    u = rng.uniform(-1.0, 14.0, size=(n, 3)) * np.array([1.0, 0.8, 0.7])
    q = rng.normal(size=n)
    return (u, q, (-5, -5, -5), grid, grid, order), {}


@kernel("water_pme_spread", sample=_sample)
def spread(u, q, lo, shape, grid, order):
    r"""Charge grid of the brick, ``(shape[0], shape[1], shape[2])``:
    :math:`Q(\mathbf{k}) = \sum_j q_j \prod_d M_p(u_{jd} - k_d)`."""
    xp = array_namespace(u)
    s = [int(v) for v in shape]
    out = xp.zeros((s[0] * s[1] * s[2],), dtype=u.dtype, device=_dev(u))
    if u.shape[0]:
        idx, th, _ = _stencil(u, lo, grid, order)
        w = q[:, None, None, None] * th[0][:, :, None, None] * th[1][:, None, :, None] * th[2][:, None, None, :]
        out = scatter_add(out, xp.reshape(_flat(idx, s), (-1,)), xp.reshape(w, (-1,)))
    return xp.reshape(out, tuple(s))


def _sample_gather(rng):
    (u, q, lo, shape, grid, order), _ = _sample(rng)
    return (u, q, lo, shape, grid, order, rng.normal(size=tuple(shape))), {}


@kernel("water_pme_gather", sample=_sample_gather)
def gather(u, q, lo, shape, grid, order, phi):
    r"""Gradient ``(N, 3)`` of the interpolated potential with respect to ``u``, times the charge:
    :math:`g_{jd} = q_j \sum_\mathbf{k} M_p'(u_{jd} - k_d)\prod_{e\neq d} M_p(u_{je} - k_e)\,\phi(\mathbf{k})`.
    The force is :math:`F_{jd} = -g_{jd} K_d/L_d`."""
    xp = array_namespace(u)
    n, p = u.shape[0], int(order)
    if n == 0:
        return xp.zeros((0, 3), dtype=u.dtype, device=_dev(u))
    idx, th, dth = _stencil(u, lo, grid, order)
    s = [int(v) for v in shape]
    ph = xp.reshape(xp.reshape(phi, (-1,))[xp.reshape(_flat(idx, s), (-1,))], (n, p, p, p))
    t2 = xp.sum(ph * th[2][:, None, None, :], axis=3)
    t2d = xp.sum(ph * dth[2][:, None, None, :], axis=3)
    t12 = xp.sum(t2 * th[1][:, None, :], axis=2)
    t12d1 = xp.sum(t2 * dth[1][:, None, :], axis=2)
    t12d2 = xp.sum(t2d * th[1][:, None, :], axis=2)
    g = xp.stack([xp.sum(dth[0] * t12, axis=1), xp.sum(th[0] * t12d1, axis=1), xp.sum(th[0] * t12d2, axis=1)], axis=1)
    return q[:, None] * g


# Mixed precision: the B-spline weights of every atom computed once, shared by spreading and interpolation --


def _sample_stencil(rng):
    n, lengths, grid = 50, np.array([18.0, 15.0, 13.0]), np.array([12, 10, 9])
    x = rng.uniform(-2.0, 20.0, size=(n, 3)) * np.array([1.0, 0.8, 0.7])
    return (x, grid / lengths, 5), {}


@kernel("water_pme_stencil", sample=_sample_stencil)
def stencil(x, scale, order, dtype=None):
    r"""The grid stencil of every atom: ``(base, w, dw)`` for the scaled coordinates :math:`u = x K/L`.

    ``x`` ``(N, 3)`` [A], ``scale`` ``(3,)`` :math:`K_d/L_d` [1/A]. ``base`` ``(N, 3)`` int64 is
    :math:`\lfloor u\rfloor`; ``w``, ``dw`` ``(N, 3, p)`` in ``dtype`` (default ``x``'s) are the weights
    :math:`M_p` and derivatives :math:`M_p'` of grid point ``base - (p-1) + t`` at index ``t`` (ascending
    grid order; :func:`bspline`, computed in ``x``'s precision and then rounded to ``dtype``)."""
    xp = array_namespace(x)
    u = x * scale
    fl = xp.floor(u)
    c, d = bspline(u - fl, int(order))
    w, dw = xp.stack(c[::-1], axis=2), xp.stack(d[::-1], axis=2)
    if dtype is not None:
        w, dw = xp.astype(w, getattr(xp, dtype)), xp.astype(dw, getattr(xp, dtype))
    return xp.astype(fl, xp.int64), w, dw


def _stencil_points(base, p, lo, grid):
    """Brick indices ``(N, p)`` per axis of the points of :func:`stencil` (ascending order)."""
    xp = array_namespace(base)
    t = xp.arange(p, dtype=xp.int64, device=_dev(base))[None, :] - (p - 1)
    return [(base[:, d, None] + t - int(lo[d])) % int(grid[d]) for d in range(3)]


def _sample_spread_stencil(rng):
    (x, scale, order), _ = _sample_stencil(rng)
    base, w, _ = stencil(x, scale, order)
    grid = (12, 10, 9)
    return (base, w, rng.normal(size=x.shape[0]), (-5, -5, -5), grid, grid), {}


@kernel("water_pme_spread_stencil", sample=_sample_spread_stencil)
def spread_stencil(base, w, q, lo, shape, grid):
    r"""Charge grid of the brick from precomputed weights (:func:`stencil`), in ``w``'s dtype:
    :math:`Q(\mathbf{k}) = \sum_j q_j \prod_d M_p(u_{jd} - k_d)` (:func:`spread` with the stencil given)."""
    xp = array_namespace(w)
    s, p = [int(v) for v in shape], int(w.shape[2])
    out = xp.zeros((s[0] * s[1] * s[2],), dtype=w.dtype, device=_dev(w))
    if base.shape[0]:
        idx = _stencil_points(base, p, lo, grid)
        q = xp.astype(q, w.dtype)
        v = q[:, None, None, None] * w[:, 0, :, None, None] * w[:, 1, None, :, None] * w[:, 2, None, None, :]
        out = scatter_add(out, xp.reshape(_flat(idx, s), (-1,)), xp.reshape(v, (-1,)))
    return xp.reshape(out, tuple(s))


def _sample_gather_stencil(rng):
    (base, w, q, lo, shape, grid), _ = _sample_spread_stencil(rng)
    (x, scale, order), _ = _sample_stencil(rng)
    base, w, dw = stencil(x, scale, order)
    return (base, w, dw, q, lo, shape, grid, rng.normal(size=tuple(shape)), scale), {}


@kernel("water_pme_gather_stencil", sample=_sample_gather_stencil)
def gather_stencil(base, w, dw, q, lo, shape, grid, phi, scale):
    r"""Reciprocal forces ``(N, 3)`` in ``scale``'s dtype from precomputed weights (:func:`stencil`):
    :math:`F_{jd} = -q_j \frac{K_d}{L_d}\sum_\mathbf{k} M_p'(u_{jd} - k_d)\prod_{e\neq d} M_p(u_{je} - k_e)\,
    \phi(\mathbf{k})`, the grid sums in ``w``'s dtype (:func:`gather` times ``-scale``)."""
    xp = array_namespace(w)
    n, p = base.shape[0], int(w.shape[2])
    if n == 0:
        return xp.zeros((0, 3), dtype=scale.dtype, device=_dev(w))
    s = [int(v) for v in shape]
    idx = _stencil_points(base, p, lo, grid)
    ph = xp.reshape(xp.reshape(xp.astype(phi, w.dtype), (-1,))[xp.reshape(_flat(idx, s), (-1,))], (n, p, p, p))
    th, dth = [w[:, d, :] for d in range(3)], [dw[:, d, :] for d in range(3)]
    t2 = xp.sum(ph * th[2][:, None, None, :], axis=3)
    t2d = xp.sum(ph * dth[2][:, None, None, :], axis=3)
    t12 = xp.sum(t2 * th[1][:, None, :], axis=2)
    t12d1 = xp.sum(t2 * dth[1][:, None, :], axis=2)
    t12d2 = xp.sum(t2d * th[1][:, None, :], axis=2)
    g = xp.stack([xp.sum(dth[0] * t12, axis=1), xp.sum(th[0] * t12d1, axis=1), xp.sum(th[0] * t12d2, axis=1)], axis=1)
    return xp.astype(q[:, None] * g, scale.dtype) * -scale


def _sample_convolve(rng):
    shape = (6, 5, 4)
    qhat = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)
    ge, gv = rng.random(shape), rng.normal(size=shape)
    return (qhat, ge, gv, rng.random(shape).astype(np.float32)), {}


@kernel("water_pme_convolve", sample=_sample_convolve)
def convolve(qhat, g_energy, g_virial, g_conv):
    r"""Reciprocal energy :math:`\sum G_E|\hat Q|^2` and virial :math:`\sum G_W|\hat Q|^2` of the spectrum
    ``qhat``, summed in ``g_energy``'s dtype; ``qhat`` is multiplied by ``g_conv`` in place (the
    convolution with the influence function). For a float32 spectrum :math:`|\hat Q|^2` is formed in
    ``g_energy``'s dtype (exact products of float32 numbers in float64); where the types agree (float64,
    or all-single float32) it is ``real(qhat * conj(qhat))``, as before the mixed mode."""
    xp = array_namespace(qhat)
    if xp.real(qhat[:0]).dtype == g_energy.dtype:
        power = xp.real(qhat * xp.conj(qhat))
    else:
        re, im = xp.astype(xp.real(qhat), g_energy.dtype), xp.astype(xp.imag(qhat), g_energy.dtype)
        power = re * re + im * im
    energy, virial = xp.sum(g_energy * power), xp.sum(g_virial * power)
    qhat *= g_conv
    return energy, virial
