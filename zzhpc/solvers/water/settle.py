r"""SETTLE: the analytic constraint solution for rigid three-site water, positions and velocities.

Positions (Miyamoto & Kollman, J. Comput. Chem. 13, 952 (1992)). Given the constrained positions
:math:`A_0, B_0, C_0` (O, H, H) at :math:`t` and the unconstrained update :math:`A_1, B_1, C_1`, the
constrained :math:`A_3, B_3, C_3` keep the centre of mass of the update and are reached by
displacements along the old bonds (SHAKE's constraint forces), so that they lie where the old plane
predicts. In the frame :math:`X' \perp (A_1 - D_1, Z')`, :math:`Z' \parallel (B_0-A_0)\times(C_0-A_0)`,
the canonical triangle (O at height :math:`r_a` above the centre of mass, H at :math:`-r_b`,
:math:`\pm r_c`) is tilted by :math:`\phi` about :math:`X'` and :math:`\psi` about :math:`Y'` to match
the out-of-plane displacements :math:`z'_{a1}` and :math:`z'_{b1} - z'_{c1}`:

.. math:: \sin\phi = z'_{a1}/r_a, \qquad \sin\psi = (z'_{b1} - z'_{c1}) / (2 r_c \cos\phi),

then turned by :math:`\theta` about :math:`Z'` so that the constraint impulses have no torque,
:math:`\alpha\cos\theta + \beta\sin\theta = \gamma` with (old coordinates relative to the old O)

.. math:: \alpha = \textstyle\sum_{H} (x'_0 y'_2 - y'_0 x'_2),\quad
          \beta = \sum_{H} (x'_0 x'_2 + y'_0 y'_2),\quad
          \gamma = \sum_{H} (x'_0 y'_1 - y'_0 x'_1).

Velocities (the RATTLE step of Andersen, J. Comput. Phys. 52, 24 (1983) in Miyamoto & Kollman's
closed form for three constraints): impulses :math:`\tau_k` along the three bonds make every relative
velocity along a bond vanish, a 3x3 linear system per molecule solved by Cramer's rule.

Both return the constraint virial :math:`\sum_i \mathbf r_i\cdot\mathbf G_i` of the implied constraint
forces (position step: :math:`\mathbf G_i = 2m_i\delta\mathbf x_i/\Delta t^2` acting at :math:`t`;
velocity step: :math:`\mathbf G_i = 2m_i\delta\mathbf v_i/\Delta t`), needed in the pressure. Arrays
are ``(nmol, 3, 3)`` (molecule, atom O/H/H, xyz) of any ``xp`` namespace.
"""

import math

import numpy as np
from array_api_compat import array_namespace

from ...device import backend_name, get_kernel, kernel


class SettleGeometry:
    """Masses and the canonical triangle of a water model (``r_OH``, ``theta_HOH``, ``m_O``, ``m_H``)."""

    def __init__(self, model):
        self.m_O, self.m_H = float(model.m_O), float(model.m_H)
        self.d_OH = float(model.r_OH)
        self.d_HH = 2.0 * self.d_OH * math.sin(math.radians(model.theta_HOH) / 2.0)
        self.mass = self.m_O + 2.0 * self.m_H
        self.rc = 0.5 * self.d_HH
        height = math.sqrt(self.d_OH**2 - self.rc**2)  # O to the H-H midpoint
        self.ra = 2.0 * self.m_H * height / self.mass  # centre of mass to O
        self.rb = height - self.ra  # centre of mass to the H-H line

    def masses(self):
        return (self.m_O, self.m_H, self.m_H)


def _unit(xp, v):
    return v / xp.sqrt(xp.sum(v * v, axis=-1, keepdims=True))


def _cross(xp, a, b):
    return xp.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )


def _dot(xp, a, b):
    return xp.sum(a * b, axis=-1)


def settle_positions(x0, x1, geom, dt):
    """Constrained positions ``(nmol, 3, 3)`` from the old ``x0`` and the unconstrained ``x1``.

    Returns ``(x3, virial)`` with ``virial`` the local constraint virial (0-d array, energy units
    of mass * length^2 / time^2: multiply by ``mvv2e``). Runs the fastest registered kernel
    ``water_settle_positions`` for the array's backend.
    """
    return get_kernel("water_settle_positions", backend_name(x0))(x0, x1, geom, dt)


def settle_velocities(x, v, geom, dt):
    """Velocities ``(nmol, 3, 3)`` with no component along any bond of the positions ``x`` (RATTLE).

    Returns ``(v_new, virial)``; the impulses are taken as forces acting over half a step,
    :math:`\\mathbf G_i = 2 m_i \\delta\\mathbf v_i / \\Delta t` (velocity Verlet's closing half kick).
    Runs the fastest registered kernel ``water_settle_velocities`` for the array's backend.
    """
    return get_kernel("water_settle_velocities", backend_name(x))(x, v, geom, dt)


