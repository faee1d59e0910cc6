"""zzhpc-grayscott: an example third-party solver for zzhpc (Gray-Scott reaction-diffusion).

Installing it is all it takes: zzhpc finds the solver through the entry point group ``zzhpc.solvers``.
    pip install --no-deps --no-build-isolation examples/plugin
    zzhpc info                                   # lists grayscott
    mpiexec -n 2 zzhpc run examples/plugin/grayscott.toml
"""

from setuptools import setup

setup(
    name="zzhpc-grayscott",
    version="0.1.0",
    description="Example zzhpc solver plugin: Gray-Scott reaction-diffusion on a decomposed mesh",
    packages=["zzhpc_grayscott"],
    python_requires=">=3.9",
    install_requires=["zzhpc", "numpy"],
    entry_points={"zzhpc.solvers": ["grayscott = zzhpc_grayscott.solver:GrayScottSolver"]},
)
