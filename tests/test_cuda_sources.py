"""CUDA sources in kernels/ compile with nvcc for Ampere (sm_80) and Hopper (sm_90); no GPU needed."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCES = sorted((Path(__file__).resolve().parent.parent / "kernels").rglob("*.cu"))
NVCC = shutil.which("nvcc") or ("/usr/local/bin/nvcc" if Path("/usr/local/bin/nvcc").exists() else None)


def test_there_are_cuda_sources():
    assert SOURCES, "kernels/ holds no .cu file"


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed on this machine")
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_nvcc_compiles(src, arch, tmp_path):
    out = tmp_path / (src.stem + ".cubin")
    proc = subprocess.run(
        [NVCC, f"-arch={arch}", "--cubin", "-std=c++14", "-o", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed on this machine")
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_water_cluster_fits_in_registers(arch, tmp_path):
    """The cluster-pair kernel keeps the forces of its 4 i slots in 12 double registers over the whole
    j list: it must not spill, and at most 128 registers per thread leave 16 warps per SM (a quarter of
    the 64 on sm_80/sm_90) to hide the latency of the j loads."""
    src = next(p for p in SOURCES if p.name == "water_cluster.cu")
    proc = subprocess.run(
        [NVCC, f"-arch={arch}", "--cubin", "-std=c++14", "-Xptxas", "-v", "-o", str(tmp_path / "w.cubin"), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    info = proc.stderr
    assert "0 bytes spill stores, 0 bytes spill loads" in info, info
    regs = int(re.search(r"Used (\d+) registers", info).group(1))
    assert regs <= 128, info
