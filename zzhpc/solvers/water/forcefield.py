r"""The force field of rigid three-site water: LJ + Ewald-split Coulomb (PME or plain Ewald) + corrections.

.. math::
    E = E_{LJ} + E_{real} + E_{rec} + E_{self} + E_{excl} + E_{tail}

* :math:`E_{LJ}`, :math:`E_{real}`: pairs of different molecules within the cutoff
  (:mod:`.nonbonded`), over the neighbour list of owned and ghost atoms.
* :math:`E_{rec}`: smooth PME (:mod:`.pme`) on the distributed FFT, or plain Ewald (:mod:`.ewald`) on
  the gathered system (``coulomb = "ewald"``, a reference).
* :math:`E_{self} = -k_e \alpha/\sqrt\pi \sum q_i^2`; :math:`E_{excl}`: intramolecular pairs removed from
  the reciprocal sum (:func:`.nonbonded.exclusion_correction`).
* :math:`E_{tail}`: analytic long-range dispersion correction of the truncated LJ (OpenMM's
  ``setUseDispersionCorrection``; Allen & Tildesley sec. 2.8), see :func:`dispersion_correction`.

Parameters from a tolerance :math:`\delta` as OpenMM chooses them:
:math:`\alpha = \sqrt{-\ln(2\delta)}/r_c` and :math:`K_d = \lceil 2\alpha L_d / (3\delta^{1/5})\rceil`
(at least 6), rounded up to a product of 2, 3 and 5.
"""

import math

import numpy as np
from mpi4py import MPI

from ...device import get_kernel, kernel_registry
from ...errors import ConfigError, SimulationError
from .ewald import ewald_reciprocal, kmax_for
from .clusters import ClusterPairList
from .models import get_model
from .nonbonded import exclusion_correction, pair_tables, self_energy
from .pme import PME

KEYS = ("lj", "coul_real", "coul_recip", "coul_self", "coul_excl", "tail", "total")
#: The atom scheme's mixed kernel skips the energy (and virial) sums on force-only steps too
#: (docs/water.md, "Force-only steps"); its forces are bitwise those of a full call.
ATOM_FORCE_ONLY = True


def fft_size(n):
    """Smallest integer >= ``n`` whose prime factors are 2, 3 and 5."""
    n = max(int(n), 1)
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def pme_parameters(lengths, cutoff, tolerance):
    """``(alpha [1/A], grid)`` from the error tolerance, as OpenMM's NonbondedForceImpl."""
    alpha = math.sqrt(-math.log(2.0 * tolerance)) / cutoff
    grid = [fft_size(max(6, math.ceil(2.0 * alpha * L / (3.0 * tolerance**0.2)))) for L in lengths]
    return alpha, grid


def dispersion_correction(model, nmol, cutoff, volume):
    r"""Long-range LJ correction ``(energy, virial)`` [kcal/mol] for ``nmol`` molecules in ``volume`` [A^3].

    With :math:`S_n = \sum_{a\le b} c_{ab}\,\epsilon_{ab}\sigma_{ab}^n` over atom classes (:math:`c_{aa} =
    N_a(N_a+1)/2`, :math:`c_{ab} = N_a N_b`) averaged over the :math:`N(N+1)/2` pairs of the :math:`N`
    atoms, exactly as OpenMM's ``NonbondedForceImpl::calcDispersionCorrection``,
    :math:`E = \frac{8\pi N^2}{V}\left[\frac{\bar S_{12}}{9 r_c^9} - \frac{\bar S_6}{3 r_c^3}\right]`.
    The virial is that of the neglected pair forces, :math:`W = 3 V P_{tail}` (LAMMPS ``pair_modify tail``):
    :math:`W = \frac{8\pi N^2}{V}\left[\frac{4\bar S_{12}}{3 r_c^9} - \frac{2\bar S_6}{r_c^3}\right]`.
    """
    m = get_model(model)
    counts = {0: nmol, 1: 2 * nmol}
    n = 3.0 * nmol
    s12 = s6 = 0.0
    for a in (0, 1):
        for b in (0, 1):
            if b > a:
                continue
            sig, eps = m.lj_pair(a, b)
            c = counts[a] * (counts[a] + 1) / 2.0 if a == b else counts[a] * counts[b]
            s12 += c * eps * sig**12
            s6 += c * eps * sig**6
    pairs = n * (n + 1) / 2.0
    s12, s6 = s12 / pairs, s6 / pairs
    pre = 8.0 * math.pi * n * n / volume
    return (
        pre * (s12 / (9.0 * cutoff**9) - s6 / (3.0 * cutoff**3)),
        pre * (4.0 * s12 / (3.0 * cutoff**9) - 2.0 * s6 / cutoff**3),
    )


