r"""Time integrators, each split LAMMPS-style into ``initial`` (before the force) and ``final`` (after).

* ``nve``: velocity Verlet (Swope, Andersen, Berens & Wilson, J. Chem. Phys. 76, 637 (1982)),
  :math:`v \mathrel{+}= \tfrac{\Delta t}{2} F/m,\ x \mathrel{+}= \Delta t\, v`, force,
  :math:`v \mathrel{+}= \tfrac{\Delta t}{2} F/m` (LAMMPS ``fix nve``).
* ``langevin``: BAOAB splitting (Leimkuhler & Matthews, Appl. Math. Res. Express 2013, 34): half kick,
  half drift, exact Ornstein-Uhlenbeck step :math:`v \leftarrow c_1 v + \sqrt{(1-c_1^2) k_BT/m}\,R`
  with :math:`c_1 = e^{-\Delta t/\tau}`, half drift, force, half kick. The noise is a function of
  (seed, step, atom id), so results do not depend on the rank count.
* ``nhc``: Nose-Hoover chain NVT (Martyna, Klein & Tuckerman, J. Chem. Phys. 97, 2635 (1992)), Trotter
  split as in Martyna, Tuckerman, Tobias & Klein, Mol. Phys. 87, 1117 (1996): chain half step, velocity
  Verlet, chain half step; masses :math:`Q_1 = N_f k_BT\tau^2`, :math:`Q_{k>1} = k_BT\tau^2`.
  The conserved quantity adds :math:`\sum_k Q_k\dot\xi_k^2/2 + N_f k_BT\xi_1 + k_BT\sum_{k>1}\xi_k`.
* ``svr``: stochastic velocity rescaling (Bussi, Donadio & Parrinello, J. Chem. Phys. 126, 014101
  (2007)) after each velocity-Verlet step, :func:`zzhpc.particles.coupling.svr_scale`; the conserved quantity
  subtracts the energy the bath gave, :math:`\sum (K' - K)`.

Barostat (``md.barostat = "c-rescale"``): isotropic stochastic cell rescaling (Bernetti & Bussi, J. Chem.
Phys. 153, 114107 (2020)), :func:`zzhpc.particles.coupling.c_rescale_factor`, every ``p_every`` steps: the pressure
:math:`P = (2K + W)/(3V)` at the end of step ``n`` gives the factor :math:`\mu`; after the drift of step
``n + 1`` positions and box (about the box centre) are scaled by :math:`\mu` and velocities by
:math:`1/\mu`, then ghosts and neighbour lists are rebuilt before the force (no extra force call).
Random numbers are keyed by (seed, step): the same on any rank count.

Integrators and the barostat act on a :class:`zzhpc.particles.state.ParticleState` (positions,
velocities, forces, masses, ids, box), never on the solver's attributes.
"""

import math

import numpy as np

from ...particles.coupling import STREAM_BAROSTAT, STREAM_THERMOSTAT, c_rescale_factor, coupling_rng, svr_scale
from ...particles.rng import normals

INTEGRATORS = ("nve", "langevin", "nhc", "svr")
BAROSTATS = ("none", "c-rescale")


class Integrator:
    """Velocity Verlet on a :class:`~zzhpc.particles.state.ParticleState`; subclasses add a thermostat.

    ``initial(step)`` runs before the force of step ``step + 1``, ``final(step)`` after it."""

    def __init__(self, state, units, dt):
        self.state, self.units, self.dt = state, units, dt
        self.dtf = 0.5 * dt * units.ftm2v

    def kick(self, h):
        s = self.state
        s.v = s.v + h * s.f[: s.nlocal] / s.mass

    def drift(self, h):
        s = self.state
        s.x[: s.nlocal] = s.x[: s.nlocal] + h * s.v

    def initial(self, step):
        self.kick(self.dtf)
        self.drift(self.dt)

    def final(self, step):
        self.kick(self.dtf)

    def energy(self):
        """Thermostat energy added to the conserved quantity."""
        return 0.0

    def state_dict(self):
        return {}

    def load(self, saved):
        pass


class Langevin(Integrator):
    def __init__(self, state, units, dt, temperature, damp, seed):
        super().__init__(state, units, dt)
        self.kT = units.boltz * temperature
        self.c1 = math.exp(-dt / damp)
        self.seed = seed

    def initial(self, step):
        s = self.state
        self.kick(self.dtf)
        self.drift(0.5 * self.dt)
        ids = s.backend.to_host(s.ids)
        r = s.backend.asarray(normals(self.seed, step + 1, ids), dtype=s.dtype)
        sd = (self.kT * (1 - self.c1 * self.c1) / self.units.mvv2e) ** 0.5
        s.v = self.c1 * s.v + sd * s.xp.sqrt(1.0 / s.mass) * r
        self.drift(0.5 * self.dt)


