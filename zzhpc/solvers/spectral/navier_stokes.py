r"""Incompressible Navier-Stokes in Fourier space: nonlinear term, projection, low-storage Runge-Kutta.

With constant density the velocity obeys

.. math:: \partial_t \mathbf u = -\nabla\cdot(\mathbf u\mathbf u) - \nabla p + \nu \nabla^2 \mathbf u
          + \mathbf f, \qquad \nabla\cdot\mathbf u = 0 .

In Fourier space the pressure is removed by the Leray projection
:math:`\hat{\mathbf N} \mapsto \hat{\mathbf N} - \mathbf k (\mathbf k\cdot\hat{\mathbf N})/k^2`, and

.. math:: \frac{d\hat{\mathbf u}}{dt} = -\nu k^2 \hat{\mathbf u} + \hat{\mathbf N}(\hat{\mathbf u}),
          \qquad \hat N_i = \mathcal P\, \mathcal D\,\bigl(-i k_j\, \mathcal F[T_{ij}]\bigr) + \hat f_i

(:math:`\mathcal D` the dealiasing mask). The stress is taken trace-shifted,
:math:`T_{ij} = u_i u_j - \delta_{ij} u_2^2`: the shift is a gradient, which the projection removes, and
leaves five products (:math:`T_{22} = 0`) instead of six [Basdevant1983]_. One evaluation is three inverse
transforms for :math:`\mathbf u` and five forward ones, **8 distributed FFTs** (the rotational form
:math:`\mathbf u\times\boldsymbol\omega` needs 9). On the kept modes, where the products are alias-free
(2/3 or 3/2 rule), it equals the rotational form to round-off, so the Galerkin system still conserves
energy exactly when :math:`\nu = 0`; with ``dealias = "none"`` the two forms alias differently.

Memory: the three velocity components live in real space at once (three arrays of the product grid,
:meth:`SpectralGrid.physical_work`), each product is formed in the FFT plan's work memory and its
spectrum is added into the Runge-Kutta register straight from the plan's buffers; no spectrum of the
nonlinear term is ever stored.

Time integration: a low-storage ("2N") Runge-Kutta scheme [Williamson1980]_ with two registers, the
state :math:`\hat{\mathbf u}` and :math:`\mathbf d`, stage by stage

.. math:: \mathbf d \leftarrow A_i \mathbf d + \Delta t\, \hat{\mathbf N}(\hat{\mathbf u}), \qquad
          \hat{\mathbf u} \leftarrow \hat{\mathbf u} + B_i \mathbf d .

With the integrating factor (``viscous = "integrating_factor"``) the scheme advances
:math:`\mathbf v = e^{\nu k^2 (t-t_n)}\hat{\mathbf u}`; storing both registers in the frame of the next
stage time :math:`t_n + c_{i+1}\Delta t` turns that into the same update followed by
:math:`\hat{\mathbf u}, \mathbf d \leftarrow e^{-\nu k^2 (c_{i+1}-c_i)\Delta t}(\hat{\mathbf u}, \mathbf d)`
(:math:`c_{s+1} = 1`), applied in place as a product of three 1-D factors. ``"explicit"`` adds
:math:`-\nu k^2\hat{\mathbf u}` to :math:`\hat{\mathbf N}` instead. The register holds only the kept modes
(:class:`~.grid.KeptModes`: 30 % of a block with the 2/3 rule), and the state is only updated there.

Schemes (``spectral.time_stepper``): ``"rk4"``, Carpenter & Kennedy's five-stage fourth-order 2N scheme
[Carpenter1994]_ (default; energy error :math:`O(\Delta t^5)` per step like classical RK4), and ``"rk3"``,
Williamson's three-stage third-order scheme [Williamson1980]_ (24 FFTs per step instead of 40).

.. [Basdevant1983] C. Basdevant, "Technical improvements for direct numerical simulation of homogeneous
   three-dimensional turbulence", J. Comput. Phys. 50, 209-214 (1983).
.. [Williamson1980] J. H. Williamson, "Low-storage Runge-Kutta schemes", J. Comput. Phys. 35, 48-56 (1980).
.. [Carpenter1994] M. H. Carpenter, C. A. Kennedy, "Fourth-order 2N-storage Runge-Kutta schemes",
   NASA TM-109112 (1994), solution 3.
.. [Canuto2006] C. Canuto, M. Y. Hussaini, A. Quarteroni, T. A. Zang, *Spectral Methods: Fundamentals
   in Single Domains*, Springer (2006), ch. 3.
"""

