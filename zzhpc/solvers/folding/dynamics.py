r"""Langevin dynamics of a batch of replicas (BAOAB) and temperature replica exchange.

Every replica (walker) ``w`` draws its noise from its own counter-based stream: block ``b`` of ``K`` steps
comes from ``Philox(SeedSequence(seed, spawn_key=(0, w, b)))``. A walker's trajectory therefore depends
only on ``(seed, w)`` and the exchange decisions, never on which rank advances it or with whom it is
batched, and a restart needs no generator state (the stream position is the step number).

BAOAB splitting (Leimkuhler & Matthews, Appl. Math. Res. Express 2013, 34):
B: :math:`v \mathrel{+}= \tfrac{h}{2} F/m`; A: :math:`x \mathrel{+}= \tfrac{h}{2} v`;
O: :math:`v \leftarrow c_1 v + \sqrt{(1 - c_1^2)\,k_BT/m}\,\xi`, :math:`c_1 = e^{-\gamma h}`; A; B.

Temperature replica exchange (Sugita & Okamoto, Chem. Phys. Lett. 314, 141 (1999)) swaps the
temperatures of walkers on neighbouring rungs ``k, k+1`` (even pairs, then odd pairs on alternate attempts)
with probability :math:`\min(1, e^{(\beta_k - \beta_{k+1})(E_k - E_{k+1})})`; velocities are rescaled by
:math:`\sqrt{T_{\rm new}/T_{\rm old}}`. Swapping temperatures instead of coordinates moves no data between
ranks: only the potential energies (one number per walker) are gathered.
"""

import math

import numpy as np

NOISE_BLOCK = 64
_NOISE, _EXCHANGE, _VELOCITY = 0, 1, 2


def _generator(seed, *key):
    return np.random.Generator(np.random.Philox(np.random.SeedSequence(seed, spawn_key=tuple(key))))


def geometric_ladder(t_min, t_max, n):
    """``n`` temperatures from ``t_min`` to ``t_max``, equal ratios (equal acceptance for constant Cv)."""
    if n == 1 or t_max == t_min:
        return np.full(n, float(t_min))
    return t_min * (t_max / t_min) ** (np.arange(n) / (n - 1))


class NoiseStreams:
    """Standard normal noise ``(R_local, N, 3)`` per step for walkers ``ids``, from per-walker streams.

    ``draw``: the type NumPy draws in (float64; float32 in the mixed mode, where NumPy's float32 normals
    are ~20 % cheaper and the noise is handed to the kernels as float32), ``dtype`` the device's."""

    def __init__(self, seed, ids, n_beads, backend, dtype, block=NOISE_BLOCK, draw=np.float64):
        self.seed, self.ids, self.n, self.backend, self.dtype, self.block = (
            seed,
            list(ids),
            n_beads,
            backend,
            dtype,
            block,
        )
        self.draw = np.dtype(draw)
        self._b, self._data, self._host = None, None, None

    def at(self, step):
        b, k = divmod(step, self.block)
        if b != self._b:
            # Drawn in place into one reused buffer: stacking fresh blocks cost as much as drawing them.
            if self._host is None:
                self._host = np.empty((len(self.ids), self.block, self.n, 3), self.draw)
            for r, w in enumerate(self.ids):
                _generator(self.seed, _NOISE, int(w), b).standard_normal(out=self._host[r], dtype=self.draw)
            self._data = self.backend.asarray(self._host.astype(self.dtype, copy=False))
            self._b = b
        return self._data[:, k]


def initial_velocities(seed, ids, n_beads, temperatures, mass=1.0):
    """Maxwell-Boltzmann velocities (host) for walkers ``ids`` at their temperatures, zero net momentum."""
    v = np.stack([_generator(seed, _VELOCITY, int(w)).standard_normal((n_beads, 3)) for w in ids])
    v -= v.mean(axis=1, keepdims=True)
    return v * np.sqrt(np.asarray(temperatures) / mass)[:, None, None]


class BAOAB:
    """Parameters of the BAOAB step; the step itself is the kernel ``sbm_baoab_step`` (:mod:`.kernels`)."""

    def __init__(self, dt, friction):
        self.dt, self.gamma = dt, friction
        self.c1 = math.exp(-friction * dt)

    def noise_scale(self, backend, temperatures, dtype):
        """Per-replica :math:`\\sqrt{(1-c_1^2) k_BT/m}` (bead mass 1), shaped ``(R, 1, 1)`` on the device."""
        s = np.sqrt((1.0 - self.c1**2) * np.asarray(temperatures, dtype=np.float64))
        return backend.asarray(s.reshape(-1, 1, 1).astype(dtype))


class TemperatureExchange:
    """Rung bookkeeping of temperature replica exchange, replicated identically on every rank."""

    def __init__(self, temperatures, seed):
        self.t = np.asarray(temperatures, dtype=np.float64)
        self.n = len(self.t)
        self.seed = seed
        self.rung = np.arange(self.n)  # rung (temperature index) of each walker
        self.attempts = np.zeros(max(self.n - 1, 0), dtype=np.int64)
        self.accepted = np.zeros(max(self.n - 1, 0), dtype=np.int64)
        self.count = 0  # attempts so far (selects parity and random stream)

    def walker_temperatures(self):
        return self.t[self.rung]

    def attempt(self, energies):
        """Attempt swaps given the potential energy of every walker (global, by walker id).

        Returns the old rungs, so callers can rescale velocities of walkers that moved.
        """
        old = self.rung.copy()
        walker_at = np.empty(self.n, dtype=np.int64)
        walker_at[self.rung] = np.arange(self.n)
        start = self.count % 2
        pairs = np.arange(start, self.n - 1, 2)
        u = _generator(self.seed, _EXCHANGE, self.count).random(len(pairs))
        beta = 1.0 / self.t
        for k, uk in zip(pairs, u):
            a, b = walker_at[k], walker_at[k + 1]
            delta = (beta[k] - beta[k + 1]) * (energies[a] - energies[b])
            self.attempts[k] += 1
            if delta >= 0 or uk < math.exp(delta):
                self.accepted[k] += 1
                walker_at[k], walker_at[k + 1] = b, a
        self.rung[walker_at] = np.arange(self.n)
        self.count += 1
        return old

    def acceptance(self):
        """Acceptance ratio per neighbour pair (NaN where never attempted)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.attempts > 0, self.accepted / np.maximum(self.attempts, 1), np.nan)

    def state(self):
        return {
            "rung": self.rung.tolist(),
            "attempts": self.attempts.tolist(),
            "accepted": self.accepted.tolist(),
            "count": int(self.count),
        }

    def load(self, st):
        self.rung = np.asarray(st["rung"], dtype=np.int64)
        self.attempts = np.asarray(st["attempts"], dtype=np.int64)
        self.accepted = np.asarray(st["accepted"], dtype=np.int64)
        self.count = int(st["count"])
