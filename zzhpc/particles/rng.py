"""Counter-based random numbers keyed by (seed, step, atom id): the same on any rank count.

SplitMix64 (Steele, Lea & Flood, OOPSLA 2014) applied to a hash of the key gives uniform bits; the
Box-Muller transform turns two uniforms into a standard normal. Computed on the host with NumPy (uint64
arithmetic wraps), then moved to the device.
"""

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def uniform_bits(seed, step, ids, stream):
    """``(len(ids), 3)`` uint64 hashes of (seed, step, id, component, stream)."""
    with np.errstate(over="ignore"):
        key = _mix(np.uint64(seed) * _GOLD + np.uint64(stream))
        key = _mix(key ^ (np.uint64(step) * _GOLD))
        base = _mix(key ^ (np.asarray(ids, dtype=np.uint64) * _GOLD))
        comps = np.arange(1, 4, dtype=np.uint64)
        return _mix(base[:, None] + comps[None, :] * _GOLD)


def normals(seed, step, ids):
    """Standard normal deviates ``(len(ids), 3)``, a pure function of (seed, step, id)."""
    u1 = (uniform_bits(seed, step, ids, 1) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    u2 = (uniform_bits(seed, step, ids, 2) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)