import math
from dataclasses import dataclass

import numpy as np

FFTS_PER_RHS = 8
PAIRS = ((0, 1), (0, 2), (1, 2))  # off-diagonal products T_ij, i < j


@dataclass(frozen=True)
class LowStorageRK:
    """A 2N-storage Runge-Kutta scheme: ``A``, ``B``, stage times ``c`` (``c[0] = 0``), its order."""

    name: str
    A: tuple
    B: tuple
    c: tuple
    order: int
    reference: str

    @property
    def stages(self):
        return len(self.B)

    def amplification(self, z):
        """Stability function ``R(z)`` of the scheme for ``y' = lambda y`` (``z = lambda dt``)."""
        y, d = 1.0 + 0j * z, 0.0 * z
        for a, b in zip(self.A, self.B):
            d = a * d + z * y
            y = y + b * d
        return y

    def axis_limit(self, direction):
        """Largest ``x`` with ``|R(x * direction)| <= 1`` on ``[0, x]`` (``direction`` -1 or 1j)."""
        xs = np.linspace(0.0, 6.0, 60001)[1:]
        bad = np.nonzero(np.abs(self.amplification(xs * direction)) > 1 + 1e-12)[0]
        return float(xs[bad[0] - 1]) if bad.size else float(xs[-1])


SCHEMES = {}


def register_scheme(s):
    SCHEMES[s.name] = s
    return s


register_scheme(
    LowStorageRK(
        "rk3",
        A=(0.0, -5 / 9, -153 / 128),
        B=(1 / 3, 15 / 16, 8 / 15),
        c=(0.0, 1 / 3, 3 / 4),
        order=3,
        reference="Williamson, J. Comput. Phys. 35, 48 (1980), third-order case 7",
    )
)
register_scheme(
    LowStorageRK(
        "rk4",
        A=(
            0.0,
            -567301805773 / 1357537059087,
            -2404267990393 / 2016746695238,
            -3550918686646 / 2091501179385,
            -1275806237668 / 842570457699,
        ),
        B=(
            1432997174477 / 9575080441755,
            5161836677717 / 13612068292357,
            1720146321549 / 2090206949498,
            3134564353537 / 4481467310338,
            2277821191437 / 14882151754819,
        ),
        c=(
            0.0,
            1432997174477 / 9575080441755,
            2526269341429 / 6820363962896,
            2006345519317 / 3224310063776,
            2802321613138 / 2924317926251,
        ),
        order=4,
        reference="Carpenter & Kennedy, NASA TM-109112 (1994), RK4(3)5[2N] solution 3",
    )
)


def curl_components(grid, uh):
    r"""Spectral vorticity :math:`i\mathbf k\times\hat{\mathbf u}` as a list of 3 components."""
    ik0, ik1, ik2 = grid.ik
    return [ik1 * uh[2] - ik2 * uh[1], ik2 * uh[0] - ik0 * uh[2], ik0 * uh[1] - ik1 * uh[0]]


def curl(grid, uh):
    r"""Spectral vorticity :math:`i\mathbf k\times\hat{\mathbf u}` (3, local spectral block)."""
    return grid.xp.stack(curl_components(grid, uh))


def divergence(grid, uh):
    r""":math:`i\mathbf k\cdot\hat{\mathbf u}` (local spectral block)."""
    ik0, ik1, ik2 = grid.ik
    return ik0 * uh[0] + ik1 * uh[1] + ik2 * uh[2]


