"""GROMACS as a peer of the water solver: the same box written as .gro + .top + .mdp, run by ``gmx``.

GROMACS is a program, not a Python package: it is installed by ``make peers`` (Debian's ``gromacs``,
scripts/setup_peers.sh) and run as a subprocess, never imported and never a dependency of zzhpc.
``$ZZHPC_GMX`` names the binary (default: ``gmx`` on ``PATH``). Units written are GROMACS's (nm, kJ/mol,
ps); the model's parameters come from :mod:`.models` so both codes run the same force field.

What the bench keeps at GROMACS's defaults (never tuned down): the Verlet cut-off scheme with its
buffer from ``verlet-buffer-tolerance`` (0.005 kJ/mol/ps per atom), ``ewald-rtol`` 1e-5,
``fourierspacing`` 0.12 nm, ``pme-order`` 4, ``nstcalcenergy`` 100, potential-shift modifiers.
What must agree with zzhpc and is set: the cut-off (``rcoulomb = rvdw``), the dispersion correction
(``DispCorr = EnerPres``), SETTLE (``[ settles ]``), the time step, the thermostat family
(``v-rescale``: Bussi's SVR, zzhpc's), its time constant and temperature.
"""

import os
import re
import shutil
import subprocess
import time

import numpy as np

from ...core.peers import PeerUnavailable
from ...errors import ZzhpcError
from ...particles.formats import Frame
from ...particles.formats import write_gro as formats_write_gro
from .models import get_model

KJ = 4.184  # kJ per kcal
NM = 10.0  # A per nm


def gmx_binary():
    exe = os.environ.get("ZZHPC_GMX") or shutil.which("gmx")
    if not exe:
        raise PeerUnavailable("GROMACS not found: run `make peers` (Debian package gromacs) or set ZZHPC_GMX")
    return exe


def gmx_version():
    """``{"version", "precision", "simd", "fft"}`` from ``gmx --version``."""
    out = subprocess.run([gmx_binary(), "--version"], capture_output=True, text=True, timeout=120).stdout

    def field(name):
        m = re.search(rf"^{name}:\s*(.+)$", out, re.M)
        return m.group(1).strip() if m else None

    return {
        "version": field("GROMACS version"),
        "precision": field("Precision"),
        "simd": field("SIMD instructions"),
        "fft": field("CPU FFT library"),
    }


def write_gro(path, x, lengths, title="zzhpc water box", v=None, precision=4):
    """Rigid water, three rows per molecule (O, H, H) [A], as a .gro (nm, ``precision`` decimals);
    velocities ``v`` [A/fs] too when given (nm/ps, one decimal more than the positions, as GROMACS
    reads them; GROMACS takes the column width from the first atom line)."""
    n = x.shape[0]
    frame = Frame(
        positions=np.asarray(x) / NM,
        box=np.asarray(lengths, dtype=float) / NM,
        velocities=None if v is None else np.asarray(v) * 100.0,  # A/fs -> nm/ps
        ids=np.arange(1, n + 1),
        resids=np.arange(n) // 3 + 1,
        resnames=["SOL"] * n,
        names=[("OW", "HW1", "HW2")[a % 3] for a in range(n)],
        title=title,
    )
    formats_write_gro(path, frame, precision=precision)
    return n // 3


def write_top(path, model, nmol):
    """Topology of ``nmol`` rigid molecules of ``model`` (SETTLE; LJ on O only, geometric rule 2)."""
    m = get_model(model)
    d_hh = 2.0 * m.r_OH * np.sin(np.radians(m.theta_HOH) / 2.0)
    with open(path, "w") as fh:
        fh.write(f"""; {m.name}: {m.reference}
[ defaults ]
; nbfunc comb-rule gen-pairs fudgeLJ fudgeQQ
1 2 no 1.0 1.0

[ atomtypes ]
; name mass charge ptype sigma[nm] epsilon[kJ/mol]
OW {m.m_O:.6f} 0.0 A {m.sigma_O / NM:.8f} {m.epsilon_O * KJ:.8f}
HW {m.m_H:.6f} 0.0 A 0.0 0.0

[ moleculetype ]
SOL 2

[ atoms ]
1 OW 1 SOL OW  1 {m.q_O:.6f} {m.m_O:.6f}
2 HW 1 SOL HW1 1 {m.q_H:.6f} {m.m_H:.6f}
3 HW 1 SOL HW2 1 {m.q_H:.6f} {m.m_H:.6f}

[ settles ]
1 1 {m.r_OH / NM:.8f} {d_hh / NM:.8f}

[ exclusions ]
1 2 3
2 1 3
3 1 2

[ system ]
{m.name} water

[ molecules ]
SOL {nmol}
""")


