"""Started on one rank, the kit runs its MPI part as ``mpiexec -n 2 python -m zzhpc check-backend ...``."""

import json
import os
import shutil
import subprocess
import tempfile

from ..core.harness import OVERSUBSCRIBE, child_env, zzhpc_command
from .result import FAIL, SKIP, Check


def mpi_part(name, device, gpu_aware_mpi, ranks=2, timeout=600):
    """Rows of the MPI checks run in a child job of ``ranks`` ranks (or one row saying why not)."""
    if not (os.environ.get("ZZHPC_MPIEXEC") or shutil.which("mpiexec") or shutil.which("mpirun")):
        return [
            Check(
                "mpi",
                "MPI part",
                status=SKIP,
                detail="not run: no mpiexec on PATH (run "
                f"`mpiexec -n 2 zzhpc check-backend {name}` where MPI is installed)",
            )
        ]
    with tempfile.TemporaryDirectory(prefix="zzhpc-check-") as tmp:
        out = os.path.join(tmp, "mpi.json")
        cmd = zzhpc_command(
            ranks,
            "check-backend",
            name,
            "--device",
            device,
            "--mpi-only",
            "--json",
            out,
            *(["--gpu-aware-mpi"] if gpu_aware_mpi else []),
        )
        try:
            # 2 ranks must start on a 1-core machine too
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=child_env(**OVERSUBSCRIBE))
        except subprocess.TimeoutExpired:
            return [
                Check(
                    "mpi",
                    "MPI part",
                    status=FAIL,
                    ranks=ranks,
                    detail=f"`{' '.join(cmd[:3])} ...` did not finish in {timeout} s (a hang in MPI?)",
                )
            ]
        if not os.path.exists(out):
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            return [
                Check(
                    "mpi",
                    "MPI part",
                    status=FAIL,
                    ranks=ranks,
                    detail=f"the {ranks}-rank job exited {proc.returncode} without a report: {tail}"[:400],
                )
            ]
        with open(out) as fh:
            rep = json.load(fh)
    rows = []
    for row in rep["checks"]:
        c = Check(**{k: v for k, v in row.items() if k in Check.__dataclass_fields__})
        c.error = None if c.error is None else float(c.error)  # JSON holds inf as "inf"
        c.tolerance = None if c.tolerance is None else float(c.tolerance)
        rows.append(c)
    return rows
