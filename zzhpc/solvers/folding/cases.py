"""Validation and benchmark cases of the folding solver (``zzhpc validate folding``, ``zzhpc bench folding``)."""

import json
import os
import tempfile
import time

import numpy as np

from ...core import Metric, benchmark_case, validation_case
from ...core.registry import case_precision
from ...core.harness import run_deck, run_deck_mpi
from ...core.peers import run_peer
from . import kernels_numba
from .cases_common import deck, remd_deck  # noqa: F401  (also used by the tests)
from .kernels import sbm_forces
from .proteins import PROTEINS, TF, load_model, perturbed  # noqa: F401  (also used by the tests)
from .structure import find_structure

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_openmm.py")


@validation_case("folding-openmm-forces", "folding")
def openmm_forces(quick=False):
    """Energies and forces equal OpenMM's (Reference platform) for the same Hamiltonian on perturbed states."""
    out = []
    for protein in ("villin", "ci2"):
        m = load_model(protein)
        x = np.concatenate(
            [
                perturbed(m, 3 if quick else 10, a, seed=k)
                for k, a in enumerate((0.01, 0.05) if quick else (0.005, 0.02, 0.05, 0.1))
            ]
        )
        ref = run_peer(PEER, {"task": "forces", "model": m.to_peer(), "positions": x.tolist()})
        fo, eo = np.array(ref["forces"]), np.array(ref["energy"])
        kernels = {"": sbm_forces}
        if kernels_numba.usable(np.float64):
            kernels[" [compiled]"] = kernels_numba.sbm_forces_numba
        for tag, kern in kernels.items():
            f, e = kern(x, m.kernel_params(), energy=True)
            ferr = float(np.max(np.linalg.norm(f - fo, axis=-1)) / np.max(np.linalg.norm(fo, axis=-1)))
            eerr = float(np.max(np.abs(e - eo) / np.abs(eo)))
            out += [
                Metric(
                    f"{protein}{tag}: max |dF| / max |F|",
                    ferr,
                    0.0,
                    1e-6,
                    "max",
                    f"{len(x)} conformations, OpenMM {ref['openmm']}",
                ),
                Metric(f"{protein}{tag}: max |dE| / |E|", eerr, 0.0, 1e-9, "max"),
            ]
    return out


@validation_case("folding-finite-differences", "folding")
def finite_differences(quick=False):
    """Forces are minus the gradient of the energy (central differences, h = 1e-6 nm), on every backend."""
    from ...device import backend_status, get_backend

    out = []
    for protein in ("villin",) if quick else ("villin", "ci2"):
        m = load_model(protein)
        x = perturbed(m, 2, 0.04)
        for name, (ok, _) in backend_status().items():
            if not ok or name == "cupy" and quick:
                continue
            be = get_backend(name, "local-rank")
            p = {k: be.asarray(v) if isinstance(v, np.ndarray) else v for k, v in m.kernel_params().items()}
            from ...device import get_kernel

            kern = get_kernel("sbm_forces", be)
            f = be.to_host(kern(be.asarray(x), p)[0])
            h, fd = 1e-6, np.zeros_like(x)
            for i in range(m.n):
                for c in range(3):
                    xp_, xm = x.copy(), x.copy()
                    xp_[:, i, c] += h
                    xm[:, i, c] -= h
                    fd[:, i, c] = -(
                        be.to_host(kern(be.asarray(xp_), p, energy=True)[1])
                        - be.to_host(kern(be.asarray(xm), p, energy=True)[1])
                    ) / (2 * h)
            err = float(np.max(np.abs(fd - f)) / np.max(np.abs(f)))
            out.append(Metric(f"{protein} [{name}]: max |F - FD| / max |F|", err, 0.0, 1e-6, "max"))
    return out


