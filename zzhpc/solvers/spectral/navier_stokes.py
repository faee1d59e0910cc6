r"""Incompressible Navier-Stokes in Fourier space: rotational nonlinear term, projection, RK4.

With constant density the velocity obeys

.. math:: \partial_t \mathbf u = \mathbf u \times \boldsymbol\omega - \nabla P + \nu \nabla^2 \mathbf u
          + \mathbf f, \qquad \nabla\cdot\mathbf u = 0,

where :math:`\boldsymbol\omega = \nabla\times\mathbf u` and :math:`P = p/\rho + |\mathbf u|^2/2` (rotational
form). In Fourier space the pressure is removed by the Leray projection
:math:`\hat{\mathbf N} \mapsto \hat{\mathbf N} - \mathbf k (\mathbf k\cdot\hat{\mathbf N})/k^2`, and

.. math:: \frac{d\hat{\mathbf u}}{dt} = -\nu k^2 \hat{\mathbf u} + \hat{\mathbf N}(\hat{\mathbf u}),
          \qquad \hat{\mathbf N} = \mathcal P\, \mathcal D\, \mathcal F[\mathbf u\times\boldsymbol\omega]
          + \hat{\mathbf f}

(:math:`\mathcal D` the dealiasing mask). The product is formed on the collocation grid, or on the
3/2-padded grid with ``dealias = "3/2"``: three inverse transforms for :math:`\mathbf u`, three for
:math:`\boldsymbol\omega`, three forward transforms for the product, nine distributed FFTs per
evaluation [Canuto2006]_, [Rogallo1981]_.

Time integration is the classical fourth-order Runge-Kutta scheme, either with the viscous term
integrated exactly by the integrating factor :math:`e^{\nu k^2 t}` (``viscous = "integrating_factor"``,
no viscous stability limit) or explicitly as part of the right-hand side (``"explicit"``). With
:math:`E = e^{-\nu k^2 \Delta t/2}`:

.. math:: \mathbf a = E(\hat{\mathbf u}_n + \tfrac{\Delta t}{2}\mathbf k_1),\;
          \mathbf b = E\hat{\mathbf u}_n + \tfrac{\Delta t}{2}\mathbf k_2,\;
          \mathbf c = E^2\hat{\mathbf u}_n + \Delta t\, E\mathbf k_3,\;
          \hat{\mathbf u}_{n+1} = E^2\hat{\mathbf u}_n + \tfrac{\Delta t}{6}
          (E^2\mathbf k_1 + 2E(\mathbf k_2+\mathbf k_3) + \mathbf k_4),

:math:`\mathbf k_1 = \hat{\mathbf N}(\hat{\mathbf u}_n)`, :math:`\mathbf k_2 = \hat{\mathbf N}(\mathbf a)`,
:math:`\mathbf k_3 = \hat{\mathbf N}(\mathbf b)`, :math:`\mathbf k_4 = \hat{\mathbf N}(\mathbf c)`.

Because :math:`\mathbf u\cdot(\mathbf u\times\boldsymbol\omega) = 0` at every grid point, the
semi-discrete (Galerkin-truncated) system conserves kinetic energy exactly when :math:`\nu = 0`; the
only energy error is RK4's :math:`O(\Delta t^5)` per step.

.. [Canuto2006] C. Canuto, M. Y. Hussaini, A. Quarteroni, T. A. Zang, *Spectral Methods: Fundamentals
   in Single Domains*, Springer (2006), ch. 3.
.. [Rogallo1981] R. S. Rogallo, "Numerical experiments in homogeneous turbulence", NASA TM-81315 (1981).
"""
import math

FFTS_PER_RHS = 9
RHS_PER_STEP = 4


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


def project(grid, nh):
    r"""Leray projection onto divergence-free fields, in place: :math:`\hat N - \mathbf k(\mathbf k\cdot\hat N)/k^2`."""
    k0, k1, k2 = grid.k
    q = (k0 * nh[0] + k1 * nh[1] + k2 * nh[2]) * grid.inv_ksq
    nh[0] -= k0 * q
    nh[1] -= k1 * q
    nh[2] -= k2 * q
    return nh


