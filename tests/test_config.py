"""Input decks: every fault is one line naming the key, exit code 2, no traceback, on 1 and 4 ranks."""

import math

import pytest

from conftest import run_zzhpc
from zzhpc.config import Param, apply_overrides, parse_value, validate
from zzhpc.config.schema import Section
from zzhpc.core.deck import resolve
from zzhpc.errors import ConfigError

GOOD = {"solver": "heat", "run": {"steps": 5}, "heat": {"shape": [8, 8]}}


def deck(**changes):
    import copy

    d = copy.deepcopy(GOOD)
    for path, value in changes.items():
        node = d
        parts = path.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return d


def test_defaults_filled():
    cls, cfg = resolve(GOOD, 1)
    assert cls.name == "heat"
    assert cfg["run"]["diag_every"] == 10 and cfg["backend"]["name"] == "numpy"
    assert cfg["heat"]["boundary"] == "periodic" and cfg["output"]["dir"] == "runs/heat"


@pytest.mark.parametrize(
    "changes, key, words",
    [
        ({"run__stepz": 3}, "run.stepz", "unknown key"),
        ({"run__steps": "ten"}, "run.steps", "expected an integer"),
        ({"run__steps": -1}, "run.steps", ">= 0"),
        ({"run__dt": math.nan}, "run.dt", "finite"),
        ({"run__dt": 1.0}, "run.dt", "stability limit"),
        ({"heat__shape": [8, 8, 8, 8]}, "heat.shape", "1 to 3 entries"),
        ({"heat__shape": [8, 1]}, "heat.shape[1]", ">= 2"),
        ({"heat__boundary": "open"}, "heat.boundary", "one of"),
        ({"backend__name": "fortran"}, "backend.name", "one of"),
        ({"backend__dtype": "float16"}, "backend.dtype", "one of"),
        ({"heat__mode": [1]}, "heat.mode", "2 entries"),
        ({"solver": "nosuch"}, "solver", "unknown solver"),
        ({"parallel__dims": [1, 2, 3]}, "parallel.dims", "expected 2 entries"),
        ({"run": 5}, "run", "expected a table"),
    ],
)
def test_bad_values_name_the_key(changes, key, words):
    with pytest.raises(ConfigError) as err:
        resolve(deck(**changes), 1)
    msg = str(err.value)
    assert f"config: {key}" in msg and words in msg and "\n" not in msg


def test_file_param(tmp_path):
    schema = Section(structure=Param(str, is_file=True))
    with pytest.raises(ConfigError, match="structure.*file not found"):
        validate({"structure": "missing.pdb"}, schema, base_dir=str(tmp_path))
    (tmp_path / "x.pdb").write_text("END\n")
    assert validate({"structure": "x.pdb"}, schema, base_dir=str(tmp_path))["structure"] == str(tmp_path / "x.pdb")


def test_overrides():
    d = apply_overrides(
        {"run": {"steps": 1}}, ["run.steps=20", "heat.shape=[4,4]", "output.dir=out/a", "backend.gpu_aware_mpi=true"]
    )
    assert d["run"]["steps"] == 20 and d["heat"]["shape"] == [4, 4] and d["output"]["dir"] == "out/a"
    assert d["backend"]["gpu_aware_mpi"] is True
    assert parse_value("'x'") == "x" and parse_value("1e-3") == 1e-3
    with pytest.raises(ConfigError, match="--set"):
        apply_overrides({}, ["nokeyvalue"])


@pytest.mark.parametrize("ranks", [0, 4])
def test_cli_bad_deck_exits_2_with_one_line(tmp_path, ranks):
    bad = tmp_path / "bad.toml"
    bad.write_text('solver = "heat"\n[run]\nsteps = 10\n[heat]\nshape = [8, -8]\n')
    proc = run_zzhpc(ranks, "run", bad, "-o", tmp_path / "out")
    assert proc.returncode == 2, proc.stderr
    # mpiexec adds its own box about the non-zero exit; zzhpc itself says exactly one line, once.
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("zzhpc")]
    assert lines == ["zzhpc: config: heat.shape[1] = -8: must be >= 2"]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "out").exists()  # nothing started


def test_cli_malformed_toml_and_missing_deck(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("solver = \n")
    proc = run_zzhpc(0, "run", bad)
    assert proc.returncode == 2 and "not valid TOML" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_zzhpc(0, "run", tmp_path / "none.toml")
    assert proc.returncode == 2 and "input deck not found" in proc.stderr