def write_mdp(
    path,
    *,
    steps,
    cutoff_A,
    dt_fs=2.0,
    temperature=300.0,
    tau_t_fs=100.0,
    minimise=False,
    seed=1,
    nve=False,
    energy_every=0,
):
    """Run parameters: md with v-rescale, NVE from the given velocities (``nve``; energies every
    ``energy_every`` steps into the .edr, 0: none), or steepest descent (``minimise``) for ``steps`` steps."""
    rc = cutoff_A / NM
    lines = [
        f"nsteps = {int(steps)}",
        "cutoff-scheme = Verlet",
        "coulombtype = PME",
        f"rcoulomb = {rc}",
        f"rvdw = {rc}",
        "DispCorr = EnerPres",
        "pbc = xyz",
    ]
    if minimise:
        lines += ["integrator = steep", "emstep = 0.005", "emtol = 10"]
    elif nve:
        # continuation = no: GROMACS puts the start's positions and velocities back on the constraints,
        # which the .gro's rounding to 6 decimals has moved them off.
        lines += [
            "integrator = md",
            f"dt = {dt_fs * 1e-3}",
            "tcoupl = no",
            "gen-vel = no",
            "continuation = no",
            "nstlog = 0",
            f"nstcalcenergy = {int(energy_every) or 100}",
            f"nstenergy = {int(energy_every)}",
            "nstxout = 0",
            "nstvout = 0",
            "nstxout-compressed = 0",
        ]
    else:
        lines += [
            "integrator = md",
            f"dt = {dt_fs * 1e-3}",
            "tcoupl = v-rescale",
            "tc-grps = System",
            f"tau-t = {tau_t_fs * 1e-3}",
            f"ref-t = {temperature}",
            "gen-vel = yes",
            f"gen-temp = {temperature}",
            f"gen-seed = {seed}",
            f"ld-seed = {seed}",
            "continuation = no",
            "nstlog = 0",
            "nstenergy = 0",
            "nstxout = 0",
            "nstvout = 0",
            "nstxout-compressed = 0",
        ]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def _run(cmd, cwd, timeout):
    """Run ``cmd``; returns (wall s, the child's own rusage, stdout+stderr). ``os.wait4`` gives the
    processor time and peak resident memory of that process alone (all its threads)."""
    import threading

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise ZzhpcError(f"`{' '.join(cmd)}` failed ({proc.returncode}) in {cwd}: {out[-2000:]}")
    return wall, usage, out


def parse_log(path):
    """ns/day, core and wall time of the counted steps, PME grid and Ewald coefficient from md.log."""
    text = open(path).read()
    res = {}
    m = re.search(r"Performance:\s+([\d.]+)\s+([\d.]+)", text)
    if m:
        res["ns_per_day"] = float(m.group(1))
    m = re.search(r"Time:\s+([\d.]+)\s+([\d.]+)", text)
    if m:
        res["core_s"], res["wall_s"] = float(m.group(1)), float(m.group(2))
    grid = [re.search(rf"fourier-n{a}\s*=\s*(\d+)", text) for a in "xyz"]
    if all(grid):
        res["grid"] = [int(g.group(1)) for g in grid]
    m = re.search(r"Using a Gaussian width \(1/beta\) of ([\d.eE+-]+) nm for Ewald", text)
    if m:
        res["alpha_per_A"] = 1.0 / (float(m.group(1)) * NM)
    m = re.search(r"pme-order\s*=\s*(\d+)", text)
    if m:
        res["pme_order"] = int(m.group(1))
    m = re.search(r"rlist\s*=\s*([\d.eE+-]+)", text)
    if m:
        res["rlist_nm"] = float(m.group(1))
    m = re.search(r"Conserved energy drift:\s*([-\d.eE+]+)\s*kJ/mol/ps per atom", text)
    if m:
        res["drift_kJ_mol_ps_atom"] = float(m.group(1))
    m = re.search(r"Statistics over (\d+) steps", text)
    if m:
        res["steps_counted"] = int(m.group(1))
    return res


