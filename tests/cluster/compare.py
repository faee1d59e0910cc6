"""Bitwise comparison of two runs' HDF5 outputs (every dataset of the final field file and checkpoint)."""

import os

import h5py
import numpy as np


def datasets(path):
    """``{name: array}`` for every dataset in the HDF5 file ``path``."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def differing(path_a, path_b):
    """Names of the datasets that are missing from one file or not bitwise equal (NaN == NaN)."""
    a, b = datasets(path_a), datasets(path_b)
    bad = sorted(set(a) ^ set(b))
    for name in sorted(set(a) & set(b)):
        x, y = np.asarray(a[name]), np.asarray(b[name])
        if x.shape != y.shape or x.dtype != y.dtype or x.tobytes() != y.tobytes():
            bad.append(name)
    return bad


def final_files(outdir, summary):
    """The final field file (mesh solvers; particle solvers write a trajectory instead) and the final
    checkpoint of a run folder."""
    fields = summary["outputs"].get("fields") or []
    files = [os.path.join(outdir, fields[-1])] if fields else []
    ckpt = summary["outputs"].get("checkpoint")
    if ckpt:
        files.append(ckpt if os.path.isabs(ckpt) else os.path.join(outdir, ckpt))
    return files
