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
"""
import math

import numpy as np

from ...particles.coupling import STREAM_BAROSTAT, STREAM_THERMOSTAT, c_rescale_factor, coupling_rng, svr_scale
from ...particles.rng import normals

INTEGRATORS = ("nve", "langevin", "nhc", "svr")
BAROSTATS = ("none", "c-rescale")


class Integrator:
    """Velocity Verlet; subclasses add a thermostat. ``md`` is the solver (atoms, units, comm)."""

    def __init__(self, md, dt):
        self.md, self.dt = md, dt
        self.dtf = 0.5 * dt * md.units.ftm2v

    def kick(self, h):
        md = self.md
        md.v = md.v + h * md.f[:md.nlocal] / md.mass_col

    def drift(self, h):
        md = self.md
        md.x[:md.nlocal] = md.x[:md.nlocal] + h * md.v

    def initial(self):
        self.kick(self.dtf)
        self.drift(self.dt)

    def final(self):
        self.kick(self.dtf)

    def energy(self):
        """Thermostat energy added to the conserved quantity."""
        return 0.0

    def state(self):
        return {}

    def load(self, state):
        pass


class Langevin(Integrator):
    def __init__(self, md, dt, temperature, damp, seed):
        super().__init__(md, dt)
        self.kT = md.units.boltz * temperature
        self.c1 = math.exp(-dt / damp)
        self.seed = seed

    def initial(self):
        md = self.md
        self.kick(self.dtf)
        self.drift(0.5 * self.dt)
        ids = md.backend.to_host(md.atoms_id())
        r = md.backend.asarray(normals(self.seed, md.step + 1, ids), dtype=md.ctx.dtype)
        sd = (self.kT * (1 - self.c1 * self.c1) / md.units.mvv2e) ** 0.5
        md.v = self.c1 * md.v + sd * md.xp.sqrt(1.0 / md.mass_col) * r
        self.drift(0.5 * self.dt)


class NoseHooverChain(Integrator):
    def __init__(self, md, dt, temperature, damp, chain):
        super().__init__(md, dt)
        self.kT = md.units.boltz * temperature
        self.M = chain
        nf = md.dof
        self.Q = np.array([nf * self.kT * damp ** 2] + [self.kT * damp ** 2] * (chain - 1))
        self.xi = np.zeros(chain)
        self.vxi = np.zeros(chain)

    def _chain_half(self):
        md = self.md
        dt2, dt4, dt8 = 0.5 * self.dt, 0.25 * self.dt, 0.125 * self.dt
        Q, vxi, M, kT, nf = self.Q, self.vxi, self.M, self.kT, md.dof
        twoK = 2.0 * md.kinetic_energy()

        def force(k, twoK):
            return ((twoK - nf * kT) if k == 0 else (Q[k - 1] * vxi[k - 1] ** 2 - kT)) / Q[k]

        for k in range(M - 1, -1, -1):
            if k < M - 1:
                vxi[k] *= math.exp(-vxi[k + 1] * dt8)
            vxi[k] += force(k, twoK) * dt4
            if k < M - 1:
                vxi[k] *= math.exp(-vxi[k + 1] * dt8)
        scale = math.exp(-vxi[0] * dt2)
        md.v = md.v * scale
        twoK *= scale * scale
        self.xi += vxi * dt2
        for k in range(M):
            if k < M - 1:
                vxi[k] *= math.exp(-vxi[k + 1] * dt8)
            vxi[k] += force(k, twoK) * dt4
            if k < M - 1:
                vxi[k] *= math.exp(-vxi[k + 1] * dt8)

    def initial(self):
        self._chain_half()
        super().initial()

    def final(self):
        super().final()
        self._chain_half()

    def energy(self):
        nf = self.md.dof
        return float(0.5 * np.sum(self.Q * self.vxi ** 2) + nf * self.kT * self.xi[0]
                     + self.kT * np.sum(self.xi[1:]))

    def state(self):
        return {"nhc_xi": self.xi.copy(), "nhc_vxi": self.vxi.copy()}

    def load(self, state):
        self.xi[:] = state["nhc_xi"]
        self.vxi[:] = state["nhc_vxi"]


class StochasticVelocityRescaling(Integrator):
    def __init__(self, md, dt, temperature, damp, seed):
        super().__init__(md, dt)
        self.kT, self.tau, self.seed = md.units.boltz * temperature, damp, seed
        self.bath = 0.0

    def final(self):
        super().final()
        md = self.md
        ke, nf = md.kinetic_energy(), md.dof
        rng = coupling_rng(self.seed, md.step + 1, STREAM_THERMOSTAT)
        alpha, new = svr_scale(ke, 0.5 * nf * self.kT, nf, self.dt, self.tau, rng)
        md.v = md.v * alpha
        self.bath += new - ke

    def energy(self):
        return -self.bath

    def state(self):
        return {"svr_bath": self.bath}

    def load(self, state):
        self.bath = float(state["svr_bath"])


def make_integrator(md, p, dt, seed):
    kind = p["integrator"]
    if kind == "nve":
        return Integrator(md, dt)
    if kind == "langevin":
        return Langevin(md, dt, p["t_target"], p["damp"], seed)
    if kind == "svr":
        return StochasticVelocityRescaling(md, dt, p["t_target"], p["damp"], seed)
    return NoseHooverChain(md, dt, p["t_target"], p["damp"], p["nhc_chain"])


class CRescale:
    """Isotropic stochastic cell rescaling of the solver ``md`` (see module notes)."""

    def __init__(self, md, p, dt, seed):
        u = md.units
        self.md, self.every, self.p0 = md, p["p_every"], p["p_target"]
        self.tau = p["p_damp"] if p["p_damp"] else 1000.0 * dt
        self.beta = p["compressibility"]
        self.kT, self.dt, self.seed, self.nktv2p = u.boltz * p["t_target"], dt, seed, u.nktv2p
        self.mu = 1.0             # pending factor, applied at the next step

    def measure(self):
        """At the end of a step: the factor for the next one, when due (collective)."""
        md = self.md
        if (md.step + 1) % self.every:
            return
        press, vol = md.pressure_volume()
        rng = coupling_rng(self.seed, md.step + 1, STREAM_BAROSTAT)
        self.mu = c_rescale_factor(press, self.p0, vol, self.kT, self.beta, self.every * self.dt, self.tau, rng,
                                   self.nktv2p)

    def apply(self):
        """After the drift: scale positions, velocities and the box; True when the box changed."""
        if self.mu == 1.0:
            return False
        md, mu = self.md, self.mu
        dom = md.domain
        centre = [0.5 * (lo + hi) for lo, hi in zip(dom.boxlo, dom.boxhi)]
        c = md.backend.asarray(np.asarray(centre), dtype=md.ctx.dtype)
        n = md.nlocal
        md.x[:n] = c + mu * (md.x[:n] - c)
        md.v = md.v / mu
        dom.rescale(mu, centre)
        self.mu = 1.0
        return True

    def state(self):
        return {"crescale_mu": self.mu}

    def load(self, state):
        self.mu = float(state["crescale_mu"])


def make_barostat(md, p, dt, seed):
    return CRescale(md, p, dt, seed) if p["barostat"] == "c-rescale" else None
