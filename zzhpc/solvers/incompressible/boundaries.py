r"""Boundary conditions of the staggered grid: walls (one may move: a lid), an inflow face, an outflow face.

Every face of the box normal to a non-periodic axis has one kind:

* ``wall``: no-slip, the velocity is given (zero, or a lid's tangential velocity).
* ``inflow``: Dirichlet velocity, directed into the domain with bulk (mean) speed :math:`U_b`; zero
  tangential velocity. Profile ``uniform`` (:math:`u_n = U_b`) or ``parabolic``,
  :math:`u_n = U_b \prod_t 6 s_t (1 - s_t)`, :math:`s_t = x_t / L_t`, over the wall-bounded transverse
  axes (uniform along periodic ones), evaluated at the face centres; its exact mean is :math:`U_b`.
* ``outflow`` (upper faces only, where the last face of the normal component is a free unknown): zero
  normal gradient of every velocity component, :math:`\partial_n u = 0`, and the pressure fixed to
  :math:`p = 0` on the face (the usual simple outflow treatment, e.g. Ferziger & Peric, *Computational
  Methods for Fluid Dynamics*, Springer). With an outflow face the pressure Poisson problem is non-singular; with walls,
  inflow and periodic axes only it has the constant null space.

On the MAC grid each ghost value is affine in the first interior value, :math:`q_g = c\,q_1 + g`:

=======================  ========================================  ==========  ===========
face                     velocity, normal component                tangential  pressure
=======================  ========================================  ==========  ===========
wall / inflow, lower     the ghost *is* the face: :math:`c = 0`    mirror -1   Neumann +1
wall / inflow, upper     the last face is fixed (identity row)     mirror -1   Neumann +1
outflow (upper)          zero gradient +1                          +1          Dirichlet -1
=======================  ========================================  ==========  ===========

``coefficient`` gives ``c`` to the matrix assembly; the values ``g`` reach the right-hand sides through
the ghost fill (``velocity_ghosts``), so matrices and stencils agree by construction (tested).
"""

import numpy as np

from ...errors import ConfigError

AXES = "xyz"
FACES = tuple(f"{c}_{s}" for c in AXES for s in ("lo", "hi"))


def face(name):
    """``"x_hi"`` -> ``(0, "hi")``."""
    return AXES.index(name[0]), name[2:]


def lid_of(p):
    """The moving wall of a validated ``[incompressible]`` table (None for none): its own key, else
    ``y_hi`` for a closed box and none when an inflow or outflow face is set."""
    if p["moving_wall"] is not None:
        return None if p["moving_wall"] == "none" else p["moving_wall"]
    return None if p["inflow"] != "none" or p["outflow"] != "none" else "y_hi"


def check_boundaries(p, nd):
    """Contradictory boundary specifications raise a one-line ConfigError naming the key."""
    periodic = p["periodic"] or [False] * nd
    taken = {}
    for key, name in (("moving_wall", lid_of(p)), ("inflow", p["inflow"]), ("outflow", p["outflow"])):
        if name in (None, "none"):
            continue
        d, side = face(name)
        k = f"incompressible.{key}"
        if d >= nd:
            raise ConfigError(k, f"no such face in {nd}-D (incompressible.shape has {nd} axes)", name)
        if periodic[d]:
            raise ConfigError(
                k,
                f"axis {name[0]} is periodic (incompressible.periodic); the {key.replace('_', ' ')} "
                f"needs a bounded axis",
                name,
            )
        if name in taken:
            raise ConfigError(k, f"face {name} is already the {taken[name].replace('_', ' ')}", name)
        taken[name] = key
    if p["outflow"] != "none" and face(p["outflow"])[1] != "hi":
        raise ConfigError(
            "incompressible.outflow",
            "must be an upper face (x_hi, y_hi or z_hi): on the staggered "
            "grid only the last face along an axis is an unknown",
            p["outflow"],
        )
    if p["inflow"] != "none":
        if p["outflow"] == "none":
            raise ConfigError(
                "incompressible.inflow",
                "needs an outflow face (incompressible.outflow) for the mass to leave the domain",
                p["inflow"],
            )
        d = face(p["inflow"])[0]
        if p["inflow_profile"] == "parabolic" and all(periodic[t] for t in range(nd) if t != d):
            raise ConfigError(
                "incompressible.inflow_profile",
                "'parabolic' needs a bounded axis across the inflow face, but they are all periodic; use 'uniform'",
                "parabolic",
            )
    lid, wv = lid_of(p), p["wall_velocity"]
    if lid and wv is not None and wv[face(lid)[0]] != 0.0:
        raise ConfigError(
            "incompressible.wall_velocity",
            f"the moving wall {lid} must move tangentially (entry {face(lid)[0]} must be 0)",
            wv,
        )