class NoseHooverChain(Integrator):
    def __init__(self, state, units, dt, temperature, damp, chain):
        super().__init__(state, units, dt)
        self.kT = units.boltz * temperature
        self.M = chain
        nf = state.dof
        self.Q = np.array([nf * self.kT * damp**2] + [self.kT * damp**2] * (chain - 1))
        self.xi = np.zeros(chain)
        self.vxi = np.zeros(chain)

    def _chain_half(self):
        s = self.state
        dt2, dt4, dt8 = 0.5 * self.dt, 0.25 * self.dt, 0.125 * self.dt
        Q, vxi, M, kT, nf = self.Q, self.vxi, self.M, self.kT, s.dof
        twoK = 2.0 * s.kinetic_energy(self.units.mvv2e)

        def force(k, twoK):
            return ((twoK - nf * kT) if k == 0 else (Q[k - 1] * vxi[k - 1] ** 2 - kT)) / Q[k]

        for k in range(M - 1, -1, -1):
            if k < M - 1:
                vxi[k] *= math.exp(-vxi[k + 1] * dt8)
            vxi[k] += force(k, twoK) * dt4
            if k < M - 1:
                vxi[k] *= math.exp(-vxi[k + 1] * dt8)
        scale = math.exp(-vxi[0] * dt2)
        s.v = s.v * scale
        twoK *= scale * scale
        self.xi += vxi * dt2
        for k in range(M):
            if k < M - 1:
                vxi[k] *= math.exp(-vxi[k + 1] * dt8)
            vxi[k] += force(k, twoK) * dt4
            if k < M - 1:
                vxi[k] *= math.exp(-vxi[k + 1] * dt8)

    def initial(self, step):
        self._chain_half()
        super().initial(step)

    def final(self, step):
        super().final(step)
        self._chain_half()

    def energy(self):
        nf = self.state.dof
        return float(0.5 * np.sum(self.Q * self.vxi**2) + nf * self.kT * self.xi[0] + self.kT * np.sum(self.xi[1:]))

    def state_dict(self):
        return {"nhc_xi": self.xi.copy(), "nhc_vxi": self.vxi.copy()}

    def load(self, saved):
        self.xi[:] = saved["nhc_xi"]
        self.vxi[:] = saved["nhc_vxi"]


class StochasticVelocityRescaling(Integrator):
    def __init__(self, state, units, dt, temperature, damp, seed):
        super().__init__(state, units, dt)
        self.kT, self.tau, self.seed = units.boltz * temperature, damp, seed
        self.bath = 0.0

    def final(self, step):
        super().final(step)
        s = self.state
        ke, nf = s.kinetic_energy(self.units.mvv2e), s.dof
        rng = coupling_rng(self.seed, step + 1, STREAM_THERMOSTAT)
        alpha, new = svr_scale(ke, 0.5 * nf * self.kT, nf, self.dt, self.tau, rng)
        s.v = s.v * alpha
        self.bath += new - ke

    def energy(self):
        return -self.bath

    def state_dict(self):
        return {"svr_bath": self.bath}

    def load(self, saved):
        self.bath = float(saved["svr_bath"])


def make_integrator(state, units, p, dt, seed):
    kind = p["integrator"]
    if kind == "nve":
        return Integrator(state, units, dt)
    if kind == "langevin":
        return Langevin(state, units, dt, p["t_target"], p["damp"], seed)
    if kind == "svr":
        return StochasticVelocityRescaling(state, units, dt, p["t_target"], p["damp"], seed)
    return NoseHooverChain(state, units, dt, p["t_target"], p["damp"], p["nhc_chain"])


class CRescale:
    """Isotropic stochastic cell rescaling of a particle state and its domain's box (see module notes)."""

    def __init__(self, state, units, p, dt, seed):
        self.state, self.every, self.p0 = state, p["p_every"], p["p_target"]
        self.tau = p["p_damp"] if p["p_damp"] else 1000.0 * dt
        self.beta = p["compressibility"]
        self.kT, self.dt, self.seed, self.nktv2p = units.boltz * p["t_target"], dt, seed, units.nktv2p
        self.mu = 1.0  # pending factor, applied at the next step

    def due(self, step):
        """Whether the end of step ``step + 1`` measures the pressure for the next factor."""
        return (step + 1) % self.every == 0

    def measure(self, step, pressure, volume):
        """At the end of a step that is :meth:`due`: the factor for the next one from the pressure and volume."""
        rng = coupling_rng(self.seed, step + 1, STREAM_BAROSTAT)
        self.mu = c_rescale_factor(
            pressure, self.p0, volume, self.kT, self.beta, self.every * self.dt, self.tau, rng, self.nktv2p
        )

    def apply(self):
        """After the drift: scale positions, velocities and the box; True when the box changed."""
        if self.mu == 1.0:
            return False
        s, mu = self.state, self.mu
        dom = s.domain
        centre = [0.5 * (lo + hi) for lo, hi in zip(dom.boxlo, dom.boxhi)]
        c = s.backend.asarray(np.asarray(centre), dtype=s.dtype)
        n = s.nlocal
        s.x[:n] = c + mu * (s.x[:n] - c)
        s.v = s.v / mu
        dom.rescale(mu, centre)
        self.mu = 1.0
        return True

    def state_dict(self):
        return {"crescale_mu": self.mu}

    def load(self, saved):
        self.mu = float(saved["crescale_mu"])


def make_barostat(state, units, p, dt, seed):
    return CRescale(state, units, p, dt, seed) if p["barostat"] == "c-rescale" else None
