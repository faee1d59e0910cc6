"""Benchmark ``water_tip3p_gromacs``: zzhpc against GROMACS on the same TIP3P box, in the same run.

Measured figures are in docs/water.md.
"""

import os
import tempfile

from ...core.registry import benchmark_case
from . import peer_gromacs as gmx
from .builder import water_box
from .models import get_model
from ...core.harness import run_deck_mpi as run_ranks
from .cases_common import water_deck

DT_FS = 2.0
#: zzhpc's runs against each GROMACS run: the mixed mode with the atom-pair and with the cluster-pair
#: lists (``water.pair_scheme``), and float64 (atom pairs, the reference).
SCHEMES = (("mixed", "atom"), ("mixed", "cluster"), ("uniform", "atom"))


def _ns_per_day(seconds_per_step, dt_fs=DT_FS):
    return dt_fs * 1e-6 / seconds_per_step * 86400.0


@benchmark_case(
    "water_tip3p_gromacs", "water", "TIP3P box (4,000 molecules, PME, SETTLE, v-rescale, 2 fs): zzhpc vs GROMACS mdrun"
)
def bench_gromacs(quick):
    """The zzhpc builder's TIP3P box (0.997 g/cm^3, seed 1) written as .gro + .top for GROMACS
    (:mod:`.peer_gromacs`); both minimise it 50 steepest-descent steps (untimed), then run NVT at 300 K
    with SVR / v-rescale (0.1 ps), SETTLE, 2 fs, cutoff 9 A, dispersion correction. GROMACS keeps its
    defaults (Verlet buffer, ewald-rtol 1e-5, 0.12 nm grid, order 4); zzhpc is given GROMACS's Ewald
    coefficient, grid and order as read from its md.log, so its PME is as accurate. GROMACS runs
    ``2 x steps`` with ``-resethway`` (counters from the half), zzhpc ``steps`` timed after setup.

    Per rank count N in (1, 2): GROMACS ``mdrun -ntmpi N -ntomp 1`` (``-pin on`` at N = 1), then zzhpc on
    N MPI ranks in mixed precision and in float64. Each row: ns/day of both, the ratio, processor time
    (zzhpc: of the step loop per step, all ranks; GROMACS: of the whole mdrun process, and its log's
    core time of the counted steps), bytes per molecule (zzhpc: its arrays, and peak RSS; GROMACS: peak
    RSS of mdrun), GROMACS's version, precision and SIMD level."""
    nmol, steps = (512, 50) if quick else (4000, 500)
    work = tempfile.mkdtemp(prefix="water_gmx_")
    model = get_model("tip3p")
    x, L = water_box(nmol, model, 0.997, seed=1)
    version = gmx.gmx_version()
    gwork = os.path.join(work, "gmx")
    gmx.prepare(gwork, x.reshape(-1, 3), L, "tip3p", 9.0, steps=2 * steps, minimise_steps=50)
    rows = []
    for ranks in (1, 2):
        peer = gmx.mdrun(gwork, ranks, pin=ranks == 1, tag=f"md_{ranks}")
        peer_s = DT_FS * 1e-6 * 86400.0 / peer["ns_per_day"]
        for precision, scheme in SCHEMES:
            deck = water_deck(
                {
                    "model": "tip3p",
                    "molecules": nmol,
                    "cutoff": 9.0,
                    "skin": 1.0,
                    "ensemble": "nvt",
                    "tau_t": 100.0,
                    "minimise_steps": 50,
                    "ewald_alpha": peer["alpha_per_A"],
                    "pme_grid": peer["grid"],
                    "pme_order": peer["pme_order"],
                    "pair_scheme": scheme,
                },
                {"steps": steps, "diag_every": steps},
                backend={"precision": precision},
            )
            summ, _ = run_ranks(deck, os.path.join(work, f"z{ranks}_{precision}_{scheme}"), ranks, timeout=3600)
            z = summ["time_per_step_s"]
            zns = _ns_per_day(z)
            rss = sum((summ.get("memory_hwm_mb") or {}).get("per_rank") or [0.0])  # all ranks together
            rows.append(
                {
                    "label": f"TIP3P {nmol} molecules, {ranks} rank(s), zzhpc {precision}, {scheme} pairs",
                    "ranks": ranks,
                    "molecules": nmol,
                    "steps": steps,
                    "precision": "float64" if precision == "uniform" else "mixed",
                    "pair_scheme": summ["results"].get("pair_scheme", scheme),
                    "zzhpc_s_per_step": z,
                    "zzhpc_ns_per_day": zns,
                    "peer": f"GROMACS {version['version']} ({version['precision']} precision, SIMD {version['simd']})",
                    "peer_version": version,
                    "peer_command": peer["command"],
                    "peer_s_per_step": peer_s,
                    "peer_ns_per_day": peer["ns_per_day"],
                    "ratio_ns_per_day": zns / peer["ns_per_day"],
                    "zzhpc_cpu_s_per_step": summ.get("cpu_s_per_step"),
                    "peer_cpu_s_process": peer["process_cpu_s"],
                    "peer_core_s_counted": peer.get("core_s"),
                    "peer_core_s_per_step": (peer["core_s"] / steps)
                    if peer.get("core_s")
                    else None,  # log: wall x threads
                    "zzhpc_pme": summ["results"]["pme"],
                    "peer_pme": {"alpha": peer["alpha_per_A"], "grid": peer["grid"], "order": peer["pme_order"]},
                    "zzhpc_bytes_per_molecule": summ["results"]["memory_bytes_per_molecule"],
                    "zzhpc_rss_bytes_per_molecule": rss * 2**20 / nmol if rss else None,
                    "peer_rss_bytes_per_molecule": peer["maxrss_mb"] * 2**20 / nmol,
                    "timers_s": summ["timers_s"],
                }
            )
    return rows