def _project_rows(k, v, rows):
    k0, k1, k2 = k[0][rows], k[1], k[2]
    ksq = k0 * k0 + k1 * k1 + k2 * k2
    q = (k0 * v[0][rows] + k1 * v[1][rows] + k2 * v[2][rows]) / (ksq + (ksq == 0))
    v[0][rows] -= k0 * q
    v[1][rows] -= k1 * q
    v[2][rows] -= k2 * q


def velocity_bound(xp, r, h, parts):
    """``max_x sum_i |u_i| / h_i`` of three real fields, part by part (two part-sized temporaries)."""
    best = 0.0
    for s in parts:
        acc = xp.abs(r[0][s])
        acc *= 1.0 / h[0]
        for i in (1, 2):
            t = xp.abs(r[i][s])
            t *= 1.0 / h[i]
            acc += t
        best = max(best, float(xp.max(acc)))
    return best


def project(grid, nh):
    r"""Leray projection onto divergence-free fields, in place: :math:`\hat N - \mathbf k(\mathbf k\cdot\hat N)/k^2`
    (row block by row block, so its temporaries stay small)."""
    for rows in grid.chunks():
        _project_rows(grid.k, nh, rows)
    return nh


class NavierStokesRHS:
    """The right-hand side :math:`\\hat{\\mathbf N}(\\hat{\\mathbf u})` (plus ``-nu k^2 u`` when explicit).

    ``accumulate(uh, d, scale)`` adds ``scale * N(uh)`` into a kept-mode register ``d`` and projects it;
    calling the object returns ``N(uh)`` as a full block (tests, diagnostics).

    Parameters
    ----------
    grid : SpectralGrid
    nu : kinematic viscosity [L^2/T]
    explicit_viscous : include ``-nu k^2 u_hat`` here (else the integrating factor handles it)
    forcing : a :class:`~.forcing.BandForcing`, or None
    """

    def __init__(self, grid, nu, *, explicit_viscous=False, forcing=None, timers=None):
        self.grid, self.nu, self.explicit_viscous, self.forcing = grid, nu, explicit_viscous, forcing
        self.last_velocity_bound = None  # max_x sum_i |u_i| / h_i of the last evaluation's state

    def __call__(self, uh, want_cfl=False):
        kept = self.grid.kept
        d = kept.zeros()
        self.accumulate(uh, d, 1.0, want_cfl=want_cfl)
        return kept.to_full(d)

    def accumulate(self, uh, d, scale, want_cfl=False):
        g, xp, kept = self.grid, self.grid.xp, self.grid.kept
        r = g.physical_work()
        for c in range(3):
            g.to_physical_into(uh[c], r[c])
        if want_cfl:
            self.last_velocity_bound = g.max(velocity_bound(xp, r, g.spacing, g.chunks(r[0].shape[0])))
        kc = kept.k
        # Off-diagonal products: formed in the FFT's work memory, added from the plan's buffers.
        for i, j in PAIRS:
            p = g.product_buffer()
            for s in g.chunks(p.shape[0]):
                v = p[s]
                v[...] = r[i][s]
                v *= r[j][s]
            th = g.from_physical_work(p)
            self._add(d, th, ((i, j), (j, i)), -scale)
        # Diagonal, shifted by u_2^2: T_00 = u0^2 - u2^2 and T_11 = u1^2 - u2^2 in place (T_22 = 0).
        for s in g.chunks(r[0].shape[0]):
            sq = r[2][s] * r[2][s]
            for i in (0, 1):
                v = r[i][s]
                v *= v
                v -= sq
        for i in (0, 1):
            th = g.from_physical_work(r[i])
            self._add(d, th, ((i, i),), -scale)
        if self.explicit_viscous and self.nu:
            for full, comp in kept.boxes:
                k0, k1, k2 = (kc[0][comp[0]], kc[1][:, comp[1]], kc[2][:, :, comp[2]])
                f = (-scale * self.nu) * (k0 * k0 + k1 * k1 + k2 * k2)
                for c in range(3):
                    d[c][comp] += f * uh[c][full]
        if self.forcing is not None:
            coef = self.forcing.coefficient(uh)
            if coef is not None:
                for full, comp in kept.boxes:
                    f = (scale * coef) * self.forcing.band_mask[full]
                    for c in range(3):
                        d[c][comp] += f * uh[c][full]
        for rows in kept.chunks():
            _project_rows(kc, d, rows)
        return d

    def _add(self, d, th, targets, scale):
        """``d[a] += scale * i k_b * th`` on the kept modes, for each ``(a, b)`` in ``targets``."""
        kept = self.grid.kept
        for full, comp in kept.boxes:
            t = th[full]
            for a, b in targets:
                kb = kept.k[b][tuple(comp[ax] if ax == b else slice(None) for ax in range(3))]
                tmp = (1j * scale) * kb  # 1-D
                tmp = tmp * t
                d[a][comp] += tmp


