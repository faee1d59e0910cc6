"""zzhpc: MPI simulations on clusters of accelerator cards."""
import os
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = {}
exec((here / "zzhpc" / "_version.py").read_text(), version)


def kernel_files():
    """Kernel sources (CUDA, C) and Slurm templates installed under share/zzhpc/."""
    out = []
    for root, _, files in [w for top in ("kernels", "slurm") for w in os.walk(here / top)]:
        rel = Path(root).relative_to(here)
        srcs = [str(rel / f) for f in files if not f.endswith((".o", ".so", ".ptx", ".cubin", ".fatbin"))]
        if srcs:
            out.append((str(Path("share/zzhpc") / rel), srcs))
    return out


setup(
    name="zzhpc",
    version=version["__version__"],
    description="Domain-decomposed simulations (turbulence, MD, protein folding) on MPI clusters of accelerators",
    long_description=(here / "README.md").read_text() if (here / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.9",
    packages=find_packages(include=["zzhpc", "zzhpc.*"]),
    package_data={"zzhpc": ["data/*", "solvers/*/data/*", "solvers/*/*.toml"]},
    data_files=kernel_files(),
    install_requires=[
        "numpy>=1.22",
        "mpi4py>=3.1",
        "h5py>=3.6",
        "array-api-compat>=1.4",
        "tomli>=1.2; python_version<'3.11'",
    ],
    extras_require={
        "petsc": ["petsc4py>=3.18"],
        "gpu": ["cupy>=12"],
        "torch": ["torch>=2.0"],
        "plot": ["matplotlib>=3.5"],
        "test": ["pytest>=7", "pytest-mpi>=0.6", "hypothesis>=6", "pytest-timeout>=2"],
    },
    entry_points={"console_scripts": ["zzhpc = zzhpc.cli.main:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Physics",
        "Environment :: GPU :: NVIDIA CUDA",
    ],
)
