"""One call on a GPU node gives every GPU figure zzhpc needs: the conformance kit of the GPU backends, the
GPU-marked tests, and a short run of every solver on the card (time per step, memory), all in one JSON report.

Made for a node without network access whose image already has CuPy, torch, numba-cuda, mpi4py and h5py
(as GPU cluster images do); zzhpc runs from this checkout (PYTHONPATH), nothing is installed. The whole
check is bounded (``--budget`` seconds, default 480): a step that would start past the budget is recorded
as skipped, and every command has its own timeout, so the report is always written.

``--dry-run`` runs the same plan on the CPU (NumPy and torch-CPU in place of CuPy and torch-CUDA, fewer
seconds per solver) and writes the same report with ``"dry_run": true``; the test-suite runs it, so the
script works the first time a GPU is at hand.

Usage: scripts/gpu_check.sh [--dry-run] [--out report.json] [--budget SECONDS]
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (label, deck, precisions, extra --set overrides): short runs, stopped by run.wall_limit, no field output.
# The PETSc solver runs in float64 only (Debian's and most sites' PETSc are float64 builds).
BOTH = ("float64", "float32")
SOLVER_RUNS = [
    ("heat", "examples/heat.toml", BOTH, []),
    ("spectral", "examples/taylor_green.toml", BOTH, []),
    ("md_lj", "examples/lj_melt.toml", BOTH, []),
    ("md_mw", "examples/water_mw.toml", BOTH, []),
    ("water_tip3p", "examples/water_tip3p.toml", BOTH, []),
    ("folding", "examples/fold_villin.toml", BOTH, []),
    ("incompressible", "examples/cavity_re100.toml", ("float64",), []),
]
# Every run checks its wall limit after each step (long steps would otherwise overrun the budget).
SHORT = ["--set", "output.fields=false", "--set", "run.stop_check_every=1"]


class Plan:
    """Runs commands against a global deadline and collects their records."""

    def __init__(self, budget, workdir, env):
        self.deadline = time.monotonic() + budget
        self.workdir = workdir
        self.env = env
        self.steps = []

    def left(self):
        return self.deadline - time.monotonic()

    def run(self, name, cmd, timeout, **record):
        # Keep a margin for writing the report: never start a command that cannot finish in time.
        limit = min(timeout, self.left() - 5)
        if limit < 5:
            rec = dict(record, name=name, cmd=cmd, status="skipped", reason="time budget spent")
            self.steps.append(rec)
            return rec, None
        t0 = time.monotonic()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env=self.env, cwd=ROOT)
            status = "ok" if proc.returncode == 0 else "failed"
            rc, out = proc.returncode, (proc.stdout + proc.stderr)
        except subprocess.TimeoutExpired as exc:
            status, rc = "timeout", None
            out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        rec = dict(
            record, name=name, cmd=cmd, status=status, rc=rc, wall_s=round(time.monotonic() - t0, 2), tail=out[-1500:]
        )
        self.steps.append(rec)
        return rec, out


def child_env():
    """This checkout first on the path; no rank variables of an enclosing MPI job (the harness's filter)."""
    sys.path.insert(0, str(ROOT))
    from zzhpc.core.harness import child_env as clean

    return clean(
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        H5PY_ALWAYS_USE_MPI="1",
    )


def versions():
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for mod in ("numpy", "cupy", "torch", "numba", "mpi4py", "h5py", "scipy"):
        try:
            m = __import__(mod)
            out[mod] = getattr(m, "__version__", "?")
        except Exception as exc:  # an absent optional library is a finding, not an error
            out[mod] = f"absent ({type(exc).__name__})"
    smi = shutil.which("nvidia-smi")
    if smi:
        q = subprocess.run(
            [smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        out["gpus"] = [line.strip() for line in q.stdout.splitlines() if line.strip()]
    return out


def read_json(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def solver_row(summary):
    """The figures of one short run, from its summary.json."""
    if not summary:
        return {}
    keep = ("solver", "ranks", "steps_this_run", "time_per_step_s", "cpu_s_per_step")
    row = {k: summary.get(k) for k in keep}
    row["run_status"] = summary.get("status")
    row["device"] = (summary.get("backend") or {}).get("device")
    row["memory_hwm_mb"] = (summary.get("memory_hwm_mb") or {}).get("max")
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dry-run", action="store_true", help="same plan on the CPU (numpy, torch-cpu)")
    ap.add_argument("--out", default=None, help="report path (default $OUT/gpu_check.json or runs/gpu_check.json)")
    ap.add_argument("--budget", type=float, default=480.0, help="seconds for the whole check (default 480)")
    ap.add_argument(
        "--solver-seconds",
        type=float,
        default=None,
        help="wall limit of each solver run (default 20, 4 with --dry-run)",
    )
    ap.add_argument("--only", default="", help="comma-separated solver labels to run (default all)")
    args = ap.parse_args(argv)

    out = Path(
        args.out
        or (Path(os.environ["OUT"]) / "gpu_check.json" if os.environ.get("OUT") else ROOT / "runs" / "gpu_check.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="zzhpc-gpucheck-"))
    plan = Plan(args.budget, work, child_env())
    py = sys.executable
    gpu, torch_dev = ("numpy", "cpu") if args.dry_run else ("cupy", "cuda:0")
    per_solver = args.solver_seconds or (4.0 if args.dry_run else 20.0)
    report = {
        "dry_run": args.dry_run,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": versions(),
        "array_backend": gpu,
        "torch_device": torch_dev,
    }

    # 1. The conformance kit (kernels against NumPy, FFTs, MPI with host-staged and device buffers).
    kits = {}
    for name, dev in ((gpu, "local-rank"), ("torch", torch_dev)):
        path = work / f"check_{name}.json"
        rec, _ = plan.run(
            f"check-backend {name}",
            [py, "-m", "zzhpc", "check-backend", name, "--device", dev, "--json", str(path)],
            timeout=150,
        )
        rep = read_json(path)
        kits[f"{name}:{dev}"] = {
            "status": rec["status"],
            "passed": rep.get("passed") if rep else None,
            "failed_checks": [c.get("name") for c in (rep or {}).get("checks", []) if c.get("passed") is False][:20],
        }
    report["check_backend"] = kits

    # 2. The GPU-marked tests (skipped with a reason on a machine without a GPU).
    rec, txt = plan.run(
        "pytest -m gpu",
        [py, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", "--color=no", "tests"],
        timeout=150,
    )
    last = [line for line in (txt or "").splitlines() if line.strip()][-1:] or [""]
    report["gpu_tests"] = {"status": rec["status"], "summary": last[0]}

    # 3. A short run of every solver on the card: time per step and memory from summary.json.
    only = {s for s in args.only.split(",") if s}
    rows = {}
    for label, deck, precisions, extra in SOLVER_RUNS:
        if only and label not in only:
            continue
        for dtype in precisions:
            odir = work / f"{label}-{dtype}"
            cmd = [
                py,
                "-m",
                "zzhpc",
                "run",
                deck,
                "--output",
                str(odir),
                "--set",
                f"backend.name={gpu}",
                "--set",
                f"backend.dtype={dtype}",
                "--set",
                f"run.wall_limit={per_solver}",
                *SHORT,
                *extra,
            ]
            rec, _ = plan.run(f"run {label} {dtype}", cmd, timeout=per_solver + 90)
            rows[f"{label}:{dtype}"] = dict(status=rec["status"], **solver_row(read_json(odir / "summary.json")))
            if rec["status"] != "ok":
                rows[f"{label}:{dtype}"]["error"] = (rec.get("tail") or "").strip().splitlines()[-1:]
    report["solvers"] = rows

    # 4. The distributed FFT's transposes on the card: 2 ranks of the spectral solver (device buffers).
    if not only or "spectral" in only:
        odir = work / "spectral-2ranks"
        cmd = [
            "mpiexec",
            "-n",
            "2",
            py,
            "-m",
            "zzhpc",
            "run",
            "examples/taylor_green.toml",
            "--output",
            str(odir),
            "--set",
            f"backend.name={gpu}",
            "--set",
            f"run.wall_limit={per_solver}",
            *SHORT,
        ]
        rec, _ = plan.run("spectral 2 ranks", cmd, timeout=per_solver + 90)
        report["spectral_2ranks"] = dict(status=rec["status"], **solver_row(read_json(odir / "summary.json")))

    report["steps"] = plan.steps
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    report["passed"] = all(s["status"] == "ok" for s in plan.steps)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=1, default=str))
    os.replace(tmp, out)
    shutil.rmtree(work, ignore_errors=True)
    ok = sum(s["status"] == "ok" for s in plan.steps)
    print(f"gpu_check: {ok}/{len(plan.steps)} steps ok; report {out}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
