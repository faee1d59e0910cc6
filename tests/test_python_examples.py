"""examples/python: each script runs (the LJ one also on 2 ranks), each notebook is the script's current
form (make_notebooks.py --check) and executes in a Jupyter kernel (nbclient)."""

import subprocess
import sys

import pytest

from conftest import ROOT, clean_env

EX = ROOT / "examples" / "python"
SCRIPTS = ["lj_rdf", "folding_quench", "taylor_green_spectrum"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_runs(name, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(EX / f"{name}.py")],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(ZZHPC_EXAMPLE_OUT=str(tmp_path)),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert proc.stdout.strip()


def test_lj_script_under_mpiexec(tmp_path):
    proc = subprocess.run(
        ["mpiexec", "-n", "2", sys.executable, str(EX / "lj_rdf.py")],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(ZZHPC_EXAMPLE_OUT=str(tmp_path)),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("first peak") == 1  # printed once, by rank 0


def test_notebooks_are_the_scripts():
    proc = subprocess.run(
        [sys.executable, str(EX / "make_notebooks.py"), "--check"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", SCRIPTS)
def test_notebook_executes(name, tmp_path, monkeypatch):
    # make setup installs them (test extras): the notebooks always execute in make test, never skip
    import nbclient
    import nbformat

    monkeypatch.setenv("ZZHPC_EXAMPLE_OUT", str(tmp_path))
    for k, v in clean_env().items():
        monkeypatch.setenv(k, v)
    nb = nbformat.read(str(EX / f"{name}.ipynb"), as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(EX)}})
    client.execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert text.strip(), "the notebook printed nothing"
