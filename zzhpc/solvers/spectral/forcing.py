r"""Large-scale forcing at constant power for statistically stationary isotropic turbulence.

The force acts on the band :math:`k_a \le |\mathbf k| \le k_b` of low wavenumbers and is parallel to the
velocity there,

.. math:: \hat{\mathbf f}(\mathbf k) = \frac{P}{2 E_f}\, \hat{\mathbf u}(\mathbf k), \qquad
          E_f = \tfrac12 \sum_{k_a\le|\mathbf k|\le k_b} |\hat{\mathbf u}|^2 \;(\text{volume-averaged}),

so that the power it injects, :math:`\langle \mathbf f\cdot\mathbf u\rangle = P`, is constant in time and
equals the mean dissipation rate in the stationary state. It is divergence-free (parallel to a
divergence-free field), deterministic and independent of the decomposition. This is the band-limited
"constant energy injection" forcing used e.g. by [Ghosal1995]_ and [Lamorgese2005]_.

.. [Ghosal1995] S. Ghosal, T. S. Lund, P. Moin, K. Akselvoll, "A dynamic localization model for
   large-eddy simulation of turbulent flows", J. Fluid Mech. 286, 229 (1995).
.. [Lamorgese2005] A. G. Lamorgese, D. A. Caughey, S. B. Pope, "Direct numerical simulation of
   homogeneous turbulence with hyperviscosity", Phys. Fluids 17, 015106 (2005).
"""


class BandForcing:
    """Constant-power forcing on a shell band (see the module docstring).

    Parameters
    ----------
    grid : SpectralGrid
    power : injected power P [L^2/T^3]
    band : (k_a, k_b), angular wavenumbers [1/L]
    """

    def __init__(self, grid, power, band):
        self.grid, self.power, self.band = grid, float(power), tuple(band)
        xp = grid.xp
        ka, kb = band
        ksq = grid.ksq
        sel = (ksq >= ka * ka) & (ksq <= kb * kb)
        self.band_mask = xp.astype(sel, ksq.dtype) * grid.mask
        self.last_band_energy = None

    def band_energy(self, uh):
        g, xp = self.grid, self.grid.xp
        w = g.weight * self.band_mask
        total = sum(g.local_sum(lambda r, c=c: xp.real(uh[c][r] * xp.conj(uh[c][r])) * w[r]) for c in range(3))
        return 0.5 * g.sum(total) * g.norm

    def coefficient(self, uh):
        """``P / (2 E_f)``: the force is this times ``band_mask * u_hat`` (None with an empty band)."""
        ef = self.band_energy(uh)
        self.last_band_energy = ef
        if ef <= 0:
            return None  # nothing to force in the band: no direction to inject along
        return self.power / (2 * ef)

    def __call__(self, uh):
        coef = self.coefficient(uh)
        return None if coef is None else (coef * self.band_mask) * uh