def _sample_state(rng, nmol=40, jitter=0.05):
    """Rigid TIP3P molecules with random orientations and a perturbed copy (a step's unconstrained move)."""
    from .models import get_model

    geom = SettleGeometry(get_model("tip3p"))
    h = math.sqrt(geom.d_OH**2 - geom.rc**2)
    body = np.array([[0.0, 0.0, 0.0], [-geom.rc, -h, 0.0], [geom.rc, -h, 0.0]])
    q, _ = np.linalg.qr(rng.standard_normal((nmol, 3, 3)))
    x0 = np.einsum("mij,aj->mai", q, body) + rng.uniform(0, 20.0, (nmol, 1, 3))
    return geom, x0, x0 + rng.normal(0.0, jitter, x0.shape)


def _sample_positions(rng):
    geom, x0, x1 = _sample_state(rng)
    return (x0, x1, geom, 2.0), {}


def _sample_velocities(rng):
    geom, x0, _ = _sample_state(rng)
    return (x0, rng.normal(0.0, 0.01, x0.shape), geom, 2.0), {}


@kernel("water_settle_positions", sample=_sample_positions)
def settle_positions_xp(x0, x1, geom, dt):
    """The reference :func:`settle_positions`, any ``xp`` namespace."""
    xp = array_namespace(x0)
    mO, mH, M = geom.m_O, geom.m_H, geom.mass
    ra, rb, rc = geom.ra, geom.rb, geom.rc
    com1 = (mO * x1[:, 0] + mH * (x1[:, 1] + x1[:, 2])) / M
    a1, b1, c1 = x1[:, 0] - com1, x1[:, 1] - com1, x1[:, 2] - com1
    b0, c0 = x0[:, 1] - x0[:, 0], x0[:, 2] - x0[:, 0]
    ez = _unit(xp, _cross(xp, b0, c0))
    ex = _unit(xp, _cross(xp, a1, ez))
    ey = _cross(xp, ez, ex)
    xb0, yb0 = _dot(xp, b0, ex), _dot(xp, b0, ey)
    xc0, yc0 = _dot(xp, c0, ex), _dot(xp, c0, ey)
    za1 = _dot(xp, a1, ez)
    xb1, yb1, zb1 = _dot(xp, b1, ex), _dot(xp, b1, ey), _dot(xp, b1, ez)
    xc1, yc1, zc1 = _dot(xp, c1, ex), _dot(xp, c1, ey), _dot(xp, c1, ez)
    sinphi = za1 / ra
    cosphi = xp.sqrt(1.0 - sinphi * sinphi)
    sinpsi = (zb1 - zc1) / (2.0 * rc * cosphi)
    cospsi = xp.sqrt(1.0 - sinpsi * sinpsi)
    ya2 = ra * cosphi
    xb2 = -rc * cospsi
    t1, t2 = -rb * cosphi, rc * sinpsi * sinphi
    yb2, yc2 = t1 - t2, t1 + t2
    zb2 = -rb * sinphi + rc * sinpsi * cosphi
    zc2 = -rb * sinphi - rc * sinpsi * cosphi
    alpha = xb0 * yb2 - yb0 * xb2 + xc0 * yc2 + yc0 * xb2  # xc2 = -xb2
    beta = xb0 * xb2 + yb0 * yb2 - xc0 * xb2 + yc0 * yc2
    gamma = xb0 * yb1 - yb0 * xb1 + xc0 * yc1 - yc0 * xc1
    a2b2 = alpha * alpha + beta * beta
    sinth = (beta * gamma - alpha * xp.sqrt(a2b2 - gamma * gamma)) / a2b2
    costh = xp.sqrt(1.0 - sinth * sinth)
    # Rotate by theta about Z' and return to the lab frame about the centre of mass.
    xa3, ya3 = -ya2 * sinth, ya2 * costh
    xb3, yb3 = xb2 * costh - yb2 * sinth, xb2 * sinth + yb2 * costh
    xc3, yc3 = -xb2 * costh - yc2 * sinth, -xb2 * sinth + yc2 * costh
    za2 = ra * sinphi

    def lab(u, v, w):
        return com1 + u[:, None] * ex + v[:, None] * ey + w[:, None] * ez

    x3 = xp.stack([lab(xa3, ya3, za2), lab(xb3, yb3, zb2), lab(xc3, yc3, zc2)], axis=1)
    # Constraint forces 2 m dx / dt^2 act at t along the old bonds: virial with the old positions.
    d = x3 - x1
    rel = x0 - x0[:, 0:1]
    vir = (2.0 / (dt * dt)) * mH * xp.sum(rel[:, 1:] * d[:, 1:])
    return x3, vir


