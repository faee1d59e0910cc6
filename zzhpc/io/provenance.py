"""The provenance record attached to every output: enough to know and rerun what produced it.

The record holds the resolved deck, the code (version, git commit), the machine (MPI library, hosts and each host's ranks and cards, CPU and
device models), the run id, what the run replays, and everything outside the deck that shapes the numbers:
PETSc options from every source (``PETSC_OPTIONS``, which also carries the options after ``--``, and the
``.petscrc`` files PETSc reads) and the environment knobs of :data:`NUMERIC_ENV`. A replay (``zzhpc run
OLD/summary.json``) applies both. While a run is going, :func:`current` is its record, so that every writer
(H5MD, DCD side-car, folding time series, PNG plots) can stamp its file with :func:`stamp_h5`;
:func:`stamp_outputs` stamps what a solver wrote at the end of the run.
"""

import datetime
import json
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
        out = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(
                ["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
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


# Environment variables that change the numbers (threads change summation order) or the code path taken.
NUMERIC_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "NUMBA_DISABLE_JIT",
    "CUBLAS_WORKSPACE_CONFIG",
    "PYTHONHASHSEED",
)
NO_PROVENANCE = "this file holds no provenance"
_CURRENT = None


def mpi_library():
    """First line of the MPI library's version string, without the NUL byte some libraries end it with."""
    return MPI.Get_library_version().replace("\x00", "").strip().splitlines()[0]


def petscrc_files():
    """The option files PETSc reads by default that exist here: ``{path: text}``."""
    out = {}
    for path in (os.path.expanduser("~/.petscrc"), os.path.abspath(".petscrc")):
        try:
            with open(path) as fh:
                out[path] = fh.read()
        except OSError:
            pass
    return out


def petsc_record():
    """PETSc options from every source: ``PETSC_OPTIONS`` (with the options after ``--``), the ``.petscrc``
    files, and PETSc's whole options database when PETSc is initialised in this process."""
    rec = {
        "PETSC_OPTIONS": os.environ.get("PETSC_OPTIONS") or None,
        "petscrc": petscrc_files() or None,
        "database": None,
    }
    petsc = sys.modules.get("petsc4py.PETSc")
    if petsc is not None:
        try:
            rec["database"] = {k: str(v) for k, v in petsc.Options().getAll().items()}
        except Exception:  # a PETSc that is not initialised: the sources above say it all
            pass
    return rec


def replay_petsc_options(prov):
    """The PETSc options string a replay of a run with record ``prov`` applies (``.petscrc`` lines first,
    then ``PETSC_OPTIONS``, as PETSc reads them), or ''."""
    rec = (prov or {}).get("petsc") or {}
    words = []
    for text in (rec.get("petscrc") or {}).values():
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                words.append(line)
    if rec.get("PETSC_OPTIONS"):
        words.append(rec["PETSC_OPTIONS"])
    return " ".join(words)


def set_current(rec):
    """Make ``rec`` the record of the run going on in this process (None when it ends)."""
    global _CURRENT
    _CURRENT = rec


def current():
    """The provenance record of the run going on in this process, or None."""
    return _CURRENT


def stamp_h5(obj, rec=None):
    """Store the provenance record (``rec``, default :func:`current`) as JSON in attribute ``provenance``
    of an open HDF5 file or group; returns whether there was one. Collective for a parallel file."""
    rec = current() if rec is None else rec
    if rec is None:
        return False
    obj.attrs["provenance"] = json.dumps(rec, default=str)
    return True


def provenance(
    comm,
    config=None,
    backend=None,
    grid=None,
    seeds=None,
    start_time=None,
    run_id=None,
    replay_of=None,
    restart_changed=None,
):
    """Collective: the provenance record (same dict on every rank)."""
    device = str(backend.device) if backend is not None else "cpu"
    from ..device.mapping import local_rank

    per_rank = comm.allgather((socket.gethostname(), device, local_rank()))
    host_map = {}
    for rank, (host, dev, local) in enumerate(per_rank):
        host_map.setdefault(host, []).append({"rank": rank, "local_rank": local, "device": dev})
    rec = {
        "zzhpc_version": __version__,
        "git_commit": None,
        "command": " ".join(sys.argv),
        "config": config,
        "python": sys.version.split()[0],
        "versions": {
            d: _version(d) for d in ("numpy", "mpi4py", "h5py", "petsc4py", "array-api-compat", "torch", "cupy")
        },
        "mpi_library": mpi_library(),
        "mpi_standard": "{}.{}".format(*MPI.Get_version()),
        "ranks": comm.Get_size(),
        "process_grid": grid,
        "rank_devices": [d for _, d, _ in per_rank],
        "hosts": sorted(host_map),
        "host_map": {h: host_map[h] for h in sorted(host_map)},  # every host: its ranks, local ranks, cards
        "cpu_model": cpu_model(),
        "device_model": None,
        "gpu_model": None,
        "backend": backend.describe() if backend is not None else None,
        "start_time": start_time or datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "seeds": seeds,
        "run_id": run_id,
        "replay_of": replay_of,
        "restart_changed": restart_changed,
        "petsc": petsc_record(),
        "environment": {k: os.environ[k] for k in NUMERIC_ENV if k in os.environ},
    }
    if backend is not None:
        rec["device_model"] = backend.device_name()
        if backend.kind == "gpu":
            rec["gpu_model"] = rec["device_model"]
    if comm.Get_rank() == 0:
        rec["git_commit"] = git_commit()
    rec["git_commit"] = comm.bcast(rec["git_commit"], root=0)
    return rec


def stamp_png(path, rec):
    """Put the record into a PNG as a ``tEXt`` chunk ``zzhpc-provenance`` right after its header (PNG spec
    section 11.3.4; viewers ignore it, ``identify -verbose`` and PIL show it). Replaces an earlier one."""
    import struct
    import zlib

    with open(path, "rb") as fh:
        data = fh.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return False
    key = b"zzhpc-provenance"
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + n
        if not (kind == b"tEXt" and data[pos + 8 : pos + 8 + len(key) + 1] == key + b"\0"):
            chunks.append(data[pos:end])
        pos = end
    body = key + b"\0" + json.dumps(rec, default=str).encode("latin-1", "replace")
    text = struct.pack(">I4s", len(body), b"tEXt") + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data[:8] + chunks[0] + text + b"".join(chunks[1:]))
    os.replace(tmp, path)
    return True