def prepare(work, x, lengths, model, cutoff_A, *, steps, minimise_steps=50, temperature=300.0, tau_t_fs=100.0):
    """Write the box, minimise it ``minimise_steps`` steps (untimed) and make ``md.tpr`` in ``work``."""
    gmx = gmx_binary()
    os.makedirs(work, exist_ok=True)
    nmol = write_gro(os.path.join(work, "conf.gro"), np.asarray(x), lengths)
    write_top(os.path.join(work, "topol.top"), model, nmol)
    conf = "conf.gro"
    if minimise_steps:
        write_mdp(os.path.join(work, "em.mdp"), steps=minimise_steps, cutoff_A=cutoff_A, minimise=True)
        _run([gmx, "grompp", "-f", "em.mdp", "-c", conf, "-p", "topol.top", "-o", "em.tpr", "-maxwarn", "1"], work, 600)
        _run([gmx, "mdrun", "-s", "em.tpr", "-deffnm", "em", "-ntmpi", "1", "-ntomp", "1"], work, 1800)
        conf = "em.gro"
    write_mdp(os.path.join(work, "md.mdp"), steps=steps, cutoff_A=cutoff_A, temperature=temperature, tau_t_fs=tau_t_fs)
    _run([gmx, "grompp", "-f", "md.mdp", "-c", conf, "-p", "topol.top", "-o", "md.tpr", "-maxwarn", "1"], work, 600)
    return os.path.join(work, "md.tpr")


def mdrun(work, ranks, *, pin=False, tag="run", timeout=3600):
    """``gmx mdrun -ntmpi ranks -ntomp 1 [-pin on] -resethway`` of ``md.tpr``: ns/day and processor time of
    the counted (second) half of the steps from md.log, and the peak resident memory of mdrun."""
    gmx = gmx_binary()
    cmd = [
        gmx,
        "mdrun",
        "-s",
        "md.tpr",
        "-deffnm",
        tag,
        "-ntmpi",
        str(ranks),
        "-ntomp",
        "1",
        "-resethway",
        "-nb",
        "cpu",
    ]
    if pin:
        cmd += ["-pin", "on"]
    wall, usage, _ = _run(cmd, work, timeout)
    res = parse_log(os.path.join(work, f"{tag}.log"))
    res.update(
        {
            "command": " ".join(["gmx"] + cmd[1:]),
            "process_wall_s": wall,
            "process_cpu_s": usage.ru_utime + usage.ru_stime,
            "maxrss_mb": usage.ru_maxrss / 1024.0,
        }
    )
    return res


def default_pme(lengths, cutoff_A, rtol=1e-5, spacing_A=1.2):
    """GROMACS's PME defaults for a box ``lengths`` [A], computed without ``gmx``: alpha [1/A] with
    erfc(alpha rc) = ``rtol`` (``ewald-rtol``), per axis the smallest grid size with spacing <=
    ``spacing_A`` (``fourierspacing``) among GROMACS's FFT-friendly sizes (below 45 its list, which
    skips 18, 30 and others; above, 2-3-5-7 smooth sizes, an approximation), ``pme-order`` 4. Equal to
    GROMACS 2022's md.log for the builder's 512-, 1,000- and 4,000-molecule boxes (24, 28, 42)."""
    from scipy.optimize import brentq
    from scipy.special import erfc

    alpha = brentq(lambda a: erfc(a * cutoff_A) - rtol, 1e-3, 10.0 / cutoff_A, xtol=1e-12)
    small = (6, 8, 10, 12, 14, 16, 20, 24, 25, 28, 32, 36, 40, 42, 44)

    def size(edge):
        need = edge / spacing_A
        for n in small:
            if n >= need:
                return n
        n = max(45, int(np.ceil(need)))
        while not _smooth(n):
            n += 1
        return n

    return {"alpha_per_A": float(alpha), "grid": [size(e) for e in lengths], "pme_order": 4}


def _smooth(n):
    for p in (2, 3, 5, 7):
        while n % p == 0:
            n //= p
    return n == 1