class LowStorageStepper:
    """A 2N-storage scheme (:data:`SCHEMES`) with the viscous term exact (integrating factor) or explicit.

    ``step(uh, dt)`` advances ``uh`` in place; with ``choose_dt`` the first stage's velocity bound picks
    ``dt`` (the first stage's register is scaled by it afterwards, since ``A_1 = 0``)."""

    def __init__(self, grid, rhs, nu, *, scheme="rk4", integrating_factor=True):
        self.grid, self.rhs, self.nu = grid, rhs, nu
        self.scheme = SCHEMES[scheme]
        self.integrating_factor = integrating_factor and nu > 0
        self.d = None
        self._dt = None
        self._factors = None

    @property
    def ffts_per_step(self):
        return FFTS_PER_RHS * self.scheme.stages

    def _stage_factors(self, dt):
        """Per stage, the 1-D factors ``exp(-nu k_i^2 (c_{i+1} - c_i) dt)`` on the block and on the kept modes."""
        if dt != self._dt:
            g, xp = self.grid, self.grid.xp
            c = list(self.scheme.c) + [1.0]
            out = []
            for i in range(self.scheme.stages):
                a = -self.nu * dt * (c[i + 1] - c[i])
                out.append(tuple(xp.exp(a * k * k) for k in g.kept.k))
            self._factors, self._dt = out, dt
        return self._factors

    def step(self, uh, dt=None, *, choose_dt=None, want_cfl=False):
        """Advance ``uh`` by one step in place; returns the ``dt`` used."""
        kept, s = self.grid.kept, self.scheme
        if self.d is None or tuple(self.d.shape) != (3,) + kept.shape:
            self.d = kept.zeros()
        d = self.d
        for i, (a, b) in enumerate(zip(s.A, s.B)):
            if a == 0.0:
                d[...] = 0
            else:
                d *= a
            if i == 0 and choose_dt is not None:
                self.rhs.accumulate(uh, d, 1.0, want_cfl=True)
                dt = choose_dt(self.rhs.last_velocity_bound)
                d *= dt
            else:
                self.rhs.accumulate(uh, d, dt, want_cfl=want_cfl and i == 0)
            for full, comp in kept.boxes:
                for c in range(3):
                    uh[c][full] += b * d[c][comp]
            if self.integrating_factor:
                e0, e1, e2 = self._stage_factors(dt)[i]
                for full, comp in kept.boxes:
                    f = e0[comp[0]] * e1[:, comp[1]] * e2[:, :, comp[2]]  # one box of real factors
                    for c in range(3):
                        v = uh[c][full]
                        v *= f
                        if i + 1 < s.stages:
                            w = d[c][comp]
                            w *= f
        return dt


def cfl_dt(cfl, velocity_bound, *, nu=0.0, kmax=None, explicit_viscous=False, scheme="rk4"):
    """Time step for Courant number ``cfl`` (``dt * max sum_i |u_i|/h_i``), with the scheme's viscous
    limit ``dt <= x_max / (nu kmax^2)`` (``x_max`` its real-axis stability bound) when explicit."""
    dt = cfl / velocity_bound if velocity_bound > 0 else math.inf
    if explicit_viscous and nu > 0 and kmax:
        dt = min(dt, SCHEMES[scheme].axis_limit(-1.0) / (nu * kmax * kmax) * min(1.0, cfl))
    return dt
