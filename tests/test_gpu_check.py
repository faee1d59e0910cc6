"""scripts/gpu_check.sh: the one-call GPU check runs here in --dry-run (the same plan on the CPU) and writes
its whole report, so the first GPU at hand gives every figure in one call."""

import json
import subprocess

from conftest import ROOT, clean_env


def test_gpu_check_dry_run_writes_a_complete_report(tmp_path):
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [
            "bash",
            str(ROOT / "scripts" / "gpu_check.sh"),
            "--dry-run",
            "--out",
            str(out),
            "--only",
            "heat,md_lj",
            "--solver-seconds",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=400,
        env=clean_env(),
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rep = json.loads(out.read_text())
    assert rep["dry_run"] is True and rep["passed"] is True
    assert rep["check_backend"]["numpy:local-rank"]["passed"] is True
    assert rep["check_backend"]["torch:cpu"]["status"] in ("ok", "failed")
    assert "skipped" in rep["gpu_tests"]["summary"]  # no GPU here: the GPU tests skip with a reason
    for key in ("heat:float64", "heat:float32", "md_lj:float64", "md_lj:float32"):
        row = rep["solvers"][key]
        # A run stopped by its wall limit ends "interrupted" (checkpointed, resumable); a short one may finish.
        assert row["status"] == "ok" and row["run_status"] in ("done", "interrupted"), row
        assert row["time_per_step_s"] > 0 and row["memory_hwm_mb"] > 0
    assert all(s["status"] in ("ok", "failed", "timeout", "skipped") for s in rep["steps"])


def test_gpu_check_respects_its_time_budget(tmp_path):
    out = tmp_path / "report.json"
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--dry-run", "--out", str(out), "--budget", "8"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        cwd=ROOT,
    )
    rep = json.loads(out.read_text())
    # Steps past the budget are recorded as skipped, never run; the report is written and says it did not pass.
    assert proc.returncode == 1 and rep["passed"] is False
    assert any(s["status"] == "skipped" and s["reason"] == "time budget spent" for s in rep["steps"])