# One thread per rank: the 1/2/4-rank comparison must not share cores among BLAS threads.
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@validation_case("folding-tf-ranks", "folding")
def tf_ranks(quick=False):
    """Replica exchange gives the same walkers, hence the same Tf, on 1, 2 and 4 ranks."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for protein in ("villin",) if quick else ("villin", "ci2"):
            d = remd_deck(protein, quick)
            res = {
                n: run_deck_mpi(d, os.path.join(tmp, f"{protein}{n}"), n, timeout=1200, env=SINGLE_THREAD).summary[
                    "results"
                ]
                for n in (1, 2, 4)
            }
            err = res[1]["tf_error"]
            for n in (2, 4):
                out.append(
                    Metric(
                        f"{protein}: |Tf({n} ranks) - Tf(1)|",
                        abs(res[n]["tf"] - res[1]["tf"]),
                        0.0,
                        err if err == err else 1e-9,
                        "max",
                        f"Tf(1) = {res[1]['tf']:.4f} +- {err:.4f}",
                    )
                )
            with open(os.path.join(tmp, f"{protein}1", "summary.json")) as fh:
                acc = [a for a in json.load(fh)["results"]["acceptance"] if a is not None]
            out.append(Metric(f"{protein}: min exchange acceptance", min(acc), 0.0, 0.05, "min"))
    return out


def fold_deck(protein, quick):
    """Walkers from an extended chain at 0.95 Tf, no exchange, until ``stop_when_folded`` of them folded."""
    replicas, stop, steps = {
        ("villin", True): (16, 0.25, 60000),
        ("villin", False): (64, 0.9, 200000),
        ("ci2", False): (16, 0.5, 400000),
    }[(protein, quick)]
    return deck(
        protein,
        replicas=replicas,
        t_min=round(0.95 * TF[protein], 4),
        t_max=round(0.95 * TF[protein], 4),
        exchange_every=0,
        initial="extended",
        sample_every=200,
        stop_when_folded=stop,
        run={"steps": steps, "seed": 5, "dt": 0.002},
    )


@validation_case("folding-fold", "folding")
def fold(quick=False):
    """From an extended chain at 0.95 Tf, walkers reach Q > 0.9 and C-alpha RMSD < 3 A (first passage)."""
    out = []
    for protein in ("villin",) if quick else ("villin", "ci2"):
        t0 = time.perf_counter()
        s = run_deck(fold_deck(protein, quick)).summary
        r = s["results"]
        steps = [k for k in r["first_fold_step"] if k >= 0]
        note = (
            f"median first passage {np.median(steps):.0f} steps" if steps else "none folded"
        ) + f", {s['steps']} steps run, {time.perf_counter() - t0:.0f} s"
        want = fold_deck(protein, quick)["folding"]["stop_when_folded"]
        out.append(Metric(f"{protein}: fraction of walkers folded", r["folded_fraction"], 0.0, want, "min", note))
        out.append(Metric(f"{protein}: best C-alpha RMSD (A)", r["min_rmsd_A"], 0.0, 3.0, "max"))
    return out


@validation_case("folding-trajectory-files", "folding")
def trajectory_files(quick=False):
    """Our DCD is byte-identical to OpenMM's DCDFile after the header titles; OpenMM reads our multi-model PDB."""
    from .trajectory import DCDWriter, read_dcd, write_ca_pdb

    m = load_model("villin")
    frames = perturbed(m, 3 if quick else 20, 0.05)
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = os.path.join(tmp, "ours.dcd"), os.path.join(tmp, "openmm.dcd")
        w = DCDWriter(ours, m.n, first_step=100, interval=100, dt=0.002)
        for k, x in enumerate(frames):
            w.write(x, 100 * (k + 1))
        run_peer(
            PEER,
            {
                "task": "write_dcd",
                "path": theirs,
                "frames": frames.tolist(),
                "dt": 0.002,
                "first_step": 100,
                "interval": 100,
            },
        )
        a, b = open(ours, "rb").read(), open(theirs, "rb").read()
        same_len = len(a) == len(b)
        body = float(same_len and a[:100] == b[:100] and a[260:] == b[260:])
        back = float(np.max(np.abs(read_dcd(ours) - frames)))
        pdb = os.path.join(tmp, "models.pdb")
        write_ca_pdb(pdb, None, m.sequence, models=frames)
        got = run_peer(PEER, {"task": "read_pdb_models", "path": pdb})
        perr = float(np.max(np.abs(np.array(got["models"]) - frames)))
    return [
        Metric("DCD bytes equal OpenMM's (but titles)", body, 1.0, 0.0, "abs"),
        Metric("DCD read back, max |dx| nm", back, 0.0, 1e-5, "max", "float32 angstrom storage"),
        Metric("multi-model PDB via OpenMM, max |dx| nm", perr, 0.0, 1e-4, "max", "3 decimals in angstrom"),
    ]