def read_png_provenance(path):
    """The record :func:`stamp_png` stored, or None."""
    import struct

    with open(path, "rb") as fh:
        data = fh.read()
    pos, key = 8, b"zzhpc-provenance\0"
    while pos + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"tEXt" and data[pos + 8 : pos + 8 + len(key)] == key:
            return json.loads(data[pos + 8 + len(key) : pos + 8 + n].decode("latin-1"))
        pos += 12 + n
    return None


def stamp_outputs(outdir, rec):
    """Rank 0, after the solver closed its files: the record into every file of ``outdir`` (top level) that
    zzhpc wrote and that has no room of its own for it: HDF5 files (H5MD trajectories, time series) get the
    attribute, PNG plots a ``tEXt`` chunk, DCD trajectories a side-car ``NAME.dcd.provenance.json``.
    Returns the files stamped."""
    import h5py

    done = []
    for name in sorted(os.listdir(outdir)):
        path = os.path.join(outdir, name)
        if not os.path.isfile(path):
            continue
        try:
            if name.endswith((".h5", ".h5md", ".hdf5")):
                with h5py.File(path, "a") as f:
                    stamp_h5(f, rec)
            elif name.endswith(".png"):
                if not stamp_png(path, rec):
                    continue
            elif name.endswith(".dcd"):
                with open(path + ".provenance.json", "w") as fh:
                    json.dump({"file": name, "provenance": rec}, fh, indent=1, default=str)
            else:
                continue
        except OSError:
            continue  # not ours, or not readable: leave it as it is
        done.append(name)
    return done
