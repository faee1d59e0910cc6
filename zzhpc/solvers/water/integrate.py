r"""The time step of rigid water: velocity Verlet with SETTLE, SVR thermostat, c-rescale barostat.

One step from :math:`t` to :math:`t + \Delta t` (RATTLE form of velocity Verlet, Andersen, J. Comput.
Phys. 52, 24 (1983)):

1. :math:`v \mathrel{+}= \tfrac{\Delta t}{2} F/m`, :math:`x' = x + \Delta t\, v`; SETTLE brings
   :math:`x'` back onto the constraints, the velocities follow, :math:`v \mathrel{+}= \delta x/\Delta t`.
2. NPT, every ``pcouple_every`` steps: c-rescale with the pressure at the end of the previous step;
   molecular centres, box and sub-domains scaled by :math:`\mu`, velocities by :math:`1/\mu`.
3. Ghosts refreshed (list rebuilt on the skin criterion), forces at :math:`t + \Delta t`.
4. :math:`v \mathrel{+}= \tfrac{\Delta t}{2} F/m`; velocity SETTLE (no relative velocity along a bond).
5. NVT/NPT: centre-of-mass velocity removed, SVR rescaling over :math:`\Delta t`.

The constraint virial of the step is the mean of the position (forces at :math:`t`) and velocity
(forces at :math:`t + \Delta t`) estimates; their leading errors, of opposite sign in
:math:`\Delta t`, cancel in the average. The conserved quantity is :math:`E` minus the energy put in
by the thermostat (kinetic-energy changes) and by the barostat (kinetic change plus the first-order
potential change :math:`-(\mu - 1) W_{mol}`, with the molecular virial
:math:`W_{mol} = W - \sum_i (\mathbf r_i - \mathbf R_{mol})\cdot\mathbf f_i`).
"""

import numpy as np
from mpi4py import MPI

from ...particles import coupling
from ...particles.rng import normals
from . import molecules as mol
from ...device import get_kernel
from .settle import settle_positions, settle_velocities


class RigidVerlet:
    """Step, kinetic energy and pressure of a :class:`WaterSolver` ``w``."""

    def __init__(self, w):
        self.w = w
        p = w.params
        self.dt = w.dt
        self.dtf = 0.5 * w.dt * w.units.ftm2v
        self.masses = w.geom.masses()
        self.mtot = sum(self.masses) * w.nmol
        self.m = w.backend.asarray(np.asarray(self.masses).reshape(1, 3, 1), dtype=w.ctx.dtype)
        self.invm = 1.0 / self.m
        # The element-wise passes, each one loop where the backend has a fused kernel (settle_numba).
        be = w.backend
        self.kick = get_kernel("water_kick", be)
        self.kick_drift = get_kernel("water_kick_drift", be)
        self.constraint_velocity = get_kernel("water_constraint_velocity", be)
        self.rescale = get_kernel("water_rescale", be)
        self.ensemble = p["ensemble"]
        self.kT = w.units.boltz * p["temperature"]
        self.thermostat_work = self.barostat_work = 0.0
        self.wc = 0.0  # constraint virial of the last step [kcal/mol]
        self.p_last = 0.0  # pressure at the end of the last step [atm], for the barostat

    # Global sums ----------------------------------------------------------------------------------
    def _allreduce(self, values):
        return self.w.comm.allreduce(np.asarray(values, dtype=float), op=MPI.SUM)

    def _mv2_local(self, v):
        return float(self.w.xp.sum(self.m * v * v))

    def kinetic_energy(self):
        """Total kinetic energy [kcal/mol] (collective)."""
        return 0.5 * float(self._allreduce([self._mv2_local(self.w.vm)])[0]) * self.w.units.mvv2e

    def pressure(self, ke):
        """:math:`(2K + W + W_c)/(3V)` [atm]."""
        w = self.w
        return (2.0 * ke + w.virial + self.wc) / (3.0 * w.volume) * w.units.nktv2p

    def refresh_pressure(self):
        """Constraint virial at the current state (no step taken) and the pressure (collective).

        The velocity constraint after a trial half kick gives the constraint forces at this instant."""
        w = self.w
        vtrial = self.kick(w.vm, w.fm, self.invm, self.dtf)
        _, wv = settle_velocities(w.xm, vtrial, w.geom, self.dt)
        self.wc = float(self._allreduce([float(wv)])[0]) * w.units.mvv2e
        self.p_last = self.pressure(self.kinetic_energy())

    # The step -------------------------------------------------------------------------------------
    def step(self):
        w, p = self.w, self.w.params
        x0 = w.xm
        w.vm, x1 = self.kick_drift(w.vm, w.fm, self.invm, self.dtf, x0, self.dt)
        with w.timers("constraints"):
            x3, wr = settle_positions(x0, x1, w.geom, self.dt)
        w.vm = self.constraint_velocity(w.vm, x3, x1, self.dt)
        w.xm = x3
        if self.ensemble == "npt" and (w.step + 1) % p["pcouple_every"] == 0:
            self._barostat(x0)
        w.update_ghosts()
        w._forces()
        w.vm = self.kick(w.vm, w.fm, self.invm, self.dtf)
        with w.timers("constraints"):
            w.vm, wv = settle_velocities(w.xm, w.vm, w.geom, self.dt)
        tot = self._allreduce([float(wr), float(wv)] + self._momentum_local() + [self._mv2_local(w.vm)])
        self.wc = 0.5 * (tot[0] + tot[1]) * w.units.mvv2e
        if self.ensemble != "nve":
            self._thermostat(tot[2:5], tot[5])
        if self.ensemble == "npt":
            self.p_last = self.pressure(self.kinetic_energy())

    def _momentum_local(self, v=None):
        v = self.w.vm if v is None else v
        mv = self.w.xp.reshape(self.m * v, (-1, 3))
        return [float(self.w.xp.sum(mv[:, c])) for c in range(3)]  # by column: 2.6x faster than axis=(0, 1)

    def _thermostat(self, momentum, mv2):
        """Remove the centre-of-mass velocity, then SVR (Bussi et al. 2007) over one step."""
        w = self.w
        mvv2e = w.units.mvv2e
        P = np.asarray(momentum)
        vcom = P / self.mtot
        k0 = 0.5 * mv2 * mvv2e
        k1 = k0 - 0.5 * float(P @ P) / self.mtot * mvv2e
        target = 0.5 * w.dof * self.kT
        rng = coupling.coupling_rng(w.ctx.seed, w.step + 1, coupling.STREAM_THERMOSTAT)
        alpha, k2 = coupling.svr_scale(k1, target, w.dof, self.dt, w.params["tau_t"], rng)
        w.vm = self.rescale(w.vm, w.backend.asarray(vcom.reshape(1, 1, 3), dtype=w.ctx.dtype), alpha)
        self.thermostat_work += k2 - k0

    def _barostat(self, x_before):
        """c-rescale (Bernetti & Bussi 2020) over ``pcouple_every`` steps, with the last pressure."""
        w, xp, p = self.w, self.w.xp, self.w.params
        rng = coupling.coupling_rng(w.ctx.seed, w.step + 1, coupling.STREAM_BAROSTAT)
        mu = coupling.c_rescale_factor(
            self.p_last,
            p["pressure"],
            w.volume,
            self.kT,
            p["compressibility"],
            self.dt * p["pcouple_every"],
            p["tau_p"],
            rng,
            w.units.nktv2p,
        )
        com = mol.centres_of_mass(x_before, self.masses)
        intra = float(xp.sum((x_before - com[:, None, :]) * w.fm))
        mv2, intra = self._allreduce([self._mv2_local(w.vm), intra])
        dk = 0.5 * mv2 * w.units.mvv2e * (1.0 / (mu * mu) - 1.0)
        du = -(mu - 1.0) * (w.virial - intra)
        self.barostat_work += dk + du
        w.xm = mol.rescale(w.domain, mu, w.xm, self.masses)
        w.vm = w.vm / mu
        w.ff.set_box(w.lengths)

    # Checkpoint -----------------------------------------------------------------------------------
    def state(self):
        return {
            "thermostat_work": self.thermostat_work,
            "barostat_work": self.barostat_work,
            "wc": self.wc,
            "p_last": self.p_last,
        }

    def load(self, state):
        for k in self.state():
            setattr(self, k, float(state[k]))