# Benchmarks ------------------------------------------------------------------------------------------
def _zz_rate(protein, replicas, steps):
    """Replica-steps per second of the time-stepping loop: wall (the run's own loop timer) and CPU time.

    The CPU time of a run includes set-up, compilation and the plots of ``finish``; the difference
    between a run of ``steps`` and one of ``steps // 10`` leaves the loop alone (after a first run that
    pays for compilation and imports).
    """
    cpu = []
    for n in (2, max(1, steps // 10), steps):
        d = deck(
            protein,
            replicas=replicas,
            t_min=1.0,
            t_max=1.0,
            exchange_every=0,
            sample_every=10**6,
            run={"steps": n, "seed": 3, "dt": 0.002},
        )
        c0 = time.process_time()
        s = run_deck(d).summary
        cpu.append((n, time.process_time() - c0))
    (n0, c0), (n1, c1) = cpu[1:]
    return replicas / s["time_per_step_s"], replicas * (n1 - n0) / max(c1 - c0, 1e-9), s["results"]["term_precision"]


@benchmark_case("folding-throughput", "folding")
def throughput(quick=False):
    """Replica-steps per second, zzhpc (numpy, 1 rank) against OpenMM CPU (1 thread, one Context per replica).

    ``zzhpc bench folding-throughput --precision mixed`` runs zzhpc in the mixed mode (rows say which)."""
    rows = []
    for protein in ("villin", "ci2"):
        m = load_model(protein)
        omm_steps = 3000 if quick else 30000
        ref = run_peer(
            PEER,
            {
                "task": "bench_sbm",
                "model": m.to_peer(),
                "positions": m.native.tolist(),
                "temperature": 1.0,
                "friction": 1.0,
                "dt": 0.002,
                "steps": omm_steps,
                "threads": 1,
            },
        )
        omm_wall, omm_cpu = ref["steps"] / ref["wall_s"], ref["steps"] / ref["cpu_s"]
        for replicas in (1, 256):
            steps = (300 if replicas == 1 else 40) if quick else (20000 if replicas == 1 else 2000)
            wall, cpu, term = _zz_rate(protein, replicas, steps)
            rows.append(
                {
                    "label": f"{protein} R={replicas} {case_precision()}",
                    "precision": case_precision(),
                    "term_precision": term,
                    "peer": "openmm-cpu-1thread",
                    "zzhpc_replica_steps_per_s": wall,
                    "zzhpc_replica_steps_per_cpu_s": cpu,
                    "peer_steps_per_s": omm_wall,
                    "peer_steps_per_cpu_s": omm_cpu,
                    "zzhpc_s_per_step": 1.0 / wall,
                    "peer_s_per_step": 1.0 / omm_wall,
                    "ratio": wall / omm_wall,
                    "ratio_per_cpu_s": cpu / omm_cpu,
                    "note": "ratio = zzhpc replica-steps/s over OpenMM steps/s (one Context per replica); "
                    "OpenMM's CPU platform computes forces in single precision (its mixed mode)",
                }
            )
    return rows


@benchmark_case("folding-allatom-speedup", "folding")
def allatom_speedup(quick=False):
    """Cost per step: amber14 + OBC2 implicit solvent all-atom in OpenMM against the C-alpha surrogate."""
    if quick:
        return [{"label": "skipped in --quick", "ratio": None}]
    rows = []
    for protein in ("villin", "ci2"):
        path = find_structure(PROTEINS[protein][0])
        aa = run_peer(PEER, {"task": "bench_allatom", "pdb": path, "steps": 500, "threads": 1}, timeout=1800)
        wall, cpu, _ = _zz_rate(protein, 256, 2000)
        aa_rate = aa["steps"] / aa["wall_s"]
        rows.append(
            {
                "label": f"{protein} all-atom vs C-alpha R=256",
                "peer": "openmm-amber14-obc2-1thread",
                "atoms": aa["atoms"],
                "peer_steps_per_s": aa_rate,
                "peer_steps_per_cpu_s": aa["steps"] / aa["cpu_s"],
                "zzhpc_replica_steps_per_s": wall,
                "zzhpc_replica_steps_per_cpu_s": cpu,
                "zzhpc_s_per_step": 1 / wall,
                "peer_s_per_step": 1 / aa_rate,
                "ratio": wall / aa_rate,
                "note": "per simulated step; see docs/folding.md for per folding event",
            }
        )
    return rows


from . import cases_mixed, cases_smog  # noqa: E402,F401  (register folding-mixed-precision, folding-opensmog)
