"""Centreline velocity profiles from gathered face arrays (rank 0), as Ghia et al. (1982) tabulate them:
u along the vertical line x = Lx/2, v along the horizontal line y = Ly/2 (on the mid-plane z = Lz/2 in
3-D), linearly interpolated between faces/cell centres, with the boundary values at both ends; and the
development of a channel flow from its inflow towards plane Poiseuille flow."""

import numpy as np


def _at(arr, axis, positions, x0):
    """Linear interpolation of ``arr`` along ``axis`` (sample ``positions``) at ``x0``; the axis is removed."""
    k = int(np.clip(np.searchsorted(positions, x0) - 1, 0, len(positions) - 2))
    w = (x0 - positions[k]) / (positions[k + 1] - positions[k])
    lo = np.take(arr, k, axis=axis)
    hi = np.take(arr, k + 1, axis=axis)
    return (1 - w) * lo + w * hi


def _face_line(grid, full, a, bc):
    """Component ``a``'s faces along its own axis with the lower boundary face prepended."""
    ax = grid.nd - 1 - a
    first = np.take(full, [-1], axis=ax) if grid.periodic[a] else bc.lower_face_global(a)
    vals = np.concatenate([first, full], axis=ax)
    pos = np.arange(grid.shape[a] + 1) * grid.h[a]
    return vals, pos


def line_profile(grid, full, a, along, bc):
    """Component ``a`` on the line parallel to axis ``along`` (``along != a``) through the domain's centre.

    Returns ``(coordinates, values)`` including the wall points at both ends of a wall axis.
    """
    vals, pos = _face_line(grid, full[a], a, bc)
    arr = vals
    # Remove axes from the last physical axis down, so array axes of the others stay put.
    for d in reversed(range(grid.nd)):
        if d == along:
            continue
        ax = grid.nd - 1 - d
        # Array axes shift once a higher physical axis (lower array axis) is removed.
        ax -= sum(1 for e in range(d + 1, grid.nd) if e != along)
        p = pos if d == a else (np.arange(grid.shape[d]) + 0.5) * grid.h[d]
        arr = _at(arr, ax, p, 0.5 * grid.lengths[d])
    coords = (np.arange(grid.shape[along]) + 0.5) * grid.h[along]  # along != a: cell centres
    if not grid.periodic[along]:
        lo = bc.end_value(a, along, "lo", arr[0])
        hi = bc.end_value(a, along, "hi", arr[-1])
        coords = np.concatenate([[0.0], coords, [grid.lengths[along]]])
        arr = np.concatenate([[lo], arr, [hi]])
    return coords, arr


def centreline_profiles(grid, full, bc):
    """``{"u_vertical_centreline": {"y", "u"}, "v_horizontal_centreline": {"x", "v"}}`` as lists."""
    y, u = line_profile(grid, full, 0, 1, bc)
    x, v = line_profile(grid, full, 1, 0, bc)
    return {
        "u_vertical_centreline": {"y": y.tolist(), "u": u.tolist()},
        "v_horizontal_centreline": {"x": x.tolist(), "v": v.tolist()},
    }


def channel_development(grid, bc, full):
    """Streamwise development of a channel flow, inflow at ``a_lo``, outflow at ``a_hi``, one bounded
    transverse axis ``t`` (the others periodic); ``None`` for any other geometry.

    At every face section along ``a`` (the inflow face first): the volume flux per unit periodic width
    :math:`Q` and the largest deviation of :math:`u_a` from the plane Poiseuille profile carrying that
    flux, :math:`6 (Q / L_t) s (1 - s)` with :math:`s = x_t / L_t` at the face centres, over the bulk
    speed :math:`U_b`.
    """
    if not (bc.inflow and bc.outflow and bc.inflow[0] == bc.outflow[0] and bc.inflow[1] == "lo"):
        return None
    a = bc.inflow[0]
    bounded = [t for t in range(grid.nd) if t != a and not grid.periodic[t]]
    if len(bounded) != 1:
        return None
    t = bounded[0]
    ax, tax = grid.nd - 1 - a, grid.nd - 1 - t
    vals = np.concatenate([bc.lower_face_global(a), full[a]], axis=ax)
    vals = np.moveaxis(vals, (ax, tax), (0, 1)).reshape(grid.shape[a] + 1, grid.shape[t], -1)
    s = (np.arange(grid.shape[t]) + 0.5) / grid.shape[t]
    width = float(np.prod([grid.lengths[e] for e in range(grid.nd) if e not in (a, t)]))
    flux = vals.sum(axis=1).mean(axis=1) * grid.h[t]
    poiseuille = 6.0 * (flux / grid.lengths[t])[:, None, None] * (s * (1.0 - s))[None, :, None]
    dev = np.abs(vals - poiseuille).max(axis=(1, 2)) / bc.bulk_velocity
    return {
        "axis": "xyz"[a],
        "position": (np.arange(grid.shape[a] + 1) * grid.h[a]).tolist(),
        "flux": (flux * width).tolist(),
        "max_deviation_from_poiseuille": dev.tolist(),
    }