class WaterForceField:
    """Energies, forces and virial of rigid water on any spatial decomposition (see module notes).

    Attributes: ``alpha`` [1/A], ``grid`` ``[K0, K1, K2]``, ``cutoff`` [A], ``coulomb``, ``model``,
    ``tables`` (device pair tables), ``charges`` (per type, device). ``precision = "mixed"``: pair terms
    and the PME grids, FFTs and B-spline sums in float32, every sum in ``dtype`` (docs/precision.md); the
    three intramolecular exclusion pairs stay in ``dtype`` (they cancel most of the self energy).
    """

    def __init__(
        self,
        comm,
        backend,
        model,
        lengths,
        cutoff,
        nmol_total,
        *,
        coulomb="pme",
        tolerance=5e-4,
        alpha=None,
        grid=None,
        order=5,
        dispersion_correction=True,
        dtype="float64",
        key="water",
        kernels="auto",
        precision="uniform",
    ):
        self.comm, self.backend, self.xp = comm, backend, backend.xp
        self.mixed = precision == "mixed"
        self.model = get_model(model, f"{key}.model")
        self.cutoff, self.nmol = float(cutoff), int(nmol_total)
        self.coulomb, self.order, self.dtype = coulomb, int(order), dtype
        self.use_tail, self.key = bool(dispersion_correction), key
        if coulomb not in ("pme", "ewald"):
            raise ConfigError(f"{key}.coulomb", "expected 'pme' or 'ewald'", coulomb)
        if not 0 < tolerance < 0.5:
            raise ConfigError(f"{key}.ewald_tolerance", "expected 0 < tolerance < 0.5", tolerance)
        if self.order < 3 or self.order > 12:
            raise ConfigError(f"{key}.pme_order", "expected a B-spline order from 3 to 12", order)
        self.tolerance = float(tolerance)
        self._check_box(lengths, ConfigError)
        a, g = pme_parameters(lengths, self.cutoff, self.tolerance)
        self.alpha = float(alpha) if alpha is not None else a
        if not self.alpha > 0:
            raise ConfigError(f"{key}.ewald_alpha", "expected a positive Ewald parameter in 1/A", alpha)
        self.grid = [int(n) for n in grid] if grid is not None else g
        if len(self.grid) != 3 or min(self.grid) < self.order:
            raise ConfigError(f"{key}.pme_grid", f"expected 3 grid sizes, each >= the PME order {self.order}", grid)
        tab = pair_tables(self.model, self.cutoff)
        self.tables = {k: backend.asarray(v, dtype=dtype) for k, v in tab.items()}
        self.charges = backend.asarray(np.asarray(self.model.charges), dtype=dtype)
        if kernels == "reference":
            self.kernel = kernel_registry()["water_pair_forces"]["generic"]
            self.k_cluster = kernel_registry()["water_cluster_forces"]["generic"]
            self.k_excl = exclusion_correction
        else:
            self.kernel = get_kernel("water_pair_forces", backend)
            self.k_cluster = get_kernel("water_cluster_forces", backend)
            self.k_excl = get_kernel("water_exclusion", backend)
        self.q_sq = self.nmol * (self.model.q_O**2 + 2.0 * self.model.q_H**2)
        self.pme = None
        if coulomb == "pme":
            try:
                self.pme = PME(
                    comm,
                    backend,
                    self.grid,
                    self.order,
                    self.alpha,
                    lengths,
                    dtype=dtype,
                    kernels=kernels,
                    mixed=self.mixed,
                )
            except ValueError as exc:
                raise ConfigError(
                    f"{key}.pme_grid", f"cannot be split over {comm.Get_size()} ranks ({exc})", self.grid
                ) from None
        self.set_box(lengths)

    def _check_box(self, lengths, error):
        if len(lengths) != 3 or min(lengths) <= 0:
            raise ConfigError(f"{self.key}.box", "expected 3 positive box lengths in A", list(lengths))
        if self.cutoff <= 0:
            raise ConfigError(f"{self.key}.cutoff", "expected a positive cutoff in A", self.cutoff)
        half = 0.5 * min(lengths)
        if self.cutoff > half:
            msg = f"cutoff must be at most half the smallest box length ({half:.4g} A)"
            if error is ConfigError:
                raise ConfigError(f"{self.key}.cutoff", msg, self.cutoff)
            raise SimulationError(f"{self.key}.cutoff = {self.cutoff}: the box shrank; {msg}")

    def set_box(self, lengths):
        """New box edges [A] (collective only in that every rank must call it alike)."""
        self._check_box(lengths, SimulationError)
        self.lengths = [float(v) for v in lengths]
        self.volume = self.lengths[0] * self.lengths[1] * self.lengths[2]
        if self.pme is not None:
            self.pme.set_box(self.lengths, self.alpha)
        if self.use_tail:
            self.e_tail, self.w_tail = dispersion_correction(self.model, self.nmol, self.cutoff, self.volume)
        else:
            self.e_tail = self.w_tail = 0.0
        self.e_self = self_energy(self.q_sq, self.alpha)

    def compute(self, x_all, types_all, mol_all, nlocal, neigh, half=True, energy=True, virial=True):
        """Forces, energies (dict, summed over ranks) and virial; see docs/water_forces.md.

        Collective. ``energy``/``virial`` false: the caller needs the forces only (a pair kernel that has a
        force-only variant skips those terms, the cluster kernels; the values returned are then not those
        of the state: NaN where skipped, never to be read). ``neigh``: an atom list (``water_pair_list``), or a :class:`.clusters.ClusterPairList`
        (the cluster-pair scheme: every listed pair once, ``half`` must be true). ``f`` has ghost rows
        (pair forces, to be summed back by ``Domain.reverse_comm`` when ``half``); the exclusion and
        reciprocal forces act on owned rows only."""
        nlocal = int(nlocal)
        if nlocal % 3:
            raise SimulationError(f"water force field: {nlocal} owned atoms is not whole molecules")
        if isinstance(neigh, ClusterPairList):
            f, e_lj, e_real, w_pair = self._cluster_pairs(x_all, neigh, energy, virial)
        elif self.mixed:
            skip = {} if (energy and virial) or not ATOM_FORCE_ONLY else {"energy": energy, "virial": virial}
            f, e_lj, e_real, w_pair = self.kernel(
                x_all, types_all, mol_all, neigh, nlocal, self.tables, self.alpha, half, mixed=True, **skip
            )
        else:
            f, e_lj, e_real, w_pair = self.kernel(
                x_all, types_all, mol_all, neigh, nlocal, self.tables, self.alpha, half
            )
        q = self.charges[types_all[:nlocal]]
        fx, e_excl, w_excl = self.k_excl(x_all, q, nlocal // 3, self.alpha, self.lengths)
        f[:nlocal] = f[:nlocal] + fx
        if self.pme is not None:
            e_rec, fr, w_rec = self.pme.compute(x_all[:nlocal], q)
            f[:nlocal] = f[:nlocal] + fr
        else:
            e_rec, fr, w_rec = self._ewald(x_all[:nlocal], q)
            f[:nlocal] = f[:nlocal] + fr
        local = np.array(
            [float(e_lj), float(e_real), float(e_rec), float(e_excl), float(w_pair) + float(w_excl) + float(w_rec)]
        )
        tot = np.empty_like(local)
        self.comm.Allreduce(local, tot, op=MPI.SUM)
        en = {
            "lj": tot[0],
            "coul_real": tot[1],
            "coul_recip": tot[2],
            "coul_self": self.e_self,
            "coul_excl": tot[3],
            "tail": self.e_tail,
        }
        en = {k: float(v) for k, v in en.items()}
        en["total"] = sum(en[k] for k in KEYS[:-1])
        return f, en, float(tot[4]) + self.w_tail

    def _cluster_pairs(self, x_all, cl, energy=True, virial=True):
        """Pair forces (rows of ``x_all``), energies and virial over a cluster-pair list."""
        xs = cl.pack(x_all)
        args = (xs, cl.tslot, cl.ci_start, cl.cj, cl.mask, cl.shift, self.tables, self.alpha, self.cutoff)
        if energy and virial:
            fs, e_lj, e_real, w = self.k_cluster(*args)
        else:
            fs, e_lj, e_real, w = self.k_cluster(*args, energy=energy, virial=virial)
        f = np.zeros((x_all.shape[0], 3), dtype=np.float64)
        cl.scatter(fs, f)
        return self.backend.asarray(f, dtype=self.dtype), e_lj, e_real, w

    def _ewald(self, x, q):
        """Plain Ewald on the gathered system (reference; every rank sums all wave vectors)."""
        be = self.backend
        xh, qh = be.to_host(x), be.to_host(q)
        parts = self.comm.allgather((xh, qh))
        xa = np.concatenate([p[0] for p in parts])
        qa = np.concatenate([p[1] for p in parts])
        start = sum(p[0].shape[0] for p in parts[: self.comm.Get_rank()])
        kmax = kmax_for(self.lengths, self.alpha, min(self.tolerance, 1e-8) ** 2)
        e, f, w = ewald_reciprocal(xa, qa, self.lengths, self.alpha, kmax)
        # Every rank computed the whole sum: report it once.
        share = 1.0 if self.comm.Get_rank() == 0 else 0.0
        return e * share, be.asarray(f[start : start + xh.shape[0]], dtype=self.dtype), w * share
