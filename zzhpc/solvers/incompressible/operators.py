r"""Second-order MAC operators on ghosted C-order arrays, vectorised with NumPy (no loops over cells).

Every function returns values on the owned block of a rank (the ghosted array's interior). Velocity
components ``U[a]`` and scalars must have their ghosts filled (PETSc scatter + wall ghosts).

* Convection, conservative (divergence) form :math:`N_a = \partial_b (u_b u_a)`, with the products formed
  at the faces of the momentum cell from two-point averages (Harlow & Welch 1965; on a uniform grid this
  conserves momentum and kinetic energy up to time discretisation; Morinishi et al., J. Comput. Phys.
  143, 90-124, 1998).
* Laplacian :math:`\sum_b (q_{+b} - 2 q + q_{-b}) / h_b^2`.
* Divergence at cell centres :math:`\sum_a (u_a - u_{a,-a}) / h_a`; gradient at ``a``-faces
  :math:`(p_{+a} - p) / h_a`. With wall fluxes fixed, ``div(grad)`` is the assembled pressure Laplacian.
"""


def convection(grid, U, a):
    """:math:`\\partial_b (u_b u_a)` at the owned ``a``-faces."""
    S, I = grid.shifted, grid.interior
    ua = U[a]
    acc = 0.0
    for b in range(grid.nd):
        if b == a:
            fp = 0.25 * (ua[I] + ua[S({a: 1})]) ** 2
            fm = 0.25 * (ua[S({a: -1})] + ua[I]) ** 2
        else:
            ub = U[b]
            fp = 0.25 * (ua[I] + ua[S({b: 1})]) * (ub[I] + ub[S({a: 1})])
            fm = 0.25 * (ua[S({b: -1})] + ua[I]) * (ub[S({b: -1})] + ub[S({b: -1, a: 1})])
        acc = acc + (fp - fm) / grid.h[b]
    return acc


def laplacian(grid, q):
    S, I = grid.shifted, grid.interior
    c = q[I]
    acc = 0.0
    for b in range(grid.nd):
        acc = acc + (q[S({b: 1})] - 2.0 * c + q[S({b: -1})]) / grid.h[b] ** 2
    return acc


def divergence(grid, U):
    S, I = grid.shifted, grid.interior
    acc = 0.0
    for a in range(grid.nd):
        acc = acc + (U[a][I] - U[a][S({a: -1})]) / grid.h[a]
    return acc


def gradient(grid, p, a):
    return (p[grid.shifted({a: 1})] - p[grid.interior]) / grid.h[a]


def cell_centred(grid, U, a):
    """Velocity component ``a`` averaged from its two faces to the owned cell centres (for output)."""
    return 0.5 * (U[a][grid.interior] + U[a][grid.shifted({a: -1})])