class Boundaries:
    """The kind and data of every face of a :class:`~.grid.StaggeredGrid`.

    Parameters
    ----------
    grid : StaggeredGrid
    lid : str or None, the moving wall (``"y_hi"``), with velocity ``lid_velocity`` (a vector)
    inflow : str or None, the inflow face, with ``profile`` and bulk speed ``bulk_velocity``
    outflow : str or None, the outflow face (an upper face)
    """

    def __init__(
        self, grid, *, lid=None, lid_velocity=None, inflow=None, profile="uniform", bulk_velocity=1.0, outflow=None
    ):
        self.grid = g = grid
        self.kinds = {(d, s): ("periodic" if g.periodic[d] else "wall") for d in range(g.nd) for s in ("lo", "hi")}
        self.wall_velocity = {}
        if lid:
            self.wall_velocity[face(lid)] = list(lid_velocity)
        self.inflow = face(inflow) if inflow else None
        self.outflow = face(outflow) if outflow else None
        if self.inflow:
            self.kinds[self.inflow] = "inflow"
        if self.outflow:
            self.kinds[self.outflow] = "outflow"
        self.profile, self.bulk_velocity = profile, bulk_velocity

    @property
    def singular(self):
        """True when the pressure is defined up to a constant (no outflow face)."""
        return self.outflow is None

    def describe(self):
        return {f"{AXES[d]}_{s}": k for (d, s), k in self.kinds.items()}

    # Inflow profile --------------------------------------------------------------------------------
    def inflow_normal(self, index):
        """Inflow normal velocity (signed along +axis) at the face centres of the given global cell indices.

        ``index[t]`` are broadcastable global cell indices along each transverse axis ``t``.
        """
        d, side = self.inflow
        g = self.grid
        val = self.bulk_velocity * (1.0 if side == "lo" else -1.0)
        if self.profile == "parabolic":
            for t in range(g.nd):
                if t != d and not g.periodic[t]:
                    s = (index[t] + 0.5) / g.shape[t]
                    val = val * 6.0 * s * (1.0 - s)
        return val

    def _plane(self, a, side, index):
        """Normal velocity of component ``a`` on its Dirichlet face ``side``, broadcast over ``index``."""
        if self.inflow == (a, side):
            return self.inflow_normal(index)
        return 0.0

    # Fixed faces -----------------------------------------------------------------------------------
    def fixed_mask(self, a):
        """Owned faces of component ``a`` whose value is given: the upper face along a wall/inflow axis."""
        g = self.grid
        if self.kinds[(a, "hi")] in ("periodic", "outflow"):
            return np.zeros(g.local_shape, bool)
        return np.broadcast_to(g.owned_index(a) == g.shape[a] - 1, g.local_shape)

    def fixed_values(self, a):
        """Owned-block array: the given values on the fixed faces of component ``a``, zero elsewhere."""
        g = self.grid
        index = [g.owned_index(t) for t in range(g.nd)]
        out = np.zeros(g.local_shape)
        if self.kinds[(a, "hi")] == "inflow":
            out = np.where(self.fixed_mask(a), self._plane(a, "hi", index), 0.0)
        return out

    # Ghost values ----------------------------------------------------------------------------------
    def coefficient(self, field, d, side):
        """``c`` in ``q_ghost = c q_first + g`` across face ``(d, side)``; ``field`` is ``"p"`` or a component."""
        kind = self.kinds[(d, side)]
        if kind == "outflow":
            return -1.0 if field == "p" else 1.0
        if field == "p":
            return 1.0
        return 0.0 if field == d else -1.0

    def velocity_ghosts(self, arr, a, homogeneous=False):
        """Fill the boundary ghosts of component ``a`` (ghosted C-order array, in place; returned).

        ``homogeneous``: the linear part alone (given values zero), as the assembled matrices see it.
        Faces are filled axis by axis, so at a corner the later axis wins (the same on every rank count).
        """
        g = self.grid
        index = [g.broadcast(t, g.gidx[t]) for t in range(g.nd)]
        for d in range(g.nd):
            for side, here in (("lo", g.at_lower[d]), ("hi", g.at_upper[d])):
                if not here:
                    continue
                ghost = g.line(d, 0 if side == "lo" else -1)
                first = g.line(d, 1 if side == "lo" else g.gcount[d] - 2)
                c = self.coefficient(a, d, side)
                if c == 1.0:
                    arr[ghost] = arr[first]
                elif c == 0.0:
                    arr[ghost] = 0.0 if homogeneous else np.broadcast_to(self._plane(a, side, index), arr.shape)[ghost]
                else:
                    uw = 0.0 if homogeneous else self.wall_velocity.get((d, side), [0.0] * g.nd)[a]
                    arr[ghost] = 2.0 * uw - arr[first]
        return arr

    def pressure_ghosts(self, arr):
        """Walls and inflow: homogeneous Neumann (``p_g = p_1``); outflow: ``p = 0`` on the face (``p_g = -p_1``)."""
        g = self.grid
        for d in range(g.nd):
            for side, here in (("lo", g.at_lower[d]), ("hi", g.at_upper[d])):
                if here:
                    ghost = g.line(d, 0 if side == "lo" else -1)
                    first = g.line(d, 1 if side == "lo" else g.gcount[d] - 2)
                    arr[ghost] = self.coefficient("p", d, side) * arr[first]
        return arr

    # Diagnostics -----------------------------------------------------------------------------------
    def fluxes(self, owned_normal):
        """Local ``(inflow, outflow)`` volume fluxes (this rank's part; sum over ranks).

        ``owned_normal[a]``: owned block of component ``a``. Inflow: the given profile into the domain;
        outflow: the computed last faces, out of the domain.
        """
        g = self.grid
        q_in = q_out = 0.0
        if self.inflow:
            d, side = self.inflow
            if (g.at_lower if side == "lo" else g.at_upper)[d]:
                area = np.prod([g.h[t] for t in range(g.nd) if t != d])
                index = [g.owned_index(t) for t in range(g.nd)]
                plane = np.broadcast_to(self.inflow_normal(index), g.local_shape)
                plane = np.take(plane, [0], axis=g.ax(d))
                q_in = float(abs(np.sum(plane)) * area)
        if self.outflow:
            d, _ = self.outflow
            if g.at_upper[d]:
                area = np.prod([g.h[t] for t in range(g.nd) if t != d])
                q_out = float(np.sum(np.take(owned_normal[d], [-1], axis=g.ax(d))) * area)
        return q_in, q_out

    def lower_face_global(self, a):
        """Component ``a`` on its lower boundary face over the whole grid (C order, length 1 along ``a``)."""
        g = self.grid
        shape = [1 if t == a else g.shape[t] for t in range(g.nd)]
        index = [g.broadcast(t, np.arange(shape[t])) for t in range(g.nd)]
        plane = np.zeros(tuple(reversed(shape)))
        return plane + self._plane(a, "lo", index)

    def end_value(self, a, along, side, first):
        """Tangential component ``a`` on the boundary face normal to ``along`` (``first``: the adjacent value)."""
        if self.kinds[(along, side)] == "outflow":
            return first
        return self.wall_velocity.get((along, side), [0.0] * self.grid.nd)[a]