class NavierStokesRHS:
    """The right-hand side :math:`\\hat{\\mathbf N}(\\hat{\\mathbf u})` (plus ``-nu k^2 u`` when explicit).

    Parameters
    ----------
    grid : SpectralGrid
    nu : kinematic viscosity [L^2/T]
    explicit_viscous : include ``-nu k^2 u_hat`` here (else the integrating factor handles it)
    forcing : object with ``__call__(uh) -> f_hat or None`` (see :mod:`.forcing`), or None
    timers : PhaseTimers, optional; the FFTs are timed under ``"fft"``
    """

    def __init__(self, grid, nu, *, explicit_viscous=False, forcing=None, timers=None):
        self.grid, self.nu, self.explicit_viscous, self.forcing = grid, nu, explicit_viscous, forcing
        self.timers = timers
        self.last_velocity_bound = None   # max_x sum_i |u_i| / h_i of the last evaluation's state

    def __call__(self, uh, want_cfl=False):
        g, xp = self.grid, self.grid.xp
        # Components as lists, not stacked arrays: saves a copy of every vector field.
        u = g.to_physical([uh[0], uh[1], uh[2]])
        w = g.to_physical(curl_components(g, uh))
        if want_cfl:
            h = g.spacing
            bound = xp.abs(u[0]) / h[0] + xp.abs(u[1]) / h[1] + xp.abs(u[2]) / h[2]
            self.last_velocity_bound = g.max(xp.max(bound))
        n = [u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0]]
        del u, w
        nh = g.from_physical(n)
        del n
        for c in nh:
            c *= g.mask
        nh = xp.stack(nh)
        project(g, nh)
        if self.explicit_viscous and self.nu:
            nh -= (self.nu * g.ksq) * uh
        if self.forcing is not None:
            fh = self.forcing(uh)
            if fh is not None:
                nh += fh
        return nh


class RK4:
    """Classical RK4 with the viscous term exact (integrating factor) or explicit.

    ``step(uh, dt)`` returns the new spectral state; ``uh`` is not modified.
    """

    def __init__(self, grid, rhs, nu, *, integrating_factor=True):
        self.grid, self.rhs, self.nu = grid, rhs, nu
        self.integrating_factor = integrating_factor and nu > 0
        self._dt = None
        self._E = None

    def factor(self, dt):
        """:math:`E = e^{-\\nu k^2 \\Delta t / 2}` (cached for a fixed ``dt``)."""
        if dt != self._dt:
            self._E = self.grid.xp.exp((-0.5 * self.nu * dt) * self.grid.ksq)
            self._dt = dt
        return self._E

    def first_stage(self, uh, want_cfl=False):
        """``k1 = N(u_n)``; separated so that an adaptive ``dt`` can use the CFL bound it yields."""
        return self.rhs(uh, want_cfl=want_cfl)

    def step(self, uh, dt, k1=None):
        rhs = self.rhs
        if k1 is None:
            k1 = rhs(uh)
        if not self.integrating_factor:
            acc = uh + (dt / 6) * k1
            k = rhs(uh + (0.5 * dt) * k1)
            acc += (dt / 3) * k
            k = rhs(uh + (0.5 * dt) * k)
            acc += (dt / 3) * k
            k = rhs(uh + dt * k)
            acc += (dt / 6) * k
            return acc
        E = self.factor(dt)
        acc = uh + (dt / 6) * k1                 # -> E^2 u + dt/6 E^2 k1 after two propagations
        k = rhs(E * (uh + (0.5 * dt) * k1))      # k2
        acc *= E
        acc += (dt / 3) * k
        Eu = E * uh
        k = rhs(Eu + (0.5 * dt) * k)             # k3
        acc += (dt / 3) * k
        Eu *= E
        Eu += (dt * E) * k
        k = rhs(Eu)                              # k4
        del Eu
        acc *= E
        acc += (dt / 6) * k
        return acc


def cfl_dt(cfl, velocity_bound, *, nu=0.0, kmax=None, explicit_viscous=False):
    """Time step for Courant number ``cfl`` (``dt * max sum_i |u_i|/h_i``), with RK4's viscous limit
    ``dt <= 2.78 / (nu kmax^2)`` when the viscous term is explicit."""
    dt = cfl / velocity_bound if velocity_bound > 0 else math.inf
    if explicit_viscous and nu > 0 and kmax:
        dt = min(dt, 2.78 / (nu * kmax * kmax) * min(1.0, cfl))
    return dt
