"""The Gray-Scott step: one generic kernel against the array namespace, with a sample for the
conformance kit and tests/test_kernels.py (it runs on every backend and is compared with NumPy)."""

from zzhpc.device import kernel


def _sample(rng):
    w = rng.uniform(0.0, 1.0, size=(2, 9, 8))
    return (w, w.copy(), (0.1, 0.15), (0.05, 0.07), 0.04, 0.06, 0.9), {}


@kernel("grayscott_step", sample=_sample)
def grayscott_step(w, out, cu, cv, feed, kill, dt):
    r"""Forward-Euler step of Gray-Scott on the padded pair ``w = (u, v)`` (halo 1), written into ``out``.

    .. math:: u' = u + \sum_d c^u_d (u_{+} - 2u + u_{-}) + \Delta t\,(-u v^2 + F (1 - u)),
              v' = v + \sum_d c^v_d (v_{+} - 2v + v_{-}) + \Delta t\,(u v^2 - (F + k) v)

    with ``cu[d] = D_u dt / h_d**2`` and ``cv[d] = D_v dt / h_d**2``; 1, 2 or 3 dimensions.
    """
    nd = w.ndim - 1
    inner = tuple(slice(1, -1) for _ in range(nd))
    u, v = w[(0,) + inner], w[(1,) + inner]
    uvv = u * v * v
    du = dt * (feed * (1.0 - u) - uvv)
    dv = dt * (uvv - (feed + kill) * v)
    for d in range(nd):
        up = tuple(slice(2, None) if a == d else slice(1, -1) for a in range(nd))
        dn = tuple(slice(None, -2) if a == d else slice(1, -1) for a in range(nd))
        du = du + cu[d] * (w[(0,) + up] + w[(0,) + dn] - 2.0 * u)
        dv = dv + cv[d] * (w[(1,) + up] + w[(1,) + dn] - 2.0 * v)
    out[(0,) + inner] = u + du
    out[(1,) + inner] = v + dv
    return out
