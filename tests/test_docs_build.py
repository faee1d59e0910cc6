"""The API reference (Sphinx autodoc of the public modules) builds with warnings as errors."""

import os
import subprocess
import sys

from conftest import ROOT, clean_env

PAGES = {
    "device": ["get_backend", "Backend", "override"],
    "parallel": ["DistributedMesh", "halo_exchange", "DistributedFFT"],
    "io": ["write_block", "CheckpointManager"],
    "config": ["Param"],
    "core": ["Solver", "register_solver"],
    "errors": ["ConfigError", "NotSuitableError"],
    "conformance": ["check_backend"],
    "particles": ["Domain"],
    "simulation": ["Simulation"],
    # every built-in solver has its page
    "solvers": [
        "HeatSolver",
        "SpectralSolver",
        "IncompressibleSolver",
        "MDSolver",
        "WaterSolver",
        "FoldingSolver",
        "read_smog",
    ],
}


def test_api_reference_builds_without_warnings(tmp_path):
    out = tmp_path / "html"
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build_docs.sh"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(PYTHON=sys.executable),
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "WARNING" not in proc.stderr
    for page, names in PAGES.items():
        html = (out / f"{page}.html").read_text()
        for name in names:
            assert 'id="zzhpc.' in html and name in html, (page, name)
    assert os.path.exists(out / "py-modindex.html")
