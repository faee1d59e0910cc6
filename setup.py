"""Thin shim: the metadata lives in pyproject.toml; this file installs the kernel sources and Slurm templates
under share/zzhpc/, which PEP 621 has no key for."""

import os
from pathlib import Path

from setuptools import setup

here = Path(__file__).parent


def kernel_files():
    """Kernel sources (CUDA, C) and Slurm templates installed under share/zzhpc/."""
    out = []
    for root, _, files in [w for top in ("kernels", "slurm") for w in os.walk(here / top)]:
        rel = Path(root).relative_to(here)
        srcs = [str(rel / f) for f in files if not f.endswith((".o", ".so", ".ptx", ".cubin", ".fatbin"))]
        if srcs:
            out.append((str(Path("share/zzhpc") / rel), srcs))
    return out


setup(data_files=kernel_files())
