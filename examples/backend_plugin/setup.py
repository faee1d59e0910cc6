"""zzhpc-numpy32: an example third-party backend for zzhpc (a NumPy device without float64).

Installing it is all it takes: zzhpc finds the class through the entry point group ``zzhpc.backends``.
    pip install --no-deps --no-build-isolation examples/backend_plugin
    zzhpc check-backend numpy32
"""

from setuptools import setup

setup(
    name="zzhpc-numpy32",
    version="0.1.0",
    description="Example zzhpc backend plugin: NumPy restricted to single precision",
    packages=["zzhpc_numpy32"],
    python_requires=">=3.9",
    install_requires=["zzhpc", "numpy"],
    entry_points={"zzhpc.backends": ["numpy32 = zzhpc_numpy32:Numpy32Backend"]},
)