def pme_parameters(work, x, lengths, model, cutoff_A):
    """GROMACS's PME for this box at its defaults (ewald-rtol 1e-5, fourierspacing 0.12 nm, order 4):
    ``{"alpha_per_A", "grid", "pme_order", "rlist_nm"}`` from the md.log of a zero-step mdrun."""
    gmx = gmx_binary()
    os.makedirs(work, exist_ok=True)
    nmol = write_gro(os.path.join(work, "conf.gro"), np.asarray(x), lengths)
    write_top(os.path.join(work, "topol.top"), model, nmol)
    write_mdp(os.path.join(work, "zero.mdp"), steps=0, cutoff_A=cutoff_A, nve=True)
    _run(
        [gmx, "grompp", "-f", "zero.mdp", "-c", "conf.gro", "-p", "topol.top", "-o", "zero.tpr", "-maxwarn", "1"],
        work,
        600,
    )
    _run([gmx, "mdrun", "-s", "zero.tpr", "-deffnm", "zero", "-ntmpi", "1", "-ntomp", "1", "-nb", "cpu"], work, 600)
    res = parse_log(os.path.join(work, "zero.log"))
    return {k: res[k] for k in ("alpha_per_A", "grid", "pme_order", "rlist_nm") if k in res}


def read_xvg(path):
    """Columns of a ``gmx energy`` .xvg by legend: ``{"time": ps, "<legend>": ...}`` (kJ/mol for energies)."""
    names, rows = ["time"], []
    with open(path) as fh:
        for line in fh:
            m = re.match(r'@\s+s(\d+)\s+legend\s+"(.*)"', line)
            if m:
                names.append(m.group(2))
            elif line.strip() and line[0] not in "#@":
                rows.append([float(c) for c in line.split()])
    data = np.array(rows, dtype=float).reshape(len(rows), -1)
    if data.shape[1] != len(names):
        raise ZzhpcError(f"{path}: {data.shape[1]} columns for the legends {names}; expected one column each")
    return {n: data[:, k] for k, n in enumerate(names)}


def nve_energies(work, x, v, lengths, model, cutoff_A, steps, *, energy_every=50, timeout=6 * 3600):
    """NVE of GROMACS (``integrator = md``, ``tcoupl = no``, its defaults otherwise) from positions ``x``
    [A] and velocities ``v`` [A/fs], 1 rank, 1 thread. The start is written with 6 decimals (nm) and
    put on the constraints by GROMACS. Returns the energies every ``energy_every`` steps from ``gmx
    energy`` (``time_ps``, ``etotal``, ``ke`` [kJ/mol]; without a thermostat the total is GROMACS's
    conserved energy), md.log's figures (PME, rlist,
    its own "Conserved energy drift") and the wall time of mdrun."""
    gmx = gmx_binary()
    os.makedirs(work, exist_ok=True)
    nmol = write_gro(os.path.join(work, "start.gro"), np.asarray(x), lengths, v=np.asarray(v), precision=6)
    write_top(os.path.join(work, "topol.top"), model, nmol)
    write_mdp(os.path.join(work, "nve.mdp"), steps=steps, cutoff_A=cutoff_A, nve=True, energy_every=energy_every)
    _run(
        [gmx, "grompp", "-f", "nve.mdp", "-c", "start.gro", "-p", "topol.top", "-o", "nve.tpr", "-maxwarn", "1"],
        work,
        600,
    )
    wall, _, _ = _run(
        [gmx, "mdrun", "-s", "nve.tpr", "-deffnm", "nve", "-ntmpi", "1", "-ntomp", "1", "-nb", "cpu"], work, timeout
    )
    terms = ("Kinetic-En.", "Total-Energy")  # without a thermostat the total is the conserved energy
    proc = subprocess.run(
        [gmx, "energy", "-f", "nve.edr", "-o", "nve_energy.xvg"],
        cwd=work,
        input="\n".join(terms) + "\n\n",
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise ZzhpcError(f"`gmx energy` failed ({proc.returncode}) in {work}: {proc.stderr[-2000:]}")
    cols = read_xvg(os.path.join(work, "nve_energy.xvg"))
    res = parse_log(os.path.join(work, "nve.log"))
    res.update(
        {
            "molecules": nmol,
            "time_ps": cols["time"],
            "ke": cols["Kinetic En."],
            "etotal": cols["Total Energy"],
            "mdrun_wall_s": wall,
        }
    )
    return res