@kernel("water_settle_velocities", sample=_sample_velocities)
def settle_velocities_xp(x, v, geom, dt):
    """The reference :func:`settle_velocities`, any ``xp`` namespace."""
    xp = array_namespace(x)
    mO, mH = geom.m_O, geom.m_H
    # Bonds k = (p, q): 0 = (O, H1), 1 = (O, H2), 2 = (H1, H2); e_k from p to q.
    pairs = ((0, 1), (0, 2), (1, 2))
    inv = (1.0 / mO, 1.0 / mH, 1.0 / mH)
    e = [_unit(xp, x[:, q] - x[:, p]) for p, q in pairs]
    b = [_dot(xp, e[k], v[:, q] - v[:, p]) for k, (p, q) in enumerate(pairs)]

    # A_kl = d(e_k . (dv_q - dv_p)) / d tau_l, impulse tau_l: dv_p += tau e_l / m_p, dv_q -= tau e_l / m_q.
    def sign(l, atom):
        p, q = pairs[l]
        return 1.0 if atom == p else (-1.0 if atom == q else 0.0)

    A = [[None] * 3 for _ in range(3)]
    for k, (p, q) in enumerate(pairs):
        for l in range(3):
            coef = sign(l, q) * inv[q] - sign(l, p) * inv[p]
            A[k][l] = coef * (_dot(xp, e[k], e[l]) if k != l else 1.0)
    rhs = [-bk for bk in b]
    det = (
        A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1])
        - A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0])
        + A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0])
    )

    def col(m, j):
        return [[rhs[r] if c == j else m[r][c] for c in range(3)] for r in range(3)]

    def det3(m):
        return (
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        )

    tau = [det3(col(A, j)) / det for j in range(3)]
    dv = [0.0, 0.0, 0.0]
    for l, (p, q) in enumerate(pairs):
        imp = tau[l][:, None] * e[l]
        dv[p] = dv[p] + imp * inv[p]
        dv[q] = dv[q] - imp * inv[q]
    vnew = v + xp.stack(dv, axis=1)
    # sum_i r_i . G_i = sum_k tau_k e_k . (r_p - r_q) * 2/dt = -2/dt sum_k tau_k |r_q - r_p|
    vir = 0.0
    for l, (p, q) in enumerate(pairs):
        d = x[:, q] - x[:, p]
        vir = vir - xp.sum(tau[l] * xp.sqrt(_dot(xp, d, d)))
    return vnew, (2.0 / dt) * vir


def bond_error(x, geom):
    """Largest deviation [A] of an O-H or H-H distance of ``x`` ``(nmol, 3, 3)`` from the model's (local)."""
    if x.shape[0] == 0:
        return 0.0
    xp = array_namespace(x)
    err = 0.0
    for (a, b), d in (((0, 1), geom.d_OH), ((0, 2), geom.d_OH), ((1, 2), geom.d_HH)):
        r = x[:, b] - x[:, a]
        err = max(err, float(xp.max(xp.abs(xp.sqrt(_dot(xp, r, r)) - d))))
    return err


# The element-wise passes of the step (integrate.RigidVerlet), one kernel each so that a backend can fuse
# them into one loop; the expressions, and so the roundings, are those the step had as NumPy expressions.


def _sample_step(rng):
    geom, x0, x1 = _sample_state(rng)
    v, f = rng.normal(0.0, 0.01, x0.shape), rng.normal(0.0, 10.0, x0.shape)
    invm = 1.0 / np.asarray(geom.masses()).reshape(1, 3, 1)
    return v, f, x0, x1, invm


def _sample_kick(rng):
    v, f, _, _, invm = _sample_step(rng)
    return (v, f, invm, 0.0209), {}


def _sample_kick_drift(rng):
    v, f, x0, _, invm = _sample_step(rng)
    return (v, f, invm, 0.0209, x0, 2.0), {}


def _sample_constraint_velocity(rng):
    v, _, x0, x1, _ = _sample_step(rng)
    return (v, x0, x1, 2.0), {}


@kernel("water_kick", sample=_sample_kick)
def kick(v, f, invm, dtf):
    """Half kick of velocity Verlet, ``v + dtf * f * invm`` (``invm`` ``(1, 3, 1)``: 1/m of O, H, H)."""
    return v + dtf * f * invm


@kernel("water_kick_drift", sample=_sample_kick_drift)
def kick_drift(v, f, invm, dtf, x, dt):
    """Half kick and the unconstrained drift: ``(v', x + dt * v')`` with ``v' = v + dtf * f * invm``."""
    v = v + dtf * f * invm
    return v, x + dt * v


@kernel("water_constraint_velocity", sample=_sample_constraint_velocity)
def constraint_velocity(v, x3, x1, dt):
    """Velocities after SETTLE moved the drifted ``x1`` to ``x3``: ``v + (x3 - x1) / dt``."""
    return v + (x3 - x1) / dt


def _sample_rescale(rng):
    return (rng.normal(0.0, 0.01, (40, 3, 3)), rng.normal(0.0, 1e-3, (1, 1, 3)), 0.97), {}


@kernel("water_rescale", sample=_sample_rescale)
def rescale(v, vcom, alpha):
    """Thermostat: centre-of-mass velocity ``vcom`` ``(1, 1, 3)`` removed, then scaled, ``(v - vcom) * alpha``."""
    return (v - vcom) * alpha
