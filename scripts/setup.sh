#!/usr/bin/env bash
# One-command set-up on Debian 12: system MPI/HDF5/PETSc, a venv on top of them, zzhpc in editable mode.
# Idempotent: a second run checks and returns in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${ZZHPC_VENV:-.venv}
APT_PKGS="openmpi-bin libopenmpi-dev python3-venv python3-dev python3-numpy python3-mpi4py python3-h5py-mpi
python3-petsc4py-real python3-matplotlib python3-scipy"

missing=()
for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV (system site packages: Debian's mpi4py, h5py-mpi, petsc4py)"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi

# petsc4py lives outside sys.path in Debian's layout.
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
petsc_py=$(ls -d /usr/lib/petscdir/petsc*/x86_64-linux-gnu-real/lib/python3/dist-packages 2>/dev/null | sort -V | tail -1 || true)
[ -n "$petsc_py" ] && echo "$petsc_py" > "$site/zzhpc-petsc4py.pth"

# Pin numpy to the system build that h5py and petsc4py were compiled against.
np_ver=$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')
echo "numpy==$np_ver" > "$VENV/constraints.txt"

stamp="$VENV/.zzhpc-installed"
want=$(cat pyproject.toml setup.py scripts/setup.sh | sha1sum | cut -c1-40)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: pip install -e . with the test tools and torch (CPU) into $VENV"
  # pip's resolver counts Debian's "h5py.-debian-h5py-mpi" as no h5py and warns that zzhpc's h5py>=3.6 is
  # missing on every install; the import check below is the real test, so drop that false alarm.
  pipq() { "$VENV/bin/pip" install -q --disable-pip-version-check -c "$VENV/constraints.txt" "$@" 2>&1 \
           | { grep -v -e "is ignored: it is neither" -e "requires h5py" \
                       -e "dependency resolver does not currently take into account" || true; }
           return "${PIPESTATUS[0]}"; }
  # Debian's parallel h5py registers as "h5py.-debian-h5py-mpi", which pip does not count as h5py: install
  # zzhpc without dependency resolution so pip never shadows it with a serial h5py wheel.
  "$VENV/bin/pip" uninstall -y -q h5py >/dev/null 2>&1 || true
  pipq --no-deps -e .
  pipq "array-api-compat>=1.4" "pytest>=7" "pytest-mpi>=0.6" "hypothesis>=6" "pytest-timeout>=2"
  # The checks and test extras of make test: ruff and mypy; notebooks (nbclient, ipykernel); ASE for the
  # calculator's tests (pyproject.toml [project.optional-dependencies] test).
  pipq "ruff>=0.6" "mypy>=1.8" "nbclient>=0.7" "nbformat>=5" "ipykernel>=6" "ase>=3.22"
  # numba: the fast CPU kernels (MD); zzhpc falls back to the reference kernels without it.
  pipq "numba>=0.57" || echo "setup: numba not installed (optional fast CPU kernels)"
  # torch (CPU) backs the torch backend tests; the wheel is optional for running zzhpc.
  pipq "torch==2.13.0" || echo "setup: torch not installed (optional backend; its tests will skip)"
  H5PY_ALWAYS_USE_MPI=1 "$VENV/bin/python" -c 'import zzhpc, mpi4py, petsc4py, h5py; assert h5py.get_config().mpi, "h5py lacks MPI"' \
    || { echo "setup: import check failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
echo "setup: ok ($("$VENV/bin/python" -c 'import zzhpc; print("zzhpc", zzhpc.__version__)'))"
