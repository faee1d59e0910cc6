"""Centreline velocity profiles from gathered face arrays (rank 0), as Ghia et al. (1982) tabulate them:
u along the vertical line x = Lx/2, v along the horizontal line y = Ly/2 (on the mid-plane z = Lz/2 in
3-D), linearly interpolated between faces/cell centres, with the wall values at both ends."""
import numpy as np


def _at(arr, axis, positions, x0):
    """Linear interpolation of ``arr`` along ``axis`` (sample ``positions``) at ``x0``; the axis is removed."""
    k = int(np.clip(np.searchsorted(positions, x0) - 1, 0, len(positions) - 2))
    w = (x0 - positions[k]) / (positions[k + 1] - positions[k])
    lo = np.take(arr, k, axis=axis)
    hi = np.take(arr, k + 1, axis=axis)
    return (1 - w) * lo + w * hi


def _face_line(grid, full, a):
    """Component ``a``'s faces along its own axis with the lower boundary face prepended."""
    ax = grid.nd - 1 - a
    first = np.take(full, [-1], axis=ax) if grid.periodic[a] else np.zeros_like(np.take(full, [0], axis=ax))
    vals = np.concatenate([first, full], axis=ax)
    pos = np.arange(grid.shape[a] + 1) * grid.h[a]
    return vals, pos


def line_profile(grid, full, a, along, walls):
    """Component ``a`` on the line parallel to axis ``along`` (``along != a``) through the domain's centre.

    Returns ``(coordinates, values)`` including the wall points at both ends of a wall axis.
    """
    vals, pos = _face_line(grid, full[a], a)
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
    coords = (np.arange(grid.shape[along]) + 0.5) * grid.h[along]     # along != a: cell centres
    if not grid.periodic[along]:
        lo = walls.get((along, "lo"), [0.0] * grid.nd)[a]
        hi = walls.get((along, "hi"), [0.0] * grid.nd)[a]
        coords = np.concatenate([[0.0], coords, [grid.lengths[along]]])
        arr = np.concatenate([[lo], arr, [hi]])
    return coords, arr


def centreline_profiles(grid, full, walls):
    """``{"u_vertical_centreline": {"y", "u"}, "v_horizontal_centreline": {"x", "v"}}`` as lists."""
    y, u = line_profile(grid, full, 0, 1, walls)
    x, v = line_profile(grid, full, 1, 0, walls)
    return {"u_vertical_centreline": {"y": y.tolist(), "u": u.tolist()},
            "v_horizontal_centreline": {"x": x.tolist(), "v": v.tolist()}}
