#!/usr/bin/env bash
# mpi4py-fft (the peer of the spectral solver's benchmark) in its own environment, .fftpeer/.
# It must use the system Open MPI mpi4py and Debian's NumPy 1.24 (hence --system-site-packages and the
# .venv constraints), and builds its FFTW wrappers against Debian's libfftw3-dev. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
ENVDIR=${ZZHPC_FFTPEER:-.fftpeer}
PKGS=("mpi4py-fft")
BUILD=("cython>=0.29")   # mpi4py-fft compiles .pyx; built without isolation so it sees NumPy 1.24
stamp="$ENVDIR/.installed"
want=$(printf '%s\n' "${PKGS[@]}" | sha1sum | cut -c1-40)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$ENVDIR/bin/python" -c "import mpi4py_fft" 2>/dev/null; then
  exit 0
fi
if [ ! -f /usr/include/fftw3.h ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup-fftpeer: installing libfftw3-dev (apt-get)"
    apt-get install -y -q libfftw3-dev >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q libfftw3-dev >/dev/null; }
  else
    echo "setup-fftpeer: needs /usr/include/fftw3.h: run 'sudo apt-get install libfftw3-dev'" >&2
    exit 1
  fi
fi
[ -x "$ENVDIR/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$ENVDIR"
CONSTRAINTS=()
[ -f .venv/constraints.txt ] && CONSTRAINTS=(-c .venv/constraints.txt)
echo "setup-fftpeer: installing ${PKGS[*]} into $ENVDIR"
"$ENVDIR/bin/pip" install -q --disable-pip-version-check "${CONSTRAINTS[@]}" "${BUILD[@]}"
"$ENVDIR/bin/pip" install -q --disable-pip-version-check --no-build-isolation "${CONSTRAINTS[@]}" "${PKGS[@]}"
"$ENVDIR/bin/python" - <<'PY' || { echo "setup-fftpeer: import check failed" >&2; exit 1; }
import mpi4py, numpy, mpi4py_fft
assert numpy.__version__.startswith("1.24"), numpy.__version__
assert mpi4py.__file__.startswith("/usr/lib/python3/dist-packages"), mpi4py.__file__
print("setup-fftpeer: mpi4py-fft", mpi4py_fft.__version__, "numpy", numpy.__version__, "mpi4py", mpi4py.__file__)
PY
echo "$want" > "$stamp"
