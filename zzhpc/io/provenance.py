"""The provenance record attached to every output: enough to know and rerun what produced it."""
import datetime
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata

from mpi4py import MPI

from .._version import __version__


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        mod = sys.modules.get(dist.replace("-", "_"))
        return getattr(mod, "__version__", None)


def git_commit():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(comm, config=None, backend=None, grid=None, seeds=None, start_time=None):
    """Collective: the provenance record (same dict on every rank)."""
    device = str(backend.device) if backend is not None else "cpu"
    per_rank = comm.allgather((socket.gethostname(), device))
    rec = {
        "zzhpc_version": __version__,
        "git_commit": None,
        "command": " ".join(sys.argv),
        "config": config,
        "python": sys.version.split()[0],
        "versions": {d: _version(d) for d in ("numpy", "mpi4py", "h5py", "petsc4py", "array-api-compat",
                                               "torch", "cupy")},
        "mpi_library": MPI.Get_library_version().strip().splitlines()[0],
        "mpi_standard": "%d.%d" % MPI.Get_version(),
        "ranks": comm.Get_size(),
        "process_grid": grid,
        "rank_devices": [d for _, d in per_rank],
        "hosts": sorted({h for h, _ in per_rank}),
        "cpu_model": cpu_model(),
        "gpu_model": None,
        "backend": backend.describe() if backend is not None else None,
        "start_time": start_time or datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "seeds": seeds,
    }
    if backend is not None and backend.kind == "gpu":
        try:
            rec["gpu_model"] = backend.device_name()
        except Exception:
            rec["gpu_model"] = "unknown"
    if comm.Get_rank() == 0:
        rec["git_commit"] = git_commit()
    rec["git_commit"] = comm.bcast(rec["git_commit"], root=0)
    return rec
