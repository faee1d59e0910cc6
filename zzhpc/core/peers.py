"""Running peer codes (OpenMM, LAMMPS, ...) side by side, in their own environment.

Peers live in a separate virtual environment (``scripts/setup_peers.sh`` makes ``.peers/``) so that
their dependencies (LAMMPS's MPICH, a newer NumPy) never meet zzhpc's. A peer script reads JSON on stdin
and writes JSON on stdout.
"""

import json
import os
import subprocess
import sys

from ..errors import ZzhpcError
from .harness import child_env


class PeerUnavailable(ZzhpcError):
    pass


def peer_python():
    """The peer environment's interpreter: ``$ZZHPC_PEER_PYTHON``, else ``.peers/`` in the source tree or cwd."""
    env = os.environ.get("ZZHPC_PEER_PYTHON")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for root in (os.path.join(here, "..", ".."), os.getcwd()):
        cand = os.path.normpath(os.path.join(root, ".peers", "bin", "python"))
        if os.path.isfile(cand):
            return cand
    raise PeerUnavailable("no peer environment: run `make peers` (scripts/setup_peers.sh) or set ZZHPC_PEER_PYTHON")


def run_peer(script, payload, *, timeout=600, env=None):
    """Run ``script`` (a path) in the peer environment with ``payload`` as JSON on stdin; return its JSON."""
    py = peer_python()
    proc = subprocess.run(
        [py, script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(**(env or {})),
    )
    if proc.returncode != 0:
        raise ZzhpcError(
            f"peer script {os.path.basename(script)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}"
        )
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise ZzhpcError(f"peer script {os.path.basename(script)} printed no JSON: {proc.stdout[-500:]}") from None


def python_executable():
    return sys.executable