def initial_velocities(w, temperature, seed):
    """Maxwell-Boltzmann velocities keyed by atom id, constrained, zero momentum, exactly at ``temperature``."""
    be, xp = w.backend, w.xp
    ids = be.to_host(mol.atom_ids(w.mid, xp))
    m = np.tile(np.asarray(w.geom.masses()), int(w.xm.shape[0]))
    sd = np.sqrt(w.units.boltz * temperature / (m * w.units.mvv2e))
    v = be.asarray((normals(seed, 0, ids) * sd[:, None]).reshape(-1, 3, 3), dtype=w.ctx.dtype)
    v, _ = settle_velocities(w.xm, v, w.geom, w.dt)
    integ = w.integrator
    P = integ._allreduce(integ._momentum_local(v))
    v = v - be.asarray((P / integ.mtot).reshape(1, 1, 3), dtype=w.ctx.dtype)
    mv2 = float(integ._allreduce([integ._mv2_local(v)])[0])
    ke = 0.5 * mv2 * w.units.mvv2e
    target = 0.5 * w.dof * w.units.boltz * temperature
    return v * np.sqrt(target / ke) if ke > 0 else v


def file_velocities(w, v):
    """Velocities read with the initial box, constrained (RATTLE: no relative velocity along a bond of the
    rigid molecules) and with zero total momentum; not rescaled (the file's temperature is kept)."""
    v, _ = settle_velocities(w.xm, v, w.geom, w.dt)
    integ = w.integrator
    P = integ._allreduce(integ._momentum_local(v))
    return v - w.backend.asarray((P / integ.mtot).reshape(1, 1, 3), dtype=w.ctx.dtype)


def minimise(w, nsteps, h0):
    """Steepest descent of the rigid molecules (gentle start): atoms moved by ``h F/max|F|``, SETTLE back.

    The displacement grows by 1.2 after a step that lowers the energy and shrinks by 0.2 after one
    that does not (which is undone), as GROMACS's ``integrator = steep``. Returns a log dict."""
    xp = w.xp
    e = e0 = float(w.energies["total"])
    h, accepted = h0, 0
    for _ in range(nsteps):
        f2 = xp.sum(w.fm * w.fm, axis=-1)
        fmax = np.sqrt(w.comm.allreduce(float(xp.max(f2)) if f2.shape[0] else 0.0, op=MPI.MAX))
        if fmax == 0.0 or h < 1e-5:
            break
        saved = (w.xm, w.vm, w.mid, w.image)
        x1 = w.xm + (h / fmax) * w.fm
        w.xm, _ = settle_positions(w.xm, x1, w.geom, 1.0)
        w.update_ghosts()
        w._forces()
        enew = float(w.energies["total"])
        if enew < e:
            e, h, accepted = enew, 1.2 * h, accepted + 1
        else:
            w.xm, w.vm, w.mid, w.image = saved
            w._rebuild()
            w._forces()
            h *= 0.2
    return {"steps": nsteps, "accepted": accepted, "pe_start": e0, "pe_end": e, "last_displacement_A": h}
